import type { Migration } from 'kysely';
import * as eventArchive from './0001_event_archive.js';
import * as provisioning from './0002_provisioning.js';
import * as deviceDoors from './0003_device_doors.js';
import * as eventPushDigest from './0004_event_push_digest.js';
import * as eventsApi from './0005_events_api.js';
import * as keepUnknownUsers from './0006_keep_unknown_users.js';

/**
 * Every migration, in order, listed by hand: compiled output needs no directory scan, and a
 * database that ran a migration this build does not know makes start-up fail (Kysely's rule).
 */
export const migrations: Record<string, Migration> = {
  '0001_event_archive': eventArchive,
  '0002_provisioning': provisioning,
  '0003_device_doors': deviceDoors,
  '0004_event_push_digest': eventPushDigest,
  '0005_events_api': eventsApi,
  '0006_keep_unknown_users': keepUnknownUsers,
};
