import { ConfigError, type IngestEnv } from '../../libs/config/env.js';

/** The edge settings that only make sense together; a wrong combination stops the ingest at boot. */
export interface EdgeModes {
  digest: boolean;
  token: boolean;
}

export function edgeModes(env: Pick<IngestEnv, 'INGEST_AUTH'>): EdgeModes {
  return { digest: env.INGEST_AUTH.includes('digest'), token: env.INGEST_AUTH.includes('token') };
}

/** Every problem with the edge settings at once (as loadEnv does for single keys). */
export function checkEdgeConfig(env: IngestEnv): void {
  const modes = edgeModes(env);
  const problems: string[] = [];
  if (modes.digest && env.INGEST_NONCE_SECRET === undefined) {
    problems.push('INGEST_NONCE_SECRET: required when INGEST_AUTH includes digest (the same value on every ingest replica; e.g. openssl rand -base64 48)');
  }
  if ((env.INGEST_DIGEST_USERNAME === undefined) !== (env.INGEST_DIGEST_PASSWORD === undefined)) {
    problems.push('INGEST_DIGEST_USERNAME and INGEST_DIGEST_PASSWORD: set both (the shared device credential) or neither');
  }
  if (env.INGEST_DIGEST_USERNAME !== undefined && !modes.digest) {
    problems.push('INGEST_DIGEST_USERNAME: set, but INGEST_AUTH does not include digest, so it would be ignored');
  }
  if (env.INGEST_HEADERS_TIMEOUT_MS > env.INGEST_REQUEST_TIMEOUT_MS) {
    problems.push('INGEST_HEADERS_TIMEOUT_MS: must not exceed INGEST_REQUEST_TIMEOUT_MS (the headers are part of the request)');
  }
  if (problems.length) throw new ConfigError(problems);
}
