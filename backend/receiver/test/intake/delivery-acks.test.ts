import { describe, expect, it } from 'vitest';
import { INTAKE_BINDING_KEYS, routingKeyToTopic, topicToRoutingKey } from '../../src/intake/amqp-topics.js';
import { DeliveryAcks } from '../../src/intake/delivery-acks.js';

function window() {
  const acked: number[] = [];
  const deferred: (() => void)[] = [];
  const acks = new DeliveryAcks(
    (tag) => acked.push(tag),
    (fn) => deferred.push(fn),
  );
  const turn = () => deferred.splice(0).forEach((fn) => fn());
  return { acks, acked, turn };
}

describe('DeliveryAcks', () => {
  it('acks the committed prefix with one multiple-ack per turn', () => {
    const { acks, acked, turn } = window();
    const r = [1, 2, 3, 4, 5].map((tag) => acks.hold(tag));
    r[0]!.committed();
    r[1]!.committed();
    r[2]!.committed();
    turn();
    expect(acked).toEqual([3]);
    expect(acks.held).toBe(2);
  });

  it('holds a committed delivery back until the older ones are committed', () => {
    const { acks, acked, turn } = window();
    const r = [1, 2, 3].map((tag) => acks.hold(tag));
    r[2]!.committed();
    r[1]!.committed();
    turn();
    expect(acked).toEqual([]);
    r[0]!.committed();
    turn();
    expect(acked).toEqual([3]);
    expect(acks.held).toBe(0);
  });

  it('acks nothing twice, and nothing after its channel closed', () => {
    const { acks, acked, turn } = window();
    const a = acks.hold(1);
    const b = acks.hold(2);
    a.committed();
    a.committed();
    turn();
    expect(acked).toEqual([1]);
    acks.close();
    b.committed();
    turn();
    expect(acks.flush()).toBeUndefined();
    expect(acked).toEqual([1]);
  });
});

describe('amqp topics', () => {
  it('maps MQTT topics to routing keys the way the RabbitMQ MQTT plugin does, and back', () => {
    expect(topicToRoutingKey('devices/d1/ack')).toBe('devices.d1.ack');
    expect(topicToRoutingKey('devices/d1/commands/result')).toBe('devices.d1.commands.result');
    expect(routingKeyToTopic('devices.d1.telemetry')).toBe('devices/d1/telemetry');
    // A `.` in a topic level becomes `/`, so that it stays one AMQP word.
    expect(topicToRoutingKey('devices/a.b/telemetry')).toBe('devices.a/b.telemetry');
    expect(routingKeyToTopic(topicToRoutingKey('devices/a.b/state'))).toBe('devices/a.b/state');
  });

  it('binds the intake queue to the topics the receiver stores, not to acks or commands', () => {
    expect(INTAKE_BINDING_KEYS).toContain('devices.*.telemetry');
    expect(INTAKE_BINDING_KEYS).toContain('devices.*.heartbeat');
    expect(INTAKE_BINDING_KEYS.some((k) => k.endsWith('.ack') || k.includes('commands'))).toBe(false);
  });
});
