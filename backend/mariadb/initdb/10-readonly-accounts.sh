#!/bin/bash
# Run once by the official mariadb image on the first start with an empty data volume
# (/docker-entrypoint-initdb.d, docker-compose.backend.yml). The schema itself is the receiver's: its
# migrations run on every start. This adds two accounts that only read:
#   exporter  server status for the Prometheus MariaDB exporter (no access to the data)
#   grafana   SELECT on the devices table for the fleet dashboard's last-seen table
# Passwords come from .env through the container environment.
set -euo pipefail
: "${MARIADB_EXPORTER_PASSWORD:?set MARIADB_EXPORTER_PASSWORD in .env}"
: "${MARIADB_GRAFANA_PASSWORD:?set MARIADB_GRAFANA_PASSWORD in .env}"
db="${MARIADB_DATABASE:-sensorfleet}"

# The devices table does not exist yet when this runs (the receiver creates it), so a table-level
# grant would fail: the account gets SELECT on the database, and only Grafana's read-only datasource
# uses it.
docker_process_sql --database=mysql <<SQL
CREATE USER IF NOT EXISTS 'exporter'@'%' IDENTIFIED BY '${MARIADB_EXPORTER_PASSWORD}' WITH MAX_USER_CONNECTIONS 3;
GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO 'exporter'@'%';
CREATE USER IF NOT EXISTS 'grafana'@'%' IDENTIFIED BY '${MARIADB_GRAFANA_PASSWORD}' WITH MAX_USER_CONNECTIONS 4;
GRANT SELECT ON \`${db}\`.* TO 'grafana'@'%';
SQL
