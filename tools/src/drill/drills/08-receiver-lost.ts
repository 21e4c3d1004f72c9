import { sleep } from '../../harness/index.js';
import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault } from '../drill-steps.js';

/**
 * One of the two receivers killed -9 for good: native telemetry must all arrive through the other one
 * (devices resend what the dead replica's session swallowed). Source-004 messages handed to the dead
 * replica's session wait there for a replacement under its RECEIVER_REPLICA_ID (README known limit), so
 * the row counts native readings; a check then starts the replacement and expects the 004 window stored.
 */
export const receiverLost: Drill<DrillSystem> = {
  id: '8',
  name: 'two receivers, one killed for good',
  quick: false,
  run: async (system, scale, log) => {
    const lost = system.receivers[1]!;
    const window004 = await system.openWindow({ deviceIds: [], with004: true });
    const result = await runFault(
      system,
      {
        id: '8',
        name: 'two receivers, one killed -9 for good',
        with004: false,
        fault: () => lost.kill(),
        faultMs: scale.outageMs,
        heal: async () => {}, // it stays dead: recovery is measured without it
      },
      log,
    );
    // Put the system back for later drills, and prove the 004 messages were only parked.
    await lost.start();
    await sleep(1000);
    await system.closeWindow(window004);
    const audit004 = await system.audit(window004);
    const ok = audit004.length > 0 && audit004.every((a) => a.produced === a.stored && a.duplicated === 0);
    result.notes.push(
      `${ok ? 'ok' : 'FAILED'}: once a replacement took the dead replica's id, the 004 messages parked in ` +
        `its session were stored: ${audit004.map((a) => `${a.stored}/${a.produced}`).join(', ') || 'no 004 publisher'}`,
    );
    if (!ok) result.passed = false;
    return result;
  },
};
