import type { IsapiErrorTuple } from './error-tuples.js';

/** What a handler answers; the terminal writes it (adding latency, faults and quirks). */
export interface Reply {
  status: number;
  contentType: string;
  body: string | Buffer;
  /** For the request log: the ISAPI subStatusCode of the body, when it has one. */
  subStatusCode?: string;
  headers?: Record<string, string>;
}

export type XmlNamespaceKind = 'isapi' | 'hikvision';

export const XML_NAMESPACES: Readonly<Record<XmlNamespaceKind, string>> = {
  isapi: 'http://www.isapi.org/ver20/XMLSchema',
  hikvision: 'http://www.hikvision.com/ver20/XMLSchema',
};

export const JSON_TYPE = 'application/json; charset="UTF-8"';
export const XML_TYPE = 'application/xml; charset="UTF-8"';

export const OK_STATUS = { statusCode: 1, statusString: 'OK', subStatusCode: 'ok' } as const;

export const escapeXml = (value: string): string =>
  value.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/** `<name>value</name>` lines, values escaped, in the order given. */
export function xmlElements(fields: Record<string, string | number | boolean>): string {
  return Object.entries(fields)
    .map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`)
    .join('\n');
}

export const xmlDocument = (root: string, namespace: string, inner: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<${root} version="2.0" xmlns="${namespace}">\n${inner}\n</${root}>\n`;

export function jsonReply(value: unknown, status = 200, subStatusCode?: string): Reply {
  return { status, contentType: JSON_TYPE, body: JSON.stringify(value), subStatusCode };
}

export function xmlReply(xml: string, status = 200, subStatusCode?: string): Reply {
  return { status, contentType: XML_TYPE, body: xml, subStatusCode };
}

export const jsonOk = (extra: Record<string, unknown> = {}): Reply => jsonReply({ ...OK_STATUS, ...extra }, 200, 'ok');

export function jsonError(tuple: IsapiErrorTuple, errorMsg?: string): Reply {
  return jsonReply(
    {
      statusCode: tuple.statusCode,
      statusString: tuple.statusString,
      subStatusCode: tuple.subStatusCode,
      // Unlisted codes follow the observed layout: the high nibble repeats statusCode.
      errorCode: tuple.errorCode ?? tuple.statusCode * 0x10000000,
      errorMsg: errorMsg ?? tuple.errorMsg ?? tuple.subStatusCode,
    },
    tuple.httpStatus,
    tuple.subStatusCode,
  );
}

export function xmlResponseStatus(namespace: string, requestURL: string, tuple: Omit<IsapiErrorTuple, 'httpStatus'> = OK_STATUS, httpStatus = 200): Reply {
  const inner = xmlElements({ requestURL, statusCode: tuple.statusCode, statusString: tuple.statusString, subStatusCode: tuple.subStatusCode });
  return xmlReply(xmlDocument('ResponseStatus', namespace, inner), httpStatus, tuple.subStatusCode);
}

export const xmlError = (namespace: string, requestURL: string, tuple: IsapiErrorTuple): Reply => xmlResponseStatus(namespace, requestURL, tuple, tuple.httpStatus);

/** The 401 body of current firmware; `lockStatus=lock` carries the seconds left in `unlockTime`. */
export function userCheckBody(lock: { locked: true; unlockInSeconds: number } | { locked: false; retryLoginTime: number }): string {
  const fields: Record<string, string | number> = { statusValue: 401, statusString: 'Unauthorized' };
  if (lock.locked) Object.assign(fields, { lockStatus: 'lock', unlockTime: lock.unlockInSeconds, retryLoginTime: 0 });
  else Object.assign(fields, { lockStatus: 'unlock', retryLoginTime: lock.retryLoginTime });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<userCheck>\n${xmlElements(fields)}\n</userCheck>\n`;
}
