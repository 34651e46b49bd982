import { provisionerEnvSchema } from '../../libs/config/env.js';
import { loadEnvOrExit, runServices } from '../../libs/lifecycle/run-services.js';
import { startProvisioner } from './provisioner-service.js';

/** Entry point of the provisioner alone (`npm run start:provisioner`, and the container command). */
const env = loadEnvOrExit(provisionerEnvSchema);
await runServices('provisioner', env, [(logger) => startProvisioner(env, logger)]);
