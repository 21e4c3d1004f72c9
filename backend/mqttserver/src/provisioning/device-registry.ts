import { createPool, splitDatabaseUrls } from '@sensorfleet/mariadb';
import type { Pool } from 'mariadb';

export interface RegisteredDevice {
  id: string;
  mqttUsername: string | null;
  credentialsCreatedAt: Date | null;
  lastSeen: Date | null;
  online: boolean;
}

/** What the provisioning commands need from the database (the CLI runs without one when DATABASE_URL is unset). */
export interface DeviceRegistryPort {
  /** Records that `id` has broker credentials (creates the device row if needed). */
  registerCredentials(id: string, mqttUsername: string, createdAt: Date): Promise<void>;
  /** Records that `id` has none any more; false when there is no such device. */
  revokeCredentials(id: string): Promise<boolean>;
  list(): Promise<RegisteredDevice[]>;
  close(): Promise<void>;
}

/** `devices` rows of backend/mariadb (migration 1), through the shared pool settings (UTC times). */
export class DeviceRegistry implements DeviceRegistryPort {
  private constructor(
    private readonly pool: Pool,
    private readonly where: string,
  ) {}

  static open(databaseUrl: string | readonly string[]): DeviceRegistry {
    const u = new URL(splitDatabaseUrls(databaseUrl)[0]!);
    return new DeviceRegistry(
      createPool(databaseUrl, { connectionLimit: 1 }),
      `${u.hostname}:${u.port || 3306}${u.pathname}`,
    );
  }

  async registerCredentials(id: string, mqttUsername: string, createdAt: Date): Promise<void> {
    await this.run(
      `INSERT INTO devices (id, mqtt_username, credentials_created_at) VALUES (?, ?, ?)
       ON DUPLICATE KEY UPDATE mqtt_username = VALUES(mqtt_username),
         credentials_created_at = VALUES(credentials_created_at)`,
      [id, mqttUsername, createdAt],
    );
  }

  async revokeCredentials(id: string): Promise<boolean> {
    const result = (await this.run('UPDATE devices SET mqtt_username = NULL WHERE id = ?', [id])) as {
      affectedRows: number;
    };
    return result.affectedRows > 0;
  }

  async list(): Promise<RegisteredDevice[]> {
    const rows = (await this.run(
      'SELECT id, mqtt_username, credentials_created_at, last_seen, online FROM devices ORDER BY id',
    )) as {
      id: string;
      mqtt_username: string | null;
      credentials_created_at: Date | null;
      last_seen: Date | null;
      online: number;
    }[];
    return rows.map((r) => ({
      id: r.id,
      mqttUsername: r.mqtt_username,
      credentialsCreatedAt: r.credentials_created_at,
      lastSeen: r.last_seen,
      online: Number(r.online) === 1,
    }));
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  /** Errors say which database and, for a missing table, what to do. */
  private async run(sql: string, params?: unknown[]): Promise<unknown> {
    try {
      return await this.pool.query(sql, params);
    } catch (err) {
      const e = err as { code?: string; sqlMessage?: string; message: string };
      if (e.code === 'ER_NO_SUCH_TABLE') {
        throw new Error(
          `database ${this.where} has no devices table: run the migrations first ` +
            `(npm start --workspace=backend/mariadb, or start the receiver once)`,
        );
      }
      throw new Error(`database ${this.where}: ${e.sqlMessage ?? e.message}`);
    }
  }
}
