import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BROKER_CONFIG_TEMPLATE,
  renderBrokerConfig,
  renderShippedBrokerConfig,
} from '../src/harness/broker-config.js';

/** The shipped backend/mqttserver/mosquitto.conf as the harness renders it for private brokers. */
describe('broker config rendering', () => {
  const base = {
    passwordFile: '/srv/mqtt/passwd',
    aclFile: '/srv/mqtt/acl',
    dataDir: '/srv/mqtt/data',
  };

  it('keeps the shipped security settings and replaces paths and listeners', () => {
    const conf = renderShippedBrokerConfig({
      ...base,
      plain: { port: 21883, host: '127.0.0.1' },
      tls: { port: 28883, certDir: '/srv/mqtt/certs' },
      pidFile: '/srv/mqtt/mosquitto.pid',
    });
    const lines = conf.split('\n');
    for (const line of [
      'per_listener_settings false',
      'allow_anonymous false',
      'password_file /srv/mqtt/passwd',
      'acl_file /srv/mqtt/acl',
      'persistence true',
      'persistence_location /srv/mqtt/data',
      'max_packet_size 1048576',
      'max_queued_messages 100000',
      'max_inflight_messages 10000',
      'log_dest stdout',
      'listener 21883 127.0.0.1',
      'listener 28883',
      'cafile /srv/mqtt/certs/ca.crt',
      'certfile /srv/mqtt/certs/server.crt',
      'keyfile /srv/mqtt/certs/server.key',
      'tls_version tlsv1.2',
    ])
      expect(lines).toContain(line);
    expect(lines.indexOf('pid_file /srv/mqtt/mosquitto.pid')).toBeLessThan(
      lines.indexOf('listener 21883 127.0.0.1'),
    );
    expect(conf).not.toMatch(/\/mosquitto\//); // no container path left
  });

  it('binds client ids to user names on the device listeners only, inside their blocks', () => {
    const conf = renderShippedBrokerConfig({
      ...base,
      plain: { port: 21883 },
      tls: { port: 28883, certDir: '/srv/mqtt/certs' },
      backend: { port: 21884 },
    });
    // Block by block: the option outside a listener block would open an extra default listener (2.0.11).
    const blocks = conf.split(/^(?=listener )/m);
    expect(blocks[0]).not.toMatch(/use_username_as_clientid/);
    const byPort = new Map(blocks.slice(1).map((b) => [b.split(/\s/)[1], b]));
    expect(byPort.get('21883')).toMatch(/^use_username_as_clientid true$/m);
    expect(byPort.get('28883')).toMatch(/^use_username_as_clientid true$/m);
    expect(byPort.get('21884')).not.toMatch(/use_username_as_clientid/);
  });

  it('repeats a listener block for each extra address (a test namespace reaching the device listener)', () => {
    const conf = renderShippedBrokerConfig({
      ...base,
      plain: { port: 21883, host: '127.0.0.1', alsoOn: ['10.213.0.1'] },
      tls: false,
      backend: { port: 21884, host: '127.0.0.1' },
    });
    const blocks = conf.split(/^(?=listener )/m).slice(1);
    const settings = (b: string) => b.split('\n').filter((l) => /^\w/.test(l) && !l.startsWith('listener'));
    const [local, extra, backend] = blocks;
    expect(blocks.map((b) => b.split('\n')[0])).toEqual([
      'listener 21883 127.0.0.1',
      'listener 21883 10.213.0.1',
      'listener 21884 127.0.0.1',
    ]);
    expect(settings(extra!)).toEqual(settings(local!));
    expect(settings(extra!)).toContain('use_username_as_clientid true');
    expect(backend).not.toMatch(/use_username_as_clientid/);
  });

  it('leaves out a listener with everything that belongs to it', () => {
    const conf = renderShippedBrokerConfig({
      ...base,
      plain: false,
      tls: false,
      omit: ['log_timestamp_format'],
    });
    expect(conf).not.toMatch(/^(listener|cafile|certfile|keyfile|tls_version|log_timestamp_format)\b/m);
    expect(conf).toMatch(/^allow_anonymous false$/m);
  });

  it('refuses paths Mosquitto would cut at a space, and listeners it does not know', () => {
    expect(() =>
      renderShippedBrokerConfig({ ...base, passwordFile: '/a b/passwd', plain: false, tls: false }),
    ).toThrow(/whitespace/);
    expect(() => renderBrokerConfig('listener 9999\n', { ...base, plain: false, tls: false })).toThrow(
      /unexpected listener/,
    );
  });

  it('renders the template the image uses', () => {
    expect(readFileSync(BROKER_CONFIG_TEMPLATE, 'utf8')).toMatch(
      /^password_file \/mosquitto\/auth\/passwd$/m,
    );
  });
});
