#!/bin/sh
# Start-up of the sensor container: with the BME280 driver, make sure the I2C character device exists
# (balenaOS may not load i2c-dev by itself; the kernel-modules label mounts the host's modules so modprobe
# can load it), then run the service. Never fatal: the service itself names what is missing.
set -eu

if [ "${SENSOR_DRIVER:-simulated}" = bme280 ]; then
  dev="/dev/i2c-${I2C_BUS:-1}"
  if [ ! -e "$dev" ]; then
    if command -v modprobe >/dev/null 2>&1 && modprobe i2c-dev 2>/dev/null; then
      echo "sensor-entrypoint: loaded i2c-dev for $dev"
    else
      echo "sensor-entrypoint: $dev missing and 'modprobe i2c-dev' failed: enable I2C on the host" \
        "(BALENA_HOST_CONFIG_dtparam=\"i2c_arm=on\") and map $dev in docker-compose.device.yml" >&2
    fi
  fi
fi

exec "$@"
