#!/bin/sh
# Entrypoint of the broker image: renders mosquitto.conf with the paths from the environment, creates
# what is missing (each with one clear log line), then runs Mosquitto as PID 1 so `docker kill -s HUP`
# reloads accounts and ACL. Arguments, if any, are run instead of the broker (e.g. `sh` to look around).
set -eu

say() { printf '%s mqttserver-entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S)" "$*"; }

template=${MOSQUITTO_CONF_TEMPLATE:-/mosquitto/config/mosquitto.conf}
conf=${MOSQUITTO_RENDERED_CONF:-/tmp/mosquitto.conf}
passwd=${MOSQUITTO_PASSWORD_FILE:-/mosquitto/auth/passwd}
acl=${MOSQUITTO_ACL_FILE:-/mosquitto/config/acl}
data=${MOSQUITTO_DATA_DIR:-/mosquitto/data}
certs=${MOSQUITTO_CERT_DIR:-/mosquitto/certs}
default_acl=$(dirname "$template")/acl # the ACL of the image, next to the template

if [ "$#" -gt 0 ]; then exec "$@"; fi

# Paths become part of config lines: refuse what would break a line.
for value in "$passwd" "$acl" "$data" "$certs"; do
  case $value in
    /*) ;;
    *) say "paths must be absolute (got '$value')"; exit 1 ;;
  esac
  case $value in
    *[[:space:]\|\&]*) say "paths must not contain spaces, | or & (got '$value')"; exit 1 ;;
  esac
done

mkdir -p "$(dirname "$passwd")" "$(dirname "$acl")" "$data" "$certs"

if [ ! -e "$passwd" ]; then
  (umask 077 && : >"$passwd")
  say "created an empty password file $passwd: no client can connect until accounts are added" \
    "(npm run device -- add <id>, npm run device -- service receiver|webadmin; see README.md)"
fi

# Service accounts from the environment, for compose set-ups that hand the same secret to the broker and
# to the service. Set on every start, so the environment wins over a password set by the CLI.
for account in receiver webadmin monitor; do
  var=MQTT_$(printf '%s' "$account" | tr '[:lower:]' '[:upper:]')_PASSWORD
  eval "secret=\${$var:-}"
  if [ -n "$secret" ]; then
    printf '%s\n%s\n' "$secret" "$secret" | mosquitto_passwd "$passwd" "$account" >/dev/null
    say "set the password of service account '$account' from $var"
  fi
done

if [ ! -e "$acl" ]; then
  cp "$default_acl" "$acl"
  say "created ACL file $acl from the image's default ($default_acl)"
fi

if [ ! -s "$certs/server.crt" ] || [ ! -s "$certs/server.key" ] || [ ! -s "$certs/ca.crt" ]; then
  if [ "${MQTT_TLS_DEV_CERTS:-true}" = true ]; then
    say "no TLS certificate in $certs: generating a DEV CA and server certificate" \
      "(name '${MQTT_TLS_HOSTNAME:-localhost}'); clients need $certs/ca.crt; use real certificates in production"
    make-dev-certs.sh "$certs" "${MQTT_TLS_HOSTNAME:-}"
  else
    say "no TLS certificate in $certs (ca.crt, server.crt, server.key) and MQTT_TLS_DEV_CERTS=false"
    exit 1
  fi
fi

# One directive per line in the template (see mosquitto.conf): replace the value of each path directive.
sed \
  -e "s|^password_file .*|password_file $passwd|" \
  -e "s|^acl_file .*|acl_file $acl|" \
  -e "s|^persistence_location .*|persistence_location $data|" \
  -e "s|^cafile .*|cafile $certs/ca.crt|" \
  -e "s|^certfile .*|certfile $certs/server.crt|" \
  -e "s|^keyfile .*|keyfile $certs/server.key|" \
  "$template" >"$conf"

# Mosquitto starts as root and drops to user mosquitto, who must read the accounts and keys and write
# the data dir. The password file stays unreadable for everybody else.
if [ "$(id -u)" = 0 ]; then
  chown mosquitto:mosquitto "$passwd"
  chmod 0600 "$passwd"
  chown -R mosquitto:mosquitto "$data"
  # Real certificates may be mounted read-only: then their owner must already let mosquitto read the key
  # (Mosquitto re-reads it as that user on a reload).
  if ! { chown mosquitto:mosquitto "$certs/server.key" && chmod 0600 "$certs/server.key"; } 2>/dev/null; then
    say "warning: could not hand $certs/server.key to user mosquitto (read-only?); a reload needs it readable"
  fi
fi

say "starting mosquitto: accounts $passwd, ACL $acl, data $data, TLS $certs"
exec mosquitto -c "$conf"
