import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FLAG_SETS, parseFlagSets, summarise, type FlagSetResult } from '../src/bench/device-memory.js';
import { parsePssBytes } from '../src/bench/proc-sampler.js';
import { nodeFlagsOf } from '../src/harness/node-service.js';
import { REPO_ROOT } from '../src/harness/repo-root.js';

const DEVICE_SERVICES = ['device/sensor', 'device/mqtthandler', 'device/startstopbutton'] as const;

describe('device memory bench: flag sets', () => {
  it('takes known names, `shipped` as the start scripts, and label=flags for anything else', () => {
    expect(parseFlagSets('no-flags; shipped ;x=--max-semi-space-size=2  --no-opt')).toEqual([
      { name: 'no-flags', flags: [] },
      { name: 'shipped', flags: undefined },
      { name: 'x', flags: ['--max-semi-space-size=2', '--no-opt'] },
    ]);
    expect(parseFlagSets('semi-1')).toEqual([{ name: 'semi-1', flags: FLAG_SETS['semi-1'] }]);
  });

  it('names the variable and the known sets on a typo', () => {
    expect(() => parseFlagSets('shiped')).toThrow(/BENCH_MEMORY_FLAGS: unknown flag set 'shiped'.*no-flags/);
  });

  it('summarises rounds: the highest peak, the median CPU and drain rate', () => {
    const proc = (rss: number, cpu: number) => ({
      peakRssMb: rss,
      peakRssAnonMb: rss - 40,
      peakRssFileMb: 40,
      peakPssMb: rss - 30,
      cpuSeconds: cpu,
      startupCpuSeconds: cpu / 2,
    });
    const set: FlagSetResult = {
      name: 'x',
      flags: {},
      rounds: [55, 61, 58].map((rss, i) => ({
        round: i + 1,
        processes: {
          sensor: proc(rss, [1, 3, 2][i]!),
          mqtthandler: proc(rss + 5, [1, 3, 2][i]!),
          startstopbutton: proc(rss - 1, [1, 3, 2][i]!),
        },
        drainSeconds: [1, 2, 3][i]!,
        drainReadingsPerS: [900, 1000, 1100][i]!,
        liveSeconds: 15,
      })),
    };
    const s = summarise(set);
    expect(s.processes.sensor).toMatchObject({ peakRssMb: 61, peakRssAnonMb: 21, cpuSeconds: 2 });
    expect(s.drainReadingsPerS).toBe(1000);
    expect(s.processes.mqtthandler?.peakRssMb).toBe(66);
    expect(s.processes.sensor?.peakPssMb).toBe(31);
    // the three live services together, per round (startup = half of each one's CPU), then the median
    expect(s.liveStartupCpuSeconds).toBe(3);
    expect(s.liveSteadyCpuSeconds).toBe(3);
  });
});

describe('device memory bench: Pss', () => {
  it('reads Pss, not Pss_Anon or Pss_File, from smaps_rollup', () => {
    const rollup = [
      '00400000-7ffd1e5f6000 ---p 00000000 00:00 0                          [rollup]',
      'Rss:               71396 kB',
      'Pss:               37884 kB',
      'Pss_Dirty:         27212 kB',
      'Pss_Anon:          27188 kB',
      'Pss_File:          10672 kB',
    ].join('\n');
    expect(parsePssBytes(rollup)).toBe(37884 * 1024);
    expect(parsePssBytes('Rss: 1 kB\n')).toBeUndefined();
  });
});

describe('device services: shipped node flags', () => {
  // A flag this node does not know makes it exit before the service starts: a crash-looping container.
  it.each(DEVICE_SERVICES)('%s: the start script has heap flags and this node accepts them', (svc) => {
    const flags = nodeFlagsOf(svc);
    expect(flags).toContain('--max-semi-space-size=1');
    // The snapshot's pages of the binary would otherwise be 2.5–4 MB of each service's RSS.
    expect(flags).toContain('--no-node-snapshot');
    expect(() => execFileSync(process.execPath, [...flags, '-e', '0'], { stdio: 'pipe' })).not.toThrow();
  });
});

describe('device services: no ESM import of node:http', () => {
  // On Node 22+ an ESM import of node:http loads all of the bundled undici (its facade reads the lazy
  // WebSocket getters): 4–5 MB of a device service's peak RSS on Node 24. The import graph is resolved
  // before any module runs, so a service that exits at once on a bad LOG_LEVEL has already shown every
  // static import to the hook, which records the ones of node:http and who made them.
  const hook = [
    "import { appendFileSync } from 'node:fs';",
    'export async function resolve(specifier, context, next) {',
    "  if (specifier === 'node:http' || specifier === 'http')",
    "    appendFileSync(process.env.HTTP_IMPORTS_LOG, (context.parentURL ?? '?') + '\\n');",
    '  return next(specifier, context);',
    '}',
  ].join('\n');
  const register = [
    "import { register } from 'node:module';",
    `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`,
  ].join('\n');

  it.each(DEVICE_SERVICES)('%s', (dir) => {
    const dirTmp = mkdtempSync(join(tmpdir(), 'http-imports-'));
    onTestFinished(() => rmSync(dirTmp, { recursive: true, force: true }));
    const log = join(dirTmp, 'imports.log');
    writeFileSync(log, '');
    const run = spawnSync(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(register)}`, 'dist/main.js'],
      { cwd: join(REPO_ROOT, dir), env: { ...process.env, LOG_LEVEL: 'nonsense', HTTP_IMPORTS_LOG: log } },
    );
    // it did get as far as validating its config, so the whole static graph was resolved
    expect(run.stderr.toString()).toMatch(/LOG_LEVEL: must be one of/);
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual([]);
  });
});
