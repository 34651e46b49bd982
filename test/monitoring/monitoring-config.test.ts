import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../helpers/fixtures.js';
import {
  alertsFile,
  alertTestsFile,
  allPanels,
  headingAnchor,
  loadAlertRules,
  loadDashboards,
  metricNamesIn,
  monitoringDir,
  prometheusConfigFile,
  RUNBOOK_BASE_URL,
  runbookAnchors,
  SCRAPE_JOBS,
  withGrafanaVariables,
} from './monitoring-files.js';

/**
 * The monitoring files on their own, no system running: promtool's config and rule checks and the
 * alert unit tests (alerts.test.yml), then what promtool does not check — every alert has a
 * severity, a summary, a description and a runbook that exists, every alert is unit-tested both
 * ways, and every dashboard panel has a title, a unit, the provisioned datasource and a unique id.
 */

const run = promisify(execFile);
const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
const havePromtool = existsSync(PROMTOOL);
// CI installs Debian's prometheus package; elsewhere a missing promtool skips with a message.
if (!havePromtool && process.env.CI) throw new Error(`${PROMTOOL} not found: install the prometheus package (apt-get install prometheus)`);
if (!havePromtool) console.warn(`${PROMTOOL} not found: promtool checks are skipped (apt-get install prometheus)`);

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: repoRoot });
    return stdout + stderr;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${failed.stdout ?? ''}${failed.stderr ?? failed.message}`);
  }
}

describe.skipIf(!havePromtool)('promtool', () => {
  it('accepts the Prometheus configuration (and the rule file it loads)', async () => {
    expect(await promtool('check', 'config', prometheusConfigFile)).toMatch(/SUCCESS/);
  });

  it('accepts the alert rules', async () => {
    const output = await promtool('check', 'rules', alertsFile);
    expect(output).toContain(`SUCCESS: ${loadAlertRules().length} rules found`);
  });

  it('passes the alert unit tests', async () => {
    expect(await promtool('test', 'rules', alertTestsFile)).toMatch(/SUCCESS/);
  });
});

describe('PromQL metric names', () => {
  it('finds the series an expression reads and nothing else', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, status_class) (rate(hikhub_ingest_request_duration_seconds_bucket{job="ingest", x=~"a|b"}[$__rate_interval])))',
      ),
    ).toEqual(['hikhub_ingest_request_duration_seconds_bucket']);
    expect(metricNamesIn('max(a_used_bytes) / max(a_max_bytes > 0) > 0.9 or absent(up{job="ingest"}) unless on (queue) b_total offset 5m')).toEqual([
      'a_max_bytes',
      'a_used_bytes',
      'b_total',
      'up',
    ]);
    expect(metricNamesIn('sum(rate(x_total{reason="by (le) or \\"up\\""}[1m])) without (instance) * 1e3 + vector(0)')).toEqual(['x_total']);
  });

  it('replaces Grafana variables with runnable values', () => {
    expect(withGrafanaVariables('rate(x_total{queue=~"$queue", job="$job"}[$__rate_interval])', '20s')).toBe('rate(x_total{queue=~".+", job=~".+"}[20s])');
  });
});

describe('prometheus.yml', () => {
  it('scrapes each service on its ops port under the job name the rules and dashboards use, and loads alerts.yml', () => {
    const config = parseYaml(readFileSync(prometheusConfigFile, 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; type: string; port: number }[] }[];
    };
    expect(config.rule_files).toEqual(['alerts.yml']);
    // Docker's DNS answers one A record per container, so scaled replicas are scraped one by one.
    const jobs = Object.fromEntries(
      config.scrape_configs.map((job) => [job.job_name, job.dns_sd_configs.flatMap((c) => (c.type === 'A' ? c.names.map((name) => `${name}:${c.port}`) : []))]),
    );
    expect(jobs).toEqual(Object.fromEntries(Object.entries(SCRAPE_JOBS).map(([job, port]) => [job, [`${job}:${port}`]])));
  });
});

describe('alert rules', () => {
  const rules = loadAlertRules();
  const anchors = runbookAnchors();

  it('are named uniquely', () => {
    const names = rules.map((rule) => rule.alert);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(rules.map((rule) => [rule.alert, rule] as const))('%s has a severity, summary, description and a runbook that exists', (name, rule) => {
    expect(['critical', 'warning']).toContain(rule.labels?.severity);
    expect(rule.annotations?.summary?.trim()).toBeTruthy();
    expect(rule.annotations?.description?.trim()).toBeTruthy();
    const anchor = headingAnchor(name);
    expect(rule.annotations?.runbook_url).toBe(`${RUNBOOK_BASE_URL}#${anchor}`);
    expect(anchors, `docs/operations.md has no heading "${name}"`).toContain(anchor);
  });

  it('each have a unit test where they fire and one where they stay quiet', () => {
    const document = parseYaml(readFileSync(alertTestsFile, 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    const checks = document.tests.flatMap((test) => test.alert_rule_test ?? []);
    const uncovered = rules.flatMap((rule) => {
      const own = checks.filter((check) => check.alertname === rule.alert);
      const missing = [];
      if (!own.some((check) => (check.exp_alerts ?? []).length > 0)) missing.push(`${rule.alert}: no case where it fires`);
      if (!own.some((check) => (check.exp_alerts ?? []).length === 0)) missing.push(`${rule.alert}: no case where it stays quiet`);
      return missing;
    });
    expect(uncovered).toEqual([]);
  });

  it('each read at least one metric (the coverage test checks they exist)', () => {
    for (const rule of rules) expect(metricNamesIn(rule.expr).length, rule.alert).toBeGreaterThan(0);
  });
});

describe('dashboards', () => {
  const dashboards = loadDashboards();

  it('include the overview, archiver and provisioner dashboards, with unique uids', () => {
    expect(dashboards.map((d) => d.file)).toEqual(expect.arrayContaining(['overview.json', 'archiver.json', 'provisioner.json']));
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length);
    for (const dashboard of dashboards) expect(dashboard.title, dashboard.file).toMatch(/^hikhub \/ /);
  });

  it.each(dashboards.map((d) => [d.file, d] as const))('%s: every panel has a title, a unit, the prometheus datasource and a unique id', (_file, dashboard) => {
    const panels = allPanels(dashboard);
    const problems: string[] = [];
    const ids = panels.map((panel) => panel.id);
    if (new Set(ids).size !== ids.length) problems.push(`duplicate panel ids: ${ids.filter((id, i) => ids.indexOf(id) !== i).join(', ')}`);
    for (const panel of panels) {
      const name = `panel ${panel.id} (${panel.title ?? 'untitled'})`;
      if (!panel.title?.trim()) problems.push(`${name}: no title`);
      if (panel.type === 'row') continue;
      if (!panel.fieldConfig?.defaults?.unit) problems.push(`${name}: no unit (fieldConfig.defaults.unit)`);
      if (panel.datasource?.uid !== 'prometheus') problems.push(`${name}: datasource uid is ${panel.datasource?.uid}`);
      if (!panel.targets?.length) problems.push(`${name}: no query`);
      for (const target of panel.targets ?? []) {
        if (target.datasource?.uid !== 'prometheus') problems.push(`${name} ${target.refId}: datasource uid is ${target.datasource?.uid}`);
        if (!target.expr?.trim()) problems.push(`${name} ${target.refId}: empty expression`);
      }
      const grid = panel.gridPos;
      if (!grid || grid.x < 0 || grid.w < 1 || grid.x + grid.w > 24) problems.push(`${name}: gridPos outside the 24-column grid`);
    }
    expect(problems).toEqual([]);
  });

  it('are provisioned from the directory the provider reads, with the datasource they name', () => {
    const provider = parseYaml(readFileSync(path.join(monitoringDir, 'grafana/provisioning/dashboards/hikhub.yml'), 'utf8')) as {
      providers: { type: string; options: { path: string } }[];
    };
    expect(provider.providers).toEqual([expect.objectContaining({ type: 'file', options: expect.objectContaining({ path: '/var/lib/grafana/dashboards' }) })]);
    const datasources = parseYaml(readFileSync(path.join(monitoringDir, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
      datasources: { uid: string; type: string; url: string }[];
    };
    expect(datasources.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
  });
});
