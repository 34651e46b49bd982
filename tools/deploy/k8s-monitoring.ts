import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';

/**
 * The Kubernetes copies of the monitoring files: kustomize cannot load files outside a
 * kustomization root, and a PrometheusRule / dashboard ConfigMap needs the content inline.
 * monitoring/ is the source; these are rendered from it (generate-k8s-monitoring.ts writes them,
 * test/deploy/k8s-monitoring-generated.test.ts fails when they are stale).
 */

export const ALERTS_SOURCE = 'monitoring/prometheus/alerts.yml';
export const DASHBOARDS_SOURCE = 'monitoring/grafana/dashboards';
export const PROMETHEUS_RULE_TARGET = 'k8s/components/prometheus-operator/prometheus-rule.yaml';
export const DASHBOARDS_TARGET = 'k8s/components/grafana-dashboards/dashboards.yaml';

export interface GeneratedFile {
  /** Relative to the repository root. */
  path: string;
  content: string;
}

const YAML_OPTIONS = { lineWidth: 0 } as const;

function header(sources: string): string {
  return [
    `# Generated from ${sources} by tools/deploy/generate-k8s-monitoring.ts. Do not edit:`,
    '# change the source and run `npx tsx tools/deploy/generate-k8s-monitoring.ts`.',
    '',
  ].join('\n');
}

export function renderPrometheusRule(repoRoot: string): GeneratedFile {
  const source = parse(readFileSync(path.join(repoRoot, ALERTS_SOURCE), 'utf8')) as { groups?: unknown };
  if (!Array.isArray(source?.groups) || source.groups.length === 0) throw new Error(`${ALERTS_SOURCE} has no rule groups`);
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'hikhub', labels: { release: 'kube-prometheus-stack' } },
    spec: { groups: source.groups },
  };
  return { path: PROMETHEUS_RULE_TARGET, content: header(ALERTS_SOURCE) + stringify(rule, YAML_OPTIONS) };
}

/** ConfigMap names are DNS labels: lower case, digits and dashes. */
export function dashboardConfigMapName(fileName: string): string {
  const stem = path.basename(fileName, '.json').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return `hikhub-dashboard-${stem}`.slice(0, 63).replace(/-+$/, '');
}

/**
 * One ConfigMap per dashboard (a client-side `kubectl apply` keeps a copy of each object in an
 * annotation limited to 256 KiB, so dashboards are not bundled), labelled for Grafana's sidecar.
 */
export function renderDashboardConfigMaps(repoRoot: string): GeneratedFile {
  const directory = path.join(repoRoot, DASHBOARDS_SOURCE);
  const files = readdirSync(directory).filter((name) => name.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`${DASHBOARDS_SOURCE} has no dashboards (*.json)`);
  const documents = files.map((file) => {
    const json = readFileSync(path.join(directory, file), 'utf8');
    JSON.parse(json); // a broken dashboard fails here, not in Grafana
    const configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: dashboardConfigMapName(file),
        labels: { grafana_dashboard: '1' },
        annotations: { grafana_folder: 'hikhub' },
      },
      data: { [file]: json.endsWith('\n') ? json : `${json}\n` },
    };
    return stringify(configMap, YAML_OPTIONS);
  });
  return { path: DASHBOARDS_TARGET, content: header(`${DASHBOARDS_SOURCE}/*.json`) + documents.join('---\n') };
}

export function renderMonitoringManifests(repoRoot: string): GeneratedFile[] {
  return [renderPrometheusRule(repoRoot), renderDashboardConfigMaps(repoRoot)];
}
