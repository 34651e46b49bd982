import { randomBytes } from 'node:crypto';
import type { IsapiClient } from './client.js';
import { IsapiError } from './errors.js';
import { asArray, asNumber, asRecord, asString } from './response-body.js';

/**
 * The AccessControl search protocol shared by UserInfo and CardInfo: one searchID for the whole
 * search, `searchResultPosition += numOfMatches`, until `OK` or `NO MATCH` (also spelled `NOMATCH`).
 */

export interface PagedSearch {
  operation: string;
  path: string;
  /** Request root, e.g. 'UserInfoSearchCond'. */
  conditionRoot: string;
  /** Extra condition fields, e.g. `{ EmployeeNoList: [...] }`. */
  condition: Record<string, unknown>;
  /** Response root, e.g. 'UserInfoSearch'. */
  resultRoot: string;
  /** Row list inside the response root, e.g. 'UserInfo'. */
  rowsKey: string;
  pageSize: number;
}

export const newSearchId = (): string => randomBytes(8).toString('hex');

export async function* pagedSearch(client: IsapiClient, search: PagedSearch): AsyncGenerator<Record<string, unknown>> {
  const searchID = newSearchId();
  let position = 0;
  for (;;) {
    const { body } = await client.request({
      operation: search.operation,
      method: 'POST',
      path: search.path,
      json: { [search.conditionRoot]: { searchID, searchResultPosition: position, maxResults: search.pageSize, ...search.condition } },
    });
    const result = asRecord(body?.[search.resultRoot]);
    if (result === undefined) throw malformed(search, `response has no ${search.resultRoot}`);
    const status = (asString(result['responseStatusStrg']) ?? '').replace(/\s+/g, '').toUpperCase();
    if (status === 'NOMATCH') return;
    const rows = asArray(result[search.rowsKey]).map(asRecord).filter((row): row is Record<string, unknown> => row !== undefined);
    yield* rows;
    if (status === 'OK') return;
    if (status !== 'MORE') throw malformed(search, `unknown responseStatusStrg ${JSON.stringify(status)}`);
    const advanced = asNumber(result['numOfMatches']) ?? rows.length;
    // MORE with an empty page would ask for the same position forever.
    if (advanced <= 0) throw malformed(search, `page at position ${position} returned no rows but says MORE`);
    position += advanced;
  }
}

function malformed(search: PagedSearch, detail: string): IsapiError {
  return new IsapiError({ errorClass: 'limited_retry', operation: search.operation, subStatusCode: 'badSearchResponse', detail });
}
