import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acknowledge,
  judgeObservation,
  judgeReplay,
  judgeRuleChange,
  judgeSamples,
  judgeTick,
  type AlertSnapshot,
  type MachineRule,
  type Notice,
  type Sample,
} from '../src/alerts/alert-state-machine.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const s = (sec: number) => T0 + sec * 1000;
const above: MachineRule = { kind: 'above', threshold: 30, clear: 28, forS: 60, repeatS: null };

/** Feeds samples one round at a time, as the evaluator does, and collects what would be sent. */
function feed(rule: MachineRule, rounds: Sample[][], nowOf = (i: number) => rounds[i]!.at(-1)?.at ?? s(i)) {
  let open: AlertSnapshot | null = null;
  const notices: Notice[] = [];
  const states: string[] = [];
  rounds.forEach((samples, i) => {
    const j = judgeSamples(rule, open, samples, nowOf(i));
    for (const o of j.outcomes) {
      notices.push(...o.notices);
      states.push(o.cancelled ? 'cancelled' : o.alert.state);
    }
    open = j.open;
  });
  return { open: open as AlertSnapshot | null, notices, states };
}
const live = (sec: number, value: number): Sample => ({ at: s(sec), value, late: false });

describe('alert state machine: above / below', () => {
  it('goes pending on a breach and fires only after it held forS', () => {
    const r = feed(above, [[live(0, 31)], [live(30, 32)], [live(59, 33)], [live(60, 34)]]);
    expect(r.notices).toEqual([{ state: 'firing', at: s(60), value: 34 }]);
    expect(r.open).toMatchObject({ state: 'firing', startedAt: s(0), firedAt: s(60), value: 34 });
  });

  it('cancels a pending alert whose condition stops before forS', () => {
    const r = feed(above, [[live(0, 31)], [live(30, 29)], [live(90, 29)]]);
    expect(r.notices).toEqual([]);
    expect(r.states).toEqual(['pending', 'cancelled']);
    expect(r.open).toBeNull();
  });

  it('resolves only below the clear level (hysteresis)', () => {
    const r = feed({ ...above, forS: 0 }, [
      [live(0, 31)],
      [live(10, 29.5)],
      [live(20, 30.5)],
      [live(30, 28.5)],
      [live(40, 28)],
    ]);
    expect(r.notices.map((n) => n.state)).toEqual(['firing', 'resolved']);
    expect(r.notices[1]).toMatchObject({ at: s(40), value: 28 });
  });

  it('judges a below rule with its clear above the threshold', () => {
    const below: MachineRule = { kind: 'below', threshold: 5, clear: 7, forS: 0, repeatS: null };
    const r = feed(below, [[live(0, 4)], [live(10, 6)], [live(20, 7)]]);
    expect(r.notices.map((n) => [n.state, n.value])).toEqual([
      ['firing', 4],
      ['resolved', 7],
    ]);
  });

  it('updates the value of a firing alert without notifying again', () => {
    const r = feed({ ...above, forS: 0 }, [[live(0, 31)], [live(10, 35)], [live(20, 33)]]);
    expect(r.notices).toHaveLength(1);
    expect(r.open?.value).toBe(33);
  });

  it('opens a new alert for a breach after a resolve', () => {
    const r = feed({ ...above, forS: 0 }, [[live(0, 31), live(10, 20), live(20, 31)]]);
    expect(r.notices.map((n) => n.state)).toEqual(['firing', 'resolved', 'firing']);
    expect(r.states).toEqual(['resolved', 'firing']);
  });

  it('judges readings of one round at their measured time, whatever their order', () => {
    const r = feed(above, [[live(60, 31), live(0, 31), live(30, 31)]]);
    expect(r.notices).toEqual([{ state: 'firing', at: s(60), value: 31 }]);
  });

  it('repeats while firing every repeatS, by the wall clock', () => {
    const rule = { ...above, forS: 0, repeatS: 600 };
    let j = judgeSamples(rule, null, [live(0, 31)], s(0));
    expect(j.outcomes[0]!.notices).toHaveLength(1);
    j = judgeTick(rule, j.open, s(599));
    expect(j.outcomes).toHaveLength(0);
    j = judgeTick(rule, j.open, s(600));
    expect(j.outcomes[0]!.notices).toEqual([{ state: 'firing', at: s(600), value: 31, repeat: true }]);
    j = judgeTick(rule, j.open, s(900));
    expect(j.outcomes).toHaveLength(0);
  });

  it('keeps a firing judged from replayed readings quiet; resolving it announces only "resolved while offline"', () => {
    const late = (sec: number, value: number): Sample => ({ at: s(sec), value, late: true });
    const r = feed(above, [[late(0, 31), late(30, 32), late(60, 33), late(90, 27)], [live(600, 25)]]);
    expect(r.notices).toEqual([{ state: 'resolved', at: s(90), value: 27, resolvedWhileOffline: true }]);
    expect(r.states).toEqual(['resolved']);
  });

  it('announces a quiet firing once live readings confirm it', () => {
    const late = (sec: number, value: number): Sample => ({ at: s(sec), value, late: true });
    const r = feed(above, [[late(0, 31), late(60, 33)], [live(600, 32)]], (i) => s(i ? 600 : 500));
    expect(r.notices).toEqual([{ state: 'firing', at: s(60), value: 32 }]);
  });
});

describe('alert state machine: device conditions', () => {
  const offline: MachineRule = { kind: 'offline', threshold: null, clear: null, forS: 120, repeatS: null };

  it('fires when a device stayed offline forS and resolves when it is back', () => {
    let j = judgeObservation(offline, null, { at: s(60), holds: true, since: s(0), value: 60 });
    expect(j.open?.state).toBe('pending');
    expect(j.open?.startedAt).toBe(s(0));
    j = judgeObservation(offline, j.open, { at: s(125), holds: true, since: s(0), value: 125 });
    expect(j.outcomes[0]!.notices).toEqual([{ state: 'firing', at: s(125), value: 125 }]);
    j = judgeObservation(offline, j.open, { at: s(130), holds: true, since: s(0), value: 130 });
    expect(j.outcomes.flatMap((o) => o.notices)).toEqual([]);
    j = judgeObservation(offline, j.open, { at: s(200), holds: false, since: s(0), value: null });
    expect(j.outcomes[0]!.notices).toEqual([{ state: 'resolved', at: s(200), value: null }]);
    expect(j.open).toBeNull();
  });

  it('cancels a pending offline alert when the device returns in time', () => {
    let j = judgeObservation(offline, null, { at: s(60), holds: true, since: s(0), value: 60 });
    j = judgeObservation(offline, j.open, { at: s(90), holds: false, since: s(0), value: null });
    expect(j.outcomes[0]).toMatchObject({ cancelled: true, notices: [] });
  });

  it('fires a device that was already offline longer than N at once', () => {
    const j = judgeObservation(offline, null, { at: s(1000), holds: true, since: s(0), value: 1000 });
    expect(j.open).toMatchObject({ state: 'firing', startedAt: s(0) });
    expect(j.outcomes[0]!.notices).toHaveLength(1);
  });
});

describe('alert state machine: acknowledging, rule changes, replays', () => {
  it('records who acknowledged and when, and notifies nobody', () => {
    const j = judgeSamples({ ...above, forS: 0 }, null, [live(0, 31)], s(0));
    const acked = acknowledge(j.open!, 'olga', s(5));
    expect(acked).toMatchObject({ ackedBy: 'olga', ackedAt: s(5), state: 'firing' });
    expect(acknowledge(acked, 'paul', s(9)).ackedBy).toBe('olga');
  });

  it('resolves an open alert the edited rule no longer holds, and keeps one it still holds', () => {
    const j = judgeSamples({ ...above, forS: 0 }, null, [live(0, 31)], s(0));
    const stricter = { ...above, threshold: 35, clear: 33 };
    expect(judgeRuleChange(stricter, j.open, { at: s(5), holds: true, latest: 31 }).open).toBeNull();
    const looser = { ...above, threshold: 25, clear: 20 };
    expect(judgeRuleChange(looser, j.open, { at: s(5), holds: true, latest: 31 }).open).not.toBeNull();
    const gone = judgeRuleChange(above, j.open, { at: s(5), holds: false, latest: null });
    expect(gone.outcomes[0]!.notices).toEqual([{ state: 'resolved', at: s(5), value: 31 }]);
  });

  it('finds episodes among replayed readings that fired and cleared before what was judged live', () => {
    const late = (sec: number, value: number): Sample => ({ at: s(sec), value, late: true });
    const context = [
      live(0, 20),
      late(10, 31),
      late(40, 32),
      late(80, 33),
      late(100, 27),
      late(110, 31),
      late(120, 20),
      live(1000, 21),
    ];
    const eps = judgeReplay(above, context, s(1000), s(2000));
    expect(eps).toHaveLength(1);
    expect(eps[0]).toMatchObject({
      state: 'resolved',
      startedAt: s(10),
      firedAt: s(80),
      resolvedAt: s(100),
      resolvedWhileOffline: true,
      firingNotified: false,
    });
    // The same episode judged live earlier has no late reading: nothing to record again.
    expect(
      judgeReplay(
        above,
        context.map((c) => ({ ...c, late: false })),
        s(1000),
        s(2000),
      ),
    ).toEqual([]);
  });
});

describe('alert state machine: properties', () => {
  const rule = fc.record({
    kind: fc.constantFrom('above' as const, 'below' as const),
    threshold: fc.constant(30),
    clear: fc.integer({ min: 0, max: 4 }),
    forS: fc.constantFrom(0, 10, 60),
    repeatS: fc.constantFrom(null, 60),
  });
  const rounds = fc.array(
    fc.array(
      fc.record({
        dt: fc.integer({ min: 1, max: 40 }),
        value: fc.integer({ min: 20, max: 40 }),
        late: fc.boolean(),
      }),
      {
        maxLength: 6,
      },
    ),
    { maxLength: 40 },
  );

  it('sends at most one notification per state change, never firing after firing except repeats', () => {
    fc.assert(
      fc.property(rule, rounds, (r, rs) => {
        const machineRule: MachineRule = {
          ...r,
          clear: r.kind === 'above' ? 30 - r.clear : 30 + r.clear,
        };
        let open: AlertSnapshot | null = null;
        let t = T0;
        const perEpisode = new Map<number, string[]>();
        for (const round of rs) {
          const samples = round.map((x) => ({ at: (t += x.dt * 1000), value: x.value, late: x.late }));
          const j = judgeSamples(machineRule, open, samples, t + 1000);
          for (const o of j.outcomes) {
            const list = perEpisode.get(o.alert.startedAt) ?? [];
            for (const n of o.notices) list.push(n.repeat ? 'repeat' : n.state);
            perEpisode.set(o.alert.startedAt, list);
          }
          open = j.open;
        }
        for (const list of perEpisode.values()) {
          const real = list.filter((x) => x !== 'repeat').join(',');
          // One state change, one notification: firing then resolved, or resolved alone (while offline).
          expect(['', 'firing', 'firing,resolved', 'resolved']).toContain(real);
          const firstRepeat = list.indexOf('repeat');
          if (firstRepeat >= 0) expect(list.slice(0, firstRepeat)).toContain('firing');
        }
      }),
      { numRuns: 500 },
    );
  });
});
