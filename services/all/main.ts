import { apiEnvSchema, archiverEnvSchema, ingestEnvSchema, provisionerEnvSchema } from '../../libs/config/env.js';
import { loadEnvOrExit, runServices } from '../../libs/lifecycle/run-services.js';
import { startApi } from '../api/api-service.js';
import { startArchiver } from '../archiver/archiver-service.js';
import { startIngest } from '../ingest/ingest-service.js';
import { startProvisioner } from '../provisioner/provisioner-service.js';

/**
 * The single-machine install (`npm start`): every service in one process, each exactly as it
 * runs alone. The archiver starts first so the schema exists before ingest takes events.
 */
const schema = ingestEnvSchema.extend(archiverEnvSchema.shape).extend(provisionerEnvSchema.shape).extend(apiEnvSchema.shape);
const env = loadEnvOrExit(schema);
await runServices('hikhub', env, [
  (logger) => startArchiver(env, logger.child({ component: 'archiver' })),
  (logger) => startProvisioner(env, logger.child({ component: 'provisioner' })),
  (logger) => startApi(env, logger.child({ component: 'api' })),
  (logger) => startIngest(env, logger.child({ component: 'ingest' })),
]);
