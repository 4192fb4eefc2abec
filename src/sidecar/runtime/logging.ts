import { pino, type Logger as Pino } from 'pino';
import type { Logger } from '../../core/scheduler/types.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Structured JSON logs on stdout. Fields never carry header values or expanded `${VAR}`s. */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): { logger: Logger; pino: Pino } {
  const base = pino({ level, base: { app: 'taskino' }, timestamp: pino.stdTimeFunctions.isoTime }, destination as pino.DestinationStream | undefined);
  const logger: Logger = {
    debug: (message, fields) => base.debug(fields ?? {}, message),
    info: (message, fields) => base.info(fields ?? {}, message),
    warn: (message, fields) => base.warn(fields ?? {}, message),
    error: (message, fields) => base.error(fields ?? {}, message),
  };
  return { logger, pino: base };
}
