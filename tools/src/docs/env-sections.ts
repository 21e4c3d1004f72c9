import { envTable, type EnvSpec } from '@sensorfleet/shared';

/**
 * README env tables are generated from each service's env schema (its config.ts), so the documentation and
 * the validation cannot disagree. `npm run docs` rewrites the marked sections; a unit test fails when the
 * README is stale.
 */
export type EnvSections = Record<string, EnvSpec>;

export async function loadEnvSections(): Promise<EnvSections> {
  const [{ sensorEnv }, { mqtthandlerEnv }, { startStopButtonEnv }, { receiverEnv }, { webadminEnv }] =
    await Promise.all([
      import('@sensorfleet/sensor/config'),
      import('@sensorfleet/mqtthandler/config'),
      import('@sensorfleet/startstopbutton/config'),
      import('@sensorfleet/receiver/config'),
      import('@sensorfleet/webadmin/config'),
    ]);
  return {
    sensor: sensorEnv,
    mqtthandler: mqtthandlerEnv,
    startstopbutton: startStopButtonEnv,
    receiver: receiverEnv,
    webadmin: webadminEnv,
  };
}

const marker = (name: string) => [`<!-- env:${name} -->`, `<!-- /env:${name} -->`] as const;

/** Files with marked env sections: the root README and the READMEs of services that keep their own. */
export const README_FILES = ['README.md', 'backend/webadmin/README.md'];

/** The README with every marked env section replaced by the generated table. */
export function renderEnvSections(readme: string, sections: EnvSections): string {
  let out = readme;
  for (const [name, spec] of Object.entries(sections)) {
    const [open, close] = marker(name);
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) continue;
    out = `${out.slice(0, start + open.length)}\n${envTable(spec)}\n${out.slice(end)}`;
  }
  return out;
}
