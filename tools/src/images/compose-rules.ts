/**
 * Rules the compose files are checked against (tools/test/device-release.test.ts,
 * tools/test/backend-compose.int.test.ts): which service keys balena's supervisor supports, and whether
 * a service's env schema is satisfied by what a compose file gives it.
 */
import { parseEnv, ConfigError, type EnvSpec } from '@sensorfleet/shared';

/**
 * Service keys balena supports (its compose dialect is file format 2.4; fields of format 3 and the
 * ones below the list are refused or ignored). Anything outside this list is a mistake in the device file.
 */
export const BALENA_SERVICE_KEYS = new Set([
  'build',
  'cap_add',
  'cap_drop',
  'cgroup_parent',
  'command',
  'cpu_shares',
  'cpu_quota',
  'cpuset',
  'devices',
  'depends_on',
  'dns',
  'dns_opt',
  'dns_search',
  'domainname',
  'entrypoint',
  'environment',
  'expose',
  'extra_hosts',
  'group_add',
  'healthcheck',
  'hostname',
  'image',
  'ipc',
  'labels',
  'mac_address',
  'mem_limit',
  'mem_reservation',
  'network_mode',
  'networks',
  'oom_kill_disable',
  'oom_score_adj',
  'pid',
  'pids_limit',
  'ports',
  'privileged',
  'read_only',
  'restart',
  'security_opt',
  'shm_size',
  'stop_grace_period',
  'stop_signal',
  'sysctls',
  'tmpfs',
  'ulimits',
  'user',
  'userns_mode',
  'volumes',
  'working_dir',
]);

/** Top-level and service keys balena does not support at all (named in the issue and the DESIGN notes). */
export const BALENA_FORBIDDEN_KEYS = ['deploy', 'logging', 'secrets', 'configs', 'env_file'];

/** Variables balena sets in every container (docs/design.md#deployment-constraints). */
export const BALENA_PROVIDED_ENV = {
  BALENA: '1',
  BALENA_DEVICE_UUID: '0123456789abcdef0123456789abcdef',
  BALENA_DEVICE_TYPE: 'raspberrypi4-64',
  BALENA_APP_NAME: 'sensorfleet',
};

/**
 * Parses a service's env schema with exactly what the container would get; returns the problems (empty
 * when the service starts). `fallbacks` stands for defaults a schema computes from another variable at
 * import time (DEVICE_ID from BALENA_DEVICE_UUID), which a test process cannot see.
 */
export function envProblems(
  spec: EnvSpec,
  environment: Record<string, string>,
  fallbacks: Record<string, string> = {},
): string[] {
  const env: Record<string, string> = { ...environment };
  for (const [name, value] of Object.entries(fallbacks)) env[name] ??= value;
  try {
    parseEnv(spec, env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.variable}: ${i.reason}`);
  }
}

/** A compose `environment:` in either form (map or `KEY=value` list) as a map of strings. */
export function environmentOf(service: { environment?: unknown }): Record<string, string> {
  const e = service.environment;
  if (!e) return {};
  if (Array.isArray(e)) {
    return Object.fromEntries(
      e.map((entry: string) => {
        const eq = entry.indexOf('=');
        return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(e as Record<string, unknown>).map(([k, v]) => [k, v == null ? '' : String(v)]),
  );
}
