import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { TEST_POSTGRES_URL } from '../test/helpers/database.js';
import { PrivateRedis } from '../test/helpers/redis-server.js';
import { ARCHIVER_BEFORE_BATCH_JOBS, benchArchiverThroughput, type ArchiverThroughputResult } from './archiver-throughput.js';
import { benchArchiverOutage, type ArchiverOutageResult } from './archiver-outage.js';
import { benchEventsApi, type EventsApiResult } from './events-api.js';
import { benchIngestDigest, type IngestDigestResult } from './ingest-digest.js';
import { benchProvisioning, type ProvisioningBenchResult } from './provisioning.js';
import { benchIngestVsFloor, type IngestFloorResult } from './ingest-floor.js';
import { faceEventSource, FACE_EVENT_BYTES, PARKING_EVENT_BYTES, XML_EVENT_BYTES } from './payloads.js';
import { measureRedisBytesPerEvent } from './redis-memory.js';
import { benchSoak, soakBudgetS, type SoakResult } from './soak.js';
import { formatSoak } from './soak-report.js';
import { fmt, formatTable, progress, Resources, type LoadScenarioOptions } from './support.js';

/**
 * `npm run bench` — hikhub's benchmarks. Every number is printed next to a baseline measured in
 * the same run on the same machine, and the ratio is what to read: absolute rates depend on the
 * box. Nothing here asserts on timing. See docs/benchmarks.md.
 *
 *   npm run bench                 # all scenarios, table on stdout (progress on stderr)
 *   npm run bench -- --json       # the same results as JSON
 *   npm run bench -- --only memory,ingest --duration 3 --events 1000
 *   npm run bench -- --only soak --soak-rates 200,400,800 --soak-step-s 60   # not in the default set: it runs for minutes
 */

const SCENARIOS = ['memory', 'ingest', 'archiver', 'outage', 'digest', 'provisioning', 'events-api', 'soak'] as const;
type Scenario = (typeof SCENARIOS)[number];
const DEFAULT_SCENARIOS: readonly Scenario[] = SCENARIOS.filter((name) => name !== 'soak');

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    only: { type: 'string', default: DEFAULT_SCENARIOS.join(',') },
    connections: { type: 'string', default: '64' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    events: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '16' },
    // The archiver scenario: queue length per payload, and the concurrency of the archiver and of its
    // no-op floor alike (default: the archiver's own default, ARCHIVER_CONCURRENCY).
    'archiver-events': { type: 'string', default: '20000' },
    'archiver-concurrency': { type: 'string', default: '128' },
    // The outage scenario: events queued while Postgres is down, and how long it stays down.
    'outage-events': { type: 'string', default: '10000' },
    'outage-s': { type: 'string', default: '15' },
    // Default 600 s, plus the soak's own length when it is selected.
    'timeout-s': { type: 'string' },
    people: { type: 'string', default: '1000' },
    devices: { type: 'string', default: '10' },
    'latency-ms': { type: 'string', default: '20' },
    'archive-events': { type: 'string', default: '1000000' },
    'api-requests': { type: 'string', default: '400' },
    'soak-devices': { type: 'string', default: '1000' },
    'soak-mix': { type: 'string', default: 'face-terminal=0.4,camera=0.4,nvr=0.2' },
    'soak-heartbeat-s': { type: 'string', default: '30' },
    'soak-archivers': { type: 'string', default: '1' },
    'soak-rates': { type: 'string', default: '' },
    'soak-step-s': { type: 'string', default: '60' },
    'soak-rate': { type: 'string' },
    'soak-duration-s': { type: 'string', default: '600' },
  },
});

const selected = new Set(
  args.only
    .split(',')
    .map((name) => name.trim())
    .filter((name): name is Scenario => {
      if ((SCENARIOS as readonly string[]).includes(name)) return true;
      throw new Error(`unknown scenario ${name}; choose from ${SCENARIOS.join(', ')}`);
    }),
);

interface MemoryRow {
  body: string;
  bodyBytes: number;
  events: number;
  bytesPerEvent: number;
  budgetBytes: number;
}

interface Results {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; node: string; redis: string; postgres: string; faceEventJson: string };
  memory?: MemoryRow[];
  ingest?: IngestFloorResult;
  digest?: IngestDigestResult;
  provisioning?: ProvisioningBenchResult;
  archiver?: ArchiverThroughputResult[];
  outage?: ArchiverOutageResult;
  eventsApi?: EventsApiResult;
  soak?: SoakResult;
}

const resources = new Resources();
let cleaning: Promise<void> | undefined;
const cleanup = () => (cleaning ??= resources.closeAll());

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping everything the bench started`);
    void cleanup().finally(() => process.exit(130));
  });
}
const soakRates = args['soak-rates'].split(',').map((rate) => rate.trim()).filter(Boolean).map(Number);
const soakStepS = Number(args['soak-step-s']);
const soakDurationS = Number(args['soak-duration-s']);
const timeoutS = args['timeout-s'] !== undefined ? Number(args['timeout-s']) : 600 + (selected.has('soak') ? soakBudgetS({ rates: soakRates, stepS: soakStepS, durationS: soakDurationS }) : 0);
// The whole bench is bounded: past the deadline it stops what it started and exits.
const watchdog = setTimeout(() => {
  progress(`still running after ${timeoutS} s: giving up`);
  void cleanup().finally(() => process.exit(2));
}, timeoutS * 1000);
watchdog.unref();

async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  try {
    await client.connect();
    const result = await client.query<{ server_version: string }>('show server_version');
    return result.rows[0]?.server_version.split(' ')[0] ?? 'unknown';
  } catch {
    return 'unreachable';
  } finally {
    await client.end().catch(() => {});
  }
}

async function main(): Promise<Results> {
  const workDir = await mkdtemp(join(os.tmpdir(), 'hikhub-bench-'));
  resources.defer(`work dir ${workDir}`, () => rm(workDir, { recursive: true, force: true }));

  progress('starting a private redis-server');
  const privateRedis = await PrivateRedis.start();
  resources.defer(`private redis-server on port ${privateRedis.port}`, () => privateRedis.stop());
  const redis = new Redis(privateRedis.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  resources.defer('bench redis connection', () => redis.quit().catch(() => redis.disconnect()));
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';

  const results: Results = {
    startedAt: new Date().toISOString(),
    machine: {
      cpus: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      redis: redisVersion,
      postgres: await postgresVersion(),
      faceEventJson: faceEventSource(),
    },
  };

  if (selected.has('memory')) {
    results.memory = [];
    for (const [body, bodyBytes, events] of [
      ['XML event', XML_EVENT_BYTES, 200],
      ['face event (multipart)', FACE_EVENT_BYTES, 200],
      ['parking event (multipart)', PARKING_EVENT_BYTES, 40],
    ] as const) {
      await redis.flushall('SYNC');
      progress(`Redis bytes per queued event: ${bodyBytes} B × ${events}`);
      const bytesPerEvent = await measureRedisBytesPerEvent(privateRedis.url, bodyBytes, events);
      results.memory.push({ body, bodyBytes, events, bytesPerEvent, budgetBytes: 1.1 * bodyBytes + 2048 });
    }
  }

  const loadScenario: LoadScenarioOptions = {
    resources,
    redis,
    redisUrl: privateRedis.url,
    workDir,
    rounds: Number(args.rounds),
    connections: Number(args.connections),
    warmupS: Number(args.warmup),
    durationS: Number(args.duration),
  };
  if (selected.has('ingest')) {
    results.ingest = await benchIngestVsFloor(loadScenario);
  }

  if (selected.has('digest')) {
    results.digest = await benchIngestDigest(loadScenario);
  }

  if (selected.has('provisioning')) {
    results.provisioning = await benchProvisioning({ resources, people: Number(args.people), devices: Number(args.devices), latencyMs: Number(args['latency-ms']) });
  }

  if (selected.has('events-api')) {
    results.eventsApi = await benchEventsApi({ resources, events: Number(args['archive-events']), requests: Number(args['api-requests']) });
  }

  if (selected.has('archiver')) {
    results.archiver = [];
    for (const payload of ['face', 'motion', 'heartbeat'] as const) {
      results.archiver.push(
        await benchArchiverThroughput({
          resources,
          redis,
          redisUrl: privateRedis.url,
          events: Number(args['archiver-events']),
          concurrency: Number(args['archiver-concurrency']),
          payload,
        }),
      );
    }
  }

  if (selected.has('outage')) {
    results.outage = await benchArchiverOutage({
      resources,
      redis,
      redisUrl: privateRedis.url,
      events: Number(args['outage-events']),
      concurrency: Number(args['archiver-concurrency']),
      outageSeconds: Number(args['outage-s']),
    });
  }

  if (selected.has('soak')) {
    results.soak = await benchSoak({
      resources,
      redis,
      redisUrl: privateRedis.url,
      devices: Number(args['soak-devices']),
      mix: args['soak-mix'],
      heartbeatS: Number(args['soak-heartbeat-s']),
      connections: Number(args.connections),
      archivers: Number(args['soak-archivers']),
      // As deployed: the archiver's own default unless asked otherwise.
      concurrency: Number(args['archiver-concurrency']),
      rates: soakRates,
      stepS: soakStepS,
      rate: args['soak-rate'] === undefined ? undefined : Number(args['soak-rate']),
      durationS: soakDurationS,
    });
  }
  return results;
}

function report(results: Results): string {
  const { machine } = results;
  const out: string[] = [
    `hikhub bench — ${results.startedAt}`,
    `${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, Redis ${machine.redis}, PostgreSQL ${machine.postgres}; load generator on the same CPUs`,
    'Ratios compare against a baseline measured in this same run; absolute rates only mean something on this machine.',
  ];

  if (results.ingest) {
    const r = results.ingest;
    out.push(
      '',
      `1. Ingest vs floors — ${r.connections} connections, closed loop, keep-alive, ${r.warmupS} s warm-up + ${r.durationS} s measured per run; rounds interleave (true floor, BullMQ floor, ingest), best run of each kept`,
      '   true floor = bare node:http + one SET of the body; BullMQ floor = bare node:http + the ingest\'s own writes (body chunks + BullMQ job); bench/floor-server.ts',
      '   CPU µs/ev: CPU time of the server process and of Redis per event stored during the run (warm-up included); the load generator\'s is not counted',
    );
    for (const p of r.payloads) {
      out.push(
        '',
        `   ${p.payload} (${fmt.int(p.bodyBytes)} B${p.payload.includes('XML') ? `, ${r.lineCrossingSource}` : ''})`,
        '',
        formatTable(
          ['run', 'req/s', 'non-2xx', 'errors', 'p50 ms', 'p99 ms', 'max ms', 'in Redis', 'server CPU µs/ev', 'Redis CPU µs/ev'],
          p.runs.map((run) => [
            `${run.target} #${run.round}`,
            fmt.int(run.load.requestsPerSecond),
            String(run.load.non2xx),
            String(run.load.errors),
            fmt.ms(run.load.p50Ms),
            fmt.ms(run.load.p99Ms),
            fmt.ms(run.load.maxMs),
            fmt.int(run.stored),
            fmt.int(run.serverCpuMsPerEvent * 1000),
            fmt.int(run.redisCpuMsPerEvent * 1000),
          ]),
        ),
        '',
        formatTable(
          ['best of each', 'req/s', 'p50 ms', 'p99 ms'],
          [
            ...(['true floor', 'BullMQ floor', 'ingest'] as const).map((target) => [target, fmt.int(p.best[target].requestsPerSecond), fmt.ms(p.best[target].p50Ms), fmt.ms(p.best[target].p99Ms)]),
            ['ingest / true floor', fmt.ratio(p.ratios.vsTrueFloor.throughput), fmt.ratio(p.best.ingest.p50Ms / p.best['true floor'].p50Ms), fmt.ratio(p.ratios.vsTrueFloor.p99)],
            ['ingest / BullMQ floor', fmt.ratio(p.ratios.vsBullmqFloor.throughput), fmt.ratio(p.best.ingest.p50Ms / p.best['BullMQ floor'].p50Ms), fmt.ratio(p.ratios.vsBullmqFloor.p99)],
          ],
        ),
      );
    }
  }

  for (const r of results.archiver ?? []) {
    out.push(
      '',
      `2${{ face: 'a', motion: 'b', heartbeat: 'c' }[r.payload]}. Archiver throughput — ${fmt.int(r.events)} ${r.describe}, ${fmt.int(r.bodyBytes)} B each, pre-queued, concurrency ${r.concurrency}`,
      '   filled by the ingest\'s writer from 64 concurrent writers (event.archive-batch jobs, as under load); floor = plain BullMQ Worker that reads each body (HMGET) and deletes it; archiver = services/archiver/main.ts, fresh database, temp DATA_DIR',
      '',
      formatTable(
        ['consumer', 'events/s', 'wall s', 'rows'],
        [
          ['queue floor (no-op worker)', fmt.int(r.floor.eventsPerSecond), fmt.s(r.floor.wallSeconds), '–'],
          ['archiver', fmt.int(r.archiver.eventsPerSecond), fmt.s(r.archiver.wallSeconds), `${r.archiver.archivedRows}`],
          ['archiver / floor', fmt.ratio(r.ratio), '', ''],
          ...(ARCHIVER_BEFORE_BATCH_JOBS[r.payload] ? [['archiver before the batch jobs (docs/benchmarks.md)', fmt.int(ARCHIVER_BEFORE_BATCH_JOBS[r.payload]!), '', '']] : []),
        ],
      ),
      '   archiver events/s: from its first metrics scrape to hikhub_archiver_events_total = N; wall s: from spawning the process (boot and migrations included)',
    );
  }

  if (results.outage) {
    const r = results.outage;
    out.push(
      '',
      `9. Archiver after a Postgres outage — ${fmt.int(r.events)} ${r.payload} events queued while a private Postgres is stopped for ${r.outageSeconds} s, concurrency ${r.concurrency}`,
      '   floor = the same events pre-queued with Postgres up (first row to last); outage = from Postgres accepting connections again to the last row (ms columns: after Postgres accepts)',
      '',
      formatTable(
        ['run', 'events/s', 'drain s', 'circuit closed ms', 'first row ms'],
        [
          ['floor (Postgres up)', fmt.int(r.floor.eventsPerSecond), fmt.s(r.floor.drainSeconds), '–', '–'],
          ['after the outage', fmt.int(r.outage.eventsPerSecond), fmt.s(r.outage.drainSeconds), fmt.int(r.outage.circuitClosedMs), fmt.int(r.outage.drainStartMs)],
          ['outage / floor', '', fmt.ratio(r.ratio), '', ''],
        ],
      ),
      `   attempts spent (job failures): ${r.outage.attemptsSpent}, failed jobs: ${r.outage.failedJobs}, jobs held back: ${fmt.int(r.outage.heldBack)}, rows: ${fmt.int(r.outage.rows)} of ${fmt.int(r.events)}`,
    );
  }

  if (results.digest) {
    const r = results.digest;
    const off = r.best['digest off'];
    out.push(
      '',
      `4. Ingest with Digest on vs off — POST ${fmt.int(r.bodyBytes)} B face event, ${r.connections} connections, closed loop, keep-alive, rate limits off`,
      `   ${r.warmupS} s warm-up + ${r.durationS} s measured per run, runs alternate; off = INGEST_AUTH=none, on = INGEST_AUTH=digest (shared credential); latency includes any 401 round trip`,
      '   replay state: Redis memory of the used nonce counts (kept until each nonce expires, INGEST_NONCE_LIFETIME_S + 60 s) per event',
      '',
      formatTable(
        ['run', 'req/s', 'non-2xx', 'errors', 'p50 ms', 'p99 ms', 'server CPU ms/event', 'replay state B/event'],
        r.runs.map((run) => [
          `${run.target} #${run.round}`,
          fmt.int(run.load.requestsPerSecond),
          String(run.load.non2xx),
          String(run.load.errors),
          fmt.ms(run.load.p50Ms),
          fmt.ms(run.load.p99Ms),
          run.serverCpuMsPerEvent.toFixed(3),
          run.replayBytesPerEvent === null ? '–' : run.replayBytesPerEvent.toFixed(1),
        ]),
      ),
      '',
      formatTable(
        ['best of each', 'req/s', '× off', 'p50 ms', 'p99 ms'],
        Object.entries(r.best).map(([target, load]) => [target, fmt.int(load.requestsPerSecond), fmt.ratio(load.requestsPerSecond / off.requestsPerSecond), fmt.ms(load.p50Ms), fmt.ms(load.p99Ms)]),
      ),
    );
  }

  if (results.provisioning) {
    const r = results.provisioning;
    out.push(
      '',
      `5. Provisioning: ${r.people} people (one card each) onto ${r.devices} simulated terminals answering after ${r.latencyMs} ms`,
      '',
      formatTable(
        ['run', 'seconds', '× floor', 'ISAPI calls / device'],
        [
          ['floor: IsapiClient directly, one loop per device', r.floorSeconds.toFixed(1), '1.00×', String(r.callsPerDevice)],
          ['hikhub: desired state → queue → provisioner', r.provisionerSeconds.toFixed(1), `${(r.provisionerSeconds / r.floorSeconds).toFixed(2)}×`, String(r.callsPerDevice)],
        ],
      ),
      `   overhead per ISAPI call (per device): ${r.overheadPerCallMs.toFixed(1)} ms; enqueueing ${r.people * r.devices} jobs took ${r.enqueueSeconds.toFixed(1)} s (inside the hikhub time)`,
    );
  }

  if (results.eventsApi) {
    const r = results.eventsApi;
    out.push(
      '',
      `6. Events API — GET /api/v1/events on ${fmt.int(r.events)} events (${r.devices} devices, ${r.days} days, analysed; seeded in ${r.seedSeconds.toFixed(0)} s; events + event_pictures with indexes ${(r.archiveBytes / 2 ** 30).toFixed(2)} GiB), one request at a time over loopback HTTP`,
      '',
      formatTable(
        ['request', 'n', 'p50 ms', 'p99 ms', 'p50 × baseline'],
        [r.baseline, ...r.rows].map((row) => [row.what, String(row.requests), fmt.ms(row.p50Ms), fmt.ms(row.p99Ms), fmt.ratio(row.ratio)]),
      ),
    );
  }

  if (results.memory) {
    out.push(
      '',
      '3. Redis bytes per queued event (body chunks + BullMQ job, list and stream entries), private redis-server, ingest\'s own writer',
      '',
      formatTable(
        ['body', 'body B', 'events', 'Redis B/event', '× body', 'budget B', 'of budget'],
        results.memory.map((row) => [
          row.body,
          fmt.int(row.bodyBytes),
          String(row.events),
          fmt.int(row.bytesPerEvent),
          `${(row.bytesPerEvent / row.bodyBytes).toFixed(3)}×`,
          fmt.int(row.budgetBytes),
          `${((100 * row.bytesPerEvent) / row.budgetBytes).toFixed(1)} %`,
        ]),
      ),
      '   budget (from the issue) = 1.1 × body + 2 KiB',
    );
  }

  if (results.soak) out.push(...formatSoak(results.soak));
  return `${out.join('\n')}\n`;
}

const startedAt = performance.now();
let exitCode = 0;
try {
  const results = await main();
  await cleanup();
  process.stdout.write(args.json ? `${JSON.stringify(results, null, 2)}\n` : report(results));
  progress(`done in ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
} catch (error) {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
process.exit(exitCode);
