import type { Queue } from 'bullmq';
import type { Request } from 'express';
import type { Db } from '../../libs/db/database.js';
import type { EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import type { DesiredState } from '../../libs/provisioning/desired-state.js';
import type { Logger } from '../../libs/logger/logger.js';
import type { ProvisioningJobs } from '../../libs/provisioning/provisioning-jobs.js';
import type { EventStreamHub } from './archive/event-stream.js';
import type { SessionSigner } from './session.js';

/** What route handlers work with: desired state and the event archive in Postgres, jobs in Redis, device push tokens, files. */
export interface ApiContext {
  logger: Logger;
  desired: DesiredState;
  jobs: ProvisioningJobs;
  edgeCredentials: EdgeCredentialStore;
  /** EVENT_PUSH_BASE_URL: where devices reach ingest, when configure-events names no URL. */
  eventPushBaseUrl: string | undefined;
  /** The event archive (events, pictures, quarantine); the same database as the desired state. */
  archive: Db;
  /** DATA_DIR: pictures and quarantined bodies, at the paths their rows name. */
  dataDir: string;
  /** The archiver's queue, for re-running quarantined payloads. */
  eventsQueue: Queue;
  eventStream: EventStreamHub;
  adminToken: string;
  sessions: SessionSigner;
  /** Whether the client reached us over https (Secure cookies). */
  isHttps: (req: Request) => boolean;
}

export const API_PREFIX = '/api/v1';
