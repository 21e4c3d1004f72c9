import type { Receipt } from '../ingest/ingest-item.js';

/**
 * Handles one inbound message; `receipt.committed()` once it is stored (only then may the broker forget
 * it). Returns nothing when the next message may come at once, or a promise that resolves when it may
 * (flow control: a pending promise means the ingest is full).
 */
export type InboundHandler = (
  topic: string,
  payload: Buffer,
  retained: boolean,
  receipt: Receipt,
) => Promise<void> | undefined;

/**
 * The receiver's side of the broker: where device messages come in (with a receipt each, released after
 * the commit) and where acks and commands to devices go out. Two implementations, chosen by
 * `RECEIVER_INTAKE`: `ReceiverMqtt` (persistent MQTT sessions, PUBACK after commit; Mosquitto) and
 * `ReceiverAmqp` (a quorum queue on a RabbitMQ cluster, basic.ack after commit).
 */
export interface BrokerIntake {
  /** Short name, also the key of its check in `/health`. */
  readonly name: string;
  /** True while messages can come in and acks can go out. */
  readonly connected: boolean;
  /** Messages received and not yet released to the broker (not committed, or waiting for older ones). */
  readonly heldMessages: number;
  start(): Promise<void>;
  /** Stops taking new messages; publishing goes on until stop() so acks of finished work can leave. */
  pause(): void;
  stop(): Promise<void>;
  /**
   * Scaling down, before pause(): stop being handed new messages, take what is already on its way, and
   * have stop() end this replica's broker state instead of keeping it for a return. Intakes with no
   * per-replica state (a queue all replicas consume) have nothing to do.
   */
  leave?(): Promise<void>;
  /** Publishes to an MQTT topic (`devices/{id}/ack`, …) at QoS 1; resolves once the broker has it. */
  publish(topic: string, payload: string, retain?: boolean): Promise<void>;
}
