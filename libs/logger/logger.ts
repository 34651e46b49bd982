import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths that must never reach a log line, whatever the level. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'req.headers["proxy-authorization"]',
  'headers["proxy-authorization"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.password',
  '*.token',
  'password',
  'token',
  // Device-edge secrets (path tokens, Digest HA1s, the nonce key) and the env keys holding them.
  '*.pathToken',
  'pathToken',
  '*.ha1',
  'ha1',
  '*.secret',
  'secret',
  'INGEST_DIGEST_PASSWORD',
  'INGEST_NONCE_SECRET',
  '*.INGEST_DIGEST_PASSWORD',
  '*.INGEST_NONCE_SECRET',
];

/** One pino setup for every service: JSON lines, service name on each, secrets redacted. */
export function createLogger(service: string, level: LoggerOptions['level'] = 'info'): Logger {
  return pino({
    level,
    base: { service },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
