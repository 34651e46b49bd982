import { apiEnvSchema } from '../../libs/config/env.js';
import { loadEnvOrExit, runServices } from '../../libs/lifecycle/run-services.js';
import { startApi } from './api-service.js';

/** Entry point of the admin API alone (`npm run start:api`, and the container command). */
const env = loadEnvOrExit(apiEnvSchema);
await runServices('api', env, [(logger) => startApi(env, logger)]);
