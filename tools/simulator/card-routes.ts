import { fail } from './error-tuples.js';
import { jsonOk, jsonReply } from './responses.js';
import { readSearchCond, SEARCH_COND_CAPABILITY, searchReply } from './paged-search.js';
import { jsonCapabilitiesRoute, SUPPORTED_FUNCTIONS, type RequestContext, type Route } from './routing.js';
import type { SimCard, TerminalStore } from './store.js';
import { checkCardNo, checkEmployeeNo, listValues, parseJsonBody, requireObject } from './validation.js';

/** /ISAPI/AccessControl/CardInfo/*: cards belong to an existing person. */

const CARD_TYPES = ['normalCard', 'patrolCard', 'hijackCard', 'superCard', 'dismissingCard', 'emergencyCard'];

function readCardInfo(store: TerminalStore, request: RequestContext): SimCard {
  const cardInfo = requireObject(parseJsonBody(request), 'CardInfo');
  const employeeNo = checkEmployeeNo(cardInfo.employeeNo);
  const cardNo = checkCardNo(cardInfo.cardNo);
  const cardType = cardInfo.cardType ?? 'normalCard';
  if (typeof cardType !== 'string' || !CARD_TYPES.includes(cardType)) throw fail('badJsonContent', 'cardType');
  if (!store.users.has(employeeNo)) throw fail('employeeNoNotExist', 'employeeNo');
  return { cardNo, employeeNo, cardType };
}

function checkRoomFor(store: TerminalStore, card: SimCard): void {
  if (store.cards.size >= store.capacity.cards) throw fail('deviceCardFull');
  if (store.cardsOf(card.employeeNo).length >= store.capacity.cardsPerUser) throw fail('cardFullPerUser');
}

/** A stored card given to another person must fit under that person's limit. */
function checkRoomToMove(store: TerminalStore, existing: SimCard, card: SimCard): void {
  if (existing.employeeNo !== card.employeeNo && store.cardsOf(card.employeeNo).length >= store.capacity.cardsPerUser) throw fail('cardFullPerUser');
}

export function cardRoutes(store: TerminalStore): Route[] {
  const base = '/ISAPI/AccessControl/CardInfo';
  return [
    jsonCapabilitiesRoute(base, () => ({
      CardInfo: {
        supportFunction: SUPPORTED_FUNCTIONS,
        maxRecordNum: store.capacity.cards,
        cardNo: { '@min': 1, '@max': 32 },
        cardType: { '@opt': CARD_TYPES.join(',') },
        numberPerPerson: store.capacity.cardsPerUser,
        CardInfoSearchCond: SEARCH_COND_CAPABILITY,
      },
    })),
    {
      method: 'POST',
      path: `${base}/Record`,
      family: 'json',
      handle: (request) => {
        const card = readCardInfo(store, request);
        // The same card for the same person is refused too, as devices do: Record is not idempotent.
        if (store.cards.has(card.cardNo)) throw fail('cardNoAlreadyExist', 'cardNo');
        checkRoomFor(store, card);
        store.cards.set(card.cardNo, card);
        return jsonOk();
      },
    },
    {
      method: 'PUT',
      path: `${base}/Modify`,
      family: 'json',
      handle: (request) => {
        const card = readCardInfo(store, request);
        const existing = store.cards.get(card.cardNo);
        if (!existing) throw fail('cardNoNotExist', 'cardNo');
        checkRoomToMove(store, existing, card);
        store.cards.set(card.cardNo, card);
        return jsonOk();
      },
    },
    {
      method: 'PUT',
      path: `${base}/SetUp`,
      family: 'json',
      handle: (request) => {
        const card = readCardInfo(store, request);
        const existing = store.cards.get(card.cardNo);
        if (!existing) checkRoomFor(store, card);
        else checkRoomToMove(store, existing, card);
        store.cards.set(card.cardNo, card);
        return jsonOk();
      },
    },
    {
      method: 'PUT',
      path: `${base}/Delete`,
      family: 'json',
      handle: (request) => {
        const cond = requireObject(parseJsonBody(request), 'CardInfoDelCond');
        const cardNos = listValues(cond.CardNoList, 'cardNo', 'CardNoList') ?? [];
        const employeeNos = listValues(cond.EmployeeNoList, 'employeeNo', 'EmployeeNoList') ?? [];
        // Exactly one non-empty list: anything else could mean "all cards" on a device.
        if ((cardNos.length > 0) === (employeeNos.length > 0)) throw fail('badJsonContent', 'CardInfoDelCond');
        const doomed = cardNos.length > 0 ? cardNos.filter((cardNo) => store.cards.has(cardNo)) : employeeNos.flatMap((employeeNo) => store.cardsOf(employeeNo).map((card) => card.cardNo));
        if (doomed.length === 0) throw fail(cardNos.length > 0 ? 'cardNoNotExist' : 'employeeNoNotExist');
        for (const cardNo of doomed) store.cards.delete(cardNo);
        return jsonOk();
      },
    },
    {
      method: 'POST',
      path: `${base}/Search`,
      family: 'json',
      handle: (request) => {
        const { cond, window } = readSearchCond(request, 'CardInfoSearchCond');
        const employeeNos = listValues(cond.EmployeeNoList, 'employeeNo', 'EmployeeNoList');
        const cardNos = listValues(cond.CardNoList, 'cardNo', 'CardNoList');
        const cards = [...store.cards.values()].filter(
          (card) => (!employeeNos?.length || employeeNos.includes(card.employeeNo)) && (!cardNos?.length || cardNos.includes(card.cardNo)),
        );
        return searchReply('CardInfoSearch', 'CardInfo', window, cards, (card) => ({ ...card, leaderCard: '', isCardAsRemoteControlBtn: false }));
      },
    },
    {
      method: 'GET',
      path: `${base}/Count`,
      family: 'json',
      handle: () => jsonReply({ CardInfoCount: { cardNumber: store.cards.size } }),
    },
  ];
}
