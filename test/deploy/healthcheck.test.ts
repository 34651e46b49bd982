import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiEnvSchema, archiverEnvSchema, ingestEnvSchema, loadEnv, provisionerEnvSchema } from '../../libs/config/env.js';
import { startOpsServer } from '../../libs/http/ops-server.js';
import { checkHealth, readCommandLines, serviceFromCommandLines } from '../../tools/deploy/healthcheck.js';
import { resolveOpsPort, serviceCommands } from '../../tools/deploy/services.js';
import { repoRoot } from '../helpers/fixtures.js';
import { createIsolation } from '../helpers/isolation.js';
import { freePort } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The image's entrypoint (tools/deploy/run-service.ts) and HEALTHCHECK (healthcheck.ts): the
 * service table agrees with the services' own configuration, the healthcheck finds the service
 * a container runs and probes the right port, and the entrypoint runs services in-process so
 * SIGTERM reaches them.
 */

/** Command lines of the processes whose parent is `pid` (field 4 of /proc/<pid>/stat, after the name). */
function childrenOf(pid: number): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) return [];
        return [readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()];
      } catch {
        return [];
      }
    });
}

const tsx = (script: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });

describe('service table', () => {
  it('names an existing entry module for every command', () => {
    for (const [name, command] of Object.entries(serviceCommands)) {
      expect(existsSync(path.join(repoRoot, command.entry.replace(/\.js$/, '.ts'))), name).toBe(true);
    }
  });

  it('uses the ops port defaults of the services themselves', () => {
    const defaults = { ...loadEnv(ingestEnvSchema, {}), ...loadEnv(archiverEnvSchema, {}), ...loadEnv(provisionerEnvSchema, {}), ...loadEnv(apiEnvSchema, {}) } as Record<string, unknown>;
    const ports = Object.values(serviceCommands).flatMap((command) => command.opsPorts);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port.defaultPort, port.variable).toBe(defaults[port.variable]);
    expect(serviceCommands.all.opsPorts.map((port) => port.variable).sort()).toEqual(
      ['ingest', 'archiver', 'provisioner', 'api'].map((name) => serviceCommands[name as 'ingest'].opsPorts[0]!.variable).sort(),
    );
  });

  it('reads a port from the environment like the services do (empty means default)', () => {
    const [port] = serviceCommands.archiver.opsPorts;
    expect(resolveOpsPort(port, { ARCHIVER_METRICS_PORT: '19102' })).toBe(19102);
    expect(resolveOpsPort(port, { ARCHIVER_METRICS_PORT: '' })).toBe(9102);
    expect(() => resolveOpsPort(port, { ARCHIVER_METRICS_PORT: 'nine' })).toThrow(/ARCHIVER_METRICS_PORT/);
  });
});

describe('healthcheck', () => {
  it('finds the service from the entrypoint command line, with node as PID 1 or under an init', () => {
    expect(serviceFromCommandLines([['node', 'dist/tools/deploy/run-service.js', 'archiver']])).toBe('archiver');
    expect(
      serviceFromCommandLines([
        ['/sbin/docker-init', '--', 'node', 'dist/tools/deploy/run-service.js', 'api'],
        ['node', '/app/dist/tools/deploy/run-service.js', 'api'],
      ]),
    ).toBe('api');
    expect(serviceFromCommandLines([['node', 'dist/tools/deploy/healthcheck.js'], ['sh']])).toBeUndefined();
    expect(serviceFromCommandLines([['node', 'dist/tools/deploy/run-service.js', 'bogus']])).toBeUndefined();
  });

  it('reads command lines from /proc', async () => {
    // A process whose argv looks like the entrypoint's (node ignores the arguments after -e's script).
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '/app/dist/tools/deploy/run-service.js', 'provisioner'], { stdio: 'ignore' });
    try {
      await waitFor(async () => readCommandLines().some((argv) => argv.includes('/app/dist/tools/deploy/run-service.js')), 10_000, 'the child in /proc');
      const ours = readCommandLines().filter((argv) => argv.includes('/app/dist/tools/deploy/run-service.js'));
      expect(serviceFromCommandLines(ours)).toBe('provisioner');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('is healthy only when every ops port of the service answers /readyz 200; --live asks /healthz', async () => {
    let ready = true;
    const ops = await startOpsServer({ port: 0, host: '127.0.0.1', registry: new Registry(), ready: () => ready });
    try {
      const env = { INGEST_METRICS_PORT: String(ops.port) };
      expect(await checkHealth('ingest', { env })).toMatchObject({ healthy: true });
      ready = false;
      const notReady = await checkHealth('ingest', { env });
      expect(notReady.healthy).toBe(false);
      expect(notReady.lines.join('\n')).toContain(`INGEST_METRICS_PORT=${ops.port} /readyz: 503`);
      expect(await checkHealth('ingest', { env, live: true })).toMatchObject({ healthy: true });
      // `all` needs the four ports; three of them answer nothing here.
      const closed = await freePort();
      const all = await checkHealth('all', { env: { ...env, ARCHIVER_METRICS_PORT: String(closed), PROVISIONER_METRICS_PORT: String(closed), API_METRICS_PORT: String(closed) }, live: true });
      expect(all.healthy).toBe(false);
      expect(all.lines).toHaveLength(4);
      expect(await checkHealth('migrate')).toMatchObject({ healthy: true });
    } finally {
      await ops.close();
    }
  });
});

describe('entrypoint', () => {
  it('lists the commands, and refuses an unknown one with EX_USAGE', () => {
    const help = tsx('tools/deploy/run-service.ts', ['help']);
    expect(help.status).toBe(0);
    for (const name of Object.keys(serviceCommands)) expect(help.stdout).toContain(name);
    const unknown = tsx('tools/deploy/run-service.ts', ['injest']);
    expect(unknown.status).toBe(64);
    expect(unknown.stderr).toContain('unknown command: injest');
  });

  describe('running a service', () => {
    let isolation: Awaited<ReturnType<typeof createIsolation>>;
    let ingest: ChildProcess | undefined;
    let output = '';

    beforeAll(async () => {
      isolation = await createIsolation('deploy-entrypoint');
    });
    afterAll(async () => {
      if (ingest?.pid && ingest.exitCode === null && ingest.signalCode === null) ingest.kill('SIGKILL');
      await isolation.release();
    });

    it('migrates through the migrate command', () => {
      const migrate = tsx('tools/deploy/run-service.ts', ['migrate'], { DATABASE_URL: isolation.databaseUrl, LOG_LEVEL: 'info' });
      expect(migrate.status, migrate.stdout + migrate.stderr).toBe(0);
      expect(migrate.stdout).toContain('schema is up to date');
    });

    it('runs the ingest in its own process, healthy per the HEALTHCHECK, and stops it cleanly on SIGTERM', async () => {
      const [port, metricsPort] = [await freePort(), await freePort()];
      const env = { PATH: process.env.PATH ?? '', QUEUE_PREFIX: isolation.prefix, INGEST_HOST: '127.0.0.1', INGEST_PORT: String(port), INGEST_METRICS_PORT: String(metricsPort), LOG_LEVEL: 'info' };
      ingest = spawn(process.execPath, ['--import', 'tsx', 'tools/deploy/run-service.ts', 'ingest'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
      ingest.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      ingest.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => ingest!.once('exit', (code) => resolve(code)));

      // The healthcheck program as Docker runs it: no argument, it finds `run-service.ts ingest` in /proc.
      const healthcheck = async () => {
        const result = tsx('tools/deploy/healthcheck.ts', [], { INGEST_METRICS_PORT: String(metricsPort) });
        return result.status === 0 ? result : undefined;
      };
      const healthy = await waitFor(healthcheck, 30_000, `a healthy ingest (${output})`);
      expect(healthy.stdout).toContain(`ingest INGEST_METRICS_PORT=${metricsPort} /readyz: 200`);
      // No node child: the service runs inside the entrypoint's node, which receives the signal itself.
      // (tsx, which runs the TypeScript here, keeps an esbuild helper process; the image has no tsx.)
      expect(childrenOf(ingest.pid!).filter((command) => !/esbuild/.test(command))).toEqual([]);

      ingest.kill('SIGTERM');
      expect(await exited, output).toBe(0);
      expect(output).toContain('shutdown requested');
    });
  });
});
