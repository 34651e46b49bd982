import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { fail } from './error-tuples.js';
import { xmlDocument, xmlElements, xmlReply, xmlResponseStatus } from './responses.js';
import type { RequestContext, Route } from './routing.js';
import { isObject } from './validation.js';

/**
 * /ISAPI/Event/notification/httpHosts: the event push targets, a fixed number of slots (ids
 * 1…N), XML only. An unused slot reads back with ipAddress 0.0.0.0. PUT of the whole list
 * replaces it: slots the list leaves out become unused, as a list PUT means.
 */

export type HttpHostSlot = Record<string, unknown> & { id: string };

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  ignoreDeclaration: true,
  parseTagValue: false,
  isArray: (name) => name === 'HttpHostNotification',
});
const builder = new XMLBuilder({ format: true, indentBy: '  ' });

export const emptyHttpHostSlot = (id: string): HttpHostSlot => ({
  id,
  url: '/',
  protocolType: 'HTTP',
  parameterFormatType: 'XML',
  addressingFormatType: 'ipaddress',
  ipAddress: '0.0.0.0',
  portNo: '80',
  userName: '',
  httpAuthenticationMethod: 'none',
  httpBroken: 'false',
});

export class HttpHostSlots {
  private slots: HttpHostSlot[];

  constructor(readonly count: number) {
    this.slots = this.emptySlots();
  }

  list(): HttpHostSlot[] {
    return structuredClone(this.slots);
  }

  get(id: string): HttpHostSlot {
    return this.slots[this.indexOf(id, 'badParameters')]!;
  }

  set(id: string, slot: Record<string, unknown>): void {
    const index = this.indexOf(id, 'deployExceedMax');
    this.slots[index] = checkSlot({ ...emptyHttpHostSlot(id), ...slot, id });
  }

  replaceAll(slots: Record<string, unknown>[]): void {
    const next = this.emptySlots();
    for (const slot of slots) {
      const id = String(slot.id ?? '');
      next[this.indexOf(id, 'deployExceedMax')] = checkSlot({ ...emptyHttpHostSlot(id), ...slot, id });
    }
    this.slots = next;
  }

  clear(id: string): void {
    this.slots[this.indexOf(id, 'badParameters')] = emptyHttpHostSlot(id);
  }

  private emptySlots(): HttpHostSlot[] {
    return Array.from({ length: this.count }, (_, index) => emptyHttpHostSlot(String(index + 1)));
  }

  private indexOf(id: string, outside: 'deployExceedMax' | 'badParameters'): number {
    const index = /^\d+$/.test(id) ? Number(id) - 1 : -1;
    if (index < 0 || index >= this.count) throw fail(outside, 'id');
    return index;
  }
}

function checkSlot(slot: HttpHostSlot): HttpHostSlot {
  const { protocolType, addressingFormatType, portNo, url } = slot;
  if (protocolType !== 'HTTP' && protocolType !== 'HTTPS') throw fail('badXmlContent', 'protocolType');
  if (addressingFormatType !== 'ipaddress' && addressingFormatType !== 'hostname') throw fail('badXmlContent', 'addressingFormatType');
  if (addressingFormatType === 'hostname' && !slot.hostName) throw fail('badXmlContent', 'hostName');
  if (!/^\d{1,5}$/.test(String(portNo)) || Number(portNo) < 1 || Number(portNo) > 65535) throw fail('badXmlContent', 'portNo');
  if (typeof url !== 'string' || url.length > 128) throw fail('badXmlContent', 'url');
  return slot;
}

function parseXmlBody(request: RequestContext): Record<string, unknown> {
  const text = request.body.toString('utf8');
  if (text.trim() === '' || XMLValidator.validate(text) !== true) throw fail('badXmlFormat');
  const parsed: unknown = parser.parse(text);
  if (!isObject(parsed)) throw fail('badXmlFormat');
  return parsed;
}

/** The device never reads a password back. */
const withoutPassword = ({ password: _password, ...slot }: HttpHostSlot): Record<string, unknown> => slot;

export function httpHostRoutes(slots: HttpHostSlots, namespace: string): Route[] {
  const base = '/ISAPI/Event/notification/httpHosts';
  const single = /^\/ISAPI\/Event\/notification\/httpHosts\/([^/]+)$/;
  const test = /^\/ISAPI\/Event\/notification\/httpHosts\/([^/]+)\/test$/;
  const ok = (request: RequestContext) => xmlResponseStatus(namespace, request.pathname);
  const testOk = (request: RequestContext, [id = '']: string[]) => {
    slots.get(id);
    return ok(request);
  };
  return [
    {
      method: 'GET',
      path: base,
      family: 'xml',
      handle: () => xmlReply(xmlDocument('HttpHostNotificationList', namespace, builder.build({ HttpHostNotification: slots.list().map(withoutPassword) }).trimEnd())),
    },
    {
      method: 'PUT',
      path: base,
      family: 'xml',
      handle: (request) => {
        const list = parseXmlBody(request).HttpHostNotificationList;
        if (!isObject(list) || !Array.isArray(list.HttpHostNotification)) throw fail('badXmlContent', 'HttpHostNotificationList');
        slots.replaceAll(list.HttpHostNotification.filter(isObject));
        return ok(request);
      },
    },
    {
      method: 'GET',
      path: `${base}/capabilities`,
      family: 'xml',
      handle: () =>
        xmlReply(
          xmlDocument(
            'HttpHostNotificationCap',
            namespace,
            xmlElements({ hostNumber: slots.count, urlLen: 128, protocolType: 'HTTP,HTTPS', parameterFormatType: 'XML,JSON', addressingFormatType: 'ipaddress,hostname', httpAuthenticationMethod: 'none,MD5digest' }),
          ),
        ),
    },
    {
      method: 'GET',
      path: single,
      family: 'xml',
      handle: (_request, [id = '']) => xmlReply(xmlDocument('HttpHostNotification', namespace, builder.build(withoutPassword(slots.get(id))).trimEnd())),
    },
    {
      method: 'PUT',
      path: single,
      family: 'xml',
      handle: (request, [id = '']) => {
        const slot = parseXmlBody(request).HttpHostNotification;
        const first: unknown = Array.isArray(slot) ? slot[0] : undefined;
        if (!isObject(first)) throw fail('badXmlContent', 'HttpHostNotification');
        if (first.id !== undefined && String(first.id) !== id) throw fail('badXmlContent', 'id');
        slots.set(id, first);
        return ok(request);
      },
    },
    {
      method: 'DELETE',
      path: single,
      family: 'xml',
      handle: (request, [id = '']) => {
        slots.clear(id);
        return ok(request);
      },
    },
    // Some clients test with PUT; both only prove that the path exists.
    { method: 'POST', path: test, family: 'xml', handle: testOk },
    { method: 'PUT', path: test, family: 'xml', handle: testOk },
  ];
}
