import { envTable, type EnvSpec } from '@sensorfleet/shared';

/**
 * Each service's README holds its env table, generated from the service's env schema (its config.ts), so
 * the documentation and the validation cannot disagree. `npm run docs` rewrites the marked sections; a
 * unit test fails when a README is stale. The root README links to these tables instead of repeating them.
 */
export type EnvSections = Record<string, EnvSpec>;

/** The README (path from the repository root) that holds each section's `<!-- env:name -->` table. */
export const ENV_SECTION_READMES: Readonly<Record<string, string>> = {
  sensor: 'device/sensor/README.md',
  mqtthandler: 'device/mqtthandler/README.md',
  startstopbutton: 'device/startstopbutton/README.md',
  receiver: 'backend/receiver/README.md',
  webadmin: 'backend/webadmin/README.md',
  'broker-metrics': 'backend/mqttserver/README.md',
};

export async function loadEnvSections(): Promise<EnvSections> {
  const [
    { sensorEnv },
    { mqtthandlerEnv },
    { startStopButtonEnv },
    { receiverEnv },
    { webadminEnv },
    { brokerMetricsEnv },
  ] = await Promise.all([
    import('@sensorfleet/sensor/config'),
    import('@sensorfleet/mqtthandler/config'),
    import('@sensorfleet/startstopbutton/config'),
    import('@sensorfleet/receiver/config'),
    import('@sensorfleet/webadmin/config'),
    import('@sensorfleet/mqttserver/broker-metrics/config'),
  ]);
  return {
    sensor: sensorEnv,
    mqtthandler: mqtthandlerEnv,
    startstopbutton: startStopButtonEnv,
    receiver: receiverEnv,
    webadmin: webadminEnv,
    'broker-metrics': brokerMetricsEnv,
  };
}

export const envMarker = (name: string) => [`<!-- env:${name} -->`, `<!-- /env:${name} -->`] as const;

/** The README with every marked env section replaced by the generated table. */
export function renderEnvSections(readme: string, sections: EnvSections): string {
  let out = readme;
  for (const [name, spec] of Object.entries(sections)) {
    const [open, close] = envMarker(name);
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) continue;
    out = `${out.slice(0, start + open.length)}\n${envTable(spec)}\n${out.slice(end)}`;
  }
  return out;
}
