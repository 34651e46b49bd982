import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ALERTS_SOURCE, dashboardConfigMapName, renderMonitoringManifests } from '../../tools/deploy/k8s-monitoring.js';
import { repoRoot } from '../helpers/fixtures.js';

/**
 * The PrometheusRule and dashboard ConfigMaps under k8s/components are generated from
 * monitoring/: regenerated here in memory, they must equal the committed files. If this fails,
 * run `npx tsx tools/deploy/generate-k8s-monitoring.ts` and commit the result.
 */
describe('generated k8s monitoring manifests', () => {
  const generated = renderMonitoringManifests(repoRoot);

  it.each(generated.map((file) => [file.path, file]))('%s is up to date with monitoring/', (_path, file) => {
    const committed = readFileSync(path.join(repoRoot, file.path), 'utf8');
    expect(committed === file.content, `${file.path} is stale: run npx tsx tools/deploy/generate-k8s-monitoring.ts`).toBe(true);
    expect(committed.startsWith('# Generated from ')).toBe(true);
  });

  it('carries every alert rule and every dashboard unchanged', () => {
    const source = parse(readFileSync(path.join(repoRoot, ALERTS_SOURCE), 'utf8')) as { groups: unknown[] };
    const [rule, dashboards] = generated.map((file) => parseAllDocuments(file.content).map((document) => document.toJS() as { metadata: { name: string }; spec?: { groups: unknown[] }; data?: Record<string, string> }));
    expect(rule?.[0]?.spec?.groups).toEqual(source.groups);
    for (const configMap of dashboards ?? []) {
      const [[file, json]] = Object.entries(configMap.data ?? {}) as [[string, string]];
      expect(configMap.metadata.name).toBe(dashboardConfigMapName(file));
      expect(JSON.parse(json)).toEqual(JSON.parse(readFileSync(path.join(repoRoot, 'monitoring/grafana/dashboards', file), 'utf8')));
    }
    expect(dashboards?.length).toBeGreaterThan(0);
  });

  it('names dashboard ConfigMaps as DNS labels', () => {
    expect(dashboardConfigMapName('Queue Depth (v2).json')).toBe('hikhub-dashboard-queue-depth-v2');
    expect(dashboardConfigMapName(`${'x'.repeat(80)}.json`)).toMatch(/^[a-z0-9-]{1,63}$/);
  });
});
