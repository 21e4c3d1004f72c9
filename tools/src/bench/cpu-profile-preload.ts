/**
 * Loaded into a receiver with `NODE_OPTIONS=--import=<this file>` when the bench runs with
 * BENCH_CPU_PROF=<dir> (`--cpu-prof` itself is not allowed in NODE_OPTIONS): profiles the whole process
 * with the inspector and writes `<dir>/<label>-<pid>.cpuprofile` when it exits. Summarise the file with
 * `node tools/dist/bench/profile-summary.js <file>`, or open it in Chrome DevTools.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.SENSORFLEET_CPU_PROF_DIR;
if (dir) {
  const label = process.env.SENSORFLEET_CPU_PROF_LABEL ?? 'process';
  const session = new Session();
  session.connect();
  // A session on the main thread answers synchronously, so this also works in an 'exit' handler.
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  // SENSORFLEET_HEAP_PROF=1: also sample allocations, including objects the GC has already collected
  // (what drives scavenge cost is what is allocated, not what survives).
  const heap = process.env.SENSORFLEET_HEAP_PROF === '1';
  if (heap) {
    session.post('HeapProfiler.enable');
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
  }
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      writeFileSync(path.join(dir, `${label}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
    if (heap) {
      session.post('HeapProfiler.stopSampling', (err, result) => {
        if (err) return;
        writeFileSync(path.join(dir, `${label}-${process.pid}.heapprofile`), JSON.stringify(result.profile));
      });
    }
  });
}
