import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isServiceName } from '../../tools/deploy/services.js';
import { repoRoot } from '../helpers/fixtures.js';

/**
 * The Dockerfile, checked without a Docker engine: its instructions parsed the way BuildKit
 * reads them (line continuations, comments), then the properties the image must have.
 */

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue; // also inside a continuation, as BuildKit does
    const continued = /\\\s*$/.test(line);
    pending += `${continued ? line.replace(/\\\s*$/, '') : line} `;
    if (!continued) {
      if (pending.trim()) logical.push(pending.trim());
      pending = '';
    }
  }
  let stage = -1;
  return logical.map((line) => {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') stage += 1;
    return { keyword: keyword.toUpperCase(), args: args.trim(), stage };
  });
}

const dockerfile = parseDockerfile(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));
const stages = dockerfile.filter((instruction) => instruction.keyword === 'FROM');
const finalStage = stages.length - 1;
const inFinal = (keyword: string) => dockerfile.filter((instruction) => instruction.stage === finalStage && instruction.keyword === keyword);
const execForm = (args: string): string[] => {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw new Error(`not exec form: ${args}`);
  return parsed as string[];
};
/** dist/x/y.js → the TypeScript source tsc builds it from. */
const sourceOf = (built: string) => path.join(repoRoot, built.replace(/^dist\//, '').replace(/\.js$/, '.ts'));

describe('Dockerfile', () => {
  it('is multi-stage on a pinned Node 22 slim base, with only runtime dependencies in the final stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const baseArg = dockerfile.find((instruction) => instruction.keyword === 'ARG' && instruction.args.startsWith('NODE_IMAGE='));
    expect(baseArg?.args).toBe('NODE_IMAGE=node:22-bookworm-slim');
    for (const from of stages) expect(from.args).toMatch(/^\$\{NODE_IMAGE\} AS [a-z-]+$/);
    const runs = dockerfile.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.args);
    expect(runs.some((run) => run.includes('npm ci --omit=dev'))).toBe(true);
    expect(runs.some((run) => run.includes('npm run build'))).toBe(true);
    // The final stage copies built output and production node_modules from earlier stages; it installs nothing itself.
    const finalRuns = inFinal('RUN').map((instruction) => instruction.args);
    expect(finalRuns.filter((run) => /npm (ci|install)/.test(run))).toEqual([]);
    const copiedFrom = inFinal('COPY').map((instruction) => /--from=(\S+)/.exec(instruction.args)?.[1]).filter(Boolean);
    expect(copiedFrom.length).toBeGreaterThanOrEqual(2);
  });

  it('copies everything the build compiles', () => {
    const included = (JSON.parse(readFileSync(path.join(repoRoot, 'tsconfig.build.json'), 'utf8')) as { include: string[] }).include;
    const copied = dockerfile.filter((instruction) => instruction.keyword === 'COPY' && !instruction.args.includes('--from')).flatMap((instruction) => instruction.args.split(/\s+/).slice(0, -1));
    for (const directory of included) expect(copied, directory).toContain(directory);
    for (const source of copied) expect(existsSync(path.join(repoRoot, source)), source).toBe(true);
  });

  it("ships the api's web console files where the api looks for them", () => {
    const copies = inFinal('COPY').map((instruction) => instruction.args.split(/\s+/));
    const consoleCopy = copies.find((args) => args.at(-1) === './services/api/console');
    expect(consoleCopy, 'COPY … ./services/api/console').toBeDefined();
    expect(consoleCopy).toContain('/app/services/api/console');
    expect(existsSync(path.join(repoRoot, 'services/api/console/index.html'))).toBe(true);
  });

  it('runs as a non-root user', () => {
    const users = inFinal('USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(':')[0];
    expect(['root', '0', '']).not.toContain(user);
  });

  it('starts node directly in exec form, with the service as the command', () => {
    const entrypoint = execForm(inFinal('ENTRYPOINT').at(-1)!.args);
    const command = execForm(inFinal('CMD').at(-1)!.args);
    expect(entrypoint[0]).toBe('node');
    expect(existsSync(sourceOf(entrypoint[1]!)), entrypoint[1]).toBe(true);
    expect(command).toHaveLength(1);
    expect(isServiceName(command[0])).toBe(true);
    // package.json's "type": "module" makes node load dist/**/*.js as ES modules.
    expect(inFinal('COPY').some((instruction) => /^package\.json\s/.test(instruction.args))).toBe(true);
    const env = inFinal('ENV').map((instruction) => instruction.args).join(' ');
    expect(env).toMatch(/DATA_DIR=\/data/);
    expect(env).toMatch(/NODE_ENV=production/);
  });

  it('has an exec-form HEALTHCHECK running the healthcheck program', () => {
    const [healthcheck] = inFinal('HEALTHCHECK');
    expect(healthcheck).toBeDefined();
    const [, options = '', command = ''] = /^(.*?)CMD\s+(\[.*\])$/.exec(healthcheck!.args) ?? [];
    expect(options).toMatch(/--interval=\d+s/);
    expect(options).toMatch(/--timeout=\d+s/);
    const argv = execForm(command);
    expect(argv[0]).toBe('node');
    expect(existsSync(sourceOf(argv[1]!)), argv[1]).toBe(true);
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('keeps dependencies, build output, data, history and tests out of the build context', () => {
    for (const required of ['node_modules', 'dist', 'data', '.git', 'test', '.env']) expect(patterns, required).toContain(required);
  });

  it('does not exclude what the build copies', () => {
    const copied = dockerfile.filter((instruction) => instruction.keyword === 'COPY' && !instruction.args.includes('--from')).flatMap((instruction) => instruction.args.split(/\s+/).slice(0, -1));
    for (const source of copied) expect(patterns, source).not.toContain(source);
  });
});
