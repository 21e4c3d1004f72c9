/**
 * Schema history. Append only: never edit a released migration, add a new one. MariaDB DDL is not
 * transactional, so every statement is written to be safe to run again (IF NOT EXISTS) in case a
 * migration was interrupted half-way.
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'devices, readings, commands, webadmin users',
    statements: [
      `CREATE TABLE IF NOT EXISTS devices (
        id VARCHAR(64) NOT NULL PRIMARY KEY,
        name VARCHAR(255) NULL,
        first_seen DATETIME(3) NULL,
        last_seen DATETIME(3) NULL,
        online TINYINT(1) NOT NULL DEFAULT 0,
        online_changed_at DATETIME(3) NULL,
        last_state JSON NULL,
        last_state_at DATETIME(3) NULL,
        last_data_at DATETIME(3) NULL,
        last_seq BIGINT UNSIGNED NULL,
        mqtt_username VARCHAR(64) NULL,
        credentials_created_at DATETIME(3) NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // The primary key is the idempotency key of DESIGN.md: a replayed reading hits it and is ignored.
      // Clustering on it keeps one device's readings together, in seq order.
      `CREATE TABLE IF NOT EXISTS readings (
        device_id VARCHAR(64) NOT NULL,
        seq BIGINT UNSIGNED NOT NULL,
        sensor VARCHAR(50) NOT NULL,
        value DOUBLE NOT NULL,
        measured_at DATETIME(3) NOT NULL,
        received_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        PRIMARY KEY (device_id, seq, sensor),
        KEY readings_by_time (device_id, sensor, measured_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS commands (
        id VARCHAR(64) NOT NULL PRIMARY KEY,
        device_id VARCHAR(64) NOT NULL,
        command VARCHAR(64) NOT NULL,
        args JSON NULL,
        status ENUM('pending','sent','succeeded','failed','expired') NOT NULL DEFAULT 'pending',
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        sent_at DATETIME(3) NULL,
        expires_at DATETIME(3) NULL,
        finished_at DATETIME(3) NULL,
        result JSON NULL,
        error VARCHAR(1000) NULL,
        created_by VARCHAR(64) NULL,
        KEY commands_by_device (device_id, created_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS webadmin_users (
        username VARCHAR(64) NOT NULL PRIMARY KEY,
        password_hash VARCHAR(255) NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        last_login_at DATETIME(3) NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
];
