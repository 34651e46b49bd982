import { readFile } from 'node:fs/promises';
import type express from 'express';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createApiApp, type ApiAppOptions } from '../../services/api/app.js';
import { createApiMetrics } from '../../services/api/metrics.js';
import { SessionSigner } from '../../services/api/session.js';

/**
 * services/api/openapi.yaml is YAML for people and tools; this test reads just enough of it
 * (the `paths:` block is written two-space indented: path keys at 2, methods at 4) to hold it
 * to the express app in both directions, and checks every `$ref` resolves.
 */

const HTTP_METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'];

interface Operation {
  key: string;
  lines: string[];
}

function openApiOperations(yaml: string): Operation[] {
  const lines = yaml.split('\n');
  const start = lines.indexOf('paths:');
  expect(start).toBeGreaterThan(-1);
  const operations: Operation[] = [];
  let path: string | null = null;
  let current: Operation | null = null;
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break;
    const pathKey = /^ {2}(\/\S*):\s*$/.exec(line);
    if (pathKey) {
      path = pathKey[1]!;
      current = null;
      continue;
    }
    const methodKey = /^ {4}([a-z]+):\s*$/.exec(line);
    if (methodKey && HTTP_METHODS.includes(methodKey[1]!)) {
      current = { key: `${methodKey[1]!.toUpperCase()} ${path}`, lines: [] };
      operations.push(current);
      continue;
    }
    if (/^ {4}\S/.test(line)) current = null;
    current?.lines.push(line);
  }
  return operations;
}

/** Every route the express app answers, as `METHOD /path/{param}`. Routers are mounted without a path (see app.ts). */
function expressRoutes(app: express.Express): string[] {
  const found: string[] = [];
  const walk = (stack: any[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths: string[] = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of paths) {
          for (const method of Object.keys(layer.route.methods)) found.push(`${method.toUpperCase()} ${path.replace(/[:*](\w+)/g, '{$1}')}`);
        }
      } else if (layer.handle?.stack) {
        expect(layer.rawPath ?? '/').toBe('/');
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: unknown[] } }).router.stack);
  return found.sort();
}

describe('openapi.yaml', async () => {
  const yaml = await readFile(new URL('../../services/api/openapi.yaml', import.meta.url), 'utf8');
  const operations = openApiOperations(yaml);
  // Routes are only registered here, never called: the handlers' dependencies are not needed.
  const unused = null as never;
  const options: ApiAppOptions = {
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    metrics: createApiMetrics(new Registry()),
    ready: () => true,
    adminToken: 'x'.repeat(32),
    desired: unused,
    jobs: unused,
    edgeCredentials: unused,
    eventPushBaseUrl: undefined,
    archive: unused,
    dataDir: '/nonexistent',
    eventsQueue: unused,
    eventStream: unused,
    sessions: new SessionSigner('x'.repeat(32)),
    isHttps: () => false,
  };
  const app = createApiApp(options);

  it('documents every route of the app, and nothing else', () => {
    const documented = operations.map((operation) => operation.key).sort();
    expect(documented).toEqual(expressRoutes(app));
    expect(documented.length).toBeGreaterThan(20);
  });

  it('declares 401 on every authenticated operation and 400 wherever a request has a body', () => {
    for (const operation of operations) {
      const text = operation.lines.join('\n');
      if (/ \/(api|faces)\//.test(operation.key)) expect([operation.key, text.includes("'401'")]).toEqual([operation.key, true]);
      else expect([operation.key, text.includes('security: []')]).toEqual([operation.key, true]);
      if (text.includes('requestBody:')) expect([operation.key, text.includes("'400'")]).toEqual([operation.key, true]);
    }
  });

  it('resolves every $ref', () => {
    const refs = new Set([...yaml.matchAll(/\$ref: '#\/components\/(\w+)\/(\w+)'/g)].map((match) => `${match[1]}/${match[2]}`));
    expect(refs.size).toBeGreaterThan(10);
    const components = yaml.slice(yaml.indexOf('\ncomponents:'));
    const defined = new Set<string>();
    let section = '';
    for (const line of components.split('\n')) {
      const sectionKey = /^ {2}(\w+):\s*$/.exec(line);
      if (sectionKey) section = sectionKey[1]!;
      const name = /^ {4}(\w+):/.exec(line);
      if (name) defined.add(`${section}/${name[1]}`);
    }
    expect([...refs].filter((ref) => !defined.has(ref))).toEqual([]);
  });
});
