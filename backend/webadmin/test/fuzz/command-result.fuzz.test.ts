import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandResult, createDecoder, createLogger } from '@sensorfleet/shared';
import { heapUsedAfterGc, runFuzz } from '@sensorfleet/tools/fuzz/fuzz-settings';
import type { CommandStore } from '../../src/commands/command-store.js';
import { ResultRecorder } from '../../src/commands/result-recorder.js';

/*
 * Property-based fuzzing of the inbound devices/{id}/commands/result messages (ResultRecorder.handle, the
 * decode and validation the web admin runs on every one, with the database write replaced by a recorder
 * of what would be written): nothing throws, and only payloads the shared CommandResult schema accepts
 * reach the store, unchanged.
 */

const check = createDecoder(CommandResult);
const written: unknown[] = [];
const outcomes = new Map<string, number>();
const store = {
  async recordResult(deviceId: string, id: string, outcome: unknown): Promise<boolean> {
    written.push({ deviceId, id, outcome });
    return true;
  },
} as unknown as CommandStore;
const recorder = new ResultRecorder({
  store,
  log: createLogger('fuzz', 'silent', { pretty: false }),
  onOutcome: (o) => outcomes.set(o, (outcomes.get(o) ?? 0) + 1),
});

const result = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      id: fc.string({ maxLength: 70 }),
      ok: fc.constant(true),
      result: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      id: fc.string({ maxLength: 70 }),
      ok: fc.constant(false),
      error: fc.string({ maxLength: 200 }),
    }),
  },
  fc.record(
    {
      id: fc.anything({ maxDepth: 0 }),
      ok: fc.anything({ maxDepth: 0 }),
      result: fc.anything({ maxDepth: 1 }),
      error: fc.anything({ maxDepth: 0 }),
      extra: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  fc.anything({ maxDepth: 2 }),
);
const payload = fc.oneof(
  { weight: 6, arbitrary: result.map((r) => Buffer.from(JSON.stringify(r) ?? '')) },
  result
    .map((r) => JSON.stringify(r) ?? '')
    .chain((t) => fc.nat({ max: t.length }).map((n) => Buffer.from(t.slice(0, n)))),
  fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)),
  fc.constant(Buffer.alloc(256 * 1024 + 1, 0x20)),
);

describe('command results under fuzzed payloads', () => {
  it(
    'records exactly the results the shared schema accepts, and nothing throws',
    { timeout: 60_000 },
    async () => {
      const before = heapUsedAfterGc();
      await runFuzz('web admin command results', 10_000, (p) =>
        fc.assert(
          fc.asyncProperty(payload, async (buf) => {
            const n = written.length;
            await recorder.handle('fz-dev', buf);
            let valid = false;
            try {
              valid = buf.length <= 256 * 1024 && check.check(JSON.parse(buf.toString('utf8'))).ok;
            } catch {
              valid = false;
            }
            if (written.length - n !== (valid ? 1 : 0))
              throw new Error(`valid=${valid}, ${written.length - n} writes`);
            if (valid) {
              const w = written[n] as { deviceId: string; id: string; outcome: { ok: boolean } };
              const sent = JSON.parse(buf.toString('utf8')) as { id: string; ok: boolean };
              if (w.deviceId !== 'fz-dev' || w.id !== sent.id || w.outcome.ok !== sent.ok)
                throw new Error('altered write');
            }
            written.length = 0;
          }),
          p,
        ),
      );
      console.log(`[fuzz] web admin command results: ${JSON.stringify(Object.fromEntries(outcomes))}`);
      expect(outcomes.get('succeeded')).toBeGreaterThan(100);
      expect(outcomes.get('invalid')).toBeGreaterThan(100);
      expect(heapUsedAfterGc() - before).toBeLessThan(16 * 1024 * 1024);
    },
  );
});
