import { Registry } from '@sensorfleet/shared';
import { describe, expect, it } from 'vitest';
import { BrokerStats } from '../src/broker-metrics/broker-stats.js';
import { parseSysValue, SYS_METRICS } from '../src/broker-metrics/sys-topics.js';

describe('parseSysValue', () => {
  it('reads plain numbers and the uptime’s “N seconds”', () => {
    expect(parseSysValue('42')).toBe(42);
    expect(parseSysValue('1234 seconds')).toBe(1234);
    expect(parseSysValue('0.5')).toBe(0.5);
  });
  it('refuses anything else rather than guessing', () => {
    for (const bad of ['', 'mosquitto version 2.0.11', '12 minutes', 'NaN', '1e999x'])
      expect(parseSysValue(bad)).toBeUndefined();
  });
});

describe('BrokerStats', () => {
  const text = async (r: Registry) => r.metrics();

  it('exports nothing before the broker has said anything', async () => {
    const registry = new Registry();
    new BrokerStats(registry, 'broker:1884');
    expect(await text(registry)).not.toMatch(/^sensorfleet_broker_\w+\{/m);
  });

  it('exports the latest value of each known topic, labelled with the broker', async () => {
    const registry = new Registry();
    const stats = new BrokerStats(registry, 'broker:1884');
    expect(stats.update('$SYS/broker/clients/connected', '7', 1000)).toBe(true);
    expect(stats.update('$SYS/broker/publish/messages/received', '100')).toBe(true);
    expect(stats.update('$SYS/broker/publish/messages/received', '150')).toBe(true);
    expect(stats.update('$SYS/broker/uptime', '99 seconds')).toBe(true);
    const out = await text(registry);
    expect(out).toContain('sensorfleet_broker_clients_connected{broker="broker:1884"} 7');
    expect(out).toContain('# TYPE sensorfleet_broker_publish_received_total counter');
    expect(out).toContain('sensorfleet_broker_publish_received_total{broker="broker:1884"} 150');
    expect(out).toContain('sensorfleet_broker_uptime_seconds{broker="broker:1884"} 99');
  });

  it('follows a broker restart down to its new totals (Prometheus sees a counter reset)', async () => {
    const registry = new Registry();
    const stats = new BrokerStats(registry, 'b');
    stats.update('$SYS/broker/bytes/received', '5000');
    stats.update('$SYS/broker/bytes/received', '12');
    expect(await text(registry)).toContain('sensorfleet_broker_received_bytes_total{broker="b"} 12');
  });

  it('ignores topics it does not export and malformed values', async () => {
    const registry = new Registry();
    const stats = new BrokerStats(registry, 'b');
    expect(stats.update('$SYS/broker/version', 'mosquitto version 2.0.11')).toBe(false);
    expect(stats.update('$SYS/broker/clients/connected', 'lots')).toBe(false);
    expect(stats.ageMs()).toBe(Infinity);
    expect(await text(registry)).not.toContain('sensorfleet_broker_clients_connected{');
  });

  it('maps every topic to a distinct metric name', () => {
    const names = Object.values(SYS_METRICS).map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of Object.values(SYS_METRICS)) expect(m.kind === 'counter').toBe(m.name.endsWith('_total'));
  });
});
