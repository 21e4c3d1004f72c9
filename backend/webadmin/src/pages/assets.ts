import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where scripts/bundle-web.mjs writes the browser bundle (dist/pages → dist/public). */
export const DEFAULT_PUBLIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../public');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface Asset {
  body: Buffer;
  type: string;
  /** Content hash: page links carry it (`?v=`) so browsers may cache an asset for good. */
  hash: string;
}

/**
 * The bundle, read once at start (a few hundred KB): serving from memory needs no file-system access per
 * request, and every replica serves exactly the files it was built with.
 */
export class Assets {
  private constructor(private readonly files: Map<string, Asset>) {}

  static load(dir: string = DEFAULT_PUBLIC_DIR): Assets {
    if (!existsSync(path.join(dir, 'fleet.js'))) {
      throw new Error(`web admin bundle missing in ${dir}: run \`npm run build\` (it bundles src/web)`);
    }
    const files = new Map<string, Asset>();
    const walk = (sub: string) => {
      for (const name of readdirSync(path.join(dir, sub))) {
        const rel = sub ? `${sub}/${name}` : name;
        const full = path.join(dir, rel);
        if (statSync(full).isDirectory()) walk(rel);
        else {
          const body = readFileSync(full);
          const type = TYPES[path.extname(name)] ?? 'application/octet-stream';
          files.set(rel, { body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 12) });
        }
      }
    };
    walk('');
    return new Assets(files);
  }

  get(rel: string): Asset | undefined {
    return this.files.get(rel);
  }

  /** The URL a page links to: versioned by content, so a new build is never served from a stale cache. */
  url(rel: string): string {
    const a = this.files.get(rel);
    if (!a) throw new Error(`no asset ${rel} in the web bundle`);
    return `/assets/${rel}?v=${a.hash}`;
  }
}
