import { sleep } from '../../harness/index.js';
import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault, seconds } from '../drill-steps.js';
import { seqRanges } from '../drill-verdict.js';

/** The dead replica's session expiry in this drill (the shipped default is 300 s). */
const EXPIRY_S = 10;

/** Mosquitto checks session expiry about once a second; a little more for the last delivery in flight. */
const EXPIRY_SLACK_MS = 2000;

export const RECEIVER_LOST_004_LIMIT =
  'source-004 messages the broker handed to a receiver replica gone for good, until its session ' +
  'expired (RECEIVER_SESSION_EXPIRY_S), are dropped with the session (README "Known limits")';

/**
 * One of the two receivers killed -9 for good. The broker keeps handing the dead replica's session its
 * share until the session expires (RECEIVER_SESSION_EXPIRY_S, set to 10 s for this replica so the drill
 * stays short); after that the survivor gets everything. Native telemetry must all be stored, each seq
 * once: devices resend what the dead session swallowed after their ack timeout. The recovery time is
 * measured from the kill to every outbox empty. Source-004 messages handed to the dead session before it
 * expired are dropped with it (the documented limit: `pass*`, counted in the row); every 004 message
 * published after the expiry must be stored.
 */
export const receiverLost: Drill<DrillSystem> = {
  id: '8',
  name: 'two receivers, one killed for good',
  quick: false,
  run: async (system, scale, log) => {
    const lost = system.receivers[1]!;
    // A planned restart first, to give the replica that will die a short session expiry (it resumes
    // its session: nothing is lost by this restart).
    lost.setEnv({ RECEIVER_SESSION_EXPIRY_S: String(EXPIRY_S) });
    await lost.restart();
    await sleep(3000);
    const publisher = system.compat004;
    const window004 = await system.openWindow({ deviceIds: [], with004: true });
    // 004 messages from this index on were published after the dead replica's session had expired.
    let expiredAt = 0;
    const result = await runFault(
      system,
      {
        id: '8',
        name: 'two receivers, one killed -9 for good',
        with004: false,
        fault: () => lost.kill(),
        // The replica stays dead; its session (and the share the broker hands it) lasts this long.
        faultMs: EXPIRY_S * 1000 + EXPIRY_SLACK_MS,
        heal: async () => {
          expiredAt = publisher?.sent ?? 0;
        },
        recoveryFromFault: true,
        notes: [
          `the killed replica had RECEIVER_SESSION_EXPIRY_S=${EXPIRY_S} (shipped default 300); recovery ` +
            `and live latency are measured from the kill (the ${seconds(scale.outageMs)} outage length ` +
            'does not apply)',
        ],
      },
      log,
    );
    await system.closeWindow(window004);
    const [audit004] = await system.audit(window004);
    // Put the system back for later drills: a new replica under the id (its old session is gone).
    lost.setEnv({ RECEIVER_SESSION_EXPIRY_S: undefined });
    await lost.start();
    await sleep(1000);
    if (!audit004 || !publisher) {
      result.notes.push('no 004 publisher: the 004 part was not checked');
      return result;
    }
    const lost004 = audit004.produced - audit004.stored;
    const lateMissing = audit004.missing.filter((seq) => seq >= publisher.seqOf(expiredAt));
    result.produced += audit004.produced;
    result.stored += audit004.stored;
    result.lost += lost004;
    result.duplicated += audit004.duplicated;
    result.compat004 = { published: audit004.produced, stored: audit004.stored, lost: lost004 };
    const afterExpiry = audit004.produced - (expiredAt - window004.start.sent004);
    const ok = lateMissing.length === 0 && audit004.duplicated === 0;
    result.notes.push(
      `${ok ? 'ok' : 'FAILED'}: every 004 message published after the dead session expired ` +
        `(${seconds(EXPIRY_S * 1000 + EXPIRY_SLACK_MS)} after the kill) stored once: ` +
        `${afterExpiry - lateMissing.length}/${afterExpiry}` +
        (lateMissing.length ? ` (missing seqs ${seqRanges(lateMissing, 3)})` : '') +
        (audit004.duplicated ? `, ${audit004.duplicated} rows twice` : ''),
    );
    if (!ok) result.passed = false;
    else if (lost004 > 0) {
      result.notes.push(
        `known limit: ${audit004.source} ${lost004} of ${audit004.produced} lost with the dead ` +
          `replica's session (seqs ${seqRanges(audit004.missing, 3)})`,
      );
      if (result.passed) result.knownLimit = RECEIVER_LOST_004_LIMIT;
    }
    return result;
  },
};
