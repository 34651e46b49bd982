import { archiverEnvSchema, ingestEnvSchema } from '../../libs/config/env.js';
import { loadEnvOrExit, runServices } from '../../libs/lifecycle/run-services.js';
import { startArchiver } from '../archiver/archiver-service.js';
import { startIngest } from '../ingest/ingest-service.js';

/**
 * The single-machine install (`npm start`): every service in one process, each exactly as it
 * runs alone. The archiver starts first so the schema exists before ingest takes events.
 */
const schema = ingestEnvSchema.extend(archiverEnvSchema.shape);
const env = loadEnvOrExit(schema);
await runServices('hikhub', env, [(logger) => startArchiver(env, logger.child({ component: 'archiver' })), (logger) => startIngest(env, logger.child({ component: 'ingest' }))]);
