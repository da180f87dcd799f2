import { AsyncLocalStorage } from 'node:async_hooks';
import type { LoggerService, LogLevel } from '@nestjs/common';
import { pino, type Logger } from 'pino';

/** The correlation id of the work in progress: an HTTP request, a Kafka message, a queued job. */
const correlation = new AsyncLocalStorage<{ correlationId: string }>();

export function withCorrelation<T>(correlationId: string, fn: () => T): T {
  return correlation.run({ correlationId }, fn);
}

export function currentCorrelationId(): string | undefined {
  return correlation.getStore()?.correlationId;
}

/**
 * One JSON line per event on stdout. The correlation id in force is added to every line, so a
 * tick can be followed from the consumer to the outbox to the next service.
 */
export function createRootLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => {
      const id = currentCorrelationId();
      return id === undefined ? {} : { correlationId: id };
    },
    redact: {
      paths: ['*.password', '*.secret', '*.apiKey', 'req.headers.authorization', 'req.headers["x-api-key"]'],
      censor: '***',
    },
  });
}

/** Adapts pino to Nest's LoggerService so the framework's own lines are JSON too. */
export class JsonLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }
  setLogLevels(_levels: LogLevel[]): void {
    // The level comes from LOG_LEVEL, once; Nest's own level list is not a second source of truth.
  }

  private write(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', message: unknown, rest: unknown[]): void {
    // Nest passes the context (class name) last; an error's stack, when present, just before it.
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const fields: Record<string, unknown> = context === undefined ? {} : { context };
    if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message }, message.message);
      return;
    }
    if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...(message as Record<string, unknown>) });
      return;
    }
    const stack = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    if (stack !== undefined) fields['stack'] = stack;
    this.pino[level](fields, String(message));
  }
}
