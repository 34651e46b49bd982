import type { EdgeCredentialStore } from '../../libs/edge-auth/credential-store.js';
import type { DesiredState } from '../../libs/provisioning/desired-state.js';
import type { ProvisioningJobs } from '../../libs/provisioning/provisioning-jobs.js';

/** What route handlers work with: desired state in Postgres, jobs in Redis, and device push tokens. */
export interface ApiContext {
  desired: DesiredState;
  jobs: ProvisioningJobs;
  edgeCredentials: EdgeCredentialStore;
  /** EVENT_PUSH_BASE_URL: where devices reach ingest, when configure-events names no URL. */
  eventPushBaseUrl: string | undefined;
}

export const API_PREFIX = '/api/v1';
