import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushEvents, type PushResult } from '../../tools/simulator/event-pusher.js';
import { startSimulatedTerminal, type SimulatedTerminal } from '../../tools/simulator/terminal.js';
import { startSystem, type RunningSystem } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';
import { alertQueries, alertsFile, dashboardQueries, loadAlertRules, metricNamesIn, sampleNames, withGrafanaVariables } from './monitoring-files.js';
import { PROMETHEUS_BIN, PrometheusServer } from './prometheus-server.js';

/**
 * The dashboards and alerts against the real thing. The whole system runs (as `npm start` runs it)
 * with two simulated face terminals; traffic goes through it the way an install sees it: devices
 * pushing access events with pictures and heartbeats, cameras posting events of every family, a
 * payload that gets quarantined, a post refused with 4xx, a person provisioned onto a terminal, a
 * terminal refusing hikhub's password (auth_failed), a device going silent. Then:
 *  1. every metric named by a dashboard panel or an alert rule is on some service's /metrics;
 *  2. a real Prometheus scraping the services answers every dashboard query with data, and loads
 *     every alert rule healthy (the alerts this traffic should trigger are pending or firing).
 */

const haveProm = existsSync(PROMETHEUS_BIN);
if (!haveProm && process.env.CI) throw new Error(`${PROMETHEUS_BIN} not found: install the prometheus package (apt-get install prometheus)`);
if (!haveProm) console.warn(`${PROMETHEUS_BIN} not found: the real-Prometheus checks are skipped (apt-get install prometheus)`);

/** Metrics Prometheus makes itself for every target; no service exposes them. */
const MADE_BY_PROMETHEUS = new Set(['up']);
const SILENT_AFTER_SECONDS = 3;
/** Stands in for Grafana's $__rate_interval: scrapes are 1 s apart, so 20 s holds plenty of samples. */
const RATE_INTERVAL = '20s';
const CAMERA_MAC = 'a4:14:37:0d:00:01';

/** Sum of the samples of `name` whose labels include `labels`, from a text exposition; undefined when none. */
function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) total = (total ?? 0) + Number(match[3]);
  }
  return total;
}

/** A camera notification as cameras post it in HTTP listening mode (XML EventNotificationAlert). */
function cameraEvent(eventType: string, options: { state?: string; inner?: string } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>10.9.0.5</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<macAddress>${CAMERA_MAC}</macAddress>
<channelID>1</channelID>
<dateTime>${new Date().toISOString().replace(/\.\d+Z$/, '+00:00')}</dateTime>
<activePostCount>1</activePostCount>
<eventType>${eventType}</eventType>
<eventState>${options.state ?? 'active'}</eventState>
<eventDescription>${eventType} alarm</eventDescription>
${options.inner ?? ''}
</EventNotificationAlert>
`;
}

const CAMERA_EVENTS: Record<string, string> = {
  motion: cameraEvent('VMD'),
  intrusion: cameraEvent('linedetection'),
  vehicle: cameraEvent('ANPR', { inner: `<UUID>${randomUUID()}</UUID><ANPR><licensePlate>B123XYZ</licensePlate></ANPR>` }),
  io: cameraEvent('IO', { inner: '<inputIOPortID>1</inputIOPortID>' }),
  video: cameraEvent('videoloss'),
  people_counting: cameraEvent('PeopleCounting'),
  other: cameraEvent('thermometry'),
};

describe('dashboards and alerts against a running system', () => {
  let system: RunningSystem | undefined;
  let doorTerminal: SimulatedTerminal | undefined;
  let refusingTerminal: SimulatedTerminal | undefined;
  let prometheus: PrometheusServer | undefined;
  let doorId = '';
  const traffic = new AbortController();
  let pushing: Promise<PushResult> | undefined;
  let reconciling: Promise<void> | undefined;

  const sys = () => system!;
  const ingestUrl = (path: string) => `http://127.0.0.1:${sys().ports.ingest}${path}`;
  const scrapeAll = async () => {
    const { ports } = sys();
    const texts = await Promise.all([ports.ingestMetrics, ports.archiverMetrics, ports.provisionerMetrics, ports.apiMetrics].map((port) => sys().metrics(port)));
    return { ingest: texts[0]!, archiver: texts[1]!, provisioner: texts[2]!, api: texts[3]!, all: texts.join('\n') };
  };
  /** waitFor with the system's log tail when it gives up. */
  const eventually = async <T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000): Promise<T> => {
    try {
      return await waitFor(async () => (await probe()) || (await sleep(200), undefined), timeoutMs, what);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- system log tail ---\n${system?.logTail() ?? ''}`);
    }
  };

  beforeAll(async () => {
    doorTerminal = await startSimulatedTerminal({ serialNumber: 'DS-K1T671MF20240115V030215ENMON0001', deviceName: 'Monitoring door' });
    refusingTerminal = await startSimulatedTerminal({ serialNumber: 'DS-K1T671MF20240115V030215ENMON0002', deviceName: 'Door with a changed password', password: 'changed-on-the-device-1' });
    system = await startSystem('monitoring', {
      ARCHIVER_CONCURRENCY: '2',
      PROVISIONER_CONCURRENCY: '4',
      DB_POOL_SIZE: '4',
      DEVICE_SILENT_AFTER_SECONDS: String(SILENT_AFTER_SECONDS),
      INGEST_ALLOWED_PATHS: '/hikvision/**',
    });
  }, 60_000);

  afterAll(async () => {
    traffic.abort();
    await Promise.allSettled([pushing, reconciling]);
    await prometheus?.stop();
    await system?.cleanup();
    await doorTerminal?.close();
    await refusingTerminal?.close();
  });

  it('takes traffic of every kind the dashboards and alerts watch', async () => {
    const api = sys().expectStatus;

    // Face terminals pushing access events (every third with a picture) and heartbeats, until the file ends.
    pushing = pushEvents({
      url: ingestUrl('/hikvision/events'),
      devices: 2,
      ratePerSecond: 4,
      heartbeatEveryMs: 1_000,
      pictureEvery: 3,
      durationMs: 110_000,
      signal: traffic.signal,
    });

    // A camera posting one event of each other family, then nothing more: it goes silent.
    for (const [family, document] of Object.entries(CAMERA_EVENTS)) {
      const response = await fetch(ingestUrl('/hikvision/events'), { method: 'POST', headers: { 'content-type': 'application/xml' }, body: document });
      expect(response.status, family).toBe(200);
    }
    // Something that is no event document: accepted at the edge, quarantined by the archiver.
    const junk = await fetch(ingestUrl('/hikvision/events'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'this is not an event document' });
    expect(junk.status).toBe(200);
    // A path outside INGEST_ALLOWED_PATHS: 404.
    const refused = await fetch(ingestUrl('/cgi-bin/upload'), { method: 'POST', headers: { 'content-type': 'application/xml' }, body: CAMERA_EVENTS.motion });
    expect(refused.status).toBe(404);

    // A person provisioned onto the door terminal through the admin API.
    const door = await api(201, 'POST', '/api/v1/devices', { json: { name: 'Monitoring door', host: doorTerminal!.host, port: doorTerminal!.port, username: doorTerminal!.username, password: doorTerminal!.password } });
    doorId = door.id as string;
    await api(201, 'POST', '/api/v1/people', { json: { employeeNo: '5001', name: 'Morgan Watch', cards: ['95001'] } });
    await api(200, 'PUT', `/api/v1/devices/${doorId}/people`, { json: { employeeNos: ['5001'] } });
    // A terminal whose password was changed on the device: hikhub's login is refused.
    const refusing = await api(201, 'POST', '/api/v1/devices', {
      json: { name: 'Door with a changed password', host: refusingTerminal!.host, port: refusingTerminal!.port, username: refusingTerminal!.username, password: 'what-hikhub-was-told' },
    });

    await eventually(async () => {
      const { assignments } = (await api(200, 'GET', `/api/v1/devices/${doorId}/people`)) as { assignments: { state: string }[] };
      return assignments[0]?.state === 'synced';
    }, 'the person synced onto the door terminal');
    expect(doorTerminal!.users().map((user) => user.employeeNo)).toEqual(['5001']);
    await eventually(async () => ((await api(200, 'GET', `/api/v1/devices/${refusing.id as string}`)) as { status: string }).status === 'auth_failed', 'the refusing terminal to be auth_failed');

    // Keep provisioning busy while Prometheus watches: a reconcile of the door every 1.5 s.
    reconciling = (async () => {
      while (!traffic.signal.aborted) {
        await sys().api('POST', `/api/v1/devices/${doorId}/reconcile`).catch(() => {});
        await sleep(1_500, undefined, { signal: traffic.signal }).catch(() => {});
      }
    })();

    const metrics = await eventually(async () => {
      const scraped = await scrapeAll();
      const silent = metricValue(scraped.archiver, 'hikhub_archiver_devices', { activity: 'silent' }) ?? 0;
      const active = metricValue(scraped.archiver, 'hikhub_archiver_devices', { activity: 'active' }) ?? 0;
      const quarantined = metricValue(scraped.archiver, 'hikhub_archiver_events_total', { outcome: 'quarantined' }) ?? 0;
      const pictures = metricValue(scraped.archiver, 'hikhub_archiver_picture_bytes_total') ?? 0;
      return silent >= 1 && active >= 1 && quarantined >= 1 && pictures > 0 && scraped;
    }, `the camera to go silent (after ${SILENT_AFTER_SECONDS} s) while the terminals stay active, the junk payload to be quarantined and a picture archived`);

    for (const family of ['access_control', ...Object.keys(CAMERA_EVENTS)]) {
      expect(metricValue(metrics.archiver, 'hikhub_archiver_events_total', { outcome: 'archived', family }), family).toBeGreaterThanOrEqual(1);
    }
    expect(metricValue(metrics.archiver, 'hikhub_archiver_events_total', { outcome: 'heartbeat', family: 'heartbeat' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics.archiver, 'hikhub_archiver_parse_failures_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics.ingest, 'hikhub_ingest_requests_total', { status_class: '4xx' })).toBe(1);
    expect(metricValue(metrics.ingest, 'hikhub_ingest_rejections_total', { reason: 'path_not_allowed' })).toBe(1);
    expect(metricValue(metrics.provisioner, 'hikhub_provisioning_devices', { status: 'auth_failed' })).toBe(1);
    expect(metricValue(metrics.provisioner, 'hikhub_provisioning_devices', { status: 'online' })).toBe(1);
    expect(metricValue(metrics.provisioner, 'hikhub_provisioning_auth_failures_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics.provisioner, 'hikhub_provisioning_jobs_total', { operation: 'person.upsert', outcome: 'succeeded' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics.provisioner, 'hikhub_provisioning_assignments', { state: 'synced' })).toBe(1);
    expect(metricValue(metrics.provisioner, 'hikhub_isapi_requests_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    for (const text of [metrics.archiver, metrics.provisioner]) {
      expect(metricValue(text, 'hikhub_redis_memory_used_bytes')).toBeGreaterThan(0);
      expect(metricValue(text, 'hikhub_redis_memory_max_bytes')).toBeGreaterThanOrEqual(0);
    }
  }, 90_000);

  it('exposes every metric a dashboard panel or an alert rule reads', async () => {
    const exposed = sampleNames((await scrapeAll()).all);
    const queries = [...dashboardQueries(), ...alertQueries()];
    const referenced = new Map<string, string[]>();
    for (const { where, expr } of queries) {
      for (const name of metricNamesIn(expr)) referenced.set(name, [...(referenced.get(name) ?? []), where]);
    }
    expect(referenced.size).toBeGreaterThan(30);
    const missing = [...referenced].filter(([name]) => !MADE_BY_PROMETHEUS.has(name) && !exposed.has(name)).map(([name, where]) => `${name} (read by ${where.join('; ')})`);
    expect(missing, `metrics no service exposes:\n${missing.join('\n')}`).toEqual([]);
  });

  it.skipIf(!haveProm)('gives data to every dashboard query from a real Prometheus, and loads every alert rule healthy', async () => {
    const { ports } = sys();
    prometheus = await PrometheusServer.start({
      jobs: { ingest: ports.ingestMetrics, archiver: ports.archiverMetrics, provisioner: ports.provisionerMetrics, api: ports.apiMetrics },
      ruleFiles: [alertsFile],
    });
    const server = prometheus;
    const pending = new Map(dashboardQueries().map(({ where, expr }) => [where, { expr: withGrafanaVariables(expr, RATE_INTERVAL), last: 'not queried yet' }]));
    const alertNames = loadAlertRules().map((rule) => rule.alert);
    let unhealthyRules: string[] = alertNames;
    let downTargets: string[] = ['not queried yet'];

    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (pending.size > 0 || unhealthyRules.length > 0 || downTargets.length > 0)) {
      for (const [where, query] of pending) {
        const samples = await server.query(query.expr);
        // Data means a number: a quantile over a window without observations is NaN, which is no proof.
        if (samples.some((sample) => Number.isFinite(Number(sample.value[1])))) pending.delete(where);
        else query.last = samples.length === 0 ? 'empty result' : `only NaN: ${JSON.stringify(samples.map((s) => s.metric))}`;
      }
      const rules = await server.rules();
      unhealthyRules = alertNames.filter((name) => rules.find((rule) => rule.name === name)?.health !== 'ok');
      downTargets = (await server.targets()).filter((target) => target.health !== 'up').map((target) => `${target.labels.job}: ${target.health} ${target.lastError}`);
      if (pending.size > 0 || unhealthyRules.length > 0 || downTargets.length > 0) await sleep(1_000);
    }

    expect(downTargets, `scrape targets not up:\n${downTargets.join('\n')}\n${server.logs}`).toEqual([]);
    const empty = [...pending].map(([where, query]) => `${where}: ${query.expr} → ${query.last}`);
    expect(empty, `dashboard queries without data:\n${empty.join('\n')}`).toEqual([]);
    const rules = await server.rules();
    expect(unhealthyRules, `rules not healthy: ${JSON.stringify(rules.filter((rule) => rule.health !== 'ok'))}`).toEqual([]);
    expect(rules.filter((rule) => rule.type === 'alerting').map((rule) => rule.name).sort()).toEqual([...alertNames].sort());

    // The situations this traffic created, seen by the rules themselves.
    const active = await eventually(async () => {
      const alerts = await server.alerts();
      const names = new Set(alerts.map((alert) => alert.labels.alertname));
      return names.has('HikhubDeviceAuthFailed') && names.has('HikhubDevicesSilent') && alerts;
    }, 'HikhubDeviceAuthFailed and HikhubDevicesSilent to be pending', 15_000);
    for (const alert of active.filter((a) => ['HikhubDeviceAuthFailed', 'HikhubDevicesSilent'].includes(a.labels.alertname ?? ''))) {
      expect(['pending', 'firing']).toContain(alert.state);
    }
    // Nothing is broken in this system: the alerts about real failures stay quiet.
    const quiet = ['HikhubIngestDown', 'HikhubTargetDown', 'HikhubIngest5xxRatioHigh', 'HikhubArchiverFailureRatioHigh', 'HikhubArchiverJobsFailed', 'HikhubProvisioningJobsFailed'];
    expect(active.map((alert) => alert.labels.alertname).filter((name) => quiet.includes(name ?? ''))).toEqual([]);
  }, 90_000);
});
