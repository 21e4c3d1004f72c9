import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import {
  autogroupEnabled,
  autogroupOf,
  parseAutogroup,
  setCpuPriority,
} from '../src/harness/cpu-priority.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A process in a session of its own, as the harness starts every service. */
function service(): number {
  const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

describe('setCpuPriority', () => {
  it('reads a process’s autogroup line, and nothing else', () => {
    expect(parseAutogroup('/autogroup-219 nice 0\n')).toEqual({ name: '/autogroup-219', nice: 0 });
    expect(parseAutogroup('/autogroup-7 nice -5')).toEqual({ name: '/autogroup-7', nice: -5 });
    expect(parseAutogroup('')).toBeUndefined();
    expect(parseAutogroup('/autogroup-x nice 0')).toBeUndefined();
  });

  it('sets the niceness of the process and, where sessions are scheduled as groups, of its group', () => {
    const pid = service();
    expect(setCpuPriority(pid, 7)).toBe(true);
    expect(os.getPriority(pid)).toBe(7);
    if (autogroupEnabled()) {
      // The group is what weighs against the other services: the niceness alone changes nothing there.
      expect(autogroupOf(pid)).toMatchObject({ nice: 7 });
      expect(autogroupOf(pid)?.name).not.toBe(autogroupOf('self')?.name);
    }
    expect(setCpuPriority(pid, 0)).toBe(true);
    expect(os.getPriority(pid)).toBe(0);
    if (autogroupEnabled()) expect(autogroupOf(pid)).toMatchObject({ nice: 0 });
  });

  it('leaves the caller’s own group alone, and counts a process that is gone as done', () => {
    const before = autogroupOf('self');
    const child = spawn('sleep', ['30'], { stdio: 'ignore' }); // same session as the caller
    children.push(child);
    expect(setCpuPriority(child.pid!, 5)).toBe(true);
    expect(os.getPriority(child.pid!)).toBe(5);
    expect(autogroupOf('self')?.nice).toBe(before?.nice);
    expect(setCpuPriority(2 ** 22 + 12_345, 5)).toBe(true);
    expect(setCpuPriority(undefined, 5)).toBe(true);
  });
});
