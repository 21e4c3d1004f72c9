#!/bin/sh
# Start-up of the mqtthandler container. balena device variables hold text, not files, so the broker's CA
# certificate can be given as PEM text in MQTT_CA (real newlines, or `\n` escapes when pasted as one line):
# it is written to a file and handed to the service as MQTT_CA_FILE. An explicit MQTT_CA_FILE wins.
set -eu

if [ -n "${MQTT_CA:-}" ] && [ -z "${MQTT_CA_FILE:-}" ]; then
  ca="${TMPDIR:-/tmp}/mqtt-ca.pem"
  printf '%s\n' "$MQTT_CA" | sed 's/\\n/\n/g' >"$ca"
  if ! grep -q 'BEGIN CERTIFICATE' "$ca"; then
    echo "mqtthandler-entrypoint: MQTT_CA is set but holds no PEM certificate (-----BEGIN CERTIFICATE-----)" >&2
    exit 1
  fi
  export MQTT_CA_FILE="$ca"
fi
unset MQTT_CA

exec "$@"
