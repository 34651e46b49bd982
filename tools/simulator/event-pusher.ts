import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DigestCredentials } from '../../libs/digest/digest.js';
import { loadAsset } from './assets.js';
import { DigestSession } from './digest-session.js';
import { newIdPrefix } from './event-documents.js';
import { FACE_TERMINALS_ONLY, fleetDevice, fleetEvent, fleetHeartbeat, fleetKinds, type DeviceKind, type FleetDevice, type FleetMix, type Notification } from './fleet.js';

/**
 * Simulated devices posting events (and heartbeats) to hikhub at a total rate, round-robin over
 * the devices: face terminals by default, or a fleet mix of terminals, cameras and NVRs (fleet.ts). Each device posts one request at a time, as a terminal does, over
 * keep-alive connections; with `digest` it answers 401 challenges and reuses the challenge with
 * nc + 1 until the next 401. The run is bounded by `count` and/or `durationMs` and stops early
 * when `signal` aborts.
 */

export interface PushOptions {
  /** Base URL events are posted to, e.g. http://127.0.0.1:8080/hikvision/events. */
  url: string;
  devices: number;
  /** Events per second, all devices together. */
  ratePerSecond: number;
  /** Stop after this many events (heartbeats not counted). */
  count?: number;
  durationMs?: number;
  /** Each device sends a heartBeat this often (staggered across devices); none when absent. */
  heartbeatEveryMs?: number;
  /** Face terminal events with a picture: a fraction in (0, 1], or every Nth event when > 1. */
  pictureEvery?: number;
  /** Which kinds of device the fleet has (fleet.ts); default face terminals only. */
  fleet?: FleetMix;
  /** Called with each event's final answer (not heartbeats'), e.g. to follow `x-event-id` into the archive. */
  onEventAnswered?: (answer: EventAnswer) => void;
  digest?: DigestCredentials;
  /** Appended to `url` for device `index` (0-based), e.g. a per-device token. */
  pathForDevice?: (index: number) => string;
  /** Requests in flight (and queued behind busy devices) at most. Default 16. */
  concurrency?: number;
  requestTimeoutMs?: number;
  /** Seeds MACs and serials; the same prefix gives the same devices. Default random. */
  idPrefix?: string;
  /**
   * Face terminals' event sequence (`serialNo`) continues after this number (default 0), as a
   * device keeps counting across reconnects: the same device and serialNo twice is one event to hikhub.
   */
  serialNoAfter?: number;
  signal?: AbortSignal;
}

export interface PushResult {
  /** Notifications whose request was started (events + heartbeats). */
  sent: number;
  /** Answered 2xx. */
  accepted: number;
  /** Final HTTP status of each notification (after a Digest retry). */
  statusCounts: Record<number, number>;
  networkErrors: number;
  /** Requests cut short by the abort signal. */
  aborted: number;
  events: number;
  heartbeats: number;
  pictures: number;
  /** Events sent per device kind. */
  eventsByKind: Record<DeviceKind, number>;
  digestChallenges: number;
  elapsedMs: number;
}

export interface EventAnswer {
  kind: DeviceKind;
  /** Final status; 0 for a network error or an abort. */
  status: number;
  /** The ingest's `x-event-id` header, when it sent one. */
  eventId: string | undefined;
  /** When the answer arrived: performance.timeOrigin + performance.now(), comparable across processes. */
  answeredAtMs: number;
}

interface DeviceLane {
  device: FleetDevice;
  target: URL;
  session: DigestSession | null;
  /** The device's previous request; the next one waits for it. */
  tail: Promise<void>;
}

const DEFAULT_CONCURRENCY = 16;

/** Whether event `k` (0-based) carries a picture. */
export function carriesPicture(k: number, pictureEvery: number | undefined): boolean {
  if (!pictureEvery || pictureEvery <= 0) return false;
  if (pictureEvery > 1) return (k + 1) % Math.round(pictureEvery) === 0;
  return Math.floor((k + 1) * pictureEvery) > Math.floor(k * pictureEvery);
}

function checkOptions(options: PushOptions): void {
  if (!Number.isInteger(options.devices) || options.devices < 1) throw new Error('devices must be a positive integer');
  if (!(options.ratePerSecond > 0)) throw new Error('ratePerSecond must be positive');
  if (options.count === undefined && options.durationMs === undefined) throw new Error('give count or durationMs: a push run must be bounded');
  if (options.count !== undefined && (!Number.isInteger(options.count) || options.count < 0)) throw new Error('count must be a non-negative integer');
  if (options.heartbeatEveryMs !== undefined && !(options.heartbeatEveryMs > 0)) throw new Error('heartbeatEveryMs must be positive');
  new URL(options.url);
}

function targetFor(base: string, path: string): URL {
  if (path === '') return new URL(base);
  return new URL(`${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
}

export async function pushEvents(options: PushOptions): Promise<PushResult> {
  checkOptions(options);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const idPrefix = options.idPrefix ?? newIdPrefix();
  const picture = options.pictureEvery ? loadAsset('capture.jpg') : null;
  const result: PushResult = {
    sent: 0, accepted: 0, statusCounts: {}, networkErrors: 0, aborted: 0, events: 0, heartbeats: 0, pictures: 0,
    eventsByKind: { 'face-terminal': 0, camera: 0, nvr: 0 }, digestChallenges: 0, elapsedMs: 0,
  };
  const kinds = fleetKinds(options.devices, options.fleet ?? FACE_TERMINALS_ONLY);
  const lanes: DeviceLane[] = kinds.map((kind, index) => ({
    device: { ...fleetDevice(index, idPrefix, kind), lastSerialNo: options.serialNoAfter ?? 0 },
    target: targetFor(options.url, options.pathForDevice?.(index) ?? ''),
    session: options.digest ? new DigestSession(options.digest) : null,
    tail: Promise.resolve(),
  }));

  const post = async (lane: DeviceLane, notification: Notification, isEvent: boolean): Promise<void> => {
    const uri = `${lane.target.pathname}${lane.target.search}`;
    let answer: Answer | undefined;
    try {
      answer = await postOnce(agent, lane.target, notification, lane.session?.authorization('POST', uri), options);
      if (answer.status === 401 && lane.session?.accept(answer.wwwAuthenticate)) {
        result.digestChallenges += 1;
        answer = await postOnce(agent, lane.target, notification, lane.session.authorization('POST', uri), options);
      }
      result.statusCounts[answer.status] = (result.statusCounts[answer.status] ?? 0) + 1;
      if (answer.status >= 200 && answer.status < 300) result.accepted += 1;
    } catch {
      answer = undefined;
      if (options.signal?.aborted) result.aborted += 1;
      else result.networkErrors += 1;
    }
    if (isEvent && options.onEventAnswered) {
      options.onEventAnswered({ kind: lane.device.kind, status: answer?.status ?? 0, eventId: answer?.eventId, answeredAtMs: performance.timeOrigin + performance.now() });
    }
  };

  const inFlight = new Set<Promise<void>>();
  const launch = (lane: DeviceLane, notification: Notification, isEvent: boolean): void => {
    result.sent += 1;
    const done = lane.tail.then(() => post(lane, notification, isEvent));
    lane.tail = done;
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };

  const start = performance.now();
  const deadline = options.durationMs === undefined ? Infinity : start + options.durationMs;
  const eventSpacingMs = 1000 / options.ratePerSecond;
  const heartbeatSpacingMs = options.heartbeatEveryMs === undefined ? Infinity : options.heartbeatEveryMs / options.devices;
  let eventIndex = 0;
  let heartbeatIndex = 0;
  try {
    while (!options.signal?.aborted) {
      if (options.count !== undefined && eventIndex >= options.count) break;
      const nextEventAt = start + eventIndex * eventSpacingMs;
      const nextHeartbeatAt = start + (heartbeatIndex + 1) * heartbeatSpacingMs;
      const isHeartbeat = nextHeartbeatAt < nextEventAt;
      const dueAt = isHeartbeat ? nextHeartbeatAt : nextEventAt;
      if (dueAt >= deadline) break;
      const waitMs = dueAt - performance.now();
      if (waitMs > 0) await sleep(waitMs, undefined, { signal: options.signal });
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      const now = new Date();
      if (isHeartbeat) {
        const lane = lanes[heartbeatIndex % lanes.length]!;
        heartbeatIndex += 1;
        result.heartbeats += 1;
        launch(lane, fleetHeartbeat(lane.device, now), false);
      } else {
        const lane = lanes[eventIndex % lanes.length]!;
        const withPicture = picture !== null && carriesPicture(eventIndex, options.pictureEvery);
        eventIndex += 1;
        const notification = fleetEvent(lane.device, now, withPicture ? picture : null);
        result.events += 1;
        result.eventsByKind[lane.device.kind] += 1;
        if (notification.withPicture) result.pictures += 1;
        launch(lane, notification, true);
      }
    }
  } catch (error) {
    if (!options.signal?.aborted) throw error;
  } finally {
    await Promise.allSettled([...inFlight]);
    agent.destroy();
    result.elapsedMs = Math.round(performance.now() - start);
  }
  return result;
}

interface Answer {
  status: number;
  wwwAuthenticate: string | undefined;
  eventId: string | undefined;
}

function postOnce(agent: http.Agent, target: URL, { body, contentType }: Notification, authorization: string | undefined, options: PushOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      target,
      {
        method: 'POST',
        agent,
        signal: options.signal,
        headers: {
          Accept: '*/*',
          'Content-Type': contentType,
          'Content-Length': body.length,
          Connection: 'keep-alive',
          ...(authorization ? { Authorization: authorization } : {}),
        },
      },
      (response) => {
        response.resume();
        const eventId = response.headers['x-event-id'];
        response.on('end', () => resolve({ status: response.statusCode ?? 0, wwwAuthenticate: response.headers['www-authenticate'], eventId: typeof eventId === 'string' ? eventId : undefined }));
        response.on('error', reject);
      },
    );
    request.setTimeout(options.requestTimeoutMs ?? 10_000, () => request.destroy(new Error('request timed out')));
    request.on('error', reject);
    request.end(body);
  });
}
