import { archiverEnvSchema } from '../../libs/config/env.js';
import { loadEnvOrExit, runServices } from '../../libs/lifecycle/run-services.js';
import { startArchiver } from './archiver-service.js';

/** Entry point of the archiver alone (`npm run start:archiver`, and the container command). */
const env = loadEnvOrExit(archiverEnvSchema);
await runServices('archiver', env, [(logger) => startArchiver(env, logger)]);
