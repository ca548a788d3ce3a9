import { type Logger, type LoggerOptions, pino } from 'pino';
import { SECRET_VARIABLES } from './config.js';

export type { Logger } from 'pino';

export interface LoggerSettings {
  service: string;
  level?: LoggerOptions['level'];
  /** Where to write; defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: NodeJS.WritableStream;
}

/**
 * Structured JSON logs, one object per line, with the service name on every line and ISO
 * timestamps (UTC) so lines from several services sort together.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: settings.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // A credential must never reach a log line, whatever object a caller passes in.
    redact: {
      paths: [
        'password',
        '*.password',
        'apiKey',
        '*.apiKey',
        'headers.authorization',
        // A configuration object logged whole, or one level down ({ config }).
        ...SECRET_VARIABLES.flatMap((name) => [name, `*.${name}`]),
        'sasl.password',
        '*.sasl.password',
        'tls.key',
        '*.tls.key',
      ],
      censor: '[redacted]',
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
