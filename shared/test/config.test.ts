import { describe, expect, it } from 'vitest';
import { ConfigError, env, envTable, mqttNodesEnv, parseEnv, redactConfig } from '../src/index.js';

const spec = {
  MQTT_URL: env.url({
    default: 'mqtt://localhost:1883',
    protocols: ['mqtt:', 'mqtts:'],
    description: 'broker',
  }),
  SENSOR_INTERVAL_MS: env.int({ default: 1000, min: 100, max: 86_400_000, description: 'interval' }),
  SENSOR_DRIVER: env.oneOf(['bme280', 'simulated'], { default: 'simulated', description: 'driver' }),
  DEVICE_ID: env.string({ pattern: /^[a-z0-9-]+$/, description: 'id' }),
  MQTT_PASSWORD: env.optionalString({ description: 'pw', secret: true }),
  TLS: env.bool({ default: false, description: 'tls' }),
  I2C_ADDRESS: env.int({ default: 0x76, min: 0x03, max: 0x77, description: 'addr' }),
};

describe('parseEnv', () => {
  it('applies defaults and converts types', () => {
    const c = parseEnv(spec, { DEVICE_ID: 'pi-1', TLS: 'yes', I2C_ADDRESS: '0x77' });
    expect(c).toMatchObject({
      MQTT_URL: 'mqtt://localhost:1883',
      SENSOR_INTERVAL_MS: 1000,
      SENSOR_DRIVER: 'simulated',
      DEVICE_ID: 'pi-1',
      TLS: true,
      I2C_ADDRESS: 0x77,
    });
    expect(c.MQTT_PASSWORD).toBeUndefined();
  });
  it('names every bad variable and why', () => {
    try {
      parseEnv(spec, {
        MQTT_URL: 'http://x',
        SENSOR_INTERVAL_MS: '50',
        SENSOR_DRIVER: 'dht22',
        TLS: 'maybe',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const byVar = Object.fromEntries((err as ConfigError).issues.map((i) => [i.variable, i.reason]));
      expect(byVar.MQTT_URL).toMatch(/mqtt: or mqtts:/);
      expect(byVar.SENSOR_INTERVAL_MS).toMatch(/≥ 100/);
      expect(byVar.SENSOR_DRIVER).toMatch(/bme280, simulated/);
      expect(byVar.DEVICE_ID).toMatch(/required/);
      expect(byVar.TLS).toMatch(/true or false/);
    }
  });
  it('rejects non-integers and garbage numbers', () => {
    expect(() => parseEnv(spec, { DEVICE_ID: 'a', SENSOR_INTERVAL_MS: '1.5' })).toThrow(/SENSOR_INTERVAL_MS/);
    expect(() => parseEnv(spec, { DEVICE_ID: 'a', SENSOR_INTERVAL_MS: '1000ms' })).toThrow(/integer/);
  });
  it('masks secrets and URL passwords for logging, and renders a README table', () => {
    const c = parseEnv(spec, { DEVICE_ID: 'a', MQTT_PASSWORD: 's3cret', MQTT_URL: 'mqtts://u:pw@host:8883' });
    const shown = JSON.stringify(redactConfig(spec, c));
    expect(shown).not.toContain('s3cret');
    expect(shown).not.toContain(':pw@');
    expect(envTable(spec)).toContain('| `SENSOR_INTERVAL_MS` | `1000` | interval |');
    expect(envTable(spec)).toContain('| `DEVICE_ID` | **required** | id |');
  });
});

describe('env.duration', () => {
  const d = { AGE: env.duration({ default: 0, bareUnit: 's', description: 'age' }) };
  it('reads units and bare numbers', () => {
    expect(parseEnv(d, { AGE: '7d' }).AGE).toBe(7 * 86_400_000);
    expect(parseEnv(d, { AGE: '90' }).AGE).toBe(90_000);
    expect(parseEnv(d, { AGE: '250ms' }).AGE).toBe(250);
    expect(parseEnv(d, {}).AGE).toBe(0);
  });
  it('rejects garbage', () => {
    expect(() => parseEnv(d, { AGE: 'a week' })).toThrow(/AGE: must be a duration/);
  });
});

describe('env.urlList', () => {
  const spec = {
    NODES: env.urlList({ default: 'amqp://a:5672', protocols: ['amqp:', 'amqps:'], description: 'nodes' }),
  };

  it('takes one URL or a comma-separated list, and defaults to a list of one', () => {
    expect(parseEnv(spec, {}).NODES).toEqual(['amqp://a:5672']);
    expect(parseEnv(spec, { NODES: 'amqp://x:1, amqps://y:2' }).NODES).toEqual(['amqp://x:1', 'amqps://y:2']);
  });

  it('names the bad entry', () => {
    expect(() => parseEnv(spec, { NODES: 'amqp://x:1,http://y' })).toThrow(
      /NODES: entry 2: must use amqp: or amqps:/,
    );
    expect(() => parseEnv(spec, { NODES: 'amqp://x:1,,amqp://z' })).toThrow(
      /NODES: entry 2 of the comma-separated list is empty/,
    );
    expect(() => parseEnv(spec, { NODES: 'nope' })).toThrow(/NODES: must be a URL/);
  });

  it('hides the passwords of every entry in the logged config', () => {
    const secretSpec = { NODES: env.urlList({ protocols: ['amqp:'], description: 'nodes' }) };
    const config = parseEnv(secretSpec, { NODES: 'amqp://u:pw1@x:1,amqp://u:pw2@y:2' });
    expect(JSON.stringify(redactConfig(secretSpec, config))).not.toMatch(/pw1|pw2/);
  });
});

describe('mqttNodesEnv (the mqtthandler and the web admin)', () => {
  it('takes one broker or the nodes of a cluster, and names a bad entry', () => {
    expect(parseEnv(mqttNodesEnv, {}).MQTT_URL).toEqual(['mqtt://localhost:1883']);
    expect(parseEnv(mqttNodesEnv, { MQTT_URL: 'mqtt://r1:1883, mqtts://r2:8883' }).MQTT_URL).toEqual([
      'mqtt://r1:1883',
      'mqtts://r2:8883',
    ]);
    expect(() => parseEnv(mqttNodesEnv, { MQTT_URL: 'mqtt://r1:1883,http://r2' })).toThrow(
      /MQTT_URL.*entry 2/s,
    );
  });
});
