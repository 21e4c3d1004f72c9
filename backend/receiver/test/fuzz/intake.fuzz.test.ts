import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDecoder,
  DEVICE_ID_REGEX,
  parseTopic,
  Reading,
  REJECTION_REASONS,
  ReportedState,
  SENSOR_NAME_REGEX,
  topics,
} from '@sensorfleet/shared';
import { heapUsedAfterGc, runFuzz } from '@sensorfleet/tools/fuzz/fuzz-settings';
import type { IngestItem } from '../../src/ingest/ingest-item.js';
import { MessageIntake, type IntakeOptions } from '../../src/intake/message-intake.js';
import { implausibility } from '../../src/intake/plausibility.js';

/*
 * Property-based fuzzing of the receiver's edge (MessageIntake.take: the real decode and validation of
 * every inbound topic, pure, no broker). Inputs are built from the shapes devices send, then mutated
 * (fields of the wrong type, bad numbers, broken timestamps, truncated or garbled bytes, bare NaN), plus
 * raw bytes. Whatever comes in: no throw, and whatever the intake lets through is a row the shared schema
 * accepts, plausible, with rejections only from the catalogue.
 */

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const OPTS: IntakeOptions = {
  maxBytes: 4096,
  maxFutureMs: 86_400_000,
  derivedValues: true,
  messageLog: 'rejected',
  logPayloadBytes: 256,
};
const intake = new MessageIntake(OPTS);
const readingCheck = createDecoder(Reading);
const stateCheck = createDecoder(ReportedState);
const DEVICE = 'fuzz-dev_01';

// --- arbitraries ------------------------------------------------------------------------------------

const sensorName = fc.oneof(
  fc.constantFrom(
    'temperature',
    'humidity',
    'pressure',
    'co2',
    'light',
    'battery',
    'dew_point',
    'heat_index',
  ),
  fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/),
  fc.constantFrom('', 'Temp', '1abc', 'a-b', '__proto__', 'constructor', 'toString', 'x'.repeat(51)),
  fc.string({ maxLength: 8 }),
);

const value = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: -200, max: 2000, noNaN: true }) },
  { weight: 2, arbitrary: fc.integer({ min: -100, max: 1200 }) },
  fc.double(), // NaN and ±Infinity become null in JSON.stringify, or bare tokens after mutation
  fc.constantFrom(null, true, '21.5', [], {}, 1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, -0),
);

const isoNearNow = fc
  .integer({ min: -40 * 365 * 86_400_000, max: 3 * 86_400_000 })
  .map((off) => new Date(NOW + off).toISOString());

const timestamp = fc.oneof(
  { weight: 5, arbitrary: isoNearNow },
  fc.constantFrom(
    '2026-02-30T10:00:00.000Z',
    '2026-11-23T24:00:00Z',
    '2026-11-23T10:00:60Z',
    '2026-13-01T00:00:00Z',
    '1999-12-31T23:59:59Z',
    '2026-11-23T10:00:00.1234567Z',
    '2026-11-23T10:00:00+08:00',
    '2026-11-23 10:00:00',
    '',
    '9999-12-31T23:59:59.999999Z',
  ),
  isoNearNow.chain((s) =>
    fc
      .integer({ min: 0, max: s.length - 1 })
      .chain((i) => fc.string({ minLength: 1, maxLength: 1 }).map((c) => s.slice(0, i) + c + s.slice(i + 1))),
  ),
  fc.integer(),
  fc.string({ maxLength: 30 }),
);

const seq = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 1_000_000 }) },
  fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, '7', null),
  fc.integer(),
);

const values = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(sensorName, value, { minKeys: 0, maxKeys: 6 }) },
  fc.dictionary(fc.stringMatching(/^[a-z]{1,3}$/), value, { minKeys: 30, maxKeys: 40 }),
  fc.anything({ maxDepth: 1 }),
);

const reading = fc.oneof(
  { weight: 8, arbitrary: fc.record({ seq, ts: timestamp, values }, { requiredKeys: [] }) },
  fc.record({ seq, ts: timestamp, values, extra: fc.anything({ maxDepth: 1 }) }),
  fc.anything({ maxDepth: 2 }),
);

const telemetry = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      v: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, fc.constantFrom(2, '1', null, 0)),
      readings: fc.oneof(
        { weight: 8, arbitrary: fc.array(reading, { minLength: 0, maxLength: 6 }) },
        fc.anything({ maxDepth: 1 }),
      ),
    }),
  },
  fc.anything({ maxDepth: 3 }),
);

const offsetTimestamp = fc.oneof(
  isoNearNow.map((s) => s.replace('Z', '+00:00')),
  isoNearNow.map((s) => s.slice(0, 19) + '+08:00'),
  timestamp,
);

const sample004 = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record(
      {
        sensor_name: sensorName,
        value,
        unit: fc.oneof(fc.string({ maxLength: 40 }), fc.constant(null)),
        timestamp: offsetTimestamp,
      },
      { requiredKeys: ['sensor_name'] },
    ),
  },
  fc.anything({ maxDepth: 1 }),
);

const location = fc.oneof(
  fc.record({ latitude: fc.double(), longitude: fc.double() }),
  fc.record({ latitude: fc.double({ min: -90, max: 90 }), longitude: fc.double({ min: -180, max: 180 }) }),
  fc.anything({ maxDepth: 1 }),
);

const data004 = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record(
      {
        sensors: fc.oneof(
          { weight: 6, arbitrary: fc.array(sample004, { maxLength: 8 }) },
          fc.anything({ maxDepth: 1 }),
        ),
        status: fc.oneof(
          fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 })),
          fc.anything({ maxDepth: 1 }),
        ),
        location,
        timestamp: offsetTimestamp,
      },
      { requiredKeys: ['sensors'] },
    ),
  },
  { weight: 3, arbitrary: fc.dictionary(sensorName, value, { maxKeys: 6 }) },
  fc.anything({ maxDepth: 2 }),
);

const sensorStatus = fc.record(
  {
    status: fc.oneof(fc.constantFrom('ok', 'error', 'starting', 'stopped'), fc.string({ maxLength: 8 })),
    driver: fc.string({ maxLength: 10 }),
    lastError: fc.oneof(fc.string({ maxLength: 40 }), fc.constant(null)),
    errors: fc.integer({ min: -1, max: 100 }),
  },
  { requiredKeys: [] },
);

const state = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        v: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, fc.constantFrom(2, null)),
        running: fc.oneof(fc.boolean(), fc.anything({ maxDepth: 0 })),
        intervalMs: fc.oneof(fc.integer({ min: 100, max: 86_400_000 }), fc.anything({ maxDepth: 0 })),
        backlog: fc.oneof(fc.nat(), fc.integer()),
        lastSeq: fc.oneof(fc.nat(), fc.integer()),
        sensor: fc.oneof(sensorStatus, fc.anything({ maxDepth: 1 })),
        version: fc.string({ maxLength: 12 }),
        uptimeS: fc.double(),
        ts: timestamp,
        extra: fc.anything({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
  },
  fc.anything({ maxDepth: 2 }),
);

/** JSON text of a value, then sometimes broken: bare NaN/Infinity, a cut, a byte changed, a BOM. */
function mutated(json: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer> {
  const text = json.map((v) => JSON.stringify(v) ?? 'undefined');
  return fc.oneof(
    { weight: 6, arbitrary: text.map((t) => Buffer.from(t)) },
    text.chain((t) =>
      fc
        .constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-0', '"\\u0000nonfinite:5"')
        .map((tok) => Buffer.from(t.replaceAll('null', tok))),
    ),
    text.chain((t) => fc.nat({ max: Math.max(0, t.length) }).map((n) => Buffer.from(t.slice(0, n)))),
    text.chain((t) =>
      fc.tuple(fc.nat({ max: Math.max(0, t.length - 1) }), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
        const buf = Buffer.from(t);
        if (buf.length > 0) buf[i % buf.length] = b;
        return buf;
      }),
    ),
    text.map((t) => Buffer.from(`\ufeff ${t} `)),
    fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    fc.constant(Buffer.alloc(OPTS.maxBytes + 1, 0x20)),
  );
}

// --- invariants -------------------------------------------------------------------------------------

const REASON_SCOPES = REJECTION_REASONS as Record<string, Partial<Record<string, string>>>;

/** A cheap assertion for the hot loop (vitest's expect costs more than the intake it checks). */
function ensure(ok: boolean, what: string | (() => string)): void {
  if (!ok) throw new Error(typeof what === 'string' ? what : what());
}

function checkItem(topic: string, payload: Buffer, item: IngestItem | undefined): void {
  const parsed = parseTopic(topic);
  if (
    !parsed ||
    !['telemetry', 'state', 'online', 'compatData', 'compatStatus', 'compatHeartbeat'].includes(parsed.kind)
  ) {
    ensure(item === undefined, 'not our topic, yet an item');
    return;
  }
  ensure(item !== undefined, 'our topic, yet no item');
  const it = item!;
  ensure(it.deviceId === parsed.deviceId, 'device id');
  ensure(DEVICE_ID_REGEX.test(it.deviceId), 'device id pattern');
  ensure(it.acks === (it.kind === 'telemetry'), 'acks');
  ensure(it.bytes === payload.length, 'bytes');
  ensure(it.logPayload.length <= OPTS.logPayloadBytes, 'log payload cut');
  if (payload.length > OPTS.maxBytes) {
    ensure(it.readings.length === 0 && it.registry.length === 0, 'oversized payload used');
  }
  for (const r of it.rejected) {
    ensure(typeof REASON_SCOPES[r.reason]?.[r.scope] === 'string', `rejection ${r.scope}:${r.reason}`);
    ensure(typeof r.detail === 'string', 'rejection detail');
  }
  const seqs = new Set<number>();
  accepted += it.readings.length;
  for (const r of it.readings) {
    ensure(!seqs.has(r.seq), `seq ${r.seq} twice`);
    seqs.add(r.seq);
    // The row the writer makes of it: what the shared contract allows, and nothing implausible.
    const row = { seq: r.seq, ts: new Date(r.measuredMs).toISOString(), values: r.values };
    const check = readingCheck.check(row);
    ensure(check.ok, () => `${JSON.stringify(row)}: ${check.ok ? '' : check.error}`);
    ensure(r.measuredMs >= Date.UTC(2000, 0, 1) && r.measuredMs <= NOW + OPTS.maxFutureMs, 'time window');
    for (const [name, v] of Object.entries({ ...r.values, ...r.derived })) {
      ensure(SENSOR_NAME_REGEX.test(name), () => `sensor name ${name}`);
      ensure(Number.isFinite(v) && implausibility(name, v) === undefined, () => `${name}=${v}`);
    }
    for (const name of Object.keys(r.derived)) ensure(!Object.hasOwn(r.values, name), `derived ${name}`);
    if (it.kind === 'data') ensure(r.seq === r.measuredMs, '004 seq is its time');
  }
  if (it.kind !== 'telemetry' && it.kind !== 'data') ensure(it.readings.length === 0, 'readings');
  for (const u of it.registry) {
    if (u.kind === 'state') {
      ensure(it.kind === 'state' && stateCheck.check(u.state).ok && Number.isFinite(u.at), 'state update');
    }
    if (u.kind === 'online') ensure(typeof u.online === 'boolean', 'online update');
  }
}

function property(topicOf: fc.Arbitrary<string>, payload: fc.Arbitrary<Buffer>) {
  return fc.property(topicOf, payload, fc.boolean(), (topic, buf, retained) => {
    checkItem(topic, buf, intake.take(topic, buf, retained, NOW));
  });
}

// --- runs ---------------------------------------------------------------------------------------------

let total = 0;
/** Readings let through: the generators must reach the accepting paths too, not only the refusals. */
let accepted = 0;
let heapBefore = 0;

beforeAll(() => {
  // Warm up (compiled validators, JIT) so the heap comparison measures the runs, not the first call.
  fc.assert(property(fc.constant(topics.telemetry(DEVICE)), mutated(telemetry)), { numRuns: 2000, seed: 1 });
  heapBefore = heapUsedAfterGc();
});

afterAll(() => {
  console.log(`[fuzz] receiver intake: ${total} inputs`);
});

describe('receiver intake under fuzzed payloads', () => {
  it('telemetry', { timeout: 60_000 }, async () => {
    total += await runFuzz('receiver telemetry', 30_000, (p) =>
      fc.assert(property(fc.constant(topics.telemetry(DEVICE)), mutated(telemetry)), p),
    );
  });

  it('source-004 data (FULL and SIMPLE)', { timeout: 60_000 }, async () => {
    total += await runFuzz('receiver 004 data', 25_000, (p) =>
      fc.assert(property(fc.constant(topics.compatData(DEVICE)), mutated(data004)), p),
    );
  });

  it('state', { timeout: 60_000 }, async () => {
    total += await runFuzz('receiver state', 10_000, (p) =>
      fc.assert(property(fc.constant(topics.state(DEVICE)), mutated(state)), p),
    );
  });

  it('online, 004 status and heartbeat', { timeout: 60_000 }, async () => {
    const topicOf = fc.constantFrom(
      topics.online(DEVICE),
      topics.compatStatus(DEVICE),
      topics.compatHeartbeat(DEVICE),
    );
    const payload = fc.oneof(
      mutated(fc.constantFrom(true, false, 'true', 'false')),
      fc.constantFrom('true', ' false\n', 'TRUE', '', '1').map((s) => Buffer.from(s)),
      mutated(state),
    );
    total += await runFuzz('receiver online/status/heartbeat', 8_000, (p) =>
      fc.assert(property(topicOf, payload), p),
    );
  });

  it('any topic', { timeout: 60_000 }, async () => {
    const topicOf = fc.oneof(
      fc
        .tuple(
          fc.oneof(fc.constant(DEVICE), fc.string({ maxLength: 70 }), fc.constantFrom('+', '#', 'a/b', '')),
          fc.constantFrom(
            'telemetry',
            'state',
            'online',
            'data',
            'status',
            'heartbeat',
            'ack',
            'commands',
            'commands/result',
            'x',
          ),
        )
        .map(([id, kind]) => `devices/${id}/${kind}`),
      fc.string({ maxLength: 40 }),
    );
    total += await runFuzz('receiver any topic', 5_000, (p) =>
      fc.assert(property(topicOf, mutated(telemetry)), p),
    );
  });

  it('reached the accepting paths', () => {
    console.log(`[fuzz] receiver intake: ${accepted} readings accepted`);
    expect(accepted).toBeGreaterThan(total / 10);
  });

  it('keeps the heap flat', () => {
    const grown = heapUsedAfterGc() - heapBefore;
    console.log(`[fuzz] receiver intake: heap ${(grown / 1048576).toFixed(1)} MiB after vs before`);
    expect(grown).toBeLessThan(16 * 1024 * 1024);
  });
});
