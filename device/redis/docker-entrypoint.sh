#!/bin/sh
# Picks the AOF fsync policy and the memory limit from the environment (balena device variables), then
# runs redis-server with /usr/local/etc/redis/redis.conf plus those two settings and the data dir.
#   REDIS_APPENDFSYNC  everysec (default) | always
#   REDIS_MAXMEMORY    e.g. 256mb (default 0 = no limit; the outbox is bounded by the sensor anyway)
#   REDIS_DATA_DIR     where the AOF lives (default /data, the volume)
# REDIS_CONF_TEMPLATE and REDIS_RENDERED_CONF (the shipped file and its copy) let a test run this script
# outside the image. Arguments are passed on to redis-server after the config file.
set -eu

template="${REDIS_CONF_TEMPLATE:-/usr/local/etc/redis/redis.conf}"
conf="${REDIS_RENDERED_CONF:-/tmp/redis.conf}"
data="${REDIS_DATA_DIR:-/data}"

fsync="${REDIS_APPENDFSYNC:-everysec}"
case "$fsync" in
  everysec | always) ;;
  *)
    echo "redis: REDIS_APPENDFSYNC must be everysec or always (got '$fsync')" >&2
    exit 1
    ;;
esac

maxmemory="${REDIS_MAXMEMORY:-0}"
if ! printf '%s' "$maxmemory" | grep -Eiq '^[0-9]+(b|k|kb|m|mb|g|gb)?$'; then
  echo "redis: REDIS_MAXMEMORY must be a size like 256mb or 0 (got '$maxmemory')" >&2
  exit 1
fi

case "$data" in
  /*) ;;
  *)
    echo "redis: REDIS_DATA_DIR must be an absolute path (got '$data')" >&2
    exit 1
    ;;
esac

mkdir -p "$data"
cp "$template" "$conf"
# Later lines win in redis.conf, so these override the fallbacks in the file. The dir is quoted: Redis
# would cut an unquoted path at a space.
printf '\n# from the environment (docker-entrypoint.sh)\nappendfsync %s\nmaxmemory %s\ndir "%s"\n' \
  "$fsync" "$maxmemory" "$data" >>"$conf"
echo "redis: appendfsync $fsync, maxmemory $maxmemory, dir $data"

# The official image's entrypoint drops root privileges and fixes /data ownership.
exec docker-entrypoint.sh redis-server "$conf" "$@"
