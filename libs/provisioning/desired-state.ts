import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { SecretBox } from '../crypto/secret-box.js';
import type { AssignmentState, Database, ManagedDeviceStatus } from '../db/schema.js';
import { uuidV7 } from '../ids/uuid-v7.js';

/**
 * The desired state the admin API writes and the provisioner converges devices to: managed
 * devices (passwords sealed with CREDENTIALS_KEY), people, cards, face images and assignments.
 * Secrets leave this module only through `deviceConnection`, never in a public view.
 */

export interface DeviceInput {
  name: string;
  host: string;
  port: number;
  scheme: 'http' | 'https';
  username: string;
  password: string;
  /** Doors people are granted (door controllers have several). Default [1]. */
  doors?: number[];
}

export interface DeviceView {
  id: string;
  name: string;
  host: string;
  port: number;
  scheme: 'http' | 'https';
  username: string;
  status: ManagedDeviceStatus;
  statusChangedAt: Date;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastContactAt: Date | null;
  serialNumber: string | null;
  model: string | null;
  firmwareVersion: string | null;
  macAddress: string | null;
  eventPushUrl: string | null;
  /** The Digest username the device posts events with (null: no Digest). Never the password. */
  eventPushUsername: string | null;
  eventSlotId: number | null;
  eventsConfiguredAt: Date | null;
  pruneUnknownUsers: boolean;
  doors: number[];
  createdAt: Date;
  updatedAt: Date;
}

export interface DeviceConnection {
  id: string;
  host: string;
  port: number;
  scheme: 'http' | 'https';
  username: string;
  password: string;
  status: ManagedDeviceStatus;
  /** Changes whenever credentials change: clients and auth state are keyed by it. */
  credentialsVersion: string;
  eventPushUrl: string | null;
  /** Digest credential the device presents when it posts events (MD5digest in its httpHosts slot). */
  eventPushAuth: { username: string; password: string } | null;
  /** The per-device path token inside eventPushUrl, if any. */
  eventPushToken: string | null;
  eventSlotId: number | null;
  pruneUnknownUsers: boolean;
  doors: number[];
  serialNumber: string | null;
  macAddress: string | null;
}

export interface PersonInput {
  employeeNo: string;
  name: string;
  userType?: 'normal' | 'visitor' | 'blackList';
  validFrom?: Date | null;
  validTo?: Date | null;
  cards?: string[];
}

export interface PersonView {
  employeeNo: string;
  name: string;
  userType: 'normal' | 'visitor' | 'blackList';
  validFrom: Date | null;
  validTo: Date | null;
  cards: string[];
  faceSha256: string | null;
  faceUpdatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AssignmentView {
  deviceId: string;
  employeeNo: string;
  state: AssignmentState;
  lastError: string | null;
  lastJobId: string | null;
  syncedAt: Date | null;
  faceSynced: boolean;
}

export interface EventPushCredentials {
  /** What configure-events asked for last (may not be on the device yet). */
  token: string | null;
  digestUsername: string | null;
  /** What the device was last configured with. */
  configuredToken: string | null;
  configuredDigestUsername: string | null;
}

export class DuplicateError extends Error {
  override name = 'DuplicateError';
}
export class MissingReferenceError extends Error {
  override name = 'MissingReferenceError';
}

const isUniqueViolation = (error: unknown): boolean => (error as { code?: string }).code === '23505';

function toDeviceView(row: Record<string, any>): DeviceView {
  return {
    id: row.id,
    name: row.name,
    host: row.host,
    port: row.port,
    scheme: row.scheme,
    username: row.username,
    status: row.status,
    statusChangedAt: row.status_changed_at,
    lastError: row.last_error,
    lastErrorAt: row.last_error_at,
    lastContactAt: row.last_contact_at,
    serialNumber: row.serial_number,
    model: row.model,
    firmwareVersion: row.firmware_version,
    macAddress: row.mac_address,
    eventPushUrl: row.event_push_url,
    eventPushUsername: row.event_auth_username,
    eventSlotId: row.event_slot_id,
    eventsConfiguredAt: row.events_configured_at,
    pruneUnknownUsers: row.prune_unknown_users,
    doors: row.doors,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const PUBLIC_DEVICE_COLUMNS = [
  'id', 'name', 'host', 'port', 'scheme', 'username', 'status', 'status_changed_at', 'last_error', 'last_error_at',
  'last_contact_at', 'serial_number', 'model', 'firmware_version', 'mac_address', 'event_push_url', 'event_auth_username', 'event_slot_id',
  'events_configured_at', 'prune_unknown_users', 'doors', 'created_at', 'updated_at',
] as const;

/** Microsecond text of credentials_updated_at: exact, unlike a JavaScript Date. */
const CREDENTIALS_VERSION = sql<string>`(floor(extract(epoch from credentials_updated_at) * 1000000))::bigint::text`;

export const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

export class DesiredState {
  constructor(
    readonly db: Kysely<Database>,
    private readonly secrets: SecretBox,
  ) {}

  // --- devices -------------------------------------------------------------------------------

  async createDevice(input: DeviceInput & { pruneUnknownUsers?: boolean }): Promise<DeviceView> {
    try {
      const row = await this.db
        .insertInto('managed_devices')
        .values({
          id: uuidV7(),
          name: input.name,
          host: input.host,
          port: input.port,
          scheme: input.scheme,
          username: input.username,
          password_encrypted: this.secrets.seal(input.password),
          prune_unknown_users: input.pruneUnknownUsers ?? false,
          doors: input.doors ?? [1],
        })
        .returning(PUBLIC_DEVICE_COLUMNS)
        .executeTakeFirstOrThrow();
      return toDeviceView(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError(`a device at ${input.host}:${input.port} already exists`);
      throw error;
    }
  }

  async listDevices(): Promise<DeviceView[]> {
    const rows = await this.db.selectFrom('managed_devices').select(PUBLIC_DEVICE_COLUMNS).orderBy('name').orderBy('id').execute();
    return rows.map(toDeviceView);
  }

  async getDevice(id: string): Promise<DeviceView | null> {
    const row = await this.db.selectFrom('managed_devices').select(PUBLIC_DEVICE_COLUMNS).where('id', '=', id).executeTakeFirst();
    return row ? toDeviceView(row) : null;
  }

  /** Changing host, port, scheme or credentials clears an `auth_failed` state: the new values deserve a try. */
  async updateDevice(id: string, patch: Partial<DeviceInput> & { pruneUnknownUsers?: boolean }): Promise<{ device: DeviceView; credentialsChanged: boolean } | null> {
    const credentialsChanged = patch.username !== undefined || patch.password !== undefined || patch.host !== undefined || patch.port !== undefined || patch.scheme !== undefined;
    const values: Record<string, unknown> = { updated_at: sql`now()` };
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.host !== undefined) values.host = patch.host;
    if (patch.port !== undefined) values.port = patch.port;
    if (patch.scheme !== undefined) values.scheme = patch.scheme;
    if (patch.username !== undefined) values.username = patch.username;
    if (patch.password !== undefined) values.password_encrypted = this.secrets.seal(patch.password);
    if (patch.pruneUnknownUsers !== undefined) values.prune_unknown_users = patch.pruneUnknownUsers;
    if (patch.doors !== undefined) values.doors = patch.doors;
    if (credentialsChanged) {
      values.credentials_updated_at = sql`clock_timestamp()`;
      values.status = sql`case when status = 'auth_failed' then 'pending' else status end`;
      values.status_changed_at = sql`case when status = 'auth_failed' then now() else status_changed_at end`;
    }
    try {
      const row = await this.db.updateTable('managed_devices').set(values).where('id', '=', id).returning(PUBLIC_DEVICE_COLUMNS).executeTakeFirst();
      return row ? { device: toDeviceView(row), credentialsChanged } : null;
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError(`another device already uses ${patch.host ?? ''}:${patch.port ?? ''}`);
      throw error;
    }
  }

  async deleteDevice(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('managed_devices').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async deviceConnection(id: string): Promise<DeviceConnection | null> {
    const row = await this.db.selectFrom('managed_devices').selectAll().select(CREDENTIALS_VERSION.as('credentials_version')).where('id', '=', id).executeTakeFirst();
    if (!row) return null;
    return {
      id: row.id,
      host: row.host,
      port: row.port,
      scheme: row.scheme,
      username: row.username,
      password: this.secrets.open(row.password_encrypted),
      status: row.status,
      credentialsVersion: row.credentials_version,
      eventPushUrl: row.event_push_url ? this.eventPushUrlWithToken(row.event_push_url, row.event_token_encrypted) : null,
      eventPushAuth:
        row.event_auth_username && row.event_auth_password_encrypted ? { username: row.event_auth_username, password: this.secrets.open(row.event_auth_password_encrypted) } : null,
      eventPushToken: row.event_token_encrypted ? this.secrets.open(row.event_token_encrypted) : null,
      eventSlotId: row.event_slot_id,
      pruneUnknownUsers: row.prune_unknown_users,
      doors: row.doors,
      serialNumber: row.serial_number,
      macAddress: row.mac_address,
    };
  }

  /** The push URL stored without its secret path token; the token is sealed separately and joined here. */
  private eventPushUrlWithToken(url: string, sealedToken: string | null): string {
    return sealedToken ? url.replace('{token}', this.secrets.open(sealedToken)) : url;
  }

  /**
   * `url` may contain `{token}`, replaced by the sealed per-device token when the device is
   * configured; `digest` is the credential the device will present (password sealed).
   */
  async setEventPush(id: string, url: string, token: string | null, digest: { username: string; password: string } | null = null): Promise<DeviceView | null> {
    const row = await this.db
      .updateTable('managed_devices')
      .set({
        event_push_url: url,
        event_token_encrypted: token ? this.secrets.seal(token) : null,
        event_auth_username: digest?.username ?? null,
        event_auth_password_encrypted: digest ? this.secrets.seal(digest.password) : null,
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .returning(PUBLIC_DEVICE_COLUMNS)
      .executeTakeFirst();
    return row ? toDeviceView(row) : null;
  }

  /** Push credentials at the ingest edge: the desired ones, and those the device was last configured with. */
  async eventPushCredentials(id: string): Promise<EventPushCredentials> {
    const row = await this.db
      .selectFrom('managed_devices')
      .select(['event_token_encrypted', 'event_auth_username', 'event_configured_token_encrypted', 'event_configured_auth_username'])
      .where('id', '=', id)
      .executeTakeFirst();
    const open = (sealed: string | null | undefined) => (sealed ? this.secrets.open(sealed) : null);
    return {
      token: open(row?.event_token_encrypted),
      digestUsername: row?.event_auth_username ?? null,
      configuredToken: open(row?.event_configured_token_encrypted),
      configuredDigestUsername: row?.event_configured_auth_username ?? null,
    };
  }

  /**
   * The device now holds `applied` (its token and Digest username). Returns the credentials it
   * held before, which the caller revokes at the ingest edge — unless the desired push changed
   * meanwhile (then nothing is recorded: the follow-up job applies the newer one).
   */
  async recordEventPushConfigured(id: string, slotId: number, applied: { token: string | null; digestUsername: string | null }): Promise<{ token: string | null; digestUsername: string | null } | null> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('managed_devices')
        .select(['event_token_encrypted', 'event_auth_username', 'event_configured_token_encrypted', 'event_configured_auth_username'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!row) return null;
      const desiredToken = row.event_token_encrypted ? this.secrets.open(row.event_token_encrypted) : null;
      if (desiredToken !== applied.token || row.event_auth_username !== applied.digestUsername) return null;
      await trx
        .updateTable('managed_devices')
        .set({
          event_slot_id: slotId,
          events_configured_at: sql`now()`,
          event_configured_token_encrypted: row.event_token_encrypted,
          event_configured_auth_username: row.event_auth_username,
        })
        .where('id', '=', id)
        .execute();
      const previousToken = row.event_configured_token_encrypted ? this.secrets.open(row.event_configured_token_encrypted) : null;
      return {
        token: previousToken !== applied.token ? previousToken : null,
        digestUsername: row.event_configured_auth_username !== applied.digestUsername ? row.event_configured_auth_username : null,
      };
    });
  }

  /** Status transitions; `credentialsVersion` guards against marking freshly changed credentials as failed. */
  async setDeviceStatus(id: string, status: ManagedDeviceStatus, options: { error?: string | null; credentialsVersion?: string } = {}): Promise<void> {
    let query = this.db
      .updateTable('managed_devices')
      .set({
        status,
        status_changed_at: sql`case when status = ${status} then status_changed_at else now() end`,
        ...(options.error !== undefined ? { last_error: options.error, last_error_at: options.error === null ? null : sql`now()` } : {}),
        ...(status === 'online' ? { last_contact_at: sql`now()` } : {}),
      })
      .where('id', '=', id);
    if (options.credentialsVersion !== undefined) query = query.where(CREDENTIALS_VERSION, '=', options.credentialsVersion);
    await query.execute();
  }

  async recordDeviceInfo(id: string, info: { serialNumber: string | null; model: string | null; firmwareVersion: string | null; macAddress: string | null }): Promise<void> {
    await this.db
      .updateTable('managed_devices')
      .set({ serial_number: info.serialNumber || null, model: info.model || null, firmware_version: info.firmwareVersion || null, mac_address: info.macAddress || null, last_contact_at: sql`now()` })
      .where('id', '=', id)
      .execute();
  }

  async deviceCountsByStatus(): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('managed_devices').select(['status', (eb) => eb.fn.countAll<string>().as('count')]).groupBy('status').execute();
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
  }

  async assignmentCountsByState(): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('device_people').select(['state', (eb) => eb.fn.countAll<string>().as('count')]).groupBy('state').execute();
    return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
  }

  async allDeviceIds(): Promise<string[]> {
    return (await this.db.selectFrom('managed_devices').select('id').execute()).map((row) => row.id);
  }

  // --- people ---------------------------------------------------------------------------------

  async createPerson(input: PersonInput): Promise<PersonView> {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('people')
          .values({ employee_no: input.employeeNo, name: input.name, user_type: input.userType ?? 'normal', valid_from: input.validFrom ?? null, valid_to: input.validTo ?? null, face_sha256: null, face_updated_at: null })
          .execute();
        if (input.cards?.length) await trx.insertInto('cards').values(input.cards.map((cardNo) => ({ card_no: cardNo, employee_no: input.employeeNo }))).execute();
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        const detail = String((error as { detail?: string }).detail ?? '');
        throw new DuplicateError(detail.includes('card_no') ? `a card in ${JSON.stringify(input.cards)} already belongs to someone` : `person ${input.employeeNo} already exists`);
      }
      throw error;
    }
    return (await this.getPerson(input.employeeNo))!;
  }

  async getPerson(employeeNo: string): Promise<PersonView | null> {
    const [person] = await this.listPeople({ employeeNos: [employeeNo] });
    return person ?? null;
  }

  async listPeople(options: { employeeNos?: string[]; limit?: number; after?: string } = {}): Promise<PersonView[]> {
    let query = this.db
      .selectFrom('people')
      .select([
        'employee_no', 'name', 'user_type', 'valid_from', 'valid_to', 'face_sha256', 'face_updated_at', 'created_at', 'updated_at',
        CARDS_OF_PERSON.as('cards'),
      ])
      .orderBy('employee_no');
    if (options.employeeNos) query = query.where('employee_no', 'in', options.employeeNos.length ? options.employeeNos : ['']);
    if (options.after) query = query.where('employee_no', '>', options.after);
    if (options.limit) query = query.limit(options.limit);
    return (await query.execute()).map(toPersonView);
  }

  /** Returns the devices the person is assigned to, whose copy must now be updated. */
  async updatePerson(employeeNo: string, patch: Partial<Omit<PersonInput, 'employeeNo'>>): Promise<{ person: PersonView; deviceIds: string[]; removedCards: string[] } | null> {
    let removedCards: string[] = [];
    try {
      const found = await this.db.transaction().execute(async (trx) => {
        const values: Record<string, unknown> = { updated_at: sql`now()` };
        if (patch.name !== undefined) values.name = patch.name;
        if (patch.userType !== undefined) values.user_type = patch.userType;
        if (patch.validFrom !== undefined) values.valid_from = patch.validFrom;
        if (patch.validTo !== undefined) values.valid_to = patch.validTo;
        const updated = await trx.updateTable('people').set(values).where('employee_no', '=', employeeNo).executeTakeFirst();
        if (updated.numUpdatedRows === 0n) return false;
        if (patch.cards !== undefined) {
          const removed = await trx.deleteFrom('cards').where('employee_no', '=', employeeNo).where('card_no', 'not in', patch.cards.length ? patch.cards : ['']).returning('card_no').execute();
          removedCards = removed.map((row) => row.card_no);
          if (patch.cards.length) {
            await trx.insertInto('cards').values(patch.cards.map((cardNo) => ({ card_no: cardNo, employee_no: employeeNo }))).onConflict((oc) => oc.column('card_no').doNothing()).execute();
            const owners = await trx.selectFrom('cards').select(['card_no', 'employee_no']).where('card_no', 'in', patch.cards).execute();
            const foreign = owners.filter((row) => row.employee_no !== employeeNo).map((row) => row.card_no);
            if (foreign.length) throw new DuplicateError(`card ${foreign.join(', ')} already belongs to someone else`);
          }
        }
        return true;
      });
      if (!found) return null;
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateError('a card in the request already belongs to someone else');
      throw error;
    }
    return { person: (await this.getPerson(employeeNo))!, deviceIds: await this.devicesOfPerson(employeeNo), removedCards };
  }

  /** Deletes the person (cards and assignments go with it); returns the devices to remove them from. */
  async deletePerson(employeeNo: string): Promise<{ deviceIds: string[] } | null> {
    const deviceIds = await this.devicesOfPerson(employeeNo);
    const result = await this.db.deleteFrom('people').where('employee_no', '=', employeeNo).executeTakeFirst();
    return result.numDeletedRows > 0n ? { deviceIds } : null;
  }

  async setFace(employeeNo: string, jpeg: Buffer): Promise<{ sha256: string; deviceIds: string[] } | null> {
    const sha256 = sha256Hex(jpeg);
    const updated = await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('face_images').values({ sha256, jpeg, bytes: jpeg.length }).onConflict((oc) => oc.column('sha256').doNothing()).execute();
      const result = await trx.updateTable('people').set({ face_sha256: sha256, face_updated_at: sql`now()`, updated_at: sql`now()` }).where('employee_no', '=', employeeNo).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    });
    return updated ? { sha256, deviceIds: await this.devicesOfPerson(employeeNo) } : null;
  }

  async removeFace(employeeNo: string): Promise<{ deviceIds: string[] } | null> {
    const result = await this.db.updateTable('people').set({ face_sha256: null, face_updated_at: sql`now()`, updated_at: sql`now()` }).where('employee_no', '=', employeeNo).executeTakeFirst();
    return result.numUpdatedRows > 0n ? { deviceIds: await this.devicesOfPerson(employeeNo) } : null;
  }

  async faceImage(sha256: string): Promise<Buffer | null> {
    const row = await this.db.selectFrom('face_images').select('jpeg').where('sha256', '=', sha256).executeTakeFirst();
    return row?.jpeg ?? null;
  }

  // --- assignments ----------------------------------------------------------------------------

  async devicesOfPerson(employeeNo: string): Promise<string[]> {
    return (await this.db.selectFrom('device_people').select('device_id').where('employee_no', '=', employeeNo).execute()).map((row) => row.device_id);
  }

  /**
   * Makes `employeeNos` the exact set assigned to the device. Unknown people are refused as a
   * whole (nothing changes). Returns who was added and who removed.
   */
  async setDevicePeople(deviceId: string, employeeNos: string[]): Promise<{ added: string[]; removed: string[]; kept: string[] }> {
    const wanted = [...new Set(employeeNos)];
    return this.db.transaction().execute(async (trx) => {
      const device = await trx.selectFrom('managed_devices').select('id').where('id', '=', deviceId).forUpdate().executeTakeFirst();
      if (!device) throw new MissingReferenceError(`device ${deviceId} not found`);
      if (wanted.length) {
        const known = new Set((await trx.selectFrom('people').select('employee_no').where('employee_no', 'in', wanted).execute()).map((row) => row.employee_no));
        const unknown = wanted.filter((no) => !known.has(no));
        if (unknown.length) throw unknownReferences('employeeNo', unknown);
      }
      const current = new Set((await trx.selectFrom('device_people').select('employee_no').where('device_id', '=', deviceId).execute()).map((row) => row.employee_no));
      const added = wanted.filter((no) => !current.has(no));
      const wantedSet = new Set(wanted);
      const removed = [...current].filter((no) => !wantedSet.has(no));
      const kept = wanted.filter((no) => current.has(no));
      if (removed.length) await trx.deleteFrom('device_people').where('device_id', '=', deviceId).where('employee_no', 'in', removed).execute();
      for (let i = 0; i < added.length; i += 1000) {
        await trx.insertInto('device_people').values(added.slice(i, i + 1000).map((employeeNo) => ({ device_id: deviceId, employee_no: employeeNo }))).execute();
      }
      return { added, removed, kept };
    });
  }

  /**
   * Makes `deviceIds` the exact set of devices the person is assigned to (the person-side mirror
   * of setDevicePeople). Null when the person does not exist; unknown devices are refused as a
   * whole (nothing changes).
   */
  async setPersonDevices(employeeNo: string, deviceIds: string[]): Promise<{ added: string[]; removed: string[] } | null> {
    const wanted = [...new Set(deviceIds)];
    return this.db.transaction().execute(async (trx) => {
      const person = await trx.selectFrom('people').select('employee_no').where('employee_no', '=', employeeNo).forNoKeyUpdate().executeTakeFirst();
      if (!person) return null;
      if (wanted.length) {
        // Key-share locks keep these devices from being deleted meanwhile; neither lock here waits
        // on setDevicePeople's order (device FOR UPDATE, then the people rows' key-share): no deadlock.
        const known = new Set((await trx.selectFrom('managed_devices').select('id').where('id', 'in', wanted).forKeyShare().execute()).map((row) => row.id));
        const unknown = wanted.filter((id) => !known.has(id));
        if (unknown.length) throw unknownReferences('device', unknown);
      }
      const current = new Set((await trx.selectFrom('device_people').select('device_id').where('employee_no', '=', employeeNo).execute()).map((row) => row.device_id));
      const wantedSet = new Set(wanted);
      const added = wanted.filter((id) => !current.has(id));
      const removed = [...current].filter((id) => !wantedSet.has(id));
      if (removed.length) await trx.deleteFrom('device_people').where('employee_no', '=', employeeNo).where('device_id', 'in', removed).execute();
      if (added.length) await trx.insertInto('device_people').values(added.map((deviceId) => ({ device_id: deviceId, employee_no: employeeNo }))).execute();
      return { added, removed };
    });
  }

  async assignment(deviceId: string, employeeNo: string): Promise<AssignmentView | null> {
    const row = await this.db.selectFrom('device_people').selectAll().where('device_id', '=', deviceId).where('employee_no', '=', employeeNo).executeTakeFirst();
    return row ? toAssignmentView(row) : null;
  }

  async assignmentsOfDevice(deviceId: string): Promise<AssignmentView[]> {
    const rows = await this.db.selectFrom('device_people').selectAll().where('device_id', '=', deviceId).orderBy('employee_no').execute();
    return rows.map(toAssignmentView);
  }

  async assignmentsOfPerson(employeeNo: string): Promise<AssignmentView[]> {
    return (await this.assignmentsOfPeople([employeeNo])).get(employeeNo) ?? [];
  }

  /** The assignments of many people in one query (a page of the people list), grouped by person. */
  async assignmentsOfPeople(employeeNos: string[]): Promise<Map<string, AssignmentView[]>> {
    const grouped = new Map<string, AssignmentView[]>(employeeNos.map((no) => [no, []]));
    if (!employeeNos.length) return grouped;
    const rows = await this.db.selectFrom('device_people').selectAll().where('employee_no', 'in', employeeNos).orderBy('employee_no').orderBy('device_id').execute();
    for (const row of rows) grouped.get(row.employee_no)?.push(toAssignmentView(row));
    return grouped;
  }

  async markAssignment(deviceId: string, employeeNo: string, update: { state: AssignmentState; error?: string | null; jobId?: string; faceSha256?: string | null }): Promise<void> {
    await this.db
      .updateTable('device_people')
      .set({
        state: update.state,
        last_error: update.error ?? null,
        ...(update.jobId !== undefined ? { last_job_id: update.jobId } : {}),
        ...(update.state === 'synced' ? { synced_at: sql`now()` } : {}),
        ...(update.faceSha256 !== undefined ? { face_sha256_synced: update.faceSha256 } : {}),
      })
      .where('device_id', '=', deviceId)
      .where('employee_no', '=', employeeNo)
      .execute();
  }

  /**
   * One read for a person.upsert job: the person (with cards) if assigned to the device, and
   * the face hash the device was last given. null when the person is not (or no longer) assigned.
   */
  async personOnDevice(deviceId: string, employeeNo: string): Promise<{ person: PersonView; syncedFace: string | null } | null> {
    const row = await this.db
      .selectFrom('device_people as dp')
      .innerJoin('people', 'people.employee_no', 'dp.employee_no')
      .select([
        'people.employee_no', 'people.name', 'people.user_type', 'people.valid_from', 'people.valid_to', 'people.face_sha256', 'people.face_updated_at',
        'people.created_at', 'people.updated_at', 'dp.face_sha256_synced',
        CARDS_OF_PERSON.as('cards'),
      ])
      .where('dp.device_id', '=', deviceId)
      .where('dp.employee_no', '=', employeeNo)
      .executeTakeFirst();
    return row ? { person: toPersonView(row), syncedFace: row.face_sha256_synced } : null;
  }

  async markFaceSynced(deviceId: string, employeeNo: string, sha256: string | null): Promise<void> {
    await this.db.updateTable('device_people').set({ face_sha256_synced: sha256 }).where('device_id', '=', deviceId).where('employee_no', '=', employeeNo).execute();
  }

  /** Everything the device should hold, for reconciliation: people with their cards and face hash. */
  async desiredPeopleOfDevice(deviceId: string): Promise<PersonView[]> {
    const employeeNos = (await this.db.selectFrom('device_people').select('employee_no').where('device_id', '=', deviceId).execute()).map((row) => row.employee_no);
    const people: PersonView[] = [];
    for (let i = 0; i < employeeNos.length; i += 1000) people.push(...(await this.listPeople({ employeeNos: employeeNos.slice(i, i + 1000) })));
    return people;
  }

  async cardOwner(cardNo: string): Promise<string | null> {
    return (await this.db.selectFrom('cards').select('employee_no').where('card_no', '=', cardNo).executeTakeFirst())?.employee_no ?? null;
  }
}

/** The person's card numbers, sorted, as one column of a `people` query. */
const CARDS_OF_PERSON = sql<string[]>`coalesce((select array_agg(c.card_no order by c.card_no) from cards c where c.employee_no = people.employee_no), '{}')`;

function toPersonView(row: Record<string, any>): PersonView {
  return {
    employeeNo: row.employee_no,
    name: row.name,
    userType: row.user_type,
    validFrom: row.valid_from,
    validTo: row.valid_to,
    cards: row.cards,
    faceSha256: row.face_sha256,
    faceUpdatedAt: row.face_updated_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function unknownReferences(what: string, unknown: string[]): MissingReferenceError {
  return new MissingReferenceError(`unknown ${what}: ${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ` (+${unknown.length - 20} more)` : ''}`);
}

function toAssignmentView(row: Record<string, any>): AssignmentView {
  return {
    deviceId: row.device_id,
    employeeNo: row.employee_no,
    state: row.state,
    lastError: row.last_error,
    lastJobId: row.last_job_id,
    syncedAt: row.synced_at,
    faceSynced: row.face_sha256_synced !== null,
  };
}
