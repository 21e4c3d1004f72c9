import { Counter, Gauge, type Registry } from '@sensorfleet/shared';
import type { ForwarderMetrics } from './forwarder.js';

export interface MqtthandlerMetrics {
  forwarder: ForwarderMetrics;
  commandHandled(ok: boolean): void;
  /** The outbox as the state reporter last saw it (every few seconds, also while the broker is away). */
  outbox(state: { backlog: number; oldestUnackedTs: string | null; dropped: number }): void;
  connected(up: boolean): void;
}

/** The mqtthandler's Prometheus metrics (README "Metrics and health"). */
export function createMqtthandlerMetrics(registry: Registry): MqtthandlerMetrics {
  const registers = [registry];
  const publishedReadings = new Counter({
    name: 'sensorfleet_published_readings_total',
    help: 'readings published (incl. resends)',
    registers,
  });
  const publishedMessages = new Counter({
    name: 'sensorfleet_published_messages_total',
    help: 'telemetry messages published (incl. resends)',
    registers,
  });
  const publishedBytes = new Counter({
    name: 'sensorfleet_published_bytes_total',
    help: 'telemetry payload bytes published',
    registers,
  });
  const ackedReadings = new Counter({
    name: 'sensorfleet_acked_readings_total',
    help: 'readings confirmed stored by the backend',
    registers,
  });
  const rejectedReadings = new Counter({
    name: 'sensorfleet_rejected_readings_total',
    help: 'readings the backend rejected as invalid',
    registers,
  });
  const resends = new Counter({
    name: 'sensorfleet_ack_timeouts_total',
    help: 'times unacknowledged readings were sent again',
    registers,
  });
  const seqConflicts = new Counter({
    name: 'sensorfleet_seq_conflicts_total',
    help: 'readings renumbered because the backend stores other readings under their seq (Redis rollback)',
    registers,
  });
  const seqRollbacks = new Counter({
    name: 'sensorfleet_seq_rollbacks_total',
    help: 'times the outbox seq counter was found lower than seqs already sent (Redis lost writes)',
    registers,
  });
  const probeAnswers = new Counter({
    name: 'sensorfleet_outbox_probed_drops_total',
    help:
      'sent readings the outbox bound dropped, settled by the backend’s answer to a probe: ' +
      'stored (not lost) or unknown (counted as dropped)',
    labelNames: ['answer'],
    registers,
  });
  const probeRechecks = new Counter({
    name: 'sensorfleet_outbox_drop_rechecks_total',
    help:
      'counted drops probed once more after the settle delay: corrected (stored after all, taken off ' +
      'the count) or upheld (still unknown, the count stands)',
    labelNames: ['outcome'],
    registers,
  });
  const commands = new Counter({
    name: 'sensorfleet_commands_total',
    help: 'commands handled',
    labelNames: ['ok'],
    registers,
  });
  const backlog = new Gauge({
    name: 'sensorfleet_outbox_backlog',
    help: 'readings in the outbox (not yet acked)',
    registers,
  });
  const oldestAge = new Gauge({
    name: 'sensorfleet_outbox_oldest_unacked_age_seconds',
    help: 'age of the oldest reading not yet acknowledged by the backend (0 when the outbox is empty)',
    registers,
  });
  const droppedTotal = new Gauge({
    name: 'sensorfleet_outbox_dropped',
    help: 'readings dropped by the bounded outbox over the life of the device (kept in Redis)',
    registers,
  });
  const connected = new Gauge({
    name: 'sensorfleet_mqtt_connected',
    help: '1 when connected to the broker',
    registers,
  });
  return {
    forwarder: {
      published: (n, bytes) => {
        publishedMessages.inc();
        publishedReadings.inc(n);
        publishedBytes.inc(bytes);
      },
      acked: (stored, rejected) => {
        ackedReadings.inc(stored);
        rejectedReadings.inc(rejected);
      },
      resends: () => resends.inc(),
      seqConflicts: (n) => seqConflicts.inc(n),
      seqRollbacks: () => seqRollbacks.inc(),
      probeAnswered: (stored, unknown) => {
        probeAnswers.inc({ answer: 'stored' }, stored);
        probeAnswers.inc({ answer: 'unknown' }, unknown);
      },
      probeRechecked: (corrected, upheld) => {
        probeRechecks.inc({ outcome: 'corrected' }, corrected);
        probeRechecks.inc({ outcome: 'upheld' }, upheld);
      },
    },
    commandHandled: (ok) => commands.inc({ ok: String(ok) }),
    outbox: (state) => {
      backlog.set(state.backlog);
      const oldest = state.oldestUnackedTs ? Date.parse(state.oldestUnackedTs) : NaN;
      oldestAge.set(Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0);
      droppedTotal.set(state.dropped);
    },
    connected: (up) => connected.set(up ? 1 : 0),
  };
}
