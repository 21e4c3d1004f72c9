/**
 * Vitest globalSetup (see the root vitest.config.ts): one run root per test run, shared by all forked
 * workers through SENSORFLEET_HARNESS_ROOT; stale roots (and network namespaces) of earlier crashed runs
 * are swept first, and teardown kills whatever server process is still recorded and removes the root.
 *
 * Safe to run more than once in one process (e.g. once per Vitest project): later calls share the
 * first root, and only the last teardown removes it.
 */
import { existsSync } from 'node:fs';
import { sweepStaleNamespaces } from './netns.js';
import { createRunRoot, killRecorded, removeRoot, ROOT_ENV, sweepStaleRuns } from './run-root.js';

interface SetupState {
  root: string;
  refs: number;
}

const STATE = Symbol.for('sensorfleet.harness.globalSetup');
const store = globalThis as { [STATE]?: SetupState };

export function setup(): void {
  const state = store[STATE];
  if (state && existsSync(state.root)) {
    state.refs++;
    process.env[ROOT_ENV] = state.root;
    return;
  }
  const root = createRunRoot();
  sweepStaleRuns(root);
  sweepStaleNamespaces();
  process.env[ROOT_ENV] = root;
  store[STATE] = { root, refs: 1 };
}

export function teardown(): void {
  const state = store[STATE];
  if (!state) return;
  if (--state.refs > 0) return;
  delete store[STATE];
  killRecorded(state.root);
  removeRoot(state.root);
  sweepStaleNamespaces(); // those of test workers that died without their exit handler
  if (process.env[ROOT_ENV] === state.root) delete process.env[ROOT_ENV];
}
