import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs for containers (balena and docker collect stdout); human-readable when a person watches a
 * terminal. Secrets never reach the logger: config is logged through redactConfig.
 */
export function createLogger(
  service: string,
  level = 'info',
  opts: { pretty?: boolean; /** Log to stderr (a CLI whose stdout is its output). */ stderr?: boolean } = {},
): Logger {
  const out = opts.stderr ? process.stderr : process.stdout;
  const pretty = opts.pretty ?? (out.isTTY === true && !process.env.CI);
  const options: LoggerOptions = {
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['password', '*.password', 'MQTT_PASSWORD', '*.MQTT_PASSWORD'], censor: '***' },
  };
  if (pretty) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: {
          colorize: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ...(opts.stderr ? { destination: 2 } : {}),
        },
      },
    });
  }
  return opts.stderr ? pino(options, pino.destination(2)) : pino(options);
}
