import type { Db } from '../../../libs/db/database.js';
import type { EventRow } from './event-query.js';

export interface PictureSummary {
  id: string;
  url: string;
  contentType: string;
  bytes: number;
  partName: string | null;
}

export interface ObservedDeviceRef {
  id: string;
  name: string | null;
  model: string | null;
  serialNumber: string | null;
  ipAddress: string | null;
  macAddress: string | null;
}

/** The API's view of one archived event (EventSummary in openapi.yaml). */
export interface EventSummary {
  id: string;
  receivedAt: string;
  occurredAt: string | null;
  deviceTime: string | null;
  eventType: string | null;
  eventState: string | null;
  eventFamily: string;
  device: ObservedDeviceRef | null;
  remoteAddress: string;
  sourcePath: string;
  channelId: number | null;
  channelName: string | null;
  majorEventType: number | null;
  minorEventType: number | null;
  employeeNo: string | null;
  personName: string | null;
  cardNo: string | null;
  licensePlate: string | null;
  verifyResult: string | null;
  doorNo: string | null;
  pictures: PictureSummary[];
}

/** Pictures are served by GET /faces/<path>, the stored path (pictures/YYYY/MM/DD/…) appended as is. */
export const pictureUrl = (path: string) => `/faces/${path.split('/').map(encodeURIComponent).join('/')}`;

/** Summaries for loaded rows, in their order: pictures and devices in one query each, never one per event. */
export async function summarize(db: Db, rows: EventRow[]): Promise<EventSummary[]> {
  if (!rows.length) return [];
  const deviceIds = [...new Set(rows.map((row) => row.device_id).filter((id): id is string => id !== null))];
  const [pictures, devices] = await Promise.all([
    db
      .selectFrom('event_pictures')
      .select(['id', 'event_id', 'path', 'content_type', 'bytes', 'part_name'])
      .where('event_id', 'in', rows.map((row) => row.id))
      .orderBy('event_id')
      .orderBy('position')
      .execute(),
    deviceIds.length
      ? db.selectFrom('devices').select(['id', 'device_name', 'model', 'serial_number', 'ip_address', 'mac_address']).where('id', 'in', deviceIds).execute()
      : Promise.resolve([]),
  ]);
  const picturesOf = new Map<string, PictureSummary[]>();
  for (const picture of pictures) {
    const list = picturesOf.get(picture.event_id) ?? [];
    list.push({ id: picture.id, url: pictureUrl(picture.path), contentType: picture.content_type, bytes: picture.bytes, partName: picture.part_name });
    picturesOf.set(picture.event_id, list);
  }
  const deviceById = new Map(
    devices.map((d) => [d.id, { id: d.id, name: d.device_name, model: d.model, serialNumber: d.serial_number, ipAddress: d.ip_address, macAddress: d.mac_address }]),
  );
  return rows.map((row) => toSummary(row, row.device_id === null ? null : (deviceById.get(row.device_id) ?? null), picturesOf.get(row.id) ?? []));
}

function toSummary(row: EventRow, device: ObservedDeviceRef | null, pictures: PictureSummary[]): EventSummary {
  return {
    id: row.id,
    receivedAt: new Date(row.received_at).toISOString(),
    occurredAt: row.occurred_at ? new Date(row.occurred_at).toISOString() : null,
    deviceTime: row.device_time,
    eventType: row.event_type,
    eventState: row.event_state,
    eventFamily: row.event_family,
    device,
    remoteAddress: row.remote_address,
    sourcePath: row.source_path,
    channelId: row.channel_id,
    channelName: row.channel_name,
    majorEventType: row.major_event_type,
    minorEventType: row.minor_event_type,
    employeeNo: row.employee_no,
    personName: row.person_name,
    cardNo: row.card_no,
    licensePlate: row.license_plate,
    verifyResult: row.verify_result,
    doorNo: row.door_no,
    pictures,
  };
}
