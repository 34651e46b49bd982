import net from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestWorld, startTestArchiver } from '../helpers/archiver.js';
import { fixtureNames, haveFixtures, MISSING_FIXTURES_MESSAGE, readFixture, splitHttpCapture } from '../helpers/fixtures.js';
import { startTestIngest } from '../helpers/ingest.js';
import { waitFor } from '../helpers/wait.js';
import { prng } from '../helpers/prng.js';

/**
 * Seeded, bounded fuzzing of the device port with requests built from ../shared/fixtures:
 * originals, truncations, byte flips, splices, random bytes, broken multipart framing, wrong
 * Content-Length. Proves: nothing crashes, every request is answered, and every 2xx ends as an
 * events row or a quarantined_events row (or is counted as a resend of an archived event).
 * Reproduce a failure with EDGE_FUZZ_SEED=<seed shown in the failure>.
 */

if (!haveFixtures) console.warn(MISSING_FIXTURES_MESSAGE);

const SEED = Number(process.env.EDGE_FUZZ_SEED ?? 0x5eed_2026);
const REQUESTS = 300;
const PARALLEL = 8;

interface Sample {
  contentType: string;
  body: Buffer;
}

function samples(): Sample[] {
  const out: Sample[] = [];
  for (const name of fixtureNames()) {
    const bytes = readFixture(name);
    if (name.endsWith('.http')) {
      const capture = splitHttpCapture(bytes);
      out.push({ contentType: capture.headers['content-type'] ?? '', body: capture.body });
    } else if (name.endsWith('.xml')) out.push({ contentType: 'application/xml', body: bytes });
    else if (name.endsWith('.json')) out.push({ contentType: 'application/json', body: bytes });
    else if (name.endsWith('.jsonl.txt')) {
      for (const line of bytes.toString('utf8').split('\n').filter(Boolean).slice(0, 5)) {
        const parsed = JSON.parse(line) as { content?: string };
        if (typeof parsed.content === 'string') out.push({ contentType: 'application/xml', body: Buffer.from(parsed.content) });
      }
    }
  }
  return out;
}

type Framing = 'exact' | 'declared_short' | 'declared_long' | 'chunked' | 'bad_length';

interface FuzzCase {
  label: string;
  contentType: string;
  body: Buffer;
  framing: Framing;
}

function makeCase(random: () => number, pool: Sample[]): FuzzCase {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const sample = pick(pool);
  let body = Buffer.from(sample.body);
  let contentType = sample.contentType;
  const mutation = pick(['original', 'truncate', 'flip', 'splice', 'random', 'boundary', 'swap_type', 'repeat'] as const);
  switch (mutation) {
    case 'truncate':
      body = body.subarray(0, Math.floor(random() * body.length));
      break;
    case 'flip':
      for (let i = 0, n = 1 + Math.floor(random() * 20); i < n && body.length; i++) body[Math.floor(random() * body.length)] = Math.floor(random() * 256);
      break;
    case 'splice': {
      const other = pick(pool).body;
      const at = Math.floor(random() * body.length);
      body = Buffer.concat([body.subarray(0, at), other.subarray(Math.floor(random() * other.length))]);
      break;
    }
    case 'random':
      body = Buffer.from(Array.from({ length: Math.floor(random() * 4096) }, () => Math.floor(random() * 256)));
      break;
    case 'boundary':
      contentType = pick(['multipart/form-data', 'multipart/form-data; boundary=', 'multipart/form-data; boundary=nope', `multipart/mixed; boundary="${'b'.repeat(300)}"`]);
      break;
    case 'swap_type':
      contentType = pick(['application/json', 'application/xml', 'text/plain', 'image/jpeg', '', 'multipart/form-data; boundary=MIME_boundary']);
      break;
    case 'repeat':
      body = Buffer.concat([body, body, body]);
      break;
    case 'original':
      break;
  }
  const framing = pick(['exact', 'exact', 'exact', 'exact', 'declared_short', 'declared_long', 'chunked', 'bad_length'] as const);
  return { label: `${mutation}/${framing}`, contentType, body, framing };
}

function encode(fuzz: FuzzCase): Buffer {
  const head = ['POST /fuzz/events HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close'];
  if (fuzz.contentType) head.push(`Content-Type: ${fuzz.contentType.replace(/[\r\n]/g, '')}`);
  let body = fuzz.body;
  switch (fuzz.framing) {
    case 'exact':
      head.push(`Content-Length: ${body.length}`);
      break;
    case 'declared_short':
      head.push(`Content-Length: ${Math.floor(body.length / 2)}`);
      break;
    case 'declared_long':
      head.push(`Content-Length: ${body.length + 1 + (body.length % 97)}`);
      break;
    case 'chunked':
      head.push('Transfer-Encoding: chunked');
      body = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'bad_length':
      head.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 3}`);
      break;
  }
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** Send (without half-closing, as devices do) and read the first status line and x-event-id until the server closes. */
function exchange(port: number, bytes: Buffer): Promise<{ status: number | null; eventId: string | null }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      resolve({ status: status ? Number(status) : null, eventId: /\r\nx-event-id: ([0-9a-f-]+)/i.exec(text)?.[1] ?? null });
    };
    const timer = setTimeout(finish, 15_000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', finish);
    socket.on('error', () => {});
    socket.write(bytes);
  });
}

describe.skipIf(!haveFixtures)('fuzzing the device port (seeded, bounded)', () => {
  let world: Awaited<ReturnType<typeof createTestWorld>>;
  let archiver: Awaited<ReturnType<typeof startTestArchiver>>;
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;

  beforeAll(async () => {
    world = await createTestWorld('edge-fuzz');
    // Heartbeats archived too, so every accepted request has a row to look for. Short timeouts: a
    // body shorter than its Content-Length is answered 408 once the request timeout passes.
    archiver = await startTestArchiver({ ...world.env, ARCHIVE_HEARTBEATS: 'true' });
    ingest = await startTestIngest({ QUEUE_PREFIX: world.prefix, INGEST_MAX_BODY: '2MiB', INGEST_HEADERS_TIMEOUT_MS: '1000', INGEST_REQUEST_TIMEOUT_MS: '2000' });
  }, 60_000);

  afterAll(async () => {
    await ingest?.stop();
    await archiver?.stop();
    await world?.teardown();
  });

  it(`answers every request and archives or quarantines every 2xx (seed ${SEED})`, async () => {
    const random = prng(SEED);
    const pool = samples();
    const cases = Array.from({ length: REQUESTS }, () => makeCase(random, pool));
    const results: { fuzz: FuzzCase; status: number | null; eventId: string | null }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < cases.length) {
          const fuzz = cases[next++]!;
          results.push({ fuzz, ...(await exchange(ingest.port, encode(fuzz))) });
        }
      }),
    );

    const unanswered = results.filter((result) => result.status === null || result.status < 200 || result.status > 599);
    expect(unanswered.map((result) => result.fuzz.label), `seed ${SEED}`).toEqual([]);
    const accepted = results.filter((result) => result.status === 200).map((result) => result.eventId!);
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);

    await waitFor(async () => {
      const counts = await world.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    }, 90_000, 'the archiver to drain the queue');
    expect((await world.queue.getJobCounts('failed')).failed, `seed ${SEED}`).toBe(0);

    const rows = await world.db.selectFrom('events').select('id').where('id', 'in', accepted).execute();
    const quarantined = await world.db.selectFrom('quarantined_events').select('id').where('id', 'in', accepted).execute();
    const found = new Set([...rows, ...quarantined].map((row) => row.id));
    const missing = accepted.filter((id) => !found.has(id));
    // A request whose event was already archived (the same fixture resent) is a duplicate: counted, not a second row.
    const metrics = await (await fetch(`http://127.0.0.1:${archiver.metricsPort}/metrics`)).text();
    const duplicates = [...metrics.matchAll(/hikhub_archiver_events_total\{outcome="duplicate"[^}]*\} (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(missing.length, `seed ${SEED}: accepted requests neither archived, quarantined nor counted as duplicates`).toBe(duplicates);
    const [{ n } = { n: '0' }] = (await sql<{ n: string }>`select count(*) as n from events where id = any(${accepted}::uuid[])`.execute(world.db)).rows;
    expect(Number(n)).toBe(rows.length);

    // Still serving.
    expect((await exchange(ingest.port, encode({ label: 'after', contentType: 'application/xml', body: Buffer.from('<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>'), framing: 'exact' }))).status).toBe(200);
  }, 150_000);
});
