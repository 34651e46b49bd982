import { fail } from './error-tuples.js';
import { jsonReply, type Reply } from './responses.js';
import type { RequestContext } from './routing.js';
import type { JsonObject } from './store.js';
import { parseJsonBody, requireObject } from './validation.js';

/**
 * Paged searches: the search window a request asks for, the page of matches it gets, and the
 * AccessControl `…/Search` answer built from it (UserInfo and CardInfo alike).
 */

export const MAX_SEARCH_RESULTS = 30;

/** What `<X>SearchCond` capabilities say of the window readSearchWindow accepts. */
export const SEARCH_COND_CAPABILITY = { searchID: { '@min': 1, '@max': 36 }, maxResults: { '@min': 1, '@max': MAX_SEARCH_RESULTS } } as const;

export interface SearchWindow {
  searchID: string;
  position: number;
  maxResults: number;
}

/** `maxResults`: a whole number from 1; above the device's `max` it is clamped, not refused. */
export function readMaxResults(cond: JsonObject, max: number): number {
  const { maxResults } = cond;
  if (!Number.isInteger(maxResults) || (maxResults as number) < 1) throw fail('badJsonContent', 'maxResults');
  return Math.min(maxResults as number, max);
}

export function readSearchWindow(cond: JsonObject): SearchWindow {
  const { searchID, searchResultPosition } = cond;
  if (typeof searchID !== 'string' || searchID === '') throw fail('MessageParametersLack', 'searchID');
  if (searchResultPosition !== undefined && (!Number.isInteger(searchResultPosition) || (searchResultPosition as number) < 0)) {
    throw fail('badJsonContent', 'searchResultPosition');
  }
  return { searchID, position: (searchResultPosition as number | undefined) ?? 0, maxResults: readMaxResults(cond, MAX_SEARCH_RESULTS) };
}

export interface SearchPage<T> {
  responseStatusStrg: 'OK' | 'MORE' | 'NO MATCH';
  numOfMatches: number;
  totalMatches: number;
  rows: T[];
}

export function pageOf<T>(items: readonly T[], window: SearchWindow): SearchPage<T> {
  const rows = items.slice(window.position, window.position + window.maxResults);
  if (rows.length === 0) return { responseStatusStrg: 'NO MATCH', numOfMatches: 0, totalMatches: items.length, rows };
  const more = window.position + rows.length < items.length;
  return { responseStatusStrg: more ? 'MORE' : 'OK', numOfMatches: rows.length, totalMatches: items.length, rows };
}

/** The `<condName>` object of an AccessControl search body and the window it asks for. */
export function readSearchCond(request: RequestContext, condName: string): { cond: JsonObject; window: SearchWindow } {
  const cond = requireObject(parseJsonBody(request), condName);
  return { cond, window: readSearchWindow(cond) };
}

/**
 * The AccessControl search answer for `matches`: `{<root>: {searchID, responseStatusStrg,
 * numOfMatches, totalMatches, <listName>: [toRow(…)]}}`, the list left out of an empty page.
 */
export function searchReply<T>(root: string, listName: string, window: SearchWindow, matches: readonly T[], toRow: (match: T) => unknown): Reply {
  const { responseStatusStrg, numOfMatches, totalMatches, rows } = pageOf(matches, window);
  const listed = rows.map(toRow);
  return jsonReply({ [root]: { searchID: window.searchID, responseStatusStrg, numOfMatches, totalMatches, ...(listed.length ? { [listName]: listed } : {}) } });
}
