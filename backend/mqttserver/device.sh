#!/bin/sh
# `device …` inside the broker container: the provisioning CLI (backend/mqttserver/src/provisioning) with
# the container's paths. Mosquitto is PID 1 here (the entrypoint execs it), so that is what gets SIGHUP.
#   docker compose -f docker-compose.backend.yml exec mqttserver device add sensor-01
set -eu
export MOSQUITTO_PASSWORD_FILE="${MOSQUITTO_PASSWORD_FILE:-/mosquitto/auth/passwd}"
export MOSQUITTO_ACL_FILE="${MOSQUITTO_ACL_FILE:-/mosquitto/config/acl}"
[ -n "${MOSQUITTO_PID_FILE:-}" ] || export MOSQUITTO_PID="${MOSQUITTO_PID:-1}"
exec node /app/backend/mqttserver/dist/provisioning/main.js "$@"
