import { parseArgs } from 'node:util';
import { pushEvents, type PushOptions } from './event-pusher.js';
import { NVR_CHANNELS, parseFleetMix } from './fleet.js';
import { DEFAULT_PASSWORD, DEFAULT_USERNAME, startSimulatedTerminal, type SimulatedTerminal } from './terminal.js';

/** `npm run simulate -- <command>`: simulated Hikvision terminals and event pushers for trying hikhub. */

const USAGE = `Usage: npm run simulate -- <command> [options]

Commands:
  terminals   Start simulated ISAPI face terminals until Ctrl-C.
      --count N            how many (default 1), on consecutive ports
      --port P             first port (default 8300; 0 = any free port)
      --host H             listen address (default 127.0.0.1)
      --latency-ms MS      delay added to every answer (default 0)
      --username U         Digest user (default ${DEFAULT_USERNAME})
      --password P         Digest password (default ${DEFAULT_PASSWORD})
      --xml-namespace NS   isapi | hikvision (default isapi)

  push        Simulated devices posting events to a URL, then print the result as JSON.
      --url URL            where to post, e.g. http://127.0.0.1:8080/hikvision/events (required)
      --devices N          simulated devices (default 1)
      --rate R             events per second, all devices together (default 10)
      --count N | --duration-s S   when to stop (one is required)
      --heartbeat-s S      each device sends a heartBeat every S seconds
      --pictures F         face terminal events with a picture: fraction 0..1, or every Nth event when > 1
      --fleet MIX          kinds of device, e.g. face-terminal=0.4,camera=0.4,nvr=0.2 (default: face terminals
                           only); cameras and NVRs post XML alerts, NVRs on ${NVR_CHANNELS} channels
      --digest-user U --digest-password P   answer 401 Digest challenges
      --concurrency N      requests in flight at most (default 16)

  --help      This text.

Each terminal also answers an unauthenticated control API under /_sim/ (state, faults,
latency, users, reboot); see tools/simulator/control-api.ts.
`;

function numberOption(values: Record<string, unknown>, name: string, fallback?: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
}

function onShutdown(handler: () => void): void {
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

async function runTerminals(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      count: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'latency-ms': { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      'xml-namespace': { type: 'string' },
    },
  });
  const count = numberOption(values, 'count', 1)!;
  const firstPort = numberOption(values, 'port', 8300)!;
  const namespace = values['xml-namespace'] ?? 'isapi';
  if (namespace !== 'isapi' && namespace !== 'hikvision') throw new Error('--xml-namespace must be isapi or hikvision');
  const terminals: SimulatedTerminal[] = [];
  const closeAll = () => Promise.allSettled(terminals.map((terminal) => terminal.close()));
  try {
    for (let index = 0; index < count; index += 1) {
      terminals.push(
        await startSimulatedTerminal({
          host: values.host ?? '127.0.0.1',
          port: firstPort === 0 ? 0 : firstPort + index,
          latencyMs: numberOption(values, 'latency-ms', 0),
          username: values.username ?? DEFAULT_USERNAME,
          password: values.password ?? DEFAULT_PASSWORD,
          xmlNamespace: namespace,
        }),
      );
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  for (const terminal of terminals) {
    console.log(`${terminal.url}  user=${terminal.username} password=${terminal.password}  realm=${terminal.realm}  serial=${terminal.identity.serialNumber}  mac=${terminal.identity.macAddress}  control=${terminal.url}/_sim/state`);
  }
  console.log(`${terminals.length} terminal(s) running; Ctrl-C to stop.`);
  await new Promise<void>((resolve) => onShutdown(resolve));
  await closeAll();
  console.log('terminals closed');
}

async function runPush(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      devices: { type: 'string' },
      rate: { type: 'string' },
      count: { type: 'string' },
      'duration-s': { type: 'string' },
      'heartbeat-s': { type: 'string' },
      pictures: { type: 'string' },
      fleet: { type: 'string' },
      'digest-user': { type: 'string' },
      'digest-password': { type: 'string' },
      concurrency: { type: 'string' },
    },
  });
  if (!values.url) throw new Error('--url is required');
  const durationS = numberOption(values, 'duration-s');
  const heartbeatS = numberOption(values, 'heartbeat-s');
  const user = values['digest-user'];
  const password = values['digest-password'];
  if ((user === undefined) !== (password === undefined)) throw new Error('give both --digest-user and --digest-password');
  const controller = new AbortController();
  onShutdown(() => controller.abort());
  const options: PushOptions = {
    url: values.url,
    devices: numberOption(values, 'devices', 1)!,
    ratePerSecond: numberOption(values, 'rate', 10)!,
    count: numberOption(values, 'count'),
    durationMs: durationS === undefined ? undefined : durationS * 1000,
    heartbeatEveryMs: heartbeatS === undefined ? undefined : heartbeatS * 1000,
    pictureEvery: numberOption(values, 'pictures'),
    ...(values.fleet !== undefined ? { fleet: parseFleetMix(values.fleet) } : {}),
    concurrency: numberOption(values, 'concurrency'),
    signal: controller.signal,
    ...(user !== undefined && password !== undefined ? { digest: { username: user, password } } : {}),
  };
  console.log(JSON.stringify(await pushEvents(options), null, 2));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help' || rest.includes('--help')) {
    console.log(USAGE);
    return;
  }
  if (command === 'terminals') return runTerminals(rest);
  if (command === 'push') return runPush(rest);
  throw new Error(`unknown command ${command}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`simulate: ${(error as Error).message}\n`);
  console.error(USAGE);
  process.exitCode = 1;
});
