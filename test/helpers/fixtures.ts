import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Device captures live outside the repository (their sources have no licence for
 * redistribution): `../shared/fixtures` next to the repo root. Suites skip when it is absent.
 */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = path.resolve(repoRoot, '../shared/fixtures');
export const haveFixtures = existsSync(fixturesDir) && readdirSync(fixturesDir).length > 0;
export const MISSING_FIXTURES_MESSAGE = `fixtures not found at ${fixturesDir}: fixture-driven tests are skipped`;

export function fixtureNames(): string[] {
  return haveFixtures ? readdirSync(fixturesDir).sort() : [];
}

export function readFixture(name: string): Buffer {
  return readFileSync(path.join(fixturesDir, name));
}

export interface HttpCapture {
  requestLine: string;
  /** Header names lowercased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  /** Everything after the blank line, byte for byte (Content-Length is not trusted). */
  body: Buffer;
}

/** Splits a raw `.http` capture (request line, headers, CRLF CRLF, body). */
export function splitHttpCapture(capture: Buffer): HttpCapture {
  const end = capture.indexOf('\r\n\r\n');
  if (end === -1) throw new Error('capture has no blank line after its headers');
  const [requestLine = '', ...headerLines] = capture.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { requestLine, headers, body: capture.subarray(end + 4) };
}
