import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { isServiceName, resolveOpsPort, serviceCommands, type ServiceName } from './services.js';

/**
 * The image's HEALTHCHECK: GET /readyz on the ops port(s) of whichever service this container
 * runs; exit 0 when every one answers 200. /readyz, not /healthz: Docker's "healthy" is what
 * `depends_on: service_healthy`, `docker ps` and proxies that route on health read as "serving"
 * (Redis and, for workers, Postgres reachable, not draining); plain Docker restarts nothing on
 * "unhealthy", so a datastore outage shows up without a restart storm. `--live` probes /healthz
 * instead, for orchestrators that restart unhealthy containers (Swarm).
 *
 * Usage: healthcheck.js [service] [--live]. Without a service it is found from the running
 * entrypoint's command line (`run-service.js <service>`), so one HEALTHCHECK fits every command.
 */

export const ENTRYPOINT_SCRIPT = 'run-service.js';
/** The built entrypoint, or its TypeScript source when run with tsx (development, tests). */
const ENTRYPOINT_PATTERN = /(^|\/)run-service\.[jt]s$/;
const PROBE_TIMEOUT_MS = 4_000;

/** The service named after the entrypoint script in any process's argv (node as PID 1, or under an init). */
export function serviceFromCommandLines(commandLines: string[][]): ServiceName | undefined {
  for (const argv of commandLines) {
    const scriptIndex = argv.findIndex((arg) => ENTRYPOINT_PATTERN.test(arg));
    const name = scriptIndex >= 0 ? argv[scriptIndex + 1] : undefined;
    if (isServiceName(name)) return name;
  }
  return undefined;
}

/** argv of every process visible in /proc (the container's PID namespace). */
export function readCommandLines(procRoot = '/proc'): string[][] {
  const lines: string[][] = [];
  for (const entry of readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const raw = readFileSync(`${procRoot}/${entry}/cmdline`, 'utf8');
      if (raw) lines.push(raw.replace(/\0$/, '').split('\0'));
    } catch {
      // The process ended while we listed; skip it.
    }
  }
  return lines;
}

/** GET one path on 127.0.0.1:port; resolves to the status code, or an error text. */
export function probe(port: number, path: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 'no status');
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve(error.message));
  });
}

export interface HealthResult {
  healthy: boolean;
  lines: string[];
}

export async function checkHealth(service: ServiceName, options: { live?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<HealthResult> {
  const path = options.live ? '/healthz' : '/readyz';
  const ports = serviceCommands[service].opsPorts;
  if (ports.length === 0) return { healthy: true, lines: [`${service}: one-shot command, nothing to probe`] };
  const results = await Promise.all(
    ports.map(async (opsPort) => {
      const port = resolveOpsPort(opsPort, options.env ?? process.env);
      const outcome = await probe(port, path);
      return { ok: outcome === 200, line: `${service} ${opsPort.variable}=${port} ${path}: ${outcome}` };
    }),
  );
  return { healthy: results.every((result) => result.ok), lines: results.map((result) => result.line) };
}

async function main(args: string[]): Promise<number> {
  const live = args.includes('--live');
  const named = args.find((arg) => !arg.startsWith('--'));
  if (named !== undefined && !isServiceName(named)) {
    process.stderr.write(`unknown service: ${named}\n`);
    return 2;
  }
  const service = named ?? serviceFromCommandLines(readCommandLines());
  if (!service) {
    process.stderr.write(`cannot tell which service runs here (no ${ENTRYPOINT_SCRIPT} <service> process); pass it: healthcheck.js <service>\n`);
    return 1;
  }
  const result = await checkHealth(service, { live });
  (result.healthy ? process.stdout : process.stderr).write(`${result.lines.join('\n')}\n`);
  return result.healthy ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
