import { TOPIC_ROOT } from '@sensorfleet/shared';

/**
 * RabbitMQ's MQTT plugin publishes an MQTT topic to `amq.topic` with `/` turned into `.` (the AMQP word
 * separator) and `.` into `/`, and maps routing keys back the same way for its MQTT subscribers. These
 * functions are that mapping, so the receiver speaks MQTT topics on both sides of the AMQP hop.
 */
function swapSeparators(text: string): string {
  let out = '';
  for (const ch of text) out += ch === '/' ? '.' : ch === '.' ? '/' : ch;
  return out;
}

export const topicToRoutingKey = swapSeparators;
export const routingKeyToTopic = swapSeparators;

/** The device topics the intake queue is bound to (`devices.*.telemetry`, …): what the receiver stores. */
export const INTAKE_BINDING_KEYS = ['telemetry', 'state', 'online', 'data', 'status', 'heartbeat'].map(
  (suffix) => `${TOPIC_ROOT}.*.${suffix}`,
);
