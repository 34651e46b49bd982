import { ingestEnvSchema } from '../../libs/config/env.js';
import { loadEnvOrExit, runServices } from '../../libs/lifecycle/run-services.js';
import { startIngest } from './ingest-service.js';

/** Entry point of the ingest service alone (`npm run start:ingest`, and the container command). */
const env = loadEnvOrExit(ingestEnvSchema);
await runServices('ingest', env, [(logger) => startIngest(env, logger)]);
