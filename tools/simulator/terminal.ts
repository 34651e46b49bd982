import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDigestChallenge } from '../../libs/digest/digest.js';
import { cardRoutes } from './card-routes.js';
import { handleControlRequest } from './control-api.js';
import { DigestGuard, type AuthVerdict } from './digest-guard.js';
import { faceRoutes } from './face-routes.js';
import { FaultQueue, type FaultKind, type FaultSpec } from './faults.js';
import { httpHostRoutes, HttpHostSlots, type HttpHostSlot } from './http-hosts.js';
import { JSON_TYPE, userCheckBody, XML_NAMESPACES, XML_TYPE, type Reply, type XmlNamespaceKind } from './responses.js';
import { dispatch, familyForPath, renderFailure, type RequestContext, type Route } from './routing.js';
import { DEFAULT_CAPACITY, TerminalStore, type SimCard, type SimFace, type SimUser, type TerminalCapacity } from './store.js';
import { defaultIdentity, defaultRealm, systemRoutes, type TerminalIdentity } from './system-routes.js';
import { userRoutes } from './user-routes.js';

/**
 * A simulated Hikvision face terminal (DS-K1T671-like) speaking ISAPI over HTTP with Digest, for
 * the provisioner's tests and for trying hikhub without hardware. Behaviour follows
 * ../shared/research/isapi-provisioning.md §11. `/_sim/*` is an unauthenticated control API so
 * a terminal in another process can be driven (see control-api.ts).
 */

export interface SimulatedTerminalOptions {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  /** Default: `DS-` + 8 hex characters derived from the serial, like a DS-K1T673. */
  realm?: string;
  serialNumber?: string;
  model?: string;
  firmwareVersion?: string;
  macAddress?: string;
  deviceName?: string;
  nonceLifetimeMs?: number;
  /** Wrong logins per client IP before the illegal-login lock. */
  lockoutThreshold?: number;
  lockoutMs?: number;
  capacity?: Partial<TerminalCapacity>;
  /** Added before every ISAPI answer, 401s included. */
  latencyMs?: number;
  xmlNamespace?: XmlNamespaceKind;
  /** Errors answered with HTTP 200 and the error body, as some firmware does. */
  errorBodyWith200?: boolean;
  /** JSON labelled as XML and XML as JSON. */
  wrongContentType?: boolean;
  httpHostSlots?: number;
  /** How long UserInfoDetail/DeleteProcess keeps saying `processing`. */
  deleteProcessingMs?: number;
  /** Milliseconds clock for nonce expiry, locks and DeleteProcess; tests pass a fake one. */
  clock?: () => number;
}

export interface RequestLogEntry {
  at: string;
  clientIp: string;
  method: string;
  /** The request-target, query included. */
  path: string;
  /** null when no answer was written (drop, lose-response, hang). */
  httpStatus: number | null;
  subStatusCode?: string;
  fault?: FaultKind;
}

export type NewSimUser = Partial<SimUser> & { employeeNo: string };

export interface TerminalState {
  url: string;
  realm: string;
  identity: TerminalIdentity;
  users: SimUser[];
  cards: SimCard[];
  faces: { FPID: string; FDID: string; faceLibType: string; bytes: number }[];
  httpHosts: HttpHostSlot[];
  authFailures: number;
  lockedRejections: number;
  locks: { ip: string; unlockInSeconds: number }[];
  requestsByPath: Record<string, number>;
  concurrentRequests: number;
  maxConcurrentRequests: number;
  latencyMs: number;
  errorBodyWith200: boolean;
  wrongContentType: boolean;
  pendingFaults: ReturnType<FaultQueue['snapshot']>;
}

export interface SimulatedTerminal {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly realm: string;
  readonly identity: TerminalIdentity;
  /** Wrong credentials seen (Digest, or Basic carrying a password). */
  readonly authFailures: number;
  /** Every request received per pathname (query left out), 401 handshakes included. */
  readonly requestsByPath: Readonly<Record<string, number>>;
  readonly requestLog: readonly RequestLogEntry[];
  /**
   * Authenticated ISAPI requests in flight now: counted from the moment a request passed Digest
   * until its answer is written (or its socket closes: drop, lose-response, hang). 401 answers
   * (handshakes, wrong logins) and `/_sim/*` never count — they have no side effect.
   */
  readonly concurrentRequests: number;
  /** The highest `concurrentRequests` seen since start (or since `resetConcurrency()`). */
  readonly maxConcurrentRequests: number;
  /** Restarts `maxConcurrentRequests` from the current `concurrentRequests`. */
  resetConcurrency(): void;
  setLatency(ms: number): void;
  queueFault(fault: FaultSpec): void;
  clearFaults(): void;
  setErrorBodyWith200(enabled: boolean): void;
  setWrongContentType(enabled: boolean): void;
  /** Tamper: a person written behind hikhub's back (bypasses validation and capacity). */
  addUser(user: NewSimUser): void;
  /** Tamper: removes the person with their cards and face. */
  removeUser(employeeNo: string): boolean;
  users(): SimUser[];
  cards(): SimCard[];
  faces(): SimFace[];
  httpHosts(): HttpHostSlot[];
  state(): TerminalState;
  /** Forgets nonces, failure counts and locks; people, cards, faces and push targets survive. */
  reboot(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;
const MAX_LOG_ENTRIES = 10_000;

export const DEFAULT_USERNAME = 'admin';
export const DEFAULT_PASSWORD = 'Sim-Password-1';

class Terminal implements SimulatedTerminal {
  readonly requestsByPath: Record<string, number> = {};
  readonly requestLog: RequestLogEntry[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly closing = new AbortController();
  private readonly store: TerminalStore;
  private readonly slots: HttpHostSlots;
  private readonly guard: DigestGuard;
  private readonly faultQueue = new FaultQueue();
  private readonly routes: Route[];
  private readonly namespace: string;
  private latencyMs: number;
  private errorBodyWith200: boolean;
  private wrongContentType: boolean;
  private inFlight = 0;
  private maxInFlight = 0;
  host = '';
  port = 0;

  constructor(
    readonly identity: TerminalIdentity,
    readonly username: string,
    readonly password: string,
    readonly realm: string,
    options: SimulatedTerminalOptions,
  ) {
    this.store = new TerminalStore({ ...DEFAULT_CAPACITY, ...options.capacity });
    this.slots = new HttpHostSlots(options.httpHostSlots ?? 3);
    this.guard = new DigestGuard({
      username,
      password,
      realm,
      nonceLifetimeMs: options.nonceLifetimeMs ?? 60_000,
      lockoutThreshold: options.lockoutThreshold ?? 5,
      lockoutMs: options.lockoutMs ?? 30 * 60_000,
      now: options.clock,
    });
    this.namespace = XML_NAMESPACES[options.xmlNamespace ?? 'isapi'];
    this.latencyMs = options.latencyMs ?? 0;
    this.errorBodyWith200 = options.errorBodyWith200 ?? false;
    this.wrongContentType = options.wrongContentType ?? false;
    this.routes = [
      ...systemRoutes(identity, this.namespace),
      ...userRoutes(this.store, { deleteProcessingMs: options.deleteProcessingMs ?? 300, now: options.clock }),
      ...cardRoutes(this.store),
      ...faceRoutes(this.store),
      ...httpHostRoutes(this.slots, this.namespace),
    ];
    // Some older devices send no Host header; the simulator is as tolerant as the devices' peers.
    this.server = http.createServer({ requireHostHeader: false }, (request, response) => {
      this.handle(request, response).catch(() => request.socket.destroy());
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  get authFailures(): number {
    return this.guard.authFailures;
  }

  get concurrentRequests(): number {
    return this.inFlight;
  }

  get maxConcurrentRequests(): number {
    return this.maxInFlight;
  }

  resetConcurrency(): void {
    this.maxInFlight = this.inFlight;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address() as AddressInfo;
        this.host = host;
        this.port = address.port;
        resolve();
      });
    });
  }

  setLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error('latency must be a non-negative number of milliseconds');
    this.latencyMs = ms;
  }

  queueFault(fault: FaultSpec): void {
    this.faultQueue.add(fault);
  }

  clearFaults(): void {
    this.faultQueue.clear();
  }

  setErrorBodyWith200(enabled: boolean): void {
    this.errorBodyWith200 = enabled;
  }

  setWrongContentType(enabled: boolean): void {
    this.wrongContentType = enabled;
  }

  addUser(user: NewSimUser): void {
    if (typeof user.employeeNo !== 'string' || user.employeeNo === '') throw new Error('addUser needs an employeeNo');
    this.store.users.set(user.employeeNo, {
      name: `User ${user.employeeNo}`,
      userType: 'normal',
      Valid: { enable: true, beginTime: '2024-01-01T00:00:00', endTime: '2035-12-31T23:59:59', timeType: 'local' },
      doorRight: '1',
      RightPlan: [{ doorNo: 1, planTemplateNo: '1' }],
      ...structuredClone(user),
    });
  }

  removeUser(employeeNo: string): boolean {
    return this.store.removeUser(employeeNo);
  }

  users(): SimUser[] {
    return structuredClone([...this.store.users.values()]);
  }

  cards(): SimCard[] {
    return [...this.store.cards.values()].map((card) => ({ ...card }));
  }

  faces(): SimFace[] {
    return [...this.store.faces.values()].map((face) => ({ ...face, bytes: Buffer.from(face.bytes) }));
  }

  httpHosts(): HttpHostSlot[] {
    return this.slots.list();
  }

  state(): TerminalState {
    return {
      url: this.url,
      realm: this.realm,
      identity: this.identity,
      users: this.users(),
      cards: this.cards(),
      faces: this.faces().map(({ bytes, ...face }) => ({ ...face, bytes: bytes.length })),
      httpHosts: this.httpHosts(),
      authFailures: this.guard.authFailures,
      lockedRejections: this.guard.lockedRejections,
      locks: this.guard.locks(),
      requestsByPath: { ...this.requestsByPath },
      concurrentRequests: this.inFlight,
      maxConcurrentRequests: this.maxInFlight,
      latencyMs: this.latencyMs,
      errorBodyWith200: this.errorBodyWith200,
      wrongContentType: this.wrongContentType,
      pendingFaults: this.faultQueue.snapshot(),
    };
  }

  reboot(): void {
    this.guard.reset();
  }

  close(): Promise<void> {
    this.closing.abort();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const target = request.url ?? '/';
    const method = request.method ?? 'GET';
    const url = new URL(target, 'http://simulator');
    const body = await readBody(request);
    if (url.pathname.startsWith('/_sim/')) {
      return this.write(response, handleControlRequest(this, method, url.pathname, body));
    }

    this.requestsByPath[url.pathname] = (this.requestsByPath[url.pathname] ?? 0) + 1;
    const clientIp = request.socket.remoteAddress ?? 'unknown';
    const log = (httpStatus: number | null, subStatusCode?: string, fault?: FaultKind) =>
      this.log({ at: new Date().toISOString(), clientIp, method, path: target, httpStatus, ...(subStatusCode ? { subStatusCode } : {}), ...(fault ? { fault } : {}) });

    const verdict = this.guard.check(method, target, request.headers.authorization, clientIp);
    if (verdict.kind !== 'ok') {
      const reply = this.unauthorized(verdict);
      log(reply.status, reply.subStatusCode);
      return this.respond(response, reply);
    }

    const finished = this.startRequest(request.socket);
    const fault = this.faultQueue.take(method, target);
    if (fault?.kind === 'drop' || fault?.kind === 'hang') {
      log(null, undefined, fault.kind);
      if (fault.kind === 'drop') request.socket.destroy();
      return; // in flight until the socket closes (a hang: until the client gives up or the terminal closes)
    }
    const context: RequestContext = { method, target, pathname: url.pathname, query: url.searchParams, headers: request.headers, body };
    const reply = fault?.tuple
      ? renderFailure(familyForPath(url.pathname), this.namespace, url.pathname, fault.tuple)
      : await dispatch(this.routes, context, this.namespace);
    if (fault?.kind === 'lose-response') {
      log(null, reply.subStatusCode, fault.kind);
      request.socket.destroy();
      return;
    }
    const shown = this.withQuirks(reply);
    log(shown.status, shown.subStatusCode, fault?.kind);
    return this.respond(response, shown, finished);
  }

  /** Counts an authenticated request in flight; the returned function (idempotent) ends it, as does its socket closing. */
  private startRequest(socket: Socket): () => void {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let open = true;
    const finished = () => {
      if (!open) return;
      open = false;
      this.inFlight -= 1;
      socket.off('close', finished);
    };
    socket.on('close', finished);
    return finished;
  }

  private unauthorized(verdict: Exclude<AuthVerdict, { kind: 'ok' }>): Reply {
    const challenge = formatDigestChallenge({
      realm: this.realm,
      nonce: this.guard.issueNonce(),
      qop: 'auth',
      stale: verdict.kind === 'challenge' && verdict.stale,
      opaque: '',
      domain: '::',
    });
    const locked = verdict.kind === 'locked';
    return {
      status: 401,
      contentType: XML_TYPE,
      body: userCheckBody(locked ? { locked, unlockInSeconds: verdict.unlockInSeconds } : { locked, retryLoginTime: verdict.retryLoginTime }),
      subStatusCode: locked ? 'locked' : `unauthorized:${verdict.reason}`,
      headers: { 'WWW-Authenticate': challenge },
    };
  }

  private withQuirks(reply: Reply): Reply {
    let shown = reply;
    if (this.errorBodyWith200 && reply.status >= 400 && reply.subStatusCode) shown = { ...shown, status: 200 };
    if (this.wrongContentType && (reply.contentType === JSON_TYPE || reply.contentType === XML_TYPE)) {
      shown = { ...shown, contentType: reply.contentType === JSON_TYPE ? 'text/xml' : 'application/json' };
    }
    return shown;
  }

  private async respond(response: http.ServerResponse, reply: Reply, written?: () => void): Promise<void> {
    if (this.latencyMs > 0) {
      try {
        await sleep(this.latencyMs, undefined, { signal: this.closing.signal });
      } catch {
        return; // closing: the socket is being destroyed (which ends the request in flight)
      }
    }
    this.write(response, reply);
    // Written before the client can read it: a client that waits for the answer never overlaps.
    written?.();
  }

  private write(response: http.ServerResponse, reply: Reply): void {
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
    response.writeHead(reply.status, { 'Content-Type': reply.contentType, 'Content-Length': body.length, ...reply.headers });
    response.end(body);
  }

  private log(entry: RequestLogEntry): void {
    this.requestLog.push(entry);
    if (this.requestLog.length > MAX_LOG_ENTRIES) this.requestLog.splice(0, this.requestLog.length - MAX_LOG_ENTRIES);
  }
}

function readBody(request: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.socket.destroy();
        reject(new Error('request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export async function startSimulatedTerminal(options: SimulatedTerminalOptions = {}): Promise<SimulatedTerminal> {
  const identity = defaultIdentity({
    ...(options.serialNumber ? { serialNumber: options.serialNumber } : {}),
    ...(options.model ? { model: options.model } : {}),
    ...(options.firmwareVersion ? { firmwareVersion: options.firmwareVersion } : {}),
    ...(options.macAddress ? { macAddress: options.macAddress } : {}),
    ...(options.deviceName ? { deviceName: options.deviceName } : {}),
  });
  const terminal = new Terminal(
    identity,
    options.username ?? DEFAULT_USERNAME,
    options.password ?? DEFAULT_PASSWORD,
    options.realm ?? defaultRealm(identity.serialNumber),
    options,
  );
  await terminal.listen(options.host ?? '127.0.0.1', options.port ?? 0);
  return terminal;
}
