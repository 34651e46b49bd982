import { parseArgs } from 'node:util';
import { pushEvents, type EventAnswer } from '../tools/simulator/event-pusher.js';
import { parseFleetMix } from '../tools/simulator/fleet.js';

/**
 * The soak bench's load generator, in a process of its own so that producing the load never
 * shares an event loop with the measurements (bench/soak.ts). It runs the simulator's fleet
 * pusher and writes one stdout line per answered event, batched:
 *
 *   a <status> <answeredAtMs> <x-event-id or ->
 *
 * and, last, `r <PushResult JSON>`. answeredAtMs is performance.timeOrigin + performance.now(),
 * which the parent compares with its own clock for the ingest 200 → archived row latency.
 */

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    devices: { type: 'string' },
    rate: { type: 'string' },
    'duration-s': { type: 'string' },
    count: { type: 'string' },
    'id-prefix': { type: 'string' },
    'serial-no-after': { type: 'string' },
    'heartbeat-s': { type: 'string' },
    fleet: { type: 'string' },
    connections: { type: 'string' },
  },
});

const FLUSH_MS = 50;
let pending: string[] = [];
const flush = () => {
  if (pending.length) process.stdout.write(`${pending.join('\n')}\n`);
  pending = [];
};
const flusher = setInterval(flush, FLUSH_MS);

const controller = new AbortController();
process.once('SIGTERM', () => controller.abort());

const result = await pushEvents({
  url: values.url!,
  devices: Number(values.devices),
  ratePerSecond: Number(values.rate),
  durationMs: values['duration-s'] === undefined ? undefined : Number(values['duration-s']) * 1000,
  count: values.count === undefined ? undefined : Number(values.count),
  // The same devices in every run of one soak (known to the archive after the warm-up), counting on.
  idPrefix: values['id-prefix'],
  serialNoAfter: Number(values['serial-no-after'] ?? 0),
  heartbeatEveryMs: Number(values['heartbeat-s']) * 1000,
  fleet: parseFleetMix(values.fleet!),
  // Every face terminal event carries its capture picture, as face-verified passages do.
  pictureEvery: 1,
  concurrency: Number(values.connections),
  signal: controller.signal,
  onEventAnswered: (answer: EventAnswer) => {
    pending.push(`a ${answer.status} ${answer.answeredAtMs.toFixed(3)} ${answer.eventId ?? '-'}`);
  },
});
clearInterval(flusher);
flush();
process.stdout.write(`r ${JSON.stringify(result)}\n`);
