/**
 * What the container image can run, by the name given as its command (`docker run hikhub ingest`):
 * the entry module (relative to dist/) and the ops ports (/healthz, /readyz, /metrics) that
 * process serves. Ports are read from the same variables, with the same defaults, as
 * libs/config/env.ts (test/deploy/healthcheck.test.ts holds the two together). Node only:
 * the healthcheck imports this and must start fast, without the services' dependencies.
 */
export interface OpsPort {
  variable: string;
  defaultPort: number;
}

export interface ServiceCommand {
  /** Module to run, relative to the dist/ directory. */
  entry: string;
  /** Ops ports the process serves; empty for one-shot commands. */
  opsPorts: OpsPort[];
  description: string;
}

const INGEST_OPS: OpsPort = { variable: 'INGEST_METRICS_PORT', defaultPort: 9101 };
const ARCHIVER_OPS: OpsPort = { variable: 'ARCHIVER_METRICS_PORT', defaultPort: 9102 };
const PROVISIONER_OPS: OpsPort = { variable: 'PROVISIONER_METRICS_PORT', defaultPort: 9103 };
const API_OPS: OpsPort = { variable: 'API_METRICS_PORT', defaultPort: 9104 };

export const serviceCommands = {
  ingest: { entry: 'services/ingest/main.js', opsPorts: [INGEST_OPS], description: 'device-facing HTTP (INGEST_PORT, 8080)' },
  archiver: { entry: 'services/archiver/main.js', opsPorts: [ARCHIVER_OPS], description: 'events queue → Postgres and DATA_DIR' },
  provisioner: { entry: 'services/provisioner/main.js', opsPorts: [PROVISIONER_OPS], description: 'provisioning queue → devices (ISAPI)' },
  api: { entry: 'services/api/main.js', opsPorts: [API_OPS], description: 'admin API and web console (API_PORT, 8081)' },
  all: {
    entry: 'services/all/main.js',
    opsPorts: [INGEST_OPS, ARCHIVER_OPS, PROVISIONER_OPS, API_OPS],
    description: 'every service in one process (single machine)',
  },
  migrate: { entry: 'libs/db/migrate-cli.js', opsPorts: [], description: 'apply pending database migrations, then exit' },
} as const satisfies Record<string, ServiceCommand>;

export type ServiceName = keyof typeof serviceCommands;

export function isServiceName(value: string | undefined): value is ServiceName {
  return value !== undefined && Object.hasOwn(serviceCommands, value);
}

/** The ops port a service listens on, as the service itself reads it (empty → default, like loadEnv). */
export function resolveOpsPort(port: OpsPort, env: NodeJS.ProcessEnv): number {
  const raw = env[port.variable];
  if (raw === undefined || raw.trim() === '') return port.defaultPort;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${port.variable}=${raw} is not a port`);
  return value;
}

export function usage(): string {
  const width = Math.max(...Object.keys(serviceCommands).map((name) => name.length));
  const lines = Object.entries(serviceCommands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.description}`);
  return `usage: <image> <command>\n\ncommands:\n${lines.join('\n')}\n`;
}
