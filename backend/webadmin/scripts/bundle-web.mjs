#!/usr/bin/env node
// Bundles the browser code (src/web) into dist/public: one ES module per page, shared code split into
// hashed chunks, one stylesheet (ours + uPlot's). Type checking is tsc -b's job (src/web/tsconfig.json);
// esbuild only strips types, so this step takes well under a second.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'src/web');
const out = path.join(root, 'dist/public');
const pages = ['shell', 'login', 'fleet', 'device', 'alerts', 'stats', 'messages', 'users'];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: [...pages.map((p) => path.join(web, `${p}.ts`)), path.join(web, 'styles/app.css')],
  outdir: out,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(path.join(web, 'favicon.svg'), path.join(out, 'favicon.svg'));
