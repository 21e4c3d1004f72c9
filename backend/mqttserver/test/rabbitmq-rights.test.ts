import { describe, expect, it } from 'vitest';
import {
  deviceRights,
  rabbitMqDeviceIdProblem,
  rightsCommands,
  serviceRights,
} from '../src/provisioning/rabbitmq-rights.js';

/** The regex as RabbitMQ applies it for `user` ({username} expanded; topic permissions only). */
const rule = (pattern: string, user: string) => new RegExp(pattern.replaceAll('{username}', user));

describe('RabbitMQ rights of a device', () => {
  const r = deviceRights('d1');

  it('publishes only its own device topics (routing keys with `.` for `/`)', () => {
    const write = rule(r.topicWrite, 'd1');
    for (const key of [
      'devices.d1.telemetry',
      'devices.d1.state',
      'devices.d1.online',
      'devices.d1.commands.result',
      'devices.d1.data',
    ])
      expect(write.test(key), key).toBe(true);
    for (const key of [
      'devices.d2.telemetry',
      'devices.d1.ack',
      'devices.d1.commands',
      'devices.d10.telemetry',
      'receivers.r1.online',
    ])
      expect(write.test(key), key).toBe(false);
  });

  it('subscribes only to its own acks and commands and to the receivers’ presence', () => {
    const read = rule(r.topicRead, 'd1');
    for (const key of ['devices.d1.ack', 'devices.d1.commands', 'receivers.*.online', 'receivers.r1.online'])
      expect(read.test(key), key).toBe(true);
    for (const key of ['devices.d2.ack', 'devices.*.ack', 'devices.#', 'devices.d1.telemetry', 'receivers.#'])
      expect(read.test(key), key).toBe(false);
  });

  it('may use only its own session queues and amq.topic (literal: {username} is not expanded there)', () => {
    expect(r.configure).not.toContain('{username}');
    const configure = new RegExp(r.configure);
    expect(configure.test('mqtt-subscription-d1qos1')).toBe(true);
    expect(configure.test('mqtt-subscription-d2qos1')).toBe(false);
    expect(configure.test('mqtt-subscription-d10qos1')).toBe(false);
    expect(configure.test('sensorfleet.intake')).toBe(false);
    for (const p of [r.read, r.write]) {
      expect(new RegExp(p).test('amq.topic')).toBe(true);
      expect(new RegExp(p).test('amq.direct')).toBe(false);
      expect(new RegExp(p).test('sensorfleet.intake')).toBe(false);
    }
  });

  it('refuses device ids with a dot, and escapes the others', () => {
    expect(rabbitMqDeviceIdProblem('a.b')).toMatch(/"\."/);
    expect(rabbitMqDeviceIdProblem('a-b_c')).toBeUndefined();
  });

  it('becomes two rabbitmqctl commands on vhost /', () => {
    expect(rightsCommands('d1', r).map((c) => c[0])).toEqual(['set_permissions', 'set_topic_permissions']);
    expect(rightsCommands('d1', r)[1]).toContain('amq.topic');
  });
});

describe('RabbitMQ rights of the services', () => {
  it('lets the receiver use the intake queue, publish acks and presence, read device topics', () => {
    const r = serviceRights('receiver');
    expect(new RegExp(r.configure).test('sensorfleet.intake')).toBe(true);
    expect(new RegExp(r.configure).test('other')).toBe(false);
    expect(new RegExp(r.topicWrite).test('devices.d1.ack')).toBe(true);
    expect(new RegExp(r.topicWrite).test('receivers.r1.online')).toBe(true);
    expect(new RegExp(r.topicWrite).test('devices.d1.telemetry')).toBe(false);
    expect(new RegExp(r.topicRead).test('devices.*.telemetry')).toBe(true);
    expect(new RegExp(r.topicRead).test('devices.*.ack')).toBe(false);
  });

  it('lets the web admin send commands and read, nothing else', () => {
    const r = serviceRights('webadmin');
    expect(new RegExp(r.topicWrite).test('devices.d1.commands')).toBe(true);
    expect(new RegExp(r.topicWrite).test('devices.d1.ack')).toBe(false);
    expect(new RegExp(r.configure).test('mqtt-subscription-sf-webadmin-host-ab12qos1')).toBe(true);
    expect(new RegExp(r.configure).test('sensorfleet.intake')).toBe(false);
  });
});
