import type { EventFamily } from './event-model.js';

/**
 * Which `eventType`s belong to which family, and which notifications are only "still alive"
 * signals. Device spellings are inconsistent (`VMD`, `videoloss`, `heartBeat`...), so every
 * comparison is case-insensitive.
 */

const FAMILY_BY_EVENT_TYPE: Readonly<Record<string, EventFamily>> = {
  vmd: 'motion',
  motiondetection: 'motion',
  fielddetection: 'intrusion',
  linedetection: 'intrusion',
  regionentrance: 'intrusion',
  regionexiting: 'intrusion',
  intrusion: 'intrusion',
  anpr: 'vehicle',
  vehiclepassinginparkinglot: 'vehicle',
  vehicledetection: 'vehicle',
  io: 'io',
  videoloss: 'video',
  shelteralarm: 'video',
  tamper: 'video',
  tamperdetection: 'video',
  peoplecounting: 'people_counting',
  accesscontrollerevent: 'access_control',
  heartbeat: 'heartbeat',
};

/**
 * Family of an event. `duration` is a wrapper some cameras send for smart events; its family is
 * the one of the wrapped `relationEvent` (DurationList/Duration/relationEvent).
 */
export function eventFamily(eventType: string | null, relationEvent: string | null = null): EventFamily {
  if (eventType === null) return 'other';
  const key = eventType.trim().toLowerCase();
  if (key === 'duration') {
    return relationEvent === null || relationEvent.trim().toLowerCase() === 'duration'
      ? 'other'
      : eventFamily(relationEvent);
  }
  return FAMILY_BY_EVENT_TYPE[key] ?? 'other';
}

export interface HeartbeatSignals {
  eventType: string | null;
  eventState: string | null;
  activePostCount: number | null;
}

/**
 * A notification is a heartbeat when it only says "the device is alive":
 * - `heartBeat` (face terminals), in any case;
 * - `videoloss` + `inactive`: cameras send it every ~10 s on the alertStream when nothing is wrong.
 *   The end of a real video loss looks the same; it is treated as a heartbeat too (the start
 *   of the loss is kept as an event, below);
 * - `videoloss` + `active` with activePostCount > 1: an NVR repeats an ongoing video loss (e.g. an
 *   empty channel) about twice a second, counting up. The first notice (count 1, or no count)
 *   is the real event and is kept.
 */
export function isHeartbeat({ eventType, eventState, activePostCount }: HeartbeatSignals): boolean {
  const type = eventType?.trim().toLowerCase();
  if (type === 'heartbeat') return true;
  if (type !== 'videoloss') return false;
  const state = eventState?.trim().toLowerCase();
  if (state === 'inactive') return true;
  return state === 'active' && activePostCount !== null && activePostCount > 1;
}
