import type { ServiceAccount } from './credentials.js';

/**
 * What an account may do on a RabbitMQ cluster with the MQTT plugin (`mqtt.exchange = amq.topic`), as
 * the arguments of `rabbitmqctl set_permissions` and `set_topic_permissions` (vhost `/`). The same rights
 * as the Mosquitto ACL (backend/mqttserver/acl), in RabbitMQ's terms:
 *
 * - Resource permissions (configure / write / read regexes on queue and exchange names) do not expand
 *   `{username}` in RabbitMQ 3.10, so a device's are literal: its own MQTT session queues
 *   (`mqtt-subscription-<id>qos0|1`) and `amq.topic`, nothing else.
 * - Topic permissions do expand `{username}`: they confine a device to `devices.<its id>.…` (MQTT `/` is
 *   the routing key's `.`). Read rights are checked when it subscribes, write rights on every publish.
 *
 * Device ids with a `.` are refused on RabbitMQ: the plugin turns a `.` in a topic into `/` in the
 * routing key, so such a device could not match its own rules (and a `.` is a regex wildcard).
 */
export interface RabbitMqRights {
  configure: string;
  write: string;
  read: string;
  topicWrite: string;
  topicRead: string;
}

/** The intake queue's name (the receiver's `AMQP_QUEUE` default). */
export const RABBITMQ_INTAKE_QUEUE = 'sensorfleet.intake';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Why `id` cannot be a device on RabbitMQ (on top of deviceIdProblem), or undefined. */
export function rabbitMqDeviceIdProblem(id: string): string | undefined {
  return id.includes('.')
    ? `device id ${JSON.stringify(id)} has a "." which RabbitMQ's MQTT plugin turns into "/" in routing keys: not usable on RabbitMQ`
    : undefined;
}

export function deviceRights(id: string): RabbitMqRights {
  const sessions = `mqtt-subscription-${escape(id)}qos[01]`;
  return {
    configure: `^${sessions}$`,
    write: `^(amq\\.topic|${sessions})$`,
    read: `^(amq\\.topic|${sessions})$`,
    topicWrite: '^devices\\.{username}\\.(telemetry|state|online|commands\\.result|data|status|heartbeat)$',
    // receivers.*.online: the binding key of the `receivers/+/online` subscription (receiver presence).
    topicRead: '^(devices\\.{username}\\.(ack|commands)|receivers\\.(\\*|[^.]+)\\.online)$',
  };
}

export function serviceRights(account: ServiceAccount, intakeQueue = RABBITMQ_INTAKE_QUEUE): RabbitMqRights {
  const queue = escape(intakeQueue);
  switch (account) {
    case 'receiver':
      // AMQP: declares, binds and consumes the intake queue; publishes acks and its presence.
      return {
        configure: `^${queue}$`,
        write: `^(amq\\.topic|${queue})$`,
        read: `^(amq\\.topic|${queue})$`,
        topicWrite: '^(devices\\.[^.]+\\.(ack|commands)|receivers\\.[^.]+\\.online)$',
        topicRead: '^devices\\.\\*\\.(telemetry|state|online|data|status|heartbeat)$',
      };
    case 'webadmin':
      // MQTT with a client id `sf-webadmin-…`: its own session queues; reads every device topic.
      return {
        configure: '^mqtt-subscription-sf-webadmin-[^.]*qos[01]$',
        write: '^(amq\\.topic|mqtt-subscription-sf-webadmin-[^.]*qos[01])$',
        read: '^(amq\\.topic|mqtt-subscription-sf-webadmin-[^.]*qos[01])$',
        topicWrite: '^devices\\.[^.]+\\.commands$',
        topicRead: '^(devices\\..*|receivers\\..*)$',
      };
    case 'monitor':
      // Broker statistics come from RabbitMQ's own Prometheus plugin, not from an account.
      return { configure: '^$', write: '^$', read: '^$', topicWrite: '^$', topicRead: '^$' };
  }
}

/** The `rabbitmqctl` argument lists that give `user` these rights (vhost `/`). */
export function rightsCommands(user: string, rights: RabbitMqRights): string[][] {
  return [
    ['set_permissions', '-p', '/', user, rights.configure, rights.write, rights.read],
    ['set_topic_permissions', '-p', '/', user, 'amq.topic', rights.topicWrite, rights.topicRead],
  ];
}
