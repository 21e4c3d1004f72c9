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
      // The primary key is the idempotency key (docs/design.md#mariadb-tables): a replayed reading hits it and is ignored.
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
  {
    version: 2,
    name: 'ingest: device registry fields, rollups, ingest statistics, message log',
    statements: [
      // Registry fields for the compatibility topics of source 004 (data / status / heartbeat).
      // `protocol` is what the device last spoke: 'native' (telemetry/state/online) or 'compat004'.
      `ALTER TABLE devices
        ADD COLUMN IF NOT EXISTS protocol VARCHAR(16) NULL,
        ADD COLUMN IF NOT EXISTS last_heartbeat_at DATETIME(3) NULL,
        ADD COLUMN IF NOT EXISTS device_status VARCHAR(50) NULL,
        ADD COLUMN IF NOT EXISTS last_status_at DATETIME(3) NULL,
        ADD COLUMN IF NOT EXISTS last_report_data JSON NULL,
        ADD COLUMN IF NOT EXISTS last_report_at DATETIME(3) NULL`,
      // The ingest transaction that stored a row. A replay is an INSERT IGNORE no-op, so the row keeps the
      // batch that really stored it: the fold job aggregates exactly those rows, once (backend/receiver/src/fold/).
      `ALTER TABLE readings ADD COLUMN IF NOT EXISTS batch_id BIGINT UNSIGNED NOT NULL DEFAULT 0`,
      // INCREMENT BY 0 steps by auto_increment_increment: 1 on one server; on Galera each node gets its
      // own offset (Galera refuses a cached sequence otherwise), so ids stay unique across nodes.
      `CREATE SEQUENCE IF NOT EXISTS ingest_batch_ids START WITH 1 INCREMENT BY 0 CACHE 1000`,
      // One row per ingest transaction, written in it: what the batch stored (device, seq ranges) and the
      // counters and last-seen figures it adds. The fold job applies it to readings_1m/1h, ingest_counters,
      // ingest_rejections and devices, and deletes it, in one transaction (see backend/receiver/src/fold/).
      `CREATE TABLE IF NOT EXISTS ingest_batches (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY COMMENT 'the batch_id of its readings rows',
        created_at DATETIME(3) NOT NULL,
        ranges LONGTEXT NOT NULL COMMENT 'JSON [[device_id, seq_from, seq_to], …]',
        counters LONGTEXT NOT NULL COMMENT 'JSON rows for ingest_counters',
        rejections LONGTEXT NOT NULL COMMENT 'JSON rows for ingest_rejections',
        touch LONGTEXT NOT NULL COMMENT 'JSON rows for devices: first/last seen, last data, last seq'
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS readings_1m (
        device_id VARCHAR(64) NOT NULL,
        sensor VARCHAR(50) NOT NULL,
        bucket DATETIME NOT NULL COMMENT 'UTC minute the readings were measured in',
        n BIGINT UNSIGNED NOT NULL,
        sum_value DOUBLE NOT NULL,
        min_value DOUBLE NOT NULL,
        max_value DOUBLE NOT NULL,
        PRIMARY KEY (device_id, sensor, bucket)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS readings_1h (
        device_id VARCHAR(64) NOT NULL,
        sensor VARCHAR(50) NOT NULL,
        bucket DATETIME NOT NULL COMMENT 'UTC hour the readings were measured in',
        n BIGINT UNSIGNED NOT NULL,
        sum_value DOUBLE NOT NULL,
        min_value DOUBLE NOT NULL,
        max_value DOUBLE NOT NULL,
        PRIMARY KEY (device_id, sensor, bucket)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // Per-minute, per-device ingest counters. Committed with the rows they count (in ingest_batches) and
      // folded in exactly once, so totals are exact across replicas and restarts.
      `CREATE TABLE IF NOT EXISTS ingest_counters (
        minute DATETIME NOT NULL COMMENT 'UTC minute the messages were received in',
        device_id VARCHAR(64) NOT NULL,
        messages INT UNSIGNED NOT NULL DEFAULT 0,
        readings INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'readings received (valid or not)',
        stored_readings INT UNSIGNED NOT NULL DEFAULT 0,
        duplicate_readings INT UNSIGNED NOT NULL DEFAULT 0,
        rejected_readings INT UNSIGNED NOT NULL DEFAULT 0,
        rejected_messages INT UNSIGNED NOT NULL DEFAULT 0,
        stored_rows INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'readings rows incl. derived values',
        PRIMARY KEY (minute, device_id),
        KEY ingest_counters_by_device (device_id, minute)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS ingest_rejections (
        minute DATETIME NOT NULL,
        device_id VARCHAR(64) NOT NULL,
        scope VARCHAR(8) NOT NULL COMMENT 'message or reading',
        reason VARCHAR(32) NOT NULL,
        n INT UNSIGNED NOT NULL DEFAULT 0,
        PRIMARY KEY (minute, device_id, scope, reason)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // Raw inbound messages for inspection (MESSAGE_LOG), rotated by age and size by one replica at a time.
      `CREATE TABLE IF NOT EXISTS message_log (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        received_at DATETIME(3) NOT NULL,
        device_id VARCHAR(64) NOT NULL,
        topic_kind VARCHAR(16) NOT NULL COMMENT 'telemetry, state, online, data, status, heartbeat',
        bytes INT UNSIGNED NOT NULL COMMENT 'size of the payload as received',
        payload BLOB NOT NULL COMMENT 'first MESSAGE_LOG_PAYLOAD_BYTES bytes',
        payload_truncated TINYINT(1) NOT NULL DEFAULT 0,
        outcome VARCHAR(16) NOT NULL COMMENT 'stored, duplicate, partial, rejected, applied',
        reason VARCHAR(32) NULL COMMENT 'first rejection reason',
        detail VARCHAR(500) NULL,
        readings INT UNSIGNED NOT NULL DEFAULT 0,
        stored INT UNSIGNED NOT NULL DEFAULT 0,
        duplicates INT UNSIGNED NOT NULL DEFAULT 0,
        rejected INT UNSIGNED NOT NULL DEFAULT 0,
        KEY message_log_by_device (device_id, received_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
  {
    version: 3,
    name: 'web admin: roles, sessions, API tokens, login attempts, audit log, command change index',
    statements: [
      `ALTER TABLE webadmin_users
        ADD COLUMN IF NOT EXISTS role VARCHAR(16) NOT NULL DEFAULT 'viewer',
        ADD COLUMN IF NOT EXISTS password_changed_at DATETIME(3) NULL`,
      // Server-side sessions: the cookie carries a random id, the table only its SHA-256, so a copy of the
      // table opens no session. Removing a user removes its sessions and tokens (ON DELETE CASCADE).
      `CREATE TABLE IF NOT EXISTS sessions (
        id_hash CHAR(64) NOT NULL PRIMARY KEY,
        username VARCHAR(64) NOT NULL,
        csrf_token VARCHAR(64) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        last_seen_at DATETIME(3) NOT NULL,
        expires_at DATETIME(3) NOT NULL COMMENT 'idle expiry, moved forward while the session is used',
        max_expires_at DATETIME(3) NOT NULL COMMENT 'absolute expiry',
        ip VARCHAR(64) NULL,
        user_agent VARCHAR(255) NULL,
        KEY sessions_by_user (username),
        KEY sessions_by_expiry (expires_at),
        CONSTRAINT sessions_user FOREIGN KEY (username) REFERENCES webadmin_users (username)
          ON DELETE CASCADE ON UPDATE CASCADE
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS api_tokens (
        id VARCHAR(32) NOT NULL PRIMARY KEY COMMENT 'public id, for listing and revoking',
        token_hash CHAR(64) NOT NULL COMMENT 'SHA-256 of the token; the token itself is shown once',
        username VARCHAR(64) NOT NULL,
        label VARCHAR(255) NULL,
        created_at DATETIME(3) NOT NULL,
        last_used_at DATETIME(3) NULL,
        UNIQUE KEY api_tokens_by_hash (token_hash),
        KEY api_tokens_by_user (username),
        CONSTRAINT api_tokens_user FOREIGN KEY (username) REFERENCES webadmin_users (username)
          ON DELETE CASCADE ON UPDATE CASCADE
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // Login rate limit shared by every replica: an attempt is recorded (outcome NULL) before the password
      // is checked, so concurrent guesses count against each other too.
      `CREATE TABLE IF NOT EXISTS login_attempts (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        at DATETIME(3) NOT NULL,
        ip VARCHAR(64) NOT NULL,
        username VARCHAR(64) NOT NULL,
        ok TINYINT(1) NULL COMMENT 'NULL while being checked, 1 success, 0 failure',
        KEY login_attempts_by_ip (ip, at),
        KEY login_attempts_by_user (username, at),
        KEY login_attempts_by_time (at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS audit_log (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        at DATETIME(3) NOT NULL,
        actor VARCHAR(64) NULL COMMENT 'user name; NULL for a failed login of an unknown name',
        action VARCHAR(32) NOT NULL COMMENT 'login_ok, login_failed, logout, command, rename, user_*, token_*',
        target VARCHAR(128) NULL,
        ip VARCHAR(64) NULL,
        detail TEXT NULL COMMENT 'JSON',
        KEY audit_log_by_time (at),
        KEY audit_log_by_actor (actor, at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // Every status change bumps updated_at (one clock: the database's), so each replica can pick up the
      // changes other replicas made with one indexed range query; the publisher finds pending work by status.
      `ALTER TABLE commands
        ADD COLUMN IF NOT EXISTS updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
          ON UPDATE CURRENT_TIMESTAMP(3),
        ADD INDEX IF NOT EXISTS commands_by_status (status, device_id, created_at),
        ADD INDEX IF NOT EXISTS commands_by_change (updated_at)`,
    ],
  },
  {
    version: 4,
    name: 'alerts: rules, alerts, evaluation cursors, notification outbox, storm windows',
    statements: [
      // `targets` holds the webhook secrets (HMAC keys the API never returns); `version` counts edits so the
      // evaluator re-judges open alerts of an edited rule. A deleted rule keeps its row (`deleted_at`) so its
      // alerts' history still has a rule to point at.
      // The evaluator reads readings by arrival (a replayed backlog arrives late with old measured times);
      // received_at only grows, so this index is appended at its right edge.
      `ALTER TABLE readings ADD INDEX IF NOT EXISTS readings_by_received (received_at)`,
      `CREATE TABLE IF NOT EXISTS alert_rules (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(120) NOT NULL,
        device_id VARCHAR(64) NULL COMMENT 'NULL = every device',
        kind VARCHAR(16) NOT NULL COMMENT 'above, below, offline, no_data, backlog',
        sensor VARCHAR(50) NULL,
        threshold DOUBLE NULL,
        clear_level DOUBLE NULL,
        for_s INT UNSIGNED NOT NULL DEFAULT 0,
        severity VARCHAR(16) NOT NULL,
        targets TEXT NOT NULL COMMENT 'JSON [{type: email, to} | {type: webhook, url, secret}]',
        repeat_s INT UNSIGNED NULL,
        enabled TINYINT(1) NOT NULL DEFAULT 1,
        version INT UNSIGNED NOT NULL DEFAULT 1,
        created_by VARCHAR(64) NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        deleted_at DATETIME(3) NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // One row per episode of a (rule, device): pending → firing → resolved. `open_key` is set only while
      // the alert is open, so the unique key allows one open alert per (rule, device) and any history.
      // `sort_rank` is the list order (firing by severity, pending, history) as an indexed column.
      `CREATE TABLE IF NOT EXISTS alerts (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        rule_id BIGINT UNSIGNED NOT NULL,
        rule_name VARCHAR(120) NOT NULL,
        kind VARCHAR(16) NOT NULL,
        device_id VARCHAR(64) NOT NULL,
        state VARCHAR(16) NOT NULL COMMENT 'pending, firing, resolved',
        severity VARCHAR(16) NOT NULL,
        value DOUBLE NULL,
        started_at DATETIME(3) NOT NULL COMMENT 'measured time the condition began to hold',
        fired_at DATETIME(3) NULL,
        resolved_at DATETIME(3) NULL,
        acked_by VARCHAR(64) NULL,
        acked_at DATETIME(3) NULL,
        resolved_while_offline TINYINT(1) NOT NULL DEFAULT 0,
        firing_notified TINYINT(1) NOT NULL DEFAULT 0 COMMENT '0 while a firing judged from replayed data waits for live data',
        last_notified_at DATETIME(3) NULL COMMENT 'firing or repeat notification (repeatS counts from it)',
        cancelled TINYINT(1) NOT NULL DEFAULT 0 COMMENT 'pending that ended before firing: not history; purged later',
        updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
        open_key VARCHAR(90) AS (IF(state <> 'resolved', CONCAT(rule_id, ':', device_id), NULL)) PERSISTENT,
        sort_rank TINYINT AS (CASE WHEN state = 'firing' THEN
            (CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END)
          WHEN state = 'pending' THEN 3 ELSE 4 END) PERSISTENT,
        UNIQUE KEY alerts_open (open_key),
        KEY alerts_by_rank (sort_rank, id),
        KEY alerts_by_device (device_id, id),
        KEY alerts_by_rule (rule_id, id),
        KEY alerts_by_change (updated_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // Per (rule, device): the newest reading judged (measured time, seq) and the rule version judged with.
      `CREATE TABLE IF NOT EXISTS alert_eval_state (
        rule_id BIGINT UNSIGNED NOT NULL,
        device_id VARCHAR(64) NOT NULL,
        rule_version INT UNSIGNED NOT NULL,
        cursor_at DATETIME(3) NULL,
        cursor_seq BIGINT UNSIGNED NULL,
        PRIMARY KEY (rule_id, device_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // One row: locked FOR UPDATE by the replica evaluating (so one at a time), holding how far into
      // readings.received_at evaluation has read.
      `CREATE TABLE IF NOT EXISTS alert_evaluator (
        id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
        received_watermark DATETIME(3) NULL,
        last_round_at DATETIME(3) NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `INSERT IGNORE INTO alert_evaluator (id) VALUES (1)`,
      // The outbox: written in the transaction that changes the alert, sent afterwards. `id` is the
      // notification's stable id (webhook receivers deduplicate on it); `message_id` is the message that
      // carries it (its own id, or a group's) and is fixed before the first attempt, so a retry after a
      // crash sends the same message again.
      `CREATE TABLE IF NOT EXISTS alert_notifications (
        id CHAR(36) NOT NULL PRIMARY KEY,
        alert_id BIGINT UNSIGNED NOT NULL,
        rule_id BIGINT UNSIGNED NOT NULL,
        device_id VARCHAR(64) NOT NULL,
        channel VARCHAR(8) NOT NULL COMMENT 'email or webhook',
        target_key CHAR(64) NOT NULL COMMENT 'SHA-256 of channel and address: storm windows are per target',
        target TEXT NOT NULL COMMENT 'JSON snapshot of the target (with the webhook secret)',
        state VARCHAR(16) NOT NULL COMMENT 'firing or resolved',
        body TEXT NOT NULL COMMENT 'JSON AlertWebhookBody',
        status VARCHAR(8) NOT NULL DEFAULT 'pending' COMMENT 'pending, sent, failed',
        attempts INT UNSIGNED NOT NULL DEFAULT 0,
        next_attempt_at DATETIME(3) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        sent_at DATETIME(3) NULL,
        last_error VARCHAR(500) NULL,
        message_id CHAR(36) NULL,
        KEY alert_notifications_due (status, target_key, next_attempt_at),
        KEY alert_notifications_by_alert (alert_id),
        KEY alert_notifications_by_message (message_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // Storm control per target: the window opened by the last message sent alone or as a group.
      `CREATE TABLE IF NOT EXISTS alert_targets (
        target_key CHAR(64) NOT NULL PRIMARY KEY,
        window_started_at DATETIME(3) NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
  {
    version: 5,
    name: 'web admin: command publishing leases per device (cluster-safe on Galera)',
    statements: [
      // Who publishes a device's commands right now. Taken with an upsert that Galera certifies: two
      // replicas on two nodes (where row locks and GET_LOCK do not reach) cannot both hold it.
      `CREATE TABLE IF NOT EXISTS command_leases (
        device_id VARCHAR(64) NOT NULL PRIMARY KEY,
        holder VARCHAR(80) NOT NULL,
        until DATETIME(3) NOT NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
  {
    version: 6,
    name: 'ingest batches carry the minute rollups of the rows they stored',
    statements: [
      // Written by the ingest transaction from the rows it inserted, so the fold adds them to readings_1m/1h
      // without reading the raw rows back. NULL (a batch of an older receiver): the fold aggregates its
      // rows from `readings` by `ranges` and batch_id, as before.
      `ALTER TABLE ingest_batches ADD COLUMN IF NOT EXISTS minutes LONGTEXT NULL
        COMMENT 'JSON [[device_id, sensor, minute, n, sum, min, max], …] of the rows this batch stored'`,
    ],
  },
];
