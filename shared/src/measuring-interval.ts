/**
 * Bounds of the measuring interval (the `set_interval` command, SENSOR_INTERVAL_MS), in a module of their
 * own: the sensor validates its env with them without loading the schema library that command.ts needs.
 */
export const MIN_INTERVAL_MS = 100;
export const MAX_INTERVAL_MS = 86_400_000;
