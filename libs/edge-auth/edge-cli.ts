import { text } from 'node:stream/consumers';
import { ingestEnvSchema, type IngestEnv } from '../config/env.js';
import { loadEnvOrExit } from '../lifecycle/run-services.js';
import { createWorkerConnection } from '../redis/connection.js';
import { createPathToken, EdgeCredentialStore } from './credential-store.js';

const USAGE = `usage: npm run edge -- <command>
  token create <deviceId>           a new path token for the device; printed once, only its hash is kept
  token revoke <token>              the token stops working on every ingest within INGEST_CREDENTIAL_CACHE_MS
  digest set <username> <deviceId>  a per-device Digest credential; the password is read from stdin
  digest remove <username>          the credential stops working within INGEST_CREDENTIAL_CACHE_MS`;

/** Operator commands for device credentials at the ingest edge (stored in Redis, see credential-store.ts). */
export async function runEdgeCommand(
  args: string[],
  env: Pick<IngestEnv, 'REDIS_URL' | 'QUEUE_PREFIX' | 'INGEST_DIGEST_REALM'>,
  io: { print: (line: string) => void; readSecret: () => Promise<string> },
): Promise<number> {
  const [group, command, first, second] = args;
  const usage = () => {
    io.print(USAGE);
    return group ? 64 : 0;
  };
  const redis = createWorkerConnection(env.REDIS_URL, 'hikhub-edge-cli');
  // No cache: a CLI reads and writes the truth.
  const store = new EdgeCredentialStore(redis, env.QUEUE_PREFIX, { cacheMs: 0, realm: env.INGEST_DIGEST_REALM });
  try {
    if (group === 'token' && command === 'create' && first) {
      const token = createPathToken();
      await store.setPathToken(token, first);
      io.print(`token for device ${first} (shown once; the device posts to /<your path>/${token}):`);
      io.print(token);
      return 0;
    }
    if (group === 'token' && command === 'revoke' && first) {
      const known = await store.resolvePathToken(first);
      await store.revokePathToken(first);
      io.print(known === null ? 'no such token (nothing to revoke)' : `token of device ${known} revoked`);
      return known === null ? 1 : 0;
    }
    if (group === 'digest' && command === 'set' && first && second) {
      const password = (await io.readSecret()).replace(/\r?\n$/, '');
      if (password.length < 8) {
        io.print('refused: give a password of at least 8 characters on stdin');
        return 65;
      }
      await store.setDigestCredential(first, password, second);
      io.print(`Digest credential of ${first} (device ${second}, realm "${store.realm}") saved; only its HA1 is stored`);
      return 0;
    }
    if (group === 'digest' && command === 'remove' && first) {
      const known = await store.resolveDigestHa1(first);
      await store.removeDigestCredential(first);
      io.print(known === null ? `no credential for ${first} (nothing to remove)` : `Digest credential of ${first} removed`);
      return known === null ? 1 : 0;
    }
    return usage();
  } finally {
    redis.disconnect();
  }
}

// Run as a command (`node dist/libs/edge-auth/edge-cli.js ...`), not when imported by tests.
if (process.argv[1]?.endsWith('edge-cli.js') || process.argv[1]?.endsWith('edge-cli.ts')) {
  const env = loadEnvOrExit(ingestEnvSchema);
  process.exitCode = await runEdgeCommand(process.argv.slice(2), env, {
    print: (line) => process.stdout.write(`${line}\n`),
    readSecret: () => text(process.stdin),
  });
}
