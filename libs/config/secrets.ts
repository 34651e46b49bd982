import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger/logger.js';

/**
 * A secret from the environment, or — for single-machine installs that set nothing — one
 * generated once into DATA_DIR/secrets/<name> (mode 0600) and reused on every start. Several
 * processes starting together agree on one value: the file is created exclusively.
 */
export async function resolveSecret(options: { value: string | undefined; dataDir: string; name: string; generate?: () => string; logger: Logger }): Promise<string> {
  if (options.value) return options.value;
  const file = path.resolve(options.dataDir, 'secrets', options.name);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const fresh = (options.generate ?? (() => randomBytes(32).toString('base64url')))();
  try {
    await writeFile(file, `${fresh}\n`, { flag: 'wx', mode: 0o600 });
    options.logger.warn({ file }, `no ${options.name} in the environment: generated one in this file (set it explicitly in production)`);
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // Another process may have created the file an instant ago and not written it yet.
  for (let attempt = 0; attempt < 20; attempt++) {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored) return stored;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${file} is empty; delete it or set the secret in the environment`);
}

export const generateCredentialsKey = (): string => randomBytes(32).toString('base64');
