import { randomUUID } from 'node:crypto';
import { CommandArgs, type CommandName } from '@sensorfleet/shared';
import type { CommandRequest, CommandView } from '@sensorfleet/shared/schemas/webadmin-api';
import type { Pool } from 'mariadb';
import type { AuditLog } from '../audit-log.js';
import { badRequest, notFound } from '../errors.js';
import type { CommandStore } from './command-store.js';

export const MAX_COMMAND_TTL_MS = 7 * 86_400_000;

/**
 * Accepting a command: the request is checked against the shared command schema (arguments per command
 * name), stored `pending` with who sent it, audited, and handed to the publisher, which delivers it when
 * the device is online.
 */
export class CommandService {
  constructor(
    private readonly deps: {
      pool: Pool;
      store: CommandStore;
      audit: AuditLog;
      defaultTtlMs: number;
      /** Called after a command was stored: the publisher looks at once instead of at its next tick. */
      onCreated: (deviceId: string) => void;
      onAccepted?: (command: string) => void;
    },
  ) {}

  async create(
    deviceId: string,
    body: CommandRequest,
    who: { username: string; ip: string },
    now = new Date(),
  ): Promise<CommandView> {
    const name = body.command as CommandName;
    const args: Record<string, unknown> = {};
    const accepted = Object.keys(CommandArgs[name].properties);
    if (body.intervalMs !== undefined) {
      if (!accepted.includes('intervalMs'))
        throw badRequest('body.intervalMs', `${name} takes no intervalMs`);
      args.intervalMs = body.intervalMs;
    }
    for (const required of CommandArgs[name].required ?? []) {
      if (!(required in args)) throw badRequest(`body.${required}`, `is required for ${name}`);
    }
    let expiresAt = new Date(now.getTime() + this.deps.defaultTtlMs);
    if (body.expiresAt !== undefined) {
      expiresAt = new Date(body.expiresAt);
      if (Number.isNaN(expiresAt.getTime())) throw badRequest('body.expiresAt', 'is not a valid time');
      if (expiresAt.getTime() <= now.getTime()) throw badRequest('body.expiresAt', 'must be in the future');
      if (expiresAt.getTime() > now.getTime() + MAX_COMMAND_TTL_MS)
        throw badRequest('body.expiresAt', 'must be at most 7 days ahead');
    }
    const [device] = (await this.deps.pool.query('SELECT id FROM devices WHERE id = ?', [deviceId])) as {
      id: string;
    }[];
    if (!device) throw notFound(`device ${deviceId}`);
    const id = randomUUID();
    await this.deps.store.insert({
      id,
      deviceId,
      command: name,
      args,
      expiresAt,
      createdBy: who.username,
      createdAt: now,
    });
    await this.deps.audit.record(
      {
        actor: who.username,
        action: 'command',
        target: deviceId,
        ip: who.ip,
        detail: { id, command: name, args },
      },
      now,
    );
    this.deps.onAccepted?.(name);
    this.deps.onCreated(deviceId);
    return (await this.deps.store.get(id))!;
  }

  get(id: string): Promise<CommandView | undefined> {
    return this.deps.store.get(id);
  }

  list(deviceId: string, limit: number, cursor?: string) {
    return this.deps.store.listForDevice(deviceId, limit, cursor);
  }
}
