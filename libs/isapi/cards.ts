import type { IsapiClient } from './client.js';
import { hasSubStatus, IsapiError } from './errors.js';
import { pagedSearch } from './paged-search.js';
import { asString } from './response-body.js';
import { requireEmployeeNo } from './users.js';

/** Cards of a person. Card numbers stay strings: leading zeros are significant. */

export type CardType = 'normalCard' | 'patrolCard' | 'hijackCard' | 'superCard' | 'dismissingCard' | 'emergencyCard';

export interface DeviceCard {
  cardNo: string;
  cardType: string;
  employeeNo: string;
}

const RECORD = '/ISAPI/AccessControl/CardInfo/Record?format=json';
const DELETE = '/ISAPI/AccessControl/CardInfo/Delete?format=json';
const SEARCH = '/ISAPI/AccessControl/CardInfo/Search?format=json';

/**
 * Record the card. `cardNoAlreadyExist` is fine when the card already belongs to this person
 * (a retried Record); owned by someone else it is a conflict an operator must resolve.
 */
export async function upsertCard(
  client: IsapiClient,
  card: { employeeNo: string; cardNo: string; cardType?: CardType },
): Promise<{ via: 'record' | 'existing' }> {
  requireEmployeeNo(card.employeeNo, 'card.record');
  requireCardNo(card.cardNo, 'card.record');
  try {
    await client.request({
      operation: 'card.record',
      method: 'POST',
      path: RECORD,
      json: { CardInfo: { employeeNo: card.employeeNo, cardNo: card.cardNo, cardType: card.cardType ?? 'normalCard' } },
    });
    return { via: 'record' };
  } catch (error) {
    if (!hasSubStatus(error, 'cardNoAlreadyExist')) throw error;
    const owned = await searchCards(client, card.employeeNo);
    if (owned.some((existing) => existing.cardNo === card.cardNo)) return { via: 'existing' };
    throw new IsapiError({
      errorClass: 'permanent',
      permanentKind: 'conflict',
      operation: 'card.record',
      ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
      subStatusCode: 'cardNoAlreadyExist',
      detail: `card ${card.cardNo} belongs to another person on this device`,
    });
  }
}

/** Delete one card by number; a card that is not there is fine. Never an empty list (means "all cards"). */
export async function deleteCard(client: IsapiClient, cardNo: string): Promise<{ existed: boolean }> {
  requireCardNo(cardNo, 'card.delete');
  try {
    await client.request({ operation: 'card.delete', method: 'PUT', path: DELETE, json: { CardInfoDelCond: { CardNoList: [{ cardNo }] } } });
    return { existed: true };
  } catch (error) {
    if (hasSubStatus(error, 'cardNoNotExist')) return { existed: false };
    throw error;
  }
}

export async function searchCards(client: IsapiClient, employeeNo: string, pageSize = 30): Promise<DeviceCard[]> {
  requireEmployeeNo(employeeNo, 'card.search');
  const cards: DeviceCard[] = [];
  const rows = pagedSearch(client, {
    operation: 'card.search',
    path: SEARCH,
    conditionRoot: 'CardInfoSearchCond',
    condition: { EmployeeNoList: [{ employeeNo }] },
    resultRoot: 'CardInfoSearch',
    rowsKey: 'CardInfo',
    pageSize,
  });
  for await (const row of rows) {
    const cardNo = asString(row['cardNo']);
    const owner = asString(row['employeeNo']);
    // Filter: some firmware ignores EmployeeNoList.
    if (cardNo === undefined || owner !== employeeNo) continue;
    cards.push({ cardNo, cardType: asString(row['cardType']) ?? 'normalCard', employeeNo: owner });
  }
  return cards;
}

function requireCardNo(cardNo: string, operation: string): void {
  if (cardNo.trim() === '') throw new IsapiError({ errorClass: 'permanent', permanentKind: 'bad_data', operation, detail: 'cardNo is empty' });
}
