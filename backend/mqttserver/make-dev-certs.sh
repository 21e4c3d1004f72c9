#!/bin/sh
# Development TLS material for the broker's 8883 listener:
#   <dir>/ca.crt ca.key          a private CA (10 years); give ca.crt to clients (MQTT_CA_FILE)
#   <dir>/server.crt server.key  the broker certificate (825 days), SAN: localhost, 127.0.0.1 and <name>
#
# usage: make-dev-certs.sh [dir] [name]
#   dir   default $MQTT_CERT_DIR, else ./certs
#   name  the host name or IP devices use to reach the broker; default $MQTT_TLS_HOSTNAME, else none
#
# Idempotent: an existing CA is kept (clients keep trusting it), and the server certificate is kept unless
# it is missing, expires within 30 days, was not signed by this CA or lacks the requested name. POSIX sh
# (runs in the Alpine-based broker image too); needs openssl 1.1.1 or later.
set -eu

dir=${1:-${MQTT_CERT_DIR:-./certs}}
name=${2:-${MQTT_TLS_HOSTNAME:-}}

say() { printf 'make-dev-certs: %s\n' "$*" >&2; }

case $name in
  *[!A-Za-z0-9.:-]*) say "refusing name '$name': use a DNS name or an IP address"; exit 2 ;;
esac

command -v openssl >/dev/null 2>&1 || { say 'openssl not found'; exit 1; }
mkdir -p "$dir"
umask 077

is_ip() { printf '%s' "$1" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}$|:'; }

san='DNS:localhost,IP:127.0.0.1'
if [ -n "$name" ] && [ "$name" != localhost ] && [ "$name" != 127.0.0.1 ]; then
  if is_ip "$name"; then san="$san,IP:$name"; else san="$san,DNS:$name"; fi
fi
cn=${name:-localhost}

if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
  say "creating dev CA in $dir"
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -subj '/O=SensorFleet/CN=SensorFleet dev CA' \
    -addext 'basicConstraints=critical,CA:TRUE' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign' \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  chmod 644 "$dir/ca.crt"
  rm -f "$dir/server.crt" # signed by a CA that no longer exists
fi

server_ok() {
  [ -s "$dir/server.crt" ] && [ -s "$dir/server.key" ] || return 1
  openssl x509 -in "$dir/server.crt" -noout -checkend 2592000 >/dev/null 2>&1 || return 1
  openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" >/dev/null 2>&1 || return 1
  # Every requested SAN entry must be present ("IP:" prints as "IP Address:").
  sans=$(openssl x509 -in "$dir/server.crt" -noout -text | grep -A1 'Subject Alternative Name' | tail -n 1)
  for entry in $(printf '%s' "$san" | tr ',' ' '); do
    want=$(printf '%s' "$entry" | sed 's/^IP:/IP Address:/')
    case ", $sans," in *" $want,"*) ;; *) return 1 ;; esac
  done
}

if server_ok; then
  say "keeping $dir/server.crt (valid, signed by $dir/ca.crt, SAN $san)"
  exit 0
fi

say "creating server certificate in $dir (SAN $san)"
ext=$(mktemp)
csr=$(mktemp)
trap 'rm -f "$ext" "$csr"' EXIT
cat >"$ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san
EOF
openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/O=SensorFleet/CN=$cn" \
  -keyout "$dir/server.key" -out "$csr" 2>/dev/null
serial=0x$(openssl rand -hex 16)
openssl x509 -req -in "$csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial "$serial" \
  -days 825 -sha256 -extfile "$ext" -out "$dir/server.crt" 2>/dev/null
# Certificates are public; keys stay 0600 (the broker image's entrypoint hands them to user mosquitto).
chmod 644 "$dir/server.crt"
say "done: clients trust $dir/ca.crt (MQTT_CA_FILE)"
