#!/bin/sh
# Picks the AOF fsync policy and the memory limit from the environment (balena device variables), then
# runs redis-server with /usr/local/etc/redis/redis.conf plus those two settings.
#   REDIS_APPENDFSYNC  everysec (default) | always
#   REDIS_MAXMEMORY    e.g. 256mb (default 0 = no limit; the outbox is bounded by the sensor anyway)
set -eu

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

conf=/tmp/redis.conf
cp /usr/local/etc/redis/redis.conf "$conf"
# Later lines win in redis.conf, so these override the fallbacks in the file.
printf '\n# from the environment (docker-entrypoint.sh)\nappendfsync %s\nmaxmemory %s\n' "$fsync" "$maxmemory" >>"$conf"
echo "redis: appendfsync $fsync, maxmemory $maxmemory"

# The official image's entrypoint drops root privileges and fixes /data ownership.
exec docker-entrypoint.sh redis-server "$conf" "$@"
