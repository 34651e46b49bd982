import { isServiceName, serviceCommands, usage } from './services.js';

/**
 * The image's entrypoint: `docker run hikhub <command>` runs that service in this very process
 * (an import, not a child), so node stays PID 1 and SIGTERM reaches the service's own handler.
 */
const name = process.argv[2];
if (name === 'help' || name === '--help' || name === '-h') {
  process.stdout.write(usage());
} else if (!isServiceName(name)) {
  process.stderr.write(`${name === undefined ? 'no command given' : `unknown command: ${name}`}\n\n${usage()}`);
  process.exitCode = 64; // EX_USAGE
} else {
  await import(new URL(`../../${serviceCommands[name].entry}`, import.meta.url).href);
}
