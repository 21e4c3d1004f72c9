import { describe, expect, it } from 'vitest';
import { Debouncer, type ButtonEvent, type RawLevel } from '../src/debouncer.js';

type Script = [level: RawLevel, atMs: number][];

/** Feeds raw edges, polling at every deadline that falls before the next edge (as a timer would). */
function run(debouncer: Debouncer, script: Script, endMs: number): { event: ButtonEvent; atMs: number }[] {
  const events: { event: ButtonEvent; atMs: number }[] = [];
  const pollUntil = (t: number): void => {
    const due = debouncer.deadline();
    if (due !== undefined && due <= t) {
      const e = debouncer.poll(due);
      if (e) events.push({ event: e, atMs: due });
    }
  };
  for (const [level, atMs] of script) {
    pollUntil(atMs - 1e-9);
    const e = debouncer.input(level, atMs);
    if (e) events.push({ event: e, atMs });
  }
  pollUntil(endMs);
  return events;
}

/** `toggles` raw edges (made odd, so it ends at `finalLevel`), `stepMs` apart, from `t0`. */
function bounceTrain(t0: number, toggles: number, stepMs: number, finalLevel: RawLevel): Script {
  const other: RawLevel = finalLevel === 0 ? 1 : 0;
  const script: Script = [];
  const edges = toggles % 2 === 1 ? toggles : toggles + 1;
  for (let i = 0; i < edges; i++) script.push([i % 2 === 0 ? finalLevel : other, t0 + i * stepMs]);
  return script;
}

const presses = (events: { event: ButtonEvent }[]): number =>
  events.filter((e) => e.event === 'press').length;

describe('Debouncer', () => {
  it('a clean press and release: one press after 50 ms of stability, then a release', () => {
    const events = run(
      new Debouncer(),
      [
        [0, 100],
        [1, 300],
      ],
      1000,
    );
    expect(events).toEqual([
      { event: 'press', atMs: 150 },
      { event: 'release', atMs: 350 },
    ]);
  });

  it('a bounce train of 10 toggles within 5 ms is exactly one press', () => {
    const d = new Debouncer({ debounceMs: 50 });
    const script = bounceTrain(1000, 11, 0.5, 0);
    expect(script).toHaveLength(11);
    expect(script.at(-1)?.[1]).toBe(1005);
    const events = run(d, script, 2000);
    expect(events).toEqual([{ event: 'press', atMs: 1055 }]);
    expect(d.pressed).toBe(true);
  });

  it('two presses 200 ms apart are two presses', () => {
    const script: Script = [
      ...bounceTrain(0, 7, 1, 0),
      ...bounceTrain(100, 5, 1, 1),
      ...bounceTrain(200, 7, 1, 0),
      ...bounceTrain(300, 5, 1, 1),
    ];
    expect(presses(run(new Debouncer(), script, 1000))).toBe(2);
  });

  it('bounce on release adds no press', () => {
    const script: Script = [[0, 0], ...bounceTrain(500, 15, 0.3, 1)];
    const events = run(new Debouncer(), script, 2000);
    expect(events.map((e) => e.event)).toEqual(['press', 'release']);
  });

  it('holding does not repeat', () => {
    const d = new Debouncer();
    expect(d.input(0, 0)).toBeUndefined();
    expect(d.poll(50)).toBe('press');
    for (let t = 60; t < 10_000; t += 500) expect(d.poll(t)).toBeUndefined();
    expect(d.deadline()).toBeUndefined();
  });

  it('a glitch shorter than debounceMs is ignored', () => {
    const events = run(
      new Debouncer(),
      [
        [0, 0],
        [1, 20],
      ],
      1000,
    );
    expect(events).toEqual([]);
  });

  it('every edge restarts the quiet window', () => {
    const d = new Debouncer({ debounceMs: 50 });
    d.input(0, 0);
    expect(d.deadline()).toBe(50);
    d.input(1, 40);
    d.input(0, 80);
    expect(d.deadline()).toBe(130);
    expect(d.poll(129)).toBeUndefined();
    expect(d.poll(130)).toBe('press');
  });

  it('settles a pending level on the next edge if nobody polled in time', () => {
    const d = new Debouncer();
    d.input(0, 0);
    expect(d.input(1, 500)).toBe('press');
    expect(d.poll(600)).toBe('release');
  });

  it('activeLow: false makes the rising edge the press', () => {
    const d = new Debouncer({ activeLow: false });
    d.input(0, 0); // already inactive → nothing pending
    expect(d.deadline()).toBeUndefined();
    d.input(1, 10);
    expect(d.poll(60)).toBe('press');
    d.input(0, 100);
    expect(d.poll(150)).toBe('release');
  });

  it('a button held at start-up is not a press', () => {
    const d = new Debouncer();
    expect(d.pressed).toBe(false);
    expect(d.input(1, 0)).toBeUndefined(); // its release
    expect(d.poll(1000)).toBeUndefined();
  });

  it('rejects a negative debounce', () => {
    expect(() => new Debouncer({ debounceMs: -1 })).toThrow(RangeError);
    expect(new Debouncer({ debounceMs: 0 }).debounceMs).toBe(0);
  });
});
