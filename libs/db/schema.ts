import type { ColumnType, Generated } from 'kysely';

/** Table types for Kysely, hand-kept in step with migrations/ (the public schema is documented in docs/archive-schema.md). */

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json = ColumnType<unknown, string, string>;

export interface DevicesTable {
  id: Generated<string>;
  device_key: string;
  mac_address: string | null;
  ip_address: string | null;
  remote_address: string | null;
  serial_number: string | null;
  model: string | null;
  device_name: string | null;
  time_zone: string | null;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  last_event_at: Timestamp | null;
  last_heartbeat_at: Timestamp | null;
  event_count: ColumnType<string, string | number | undefined, string | number>;
  heartbeat_count: ColumnType<string, string | number | undefined, string | number>;
}

export interface EventsTable {
  id: string;
  received_at: Timestamp;
  occurred_at: Timestamp | null;
  device_time: string | null;
  event_type: string | null;
  event_state: string | null;
  event_family: string;
  mac_address: string | null;
  ip_address: string | null;
  remote_address: string;
  device_id: string | null;
  channel_id: number | null;
  channel_name: string | null;
  source_path: string;
  major_event_type: number | null;
  minor_event_type: number | null;
  employee_no: string | null;
  person_name: string | null;
  card_no: string | null;
  serial_no: string | null;
  license_plate: string | null;
  verify_result: string | null;
  dedupe_key: string | null;
  payload: Json;
  logged_at: Timestamp | null;
}

export interface EventPicturesTable {
  id: Generated<string>;
  event_id: string;
  position: number;
  part_name: string | null;
  path: string;
  bytes: number;
  sha256: string;
  content_type: string;
}

export interface QuarantinedEventsTable {
  id: string;
  received_at: Timestamp;
  quarantined_at: Generated<Date>;
  reason: string;
  reason_code: string;
  source_path: string;
  remote_address: string;
  content_type: string | null;
  headers: Json;
  body_path: string;
  body_bytes: number;
  body_sha256: string;
  reprocessed_at: Timestamp | null;
  /** What the last re-run led to (migration 0005). */
  reprocess_outcome: Generated<'archived' | 'duplicate' | 'heartbeat' | 'still_failing' | null>;
  reprocess_requested_at: Generated<Date | null>;
}

export type ManagedDeviceStatus = 'pending' | 'online' | 'unreachable' | 'auth_failed' | 'error';
export type AssignmentState = 'pending' | 'synced' | 'failed';

export interface ManagedDevicesTable {
  id: string;
  name: string;
  host: string;
  port: number;
  scheme: 'http' | 'https';
  username: string;
  password_encrypted: string;
  credentials_updated_at: Generated<Date>;
  status: Generated<ManagedDeviceStatus>;
  status_changed_at: Generated<Date>;
  last_error: string | null;
  last_error_at: Timestamp | null;
  last_contact_at: Timestamp | null;
  serial_number: string | null;
  model: string | null;
  firmware_version: string | null;
  mac_address: string | null;
  event_push_url: string | null;
  event_token_encrypted: string | null;
  event_auth_username: Generated<string | null>;
  event_auth_password_encrypted: Generated<string | null>;
  event_configured_token_encrypted: Generated<string | null>;
  event_configured_auth_username: Generated<string | null>;
  event_slot_id: number | null;
  events_configured_at: Timestamp | null;
  prune_unknown_users: Generated<boolean>;
  /** Doors people are granted on this device. */
  doors: ColumnType<number[], number[] | undefined, number[]>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface FaceImagesTable {
  sha256: string;
  jpeg: Buffer;
  bytes: number;
  created_at: Generated<Date>;
}

export interface PeopleTable {
  employee_no: string;
  name: string;
  user_type: Generated<'normal' | 'visitor' | 'blackList'>;
  valid_from: Timestamp | null;
  valid_to: Timestamp | null;
  face_sha256: string | null;
  face_updated_at: Timestamp | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface CardsTable {
  card_no: string;
  employee_no: string;
  card_type: Generated<string>;
  created_at: Generated<Date>;
}

export interface DevicePeopleTable {
  device_id: string;
  employee_no: string;
  state: Generated<AssignmentState>;
  last_error: string | null;
  last_job_id: string | null;
  synced_at: Timestamp | null;
  face_sha256_synced: string | null;
  created_at: Generated<Date>;
}

export interface Database {
  devices: DevicesTable;
  events: EventsTable;
  event_pictures: EventPicturesTable;
  quarantined_events: QuarantinedEventsTable;
  managed_devices: ManagedDevicesTable;
  face_images: FaceImagesTable;
  people: PeopleTable;
  cards: CardsTable;
  device_people: DevicePeopleTable;
}
