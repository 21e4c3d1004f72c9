import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@sensorfleet/tools/harness';

/** A service with a bad environment must say which variable is wrong and why, then exit non-zero. */
function run(service: string, env: Record<string, string>) {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, service, 'dist/main.js')], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { code: r.status, stderr: r.stderr };
}

describe('bad configuration', () => {
  it('sensor: names SENSOR_DRIVER and the allowed values', () => {
    const r = run('device/sensor', { SENSOR_DRIVER: 'dht22', SENSOR_INTERVAL_MS: '5' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SENSOR_DRIVER: must be one of bme280, simulated (got "dht22")');
    expect(r.stderr).toContain('SENSOR_INTERVAL_MS: must be ≥ 10 (got 5)');
  });
  it('mqtthandler: DEVICE_ID is required off balena, MQTT_URL must be an MQTT URL', () => {
    const r = run('device/mqtthandler', { MQTT_URL: 'http://broker' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DEVICE_ID: is required but not set');
    expect(r.stderr).toContain('MQTT_URL: must use mqtt: or mqtts: or ws: or wss: (got http:)');
  });
  it('mqtthandler: a device id that would break topics is refused', () => {
    const r = run('device/mqtthandler', { DEVICE_ID: 'a/+/b' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DEVICE_ID: must match letters, digits/);
  });
  it('receiver: a malformed DATABASE_URL is refused without echoing it (it holds a password)', () => {
    const r = run('backend/receiver', { DATABASE_URL: 'secret-password-here', INGEST_MAX_ROWS: 'lots' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DATABASE_URL: must be a URL like mariadb://host:port (got ***)');
    expect(r.stderr).not.toContain('secret-password-here');
    expect(r.stderr).toContain('INGEST_MAX_ROWS: must be an integer (got "lots")');
  });
});
