import type { MiddlewareHandler } from 'hono';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import type { CollectorEnv } from './app-context.js';

export type { Logger } from 'pino';

/**
 * The collector's structured logger: one JSON object per line (pino) on stdout, or on
 * `destination` (tests capture lines there). Nothing personal is logged anywhere: no
 * addresses, identifiers, user agents, write keys or payloads.
 *
 * @example
 * const logger = createLogger({ level: config.logLevel });
 * logger.info({ port }, 'listening');
 */
export function createLogger(options: { level?: Level | 'silent'; destination?: DestinationStream } = {}): Logger {
  return pino(
    { level: options.level ?? 'info', base: { service: 'tally-collector' }, timestamp: pino.stdTimeFunctions.isoTime },
    options.destination ?? pino.destination(1),
  );
}

/** A logger that writes nothing. */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * One log line per request, once it is answered: method, route pattern (never the path, which
 * can hold a write key), status, duration, and for ingestion the source and how many events
 * were accepted, duplicate and rejected.
 *
 * @example
 * app.use('*', requestLog(logger));
 */
export function requestLog(logger: Logger): MiddlewareHandler<CollectorEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const outcome = c.get('outcome');
    const status = c.res.status;
    logger[status >= 500 ? 'error' : 'info'](
      {
        method: c.req.method,
        route: c.req.routePath,
        status,
        source: c.get('source')?.id,
        ...(outcome ?? {}),
        ...(c.get('failure') && { error: c.get('failure') }),
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      },
      'request',
    );
  };
}
