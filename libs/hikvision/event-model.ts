/**
 * The one normalised shape every Hikvision event takes in hikhub, whatever the device sent:
 * ISAPI EventNotificationAlert XML (any namespace), JSON (access control, parking), alone or
 * inside a multipart body with pictures.
 */

/** Bounded set used for metrics labels and filtering; `event_type` keeps the device's own spelling. */
export const EVENT_FAMILIES = [
  'access_control',
  'motion',
  'intrusion',
  'vehicle',
  'io',
  'video',
  'people_counting',
  'heartbeat',
  'other',
] as const;
export type EventFamily = (typeof EVENT_FAMILIES)[number];

export interface HikvisionEvent {
  /** `eventType` exactly as sent (VMD, videoloss, AccessControllerEvent, heartBeat...). */
  eventType: string | null;
  eventState: string | null;
  family: EventFamily;
  /** Heartbeats update device liveness and stay out of the events table unless configured. */
  isHeartbeat: boolean;
  /** `dateTime` exactly as sent. */
  deviceTime: string | null;
  /** UTC instant when the device time carries an offset (or a zone is configured); null when ambiguous. */
  occurredAt: Date | null;
  /** Lowercase aa:bb:cc:dd:ee:ff, or null when absent or not a valid MAC. */
  macAddress: string | null;
  /** Address the device reports for itself (the IPv4 inside ::ffff: when ipAddress is a placeholder). */
  ipAddress: string | null;
  channelId: number | null;
  channelName: string | null;
  activePostCount: number | null;
  /** Access control: AccessControllerEvent.majorEventType / subEventType. */
  majorEventType: number | null;
  minorEventType: number | null;
  employeeNo: string | null;
  personName: string | null;
  cardNo: string | null;
  /** Access control: the device's per-event sequence number; same device + serialNo = same event. */
  serialNo: string | null;
  /** Device identity when the event carries it. */
  deviceSerial: string | null;
  deviceName: string | null;
  licensePlate: string | null;
  /** Human-readable result of an access attempt ("face verified", "card not authorised"...). */
  verifyResult: string | null;
  /** A stable identity for "the same event sent again" (access control serialNo, ANPR UUID); null when none. */
  dedupeKey: string | null;
  /** The parsed document, namespace prefixes removed, for the `payload` jsonb column. */
  document: Record<string, unknown>;
  documentFormat: 'xml' | 'json';
}

export interface EventPicture {
  /** Position in the request (0-based among pictures). */
  index: number;
  /** Multipart part name as sent (Picture, detectionPicture.jpg...); informative only, never a file name. */
  partName: string | null;
  /** Detected from the bytes (magic numbers), falling back to the declared type. */
  contentType: string;
  bytes: Buffer;
}

export interface ParsedRequest {
  event: HikvisionEvent;
  pictures: EventPicture[];
}

/** A body that cannot become an event; it is quarantined with this reason, never dropped. */
export class ParseFailure extends Error {
  constructor(
    readonly reason: string,
    readonly code: ParseFailureCode,
  ) {
    super(reason);
    this.name = 'ParseFailure';
  }
}

export type ParseFailureCode =
  | 'empty_body'
  | 'unsupported_content_type'
  | 'malformed_multipart'
  | 'no_event_document'
  | 'malformed_xml'
  | 'malformed_json'
  | 'forbidden_xml'
  | 'not_an_event'
  | 'too_large';

/** What the parser needs to know about the request besides its bytes. */
export interface ParseInput {
  contentType: string | undefined;
  body: Buffer;
  /** How to read a device time without an offset (IANA zone or ±HH:MM); undefined → occurredAt null. */
  defaultTimeZone?: string | undefined;
}
