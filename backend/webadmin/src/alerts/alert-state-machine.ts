import type { AlertKind } from '@sensorfleet/shared/schemas/alerts';

/*
 * The life of one alert of one (rule, device), as pure functions of what was observed and when: no clock,
 * no I/O, so the evaluator's decisions can be replayed in tests with a fake clock. Times are epoch ms.
 *
 *   none ─breach─▶ pending ─held forS─▶ firing ─clear level crossed─▶ resolved
 *            ▲        │ (condition gone: the pending alert is cancelled, not kept as history)
 *
 * Sensor readings are judged at their measured time. A reading that reached the backend long after it was
 * measured (`late`: replayed from a device's backlog) can make an alert fire, but that firing is not
 * announced until live data confirms the breach: if it resolves first, the only notification is "resolved"
 * with `resolvedWhileOffline` (the breach is history by the time anyone hears of it).
 */

export interface MachineRule {
  kind: AlertKind;
  threshold: number | null;
  /** The level that resolves a firing above/below alert; null = threshold. */
  clear: number | null;
  forS: number;
  repeatS: number | null;
}

export interface AlertSnapshot {
  /** The database row, when there is one. */
  id?: number;
  state: 'pending' | 'firing' | 'resolved';
  startedAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  value: number | null;
  resolvedWhileOffline: boolean;
  /** False while a firing judged from late data waits for live data (nothing announced yet). */
  firingNotified: boolean;
  /** Wall time of the last firing or repeat notification. */
  lastNotifiedAt: number | null;
  ackedBy: string | null;
  ackedAt: number | null;
}

export interface Notice {
  state: 'firing' | 'resolved';
  /** When the state changed (a repeat: when it is sent). */
  at: number;
  value: number | null;
  resolvedWhileOffline?: boolean;
  repeat?: boolean;
}

export interface Outcome {
  /** The alert as it is after this judgement. */
  alert: AlertSnapshot;
  /** A pending alert whose condition went away before it fired: to be removed. */
  cancelled: boolean;
  notices: Notice[];
}

export interface Judgement {
  /** The open (pending or firing) alert afterwards, if any. */
  open: AlertSnapshot | null;
  /** Every alert this judgement touched, in order, each once. */
  outcomes: Outcome[];
}

export interface Sample {
  /** Measured time. */
  at: number;
  value: number;
  /** Reached the backend long after it was measured (replayed backlog). */
  late: boolean;
}

/** A device-level condition (offline, no_data, backlog) as seen at `at` (wall time). */
export interface Observation {
  at: number;
  holds: boolean;
  /** When the condition began to hold (offline: went offline; no_data: last data; backlog: first seen). */
  since: number;
  value: number | null;
}

export function isSensorKind(kind: AlertKind): boolean {
  return kind === 'above' || kind === 'below';
}

function breaches(rule: MachineRule, v: number): boolean {
  const t = rule.threshold ?? 0;
  return rule.kind === 'below' ? v < t : v > t;
}

function clears(rule: MachineRule, v: number): boolean {
  const c = rule.clear ?? rule.threshold ?? 0;
  return rule.kind === 'below' ? v >= c : v <= c;
}

class Run {
  readonly outcomes: Outcome[] = [];
  private current: Outcome | undefined;

  constructor(public open: AlertSnapshot | null) {
    if (open) this.current = { alert: open, cancelled: false, notices: [] };
  }

  private touch(): Outcome {
    if (!this.current) throw new Error('no open alert');
    if (!this.outcomes.includes(this.current)) this.outcomes.push(this.current);
    return this.current;
  }

  begin(startedAt: number, value: number | null): AlertSnapshot {
    const alert: AlertSnapshot = {
      state: 'pending',
      startedAt,
      firedAt: null,
      resolvedAt: null,
      value,
      resolvedWhileOffline: false,
      firingNotified: false,
      lastNotifiedAt: null,
      ackedBy: null,
      ackedAt: null,
    };
    this.open = alert;
    this.current = { alert, cancelled: false, notices: [] };
    this.touch();
    return alert;
  }

  update(value: number | null): void {
    const a = this.open!;
    if (a.value === value) return;
    a.value = value;
    this.touch();
  }

  fire(at: number, value: number | null, announce: boolean, now: number): void {
    const a = this.open!;
    a.state = 'firing';
    a.firedAt = at;
    a.value = value;
    const o = this.touch();
    if (announce) this.announceFiring(o, now);
  }

  /** A quiet firing (judged from late data) confirmed by live data. */
  confirm(now: number): void {
    const a = this.open!;
    if (a.state !== 'firing' || a.firingNotified) return;
    this.announceFiring(this.touch(), now);
  }

  private announceFiring(o: Outcome, now: number): void {
    const a = o.alert;
    a.firingNotified = true;
    a.lastNotifiedAt = now;
    o.notices.push({ state: 'firing', at: a.firedAt!, value: a.value });
  }

  resolve(at: number, value: number | null): void {
    const a = this.open!;
    const o = this.touch();
    if (a.state === 'pending') {
      o.cancelled = true;
    } else {
      a.state = 'resolved';
      a.resolvedAt = at;
      a.value = value;
      if (!a.firingNotified) a.resolvedWhileOffline = true;
      o.notices.push({
        state: 'resolved',
        at,
        value,
        ...(a.resolvedWhileOffline ? { resolvedWhileOffline: true } : {}),
      });
    }
    this.open = null;
    this.current = undefined;
  }

  repeat(now: number, repeatS: number | null): void {
    const a = this.open;
    if (!a || a.state !== 'firing' || !a.firingNotified || !repeatS) return;
    if (a.lastNotifiedAt !== null && now - a.lastNotifiedAt < repeatS * 1000) return;
    a.lastNotifiedAt = now;
    this.touch().notices.push({ state: 'firing', at: now, value: a.value, repeat: true });
  }

  result(): Judgement {
    return { open: this.open, outcomes: this.outcomes };
  }
}

/** One sample of an above/below rule, in measured order, on a run. */
function step(run: Run, rule: MachineRule, s: Sample, now: number): void {
  const breach = breaches(rule, s.value);
  const a = run.open;
  if (!a) {
    if (!breach) return;
    run.begin(s.at, s.value);
    if (rule.forS === 0) run.fire(s.at, s.value, !s.late, now);
    return;
  }
  if (a.state === 'pending') {
    if (!breach) return run.resolve(s.at, s.value);
    if (s.at - a.startedAt >= rule.forS * 1000) run.fire(s.at, s.value, !s.late, now);
    else run.update(s.value);
    return;
  }
  // firing: only the clear level resolves it (hysteresis); a value between keeps it firing.
  if (clears(rule, s.value)) return run.resolve(s.at, s.value);
  if (breach) run.update(s.value);
  if (!s.late) run.confirm(now);
}

/**
 * Readings of an above/below rule newer than any judged before, in measured order. `now` is the wall
 * time, for repeats and for when a notification was sent.
 */
export function judgeSamples(
  rule: MachineRule,
  open: AlertSnapshot | null,
  samples: readonly Sample[],
  now: number,
): Judgement {
  const run = new Run(open && { ...open });
  const sorted = [...samples].sort((x, y) => x.at - y.at);
  for (const s of sorted) step(run, rule, s, now);
  run.repeat(now, rule.repeatS);
  return run.result();
}

/** A device-level condition (offline, no_data, backlog) observed now. */
export function judgeObservation(rule: MachineRule, open: AlertSnapshot | null, o: Observation): Judgement {
  const run = new Run(open && { ...open });
  const a = run.open;
  if (!o.holds) {
    if (a) run.resolve(o.at, o.value);
    return run.result();
  }
  const alert = a ?? run.begin(Math.min(o.since, o.at), o.value);
  if (alert.state === 'pending') {
    if (o.at - alert.startedAt >= rule.forS * 1000) run.fire(o.at, o.value, true, o.at);
    else run.update(o.value);
  } else {
    run.update(o.value);
  }
  run.repeat(o.at, rule.repeatS);
  return run.result();
}

/** Repeats only (a round without new data). */
export function judgeTick(rule: MachineRule, open: AlertSnapshot | null, now: number): Judgement {
  const run = new Run(open && { ...open });
  run.repeat(now, rule.repeatS);
  return run.result();
}

/**
 * The rule was edited, deleted or disabled: an open alert whose condition no longer holds under the rule
 * as it is now resolves (pending ones are cancelled) with the usual notifications. `latest` is the newest
 * value of the sensor for above/below (null: judge by `holds`); `holds` false means the rule no longer
 * applies at all (deleted, disabled, another kind or sensor, device out of scope).
 */
export function judgeRuleChange(
  rule: MachineRule,
  open: AlertSnapshot | null,
  change: { at: number; holds: boolean; latest: number | null },
): Judgement {
  const run = new Run(open && { ...open });
  const a = run.open;
  if (!a) return run.result();
  let holds = change.holds;
  if (holds && isSensorKind(rule.kind) && change.latest !== null) {
    holds = a.state === 'firing' ? !clears(rule, change.latest) : breaches(rule, change.latest);
  }
  if (!holds) run.resolve(change.at, change.latest ?? a.value);
  return run.result();
}

/** Acknowledging records who and when; it never notifies anyone. */
export function acknowledge(alert: AlertSnapshot, who: string, at: number): AlertSnapshot {
  if (alert.ackedBy !== null) return alert;
  return { ...alert, ackedBy: who, ackedAt: at };
}

/**
 * Replayed readings older than what the rule has already judged for the device: episodes among them that
 * fired and resolved before `before` are history to record (resolved while offline). `context` is every
 * stored reading of the sensor around the replayed ones, in any order; episodes without a late reading
 * were judged live already and are left out.
 */
export function judgeReplay(
  rule: MachineRule,
  context: readonly Sample[],
  before: number,
  now: number,
): AlertSnapshot[] {
  const sorted = [...context].filter((s) => s.at <= before).sort((x, y) => x.at - y.at);
  const quiet: MachineRule = { ...rule, repeatS: null };
  const episodes: AlertSnapshot[] = [];
  let run = new Run(null);
  let sawLate = false;
  for (const s of sorted) {
    const wasOpen = run.open !== null;
    // Every replayed firing is quiet: nobody is told "firing" about something that is over.
    step(run, quiet, { ...s, late: true }, now);
    if (!wasOpen && run.open) sawLate = false;
    if (run.open || wasOpen) sawLate ||= s.late;
    if (wasOpen && !run.open) {
      const done = run.outcomes[run.outcomes.length - 1]!;
      if (!done.cancelled && sawLate) episodes.push(done.alert);
      run = new Run(null);
    }
  }
  return episodes;
}
