import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * No service's src/ has an import cycle, type-only imports and `export … from` included: a cycle means two
 * files that cannot be read (or changed) one without the other, and at run time one of them sees the
 * other half-initialised. Only relative imports count: packages cannot form a cycle inside a service.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');

function servicesWithSrc(): string[] {
  const dirs = ['shared', 'tools'];
  for (const group of ['device', 'backend']) {
    for (const name of readdirSync(path.join(ROOT, group))) dirs.push(`${group}/${name}`);
  }
  return dirs.filter((d) => existsSync(path.join(ROOT, d, 'src'))).sort();
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|mts|tsx)$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The file a relative specifier names (`./x.js` is `./x.ts` under NodeNext), or undefined. */
function resolve(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  const stem = base.replace(/\.(m?js|jsx)$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.mts`, `${stem}.tsx`, path.join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** Relative imports of a file: static, type-only, `export … from` and dynamic `import()`. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('./') || spec.startsWith('../'))
    .map((spec) => resolve(file, spec))
    .filter((f): f is string => f !== undefined);
}

/** Every cycle found by a depth-first walk, each as the files along it (first file repeated at the end). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

describe('import cycles', () => {
  it('finds a type-only cycle and an `export … from` cycle', () => {
    const graph = new Map<string, string[]>([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
    const text = "import type { X } from './x.js';\nexport { Y } from './y.js';\nimport z from 'zod';";
    const specs = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
    expect(specs).toEqual(['./x.js', './y.js', 'zod']);
  });

  for (const service of servicesWithSrc()) {
    it(`${service}/src has none, type imports included`, () => {
      const src = path.join(ROOT, service, 'src');
      const graph = new Map(sourceFiles(src).map((f) => [f, importsOf(f)]));
      const cycles = findCycles(graph).map((c) => c.map((f) => path.relative(src, f)).join(' → '));
      expect(cycles).toEqual([]);
    });
  }
});
