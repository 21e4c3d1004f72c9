import { CommandResult, createDecoder, type Logger } from '@sensorfleet/shared';
import type { CommandStore } from './command-store.js';

const decoder = createDecoder(CommandResult, { maxBytes: 256 * 1024 });

/**
 * devices/{id}/commands/result → `succeeded` / `failed`. Every replica hears every result and records it;
 * the update only applies to a command of that device that is still open, so the second, third … copy
 * (other replicas, QoS 1 redelivery, the device answering a repeat) changes nothing.
 */
export class ResultRecorder {
  constructor(
    private readonly deps: {
      store: CommandStore;
      log: Logger;
      onOutcome?: (outcome: 'succeeded' | 'failed' | 'ignored' | 'invalid') => void;
    },
  ) {}

  async handle(deviceId: string, payload: Buffer): Promise<void> {
    const decoded = decoder.decode(payload);
    if (!decoded.ok) {
      this.deps.onOutcome?.('invalid');
      this.deps.log.warn({ deviceId, error: decoded.error }, 'invalid command result ignored');
      return;
    }
    const r = decoded.value;
    const changed = await this.deps.store.recordResult(
      deviceId,
      r.id,
      r.ok ? { ok: true, result: r.result } : { ok: false, error: r.error },
      new Date(),
    );
    this.deps.onOutcome?.(changed ? (r.ok ? 'succeeded' : 'failed') : 'ignored');
  }
}
