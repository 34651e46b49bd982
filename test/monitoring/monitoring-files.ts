import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../helpers/fixtures.js';

/** The monitoring files as the tests read them: alert rules, dashboards, runbooks, and PromQL's metric names. */

export const monitoringDir = path.join(repoRoot, 'monitoring');
export const prometheusDir = path.join(monitoringDir, 'prometheus');
export const alertsFile = path.join(prometheusDir, 'alerts.yml');
export const alertTestsFile = path.join(prometheusDir, 'alerts.test.yml');
export const prometheusConfigFile = path.join(prometheusDir, 'prometheus.yml');
export const dashboardsDir = path.join(monitoringDir, 'grafana', 'dashboards');
export const runbooksFile = path.join(repoRoot, 'docs', 'operations.md');
export const RUNBOOK_BASE_URL = 'https://github.com/hikhub/hikhub/blob/main/docs/operations.md';

/** Ports of the services' /metrics, by Prometheus job name (the names alerts and dashboards select on). */
export const SCRAPE_JOBS = { ingest: 9101, archiver: 9102, provisioner: 9103, api: 9104 } as const;

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function loadAlertRules(): AlertRule[] {
  const document = parseYaml(readFileSync(alertsFile, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] };
  return document.groups.flatMap((group) => group.rules);
}

export interface DashboardTarget {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string } };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}

export interface Dashboard {
  file: string;
  uid: string;
  title: string;
  panels: DashboardPanel[];
  templating?: { list: { name: string }[] };
}

export function loadDashboards(): Dashboard[] {
  return readdirSync(dashboardsDir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(path.join(dashboardsDir, file), 'utf8')) as Omit<Dashboard, 'file'>) }));
}

/** Every panel, rows' nested panels included (collapsed rows keep theirs inside). */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

export interface PanelQuery {
  where: string;
  expr: string;
}

/** Every query of every dashboard panel, labelled "<file> / <panel title> / <refId>". */
export function dashboardQueries(): PanelQuery[] {
  return loadDashboards().flatMap((dashboard) =>
    allPanels(dashboard).flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `${dashboard.file} / ${panel.title ?? `panel ${panel.id}`} / ${target.refId}`, expr: target.expr }))),
  );
}

export function alertQueries(): PanelQuery[] {
  return loadAlertRules().map((rule) => ({ where: `alerts.yml / ${rule.alert}`, expr: rule.expr }));
}

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * Metric names a PromQL expression reads: strings, Grafana variables, label matchers, ranges and
 * grouping clauses are removed; what remains is names, functions and aggregations (followed by
 * "("), keywords and numbers (durations included). Histogram quantiles name their `_bucket`
 * series, which is what must exist.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+|\[\[\w+\]\]/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(\d[\d.]*(?:e[+-]?\d+)?[a-z]*)|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/gi)) {
    const [, number, name, call] = match;
    if (number !== undefined || name === undefined || call !== undefined) continue;
    if (PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

export function runbookAnchors(): Set<string> {
  const text = readFileSync(runbooksFile, 'utf8');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)].map((match) => headingAnchor(match[1]!)));
}

/** Sample names in a Prometheus text exposition (`x_bucket`, `x_sum`, `x_count` of histograms included). */
export function sampleNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{|\s)/.exec(line);
    if (match) names.add(match[1]!);
  }
  return names;
}

/** A dashboard query made runnable outside Grafana: its variables replaced by short, concrete values. */
export function withGrafanaVariables(expr: string, rateInterval: string): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('${__rate_interval}', rateInterval)
    .replaceAll('$__interval', rateInterval)
    .replaceAll('$__range', rateInterval)
    .replace(/=~?"\$\{?\w+\}?"/g, '=~".+"');
}
