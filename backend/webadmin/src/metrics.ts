import { Counter, Gauge, Histogram, METRIC_PREFIX, type Registry } from '@sensorfleet/shared';
import type { FastifyInstance } from 'fastify';

/** The web admin's Prometheus metrics (on METRICS_PORT, beside the process metrics). */
export function createWebadminMetrics(registry: Registry) {
  const p = METRIC_PREFIX + 'webadmin_';
  const httpDuration = new Histogram({
    name: `${p}http_request_duration_seconds`,
    help: 'HTTP requests by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  return {
    logins: new Counter({
      name: `${p}logins_total`,
      help: 'login attempts by outcome (ok, failed, limited)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    commandsCreated: new Counter({
      name: `${p}commands_created_total`,
      help: 'commands accepted through the API',
      labelNames: ['command'] as const,
      registers: [registry],
    }),
    commandsPublished: new Counter({
      name: `${p}commands_published_total`,
      help: 'commands this replica published to devices (QoS 1)',
      registers: [registry],
    }),
    commandsExpired: new Counter({
      name: `${p}commands_expired_total`,
      help: 'commands this replica marked expired',
      registers: [registry],
    }),
    commandResults: new Counter({
      name: `${p}command_results_total`,
      help: 'command results received, by what they changed (succeeded, failed, ignored)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    wsClients: new Gauge({
      name: `${p}ws_clients`,
      help: 'open WebSocket connections',
      registers: [registry],
    }),
    wsSent: new Counter({
      name: `${p}ws_messages_sent_total`,
      help: 'live messages sent',
      registers: [registry],
    }),
    wsDropped: new Counter({
      name: `${p}ws_messages_dropped_total`,
      help: 'live messages dropped because a client did not keep up (its buffer was full)',
      registers: [registry],
    }),
    liveReadings: new Counter({
      name: `${p}live_readings_total`,
      help: 'telemetry messages taken from the broker for live views',
      registers: [registry],
    }),
    csvRows: new Counter({ name: `${p}csv_rows_total`, help: 'CSV rows exported', registers: [registry] }),
    alertsOpen: new Gauge({
      name: `${p}alerts_open`,
      help: 'pending or firing alerts, by severity (read from the database by every replica)',
      labelNames: ['severity'] as const,
      registers: [registry],
    }),
    alertNotificationsSent: new Counter({
      name: `${p}alert_notifications_sent_total`,
      help: 'alert messages this replica delivered (a group counts once), by channel',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    alertNotificationsFailed: new Counter({
      name: `${p}alert_notifications_failed_total`,
      help: 'alert messages given up after the last attempt or the maximum age, by channel',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    alertNotificationsRetried: new Counter({
      name: `${p}alert_notifications_retried_total`,
      help: 'attempts at alert messages that had failed before, by channel',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    alertEvaluationDuration: new Histogram({
      name: `${p}alert_evaluation_duration_seconds`,
      help: 'duration of the evaluation rounds this replica ran (it held the evaluator lock)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    alertOutboxPending: new Gauge({
      name: `${p}alert_outbox_pending`,
      help: 'alert notifications not sent yet (pending in alert_notifications)',
      registers: [registry],
    }),
    /** Request durations by route pattern (not URL: ids would explode the label set). */
    instrument(app: FastifyInstance): void {
      app.addHook('onResponse', async (request, reply) => {
        httpDuration.observe(
          {
            route: request.routeOptions.url ?? 'unmatched',
            method: request.method,
            status: String(reply.statusCode),
          },
          reply.elapsedTime / 1000,
        );
      });
    },
  };
}

export type WebadminMetrics = ReturnType<typeof createWebadminMetrics>;
