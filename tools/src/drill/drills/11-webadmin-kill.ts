import mqtt from 'mqtt';
import { sleep, waitFor } from '../../harness/index.js';
import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault } from '../drill-steps.js';

const COMMANDS = 3;

/**
 * The web admin killed -9 while commands are pending (their device is offline) and an alert is due (an
 * `offline` rule whose time runs out while the web admin is dead). After the restart each command reaches
 * the device exactly once (counted on the broker, answered once) and the alert's mail is sent exactly once.
 */
export const webadminKill: Drill<DrillSystem> = {
  id: '11',
  name: 'web admin kill -9 with commands pending and an alert due',
  quick: true,
  run: async (system, scale, log) => {
    const device = system.devices[0]!;
    const ruleName = `drill offline ${device.id} ${Date.now()}`;
    const rule = await system.api('POST', '/api/alert-rules', {
      name: ruleName,
      deviceId: device.id,
      kind: 'offline',
      forS: 3,
      severity: 'critical',
      targets: [{ type: 'email', to: 'ops@sensorfleet.local' }],
    });
    if (rule.status !== 201)
      throw new Error(`alert rule refused: ${rule.status} ${JSON.stringify(rule.body)}`);

    // Count on the broker what is delivered to the device and what it answers, per command id.
    const watch = await mqtt.connectAsync(system.broker.url, {
      clientId: `drill-watch-${Date.now()}`,
      ...system.account('webadmin'),
    });
    const delivered = new Map<string, number>();
    const answered = new Map<string, number>();
    watch.on('message', (topic, payload) => {
      let id = '';
      try {
        id = String((JSON.parse(payload.toString()) as { id?: unknown }).id ?? '');
      } catch {
        return;
      }
      const map = topic.endsWith('/result') ? answered : delivered;
      map.set(id, (map.get(id) ?? 0) + 1);
    });
    await watch.subscribeAsync([`devices/${device.id}/commands`, `devices/${device.id}/commands/result`], {
      qos: 1,
    });

    const ids: string[] = [];
    try {
      return await runFault(
        system,
        {
          id: '11',
          name: 'web admin kill -9, commands pending + alert due',
          fault: async () => {
            await device.mqtthandler.stop(); // offline (clean stop: online=false at once)
            await waitFor('the device offline in the web admin', 20_000, async () => {
              const r = await system.api('GET', `/api/devices/${device.id}`);
              return (r.body as { online?: boolean }).online === false;
            });
            for (let i = 0; i < COMMANDS; i++) {
              const r = await system.api('POST', `/api/devices/${device.id}/commands`, { command: 'ping' });
              if (r.status !== 202) throw new Error(`command refused: ${r.status} ${JSON.stringify(r.body)}`);
              ids.push((r.body as { id: string }).id);
            }
            await system.webadmin.kill();
            log(`  web admin killed with ${ids.length} commands pending; the alert falls due meanwhile`);
          },
          faultMs: Math.max(5000, Math.min(scale.outageMs, 10_000)),
          heal: async () => {
            await system.webadmin.start();
            await system.waitWebadminHealthy();
            await waitFor('the alert mail', 60_000, () =>
              system.mails().some((m) => m.subject.includes(ruleName) && /FIRING/i.test(m.subject)),
            );
            await device.mqtthandler.start();
          },
          checks: async () => {
            await waitFor('every command answered', 60_000, () => ids.every((id) => answered.has(id))).catch(
              () => undefined,
            );
            const states = await Promise.all(
              ids.map(
                async (id) =>
                  ((await system.api('GET', `/api/commands/${id}`)).body as { status?: string }).status,
              ),
            );
            const stored = await device.commandResults();
            await sleep(3000); // a late second copy would show up here
            const firing = system
              .mails()
              .filter((m) => m.subject.includes(ruleName) && /FIRING/i.test(m.subject));
            const ids2 = new Set(firing.map((m) => m.notification));
            return [
              {
                ok: ids.every((id) => delivered.get(id) === 1),
                note: `each command delivered once: ${ids.map((id) => delivered.get(id) ?? 0).join(', ')}`,
              },
              {
                ok: ids.every((id) => answered.get(id) === 1) && ids.every((id) => id in stored),
                note: `each answered once by the device: ${ids.map((id) => answered.get(id) ?? 0).join(', ')}`,
              },
              { ok: states.every((s) => s === 'succeeded'), note: `command states ${states.join(', ')}` },
              {
                ok: firing.length === 1 && ids2.size === 1,
                note: `firing mail sent ${firing.length} time(s)`,
              },
            ];
          },
        },
        log,
      );
    } finally {
      await watch.endAsync(true).catch(() => undefined);
      await system
        .api('DELETE', `/api/alert-rules/${(rule.body as { id: number }).id}`)
        .catch(() => undefined);
    }
  },
};
