import { describe, expect, it } from 'vitest';
import { ParseFailure, type ParseInput } from '../../../libs/hikvision/event-model.js';
import { parseRequest } from '../../../libs/hikvision/parse-request.js';
import { fixtureNames, haveFixtures, readFixture, splitHttpCapture } from '../../helpers/fixtures.js';
import { prng } from '../../helpers/prng.js';

/**
 * Whatever arrives, parseRequest either returns an event or throws a ParseFailure: never another
 * error type, never a hang. Seeded, so a failure reproduces.
 */

const CASES = 500;
const MAX_MS_PER_CASE = 2_000;

const SYNTHETIC_XML = `<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>10.0.0.5</ipAddress><macAddress>ffffffe8:a0:ed:3c:0:1</macAddress><channelID>1</channelID>
<dateTime>2025-04-06T14:16:04+08:00</dateTime><activePostCount/><eventType>linedetection</eventType>
<eventState>active</eventState><eventDescription>a & b</eventDescription></EventNotificationAlert>`;

function syntheticMultipart(): ParseInput {
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(300, 0x41), Buffer.from([0xff, 0xd9])]);
  const body = Buffer.concat([
    Buffer.from('--MIME_boundary\r\nContent-Disposition: form-data; name="linedetection"\r\nContent-Type: application/xml\r\n\r\n'),
    Buffer.from(SYNTHETIC_XML),
    Buffer.from('\r\n--MIME_boundary\r\nContent-Disposition: form-data; name="lineCrossImage"; filename="x.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'),
    jpeg,
    Buffer.from('\r\n--MIME_boundary--\r\n'),
  ]);
  return { contentType: 'multipart/form-data; boundary=MIME_boundary', body };
}

function seeds(): ParseInput[] {
  const inputs: ParseInput[] = [
    { contentType: 'application/xml', body: Buffer.from(SYNTHETIC_XML) },
    { contentType: 'application/json', body: Buffer.from('{"eventType":"AccessControllerEvent","AccessControllerEvent":{"serialNo":1,"majorEventType":5,"subEventType":75}}') },
    syntheticMultipart(),
  ];
  for (const name of fixtureNames()) {
    const bytes = readFixture(name);
    if (name.endsWith('.http')) {
      const { headers, body } = splitHttpCapture(bytes);
      inputs.push({ contentType: headers['content-type'], body });
    } else if (name.endsWith('.xml')) inputs.push({ contentType: 'application/xml', body: bytes });
    else if (name.endsWith('.json')) inputs.push({ contentType: 'application/json', body: bytes });
  }
  return inputs;
}

const CONTENT_TYPES = [
  undefined,
  '',
  'application/xml',
  'application/json',
  'text/plain',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=MIME_boundary',
  'multipart/mixed; boundary="---------------------------7e13971310878"',
  'application/x-www-form-urlencoded',
];

type Mutation = (body: Buffer, random: () => number) => Buffer;
const at = (body: Buffer, random: () => number) => Math.floor(random() * (body.length + 1));
const randomBytes = (n: number, random: () => number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
const picks = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)]!;

const MUTATIONS: Mutation[] = [
  (body, random) => body.subarray(0, at(body, random)), // truncate
  (body, random) => {
    const copy = Buffer.from(body);
    for (let i = 0; i < 1 + random() * 8; i++) if (copy.length) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
    return copy;
  },
  (body, random) => {
    const i = at(body, random);
    return Buffer.concat([body.subarray(0, i), randomBytes(1 + Math.floor(random() * 64), random), body.subarray(i)]);
  },
  (body, random) => {
    const i = at(body, random);
    return Buffer.concat([body.subarray(0, i), body.subarray(Math.min(body.length, i + 1 + Math.floor(random() * 200)))]);
  },
  (body, random) => {
    const i = at(body, random);
    const j = Math.min(body.length, i + Math.floor(random() * 500));
    return Buffer.concat([body.subarray(0, j), body.subarray(i, j), body.subarray(j)]); // duplicate a slice
  },
  (body, random) => {
    const i = at(body, random);
    const token = picks(['<', '>', '&', '<!DOCTYPE x>', '"', '{', '}', '\r\n', '\r\n\r\n', '--', '--MIME_boundary\r\n', '<a>'.repeat(80), '\u00ff\u00fe', ';'], random);
    return Buffer.concat([body.subarray(0, i), Buffer.from(token, 'latin1'), body.subarray(i)]);
  },
  (_body, random) => randomBytes(Math.floor(random() * 2048), random), // pure garbage
];

async function outcomeOf(input: ParseInput): Promise<'event' | string> {
  try {
    await parseRequest(input);
    return 'event';
  } catch (error) {
    if (error instanceof ParseFailure) return error.code;
    throw error;
  }
}

describe('robustness', () => {
  it(`turns ${CASES} mutated requests into events or ParseFailures only${haveFixtures ? '' : ' (synthetic seeds only: fixtures absent)'}`, async () => {
    const random = prng(0x5eed);
    const inputs = seeds();
    const outcomes = new Map<string, number>();
    for (let n = 0; n < CASES; n++) {
      const seed = picks(inputs, random);
      let body = seed.body;
      const rounds = 1 + Math.floor(random() * 3);
      for (let r = 0; r < rounds; r++) body = picks(MUTATIONS, random)(body, random);
      const contentType = random() < 0.8 ? seed.contentType : picks(CONTENT_TYPES, random);

      const started = performance.now();
      const outcome = await outcomeOf({ contentType, body }).catch((error: unknown) => {
        throw new Error(`case ${n} (${contentType}, ${body.length} bytes) threw a non-ParseFailure: ${String(error)}`);
      });
      expect(performance.now() - started, `case ${n} took too long`).toBeLessThan(MAX_MS_PER_CASE);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    // Sanity: the mix exercised both paths.
    expect(outcomes.get('event') ?? 0).toBeGreaterThan(0);
    expect([...outcomes.keys()].length).toBeGreaterThan(2);
  }, 60_000);

  it('survives truncation of a multipart body at every byte boundary of its framing', async () => {
    const { contentType, body } = syntheticMultipart();
    for (let end = 0; end <= body.length; end += 7) {
      const outcome = await outcomeOf({ contentType, body: body.subarray(0, end) });
      expect(['event', 'empty_body', 'malformed_multipart', 'no_event_document', 'malformed_xml']).toContain(outcome);
    }
  });

  it('rejects classic hostile inputs with a ParseFailure', async () => {
    const hostile: ParseInput[] = [
      { contentType: 'application/xml', body: Buffer.from('<'.repeat(100_000)) },
      { contentType: 'application/xml', body: Buffer.from(`<EventNotificationAlert>${'<a>'.repeat(100_000)}`) },
      { contentType: 'application/json', body: Buffer.from('['.repeat(100_000)) },
      { contentType: 'application/json', body: Buffer.from(`{"eventType":"x","a":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`) },
      { contentType: 'application/json', body: Buffer.from('{"__proto__":{"polluted":1},"eventType":"VMD"}') },
      { contentType: 'multipart/form-data; boundary=a', body: Buffer.from('--a\r\n'.repeat(10_000)) },
      { contentType: `multipart/form-data; boundary=${'x'.repeat(500)}`, body: Buffer.from('--x') },
      { contentType: 'multipart/form-data; boundary=a', body: Buffer.from(`--a\r\n${'Content-Type: x\r\n'.repeat(5_000)}`) },
    ];
    for (const input of hostile) {
      const started = performance.now();
      const outcome = await outcomeOf(input);
      expect(typeof outcome).toBe('string');
      expect(performance.now() - started).toBeLessThan(MAX_MS_PER_CASE);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
