import type { SoakResult, SoakRun } from './soak.js';
import { fmt, formatTable } from './support.js';

const MIB = 2 ** 20;
/** Rows of the over-time table of the full run. */
const TIMELINE_ROWS = 12;

const HEADER = ['events/s asked', 'sent/s', 'refused', 'queue mean', 'queue max', 'growth, last half', 'Redis max MiB', 'Redis end MiB', 'p50 ms', 'p99 ms', 'max ms', 'drain s', 'held'];

function row(run: SoakRun): string[] {
  return [
    fmt.int(run.targetRate),
    fmt.int(run.achievedRate),
    String(run.refused),
    fmt.int(run.lastHalf.meanLength),
    fmt.int(run.lastHalf.maxLength),
    `${fmt.int(run.lastHalf.growth)} / ${fmt.int(run.growthAllowance)}`,
    (run.redis.maxUsedBytes / MIB).toFixed(1),
    (run.redis.endUsedBytes / MIB).toFixed(1),
    fmt.ms(run.latency.p50Ms),
    fmt.ms(run.latency.p99Ms),
    fmt.ms(run.latency.maxMs),
    run.drainSeconds === null ? '–' : fmt.s(run.drainSeconds),
    run.held ? 'yes' : 'no',
  ];
}

/** The over-time view of one run: queue, Redis memory and both rates between evenly spaced samples. */
function timeline(run: SoakRun): string {
  const samples = run.samples.filter((sample) => sample.atS <= run.loadEndedS);
  const step = Math.max(1, Math.floor(samples.length / TIMELINE_ROWS));
  const picked = samples.filter((_, index) => index % step === step - 1 || index === samples.length - 1);
  let previous = { atS: 0, acknowledged: 0, archived: 0 };
  const rows = picked.map((sample) => {
    const seconds = Math.max(sample.atS - previous.atS, 1e-3);
    const cells = [
      fmt.int(sample.atS),
      fmt.int(sample.waiting + sample.active),
      (sample.usedMemoryBytes / MIB).toFixed(1),
      fmt.int((sample.acknowledged - previous.acknowledged) / seconds),
      fmt.int((sample.archived - previous.archived) / seconds),
    ];
    previous = sample;
    return cells;
  });
  return formatTable(['t s', 'queue (waiting+active)', 'Redis MiB', 'acknowledged/s', 'archived/s'], rows);
}

export function formatSoak(r: SoakResult): string[] {
  const out = [
    '',
    `7. Soak — ${fmt.int(r.devices)} simulated devices (${r.mix}; face events with a picture, cameras and NVRs XML), heartbeats every ${r.heartbeatS} s per device,`,
    `   through the ingest → private Redis → ${r.archivers} archiver process(es) (concurrency ${r.concurrency}) → a fresh database; the pusher runs in its own process (${r.connections} sockets at most)`,
    '   held = nothing refused, ≥ 95 % of the asked rate sent, the queue grew less than one second of events (or 100) over the last half, drained afterwards, no job failed;',
    '   latency = from the ingest\'s 200 (pusher clock) to the row\'s NOTIFY (LISTEN hikhub_events), every acknowledged event',
  ];
  if (r.steps.length) {
    const stepS = r.steps[0]!.durationS;
    out.push('', `   rate search, ${stepS} s per step (stops at the first rate not held):`, '', formatTable(HEADER, r.steps.map(row)));
    for (const step of r.steps.filter((s) => !s.held)) out.push(`   ${fmt.int(step.targetRate)} events/s not held: ${step.problems.join('; ')}`);
    out.push(`   highest rate held: ${r.highestHeldRate === null ? 'none of those asked' : `${fmt.int(r.highestHeldRate)} events/s`}`);
  }
  if (r.full) {
    const run = r.full;
    out.push(
      '',
      `   sustained run: ${fmt.int(run.targetRate)} events/s asked for ${fmt.int(run.durationS)} s — ${fmt.int(run.push.events)} events (${Object.entries(run.push.eventsByKind).map(([kind, n]) => `${fmt.int(n)} ${kind}`).join(', ')}; ${fmt.int(run.push.pictures)} pictures), ${fmt.int(run.push.heartbeats)} heartbeats; ${run.latency.archived} rows archived`,
      '',
      formatTable(HEADER, [row(run)]),
      run.held ? '   held' : `   not held: ${run.problems.join('; ')}`,
      '',
      timeline(run),
    );
  }
  return out;
}
