import { parseFaultSpec } from './faults.js';
import { jsonReply, type Reply } from './responses.js';
import type { NewSimUser, SimulatedTerminal } from './terminal.js';
import { isObject } from './validation.js';

/**
 * The unauthenticated `/_sim/*` control API: the SimulatedTerminal methods over HTTP, so the CLI or
 * a test in another process can drive a terminal. Bodies and answers are JSON.
 *
 *   GET    /_sim/state                   identity, users, cards, faces (sizes), httpHosts, counters
 *   GET    /_sim/requests                the request log
 *   POST   /_sim/faults                  {kind, times?, match?: {method?, pathIncludes?}, error?}
 *   DELETE /_sim/faults                  drop pending faults
 *   POST   /_sim/latency                 {ms}
 *   POST   /_sim/error-body-with-200     {enabled}
 *   POST   /_sim/wrong-content-type      {enabled}
 *   POST   /_sim/users                   a UserInfo object (or {UserInfo: …}) written behind hikhub's back
 *   DELETE /_sim/users/<employeeNo>      removes the person, their cards and face
 *   POST   /_sim/reboot                  clears nonces, failure counts and locks
 */

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (isObject(value)) return value;
  } catch {
    // answered below
  }
  throw new ControlError(400, 'the body must be a JSON object');
}

function requireBoolean(body: Record<string, unknown>, key: string): boolean {
  if (typeof body[key] !== 'boolean') throw new ControlError(400, `${key} must be a boolean`);
  return body[key];
}

function route(terminal: SimulatedTerminal, method: string, pathname: string, body: Buffer): unknown {
  const action = `${method} ${pathname}`;
  switch (action) {
    case 'GET /_sim/state':
      return terminal.state();
    case 'GET /_sim/requests':
      return { requests: terminal.requestLog };
    case 'POST /_sim/faults':
      try {
        terminal.queueFault(parseFaultSpec(parseBody(body)));
      } catch (error) {
        throw error instanceof ControlError ? error : new ControlError(400, (error as Error).message);
      }
      return { pendingFaults: terminal.state().pendingFaults };
    case 'DELETE /_sim/faults':
      terminal.clearFaults();
      return { pendingFaults: [] };
    case 'POST /_sim/latency': {
      const ms = parseBody(body).ms;
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new ControlError(400, 'ms must be a non-negative number');
      terminal.setLatency(ms);
      return { latencyMs: ms };
    }
    case 'POST /_sim/error-body-with-200': {
      const enabled = requireBoolean(parseBody(body), 'enabled');
      terminal.setErrorBodyWith200(enabled);
      return { errorBodyWith200: enabled };
    }
    case 'POST /_sim/wrong-content-type': {
      const enabled = requireBoolean(parseBody(body), 'enabled');
      terminal.setWrongContentType(enabled);
      return { wrongContentType: enabled };
    }
    case 'POST /_sim/users': {
      const parsed = parseBody(body);
      const user = isObject(parsed.UserInfo) ? parsed.UserInfo : parsed;
      if (typeof user.employeeNo !== 'string' || user.employeeNo === '') throw new ControlError(400, 'employeeNo must be a non-empty string');
      terminal.addUser(user as NewSimUser);
      return { employeeNo: user.employeeNo };
    }
    case 'POST /_sim/reboot':
      terminal.reboot();
      return { rebooted: true };
  }
  const userPath = /^\/_sim\/users\/([^/]+)$/.exec(pathname);
  if (userPath && method === 'DELETE') {
    const employeeNo = decodeURIComponent(userPath[1]!);
    if (!terminal.removeUser(employeeNo)) throw new ControlError(404, `no user ${employeeNo}`);
    return { removed: employeeNo };
  }
  throw new ControlError(404, `no control route ${action}`);
}

export function handleControlRequest(terminal: SimulatedTerminal, method: string, pathname: string, body: Buffer): Reply {
  try {
    return jsonReply(route(terminal, method, pathname, body));
  } catch (error) {
    if (error instanceof ControlError) return jsonReply({ error: error.message }, error.status);
    throw error;
  }
}
