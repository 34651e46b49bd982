import type { IncomingHttpHeaders } from 'node:http';
import { ERROR_TUPLES, IsapiFailure, type IsapiErrorTuple } from './error-tuples.js';
import { jsonError, jsonReply, xmlError, type Reply } from './responses.js';

/** One request as the ISAPI handlers see it (authenticated, body fully read). */
export interface RequestContext {
  method: string;
  /** The request-target as sent, query included. */
  target: string;
  pathname: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** How errors of an endpoint are written: JSON envelope (AccessControl, FDLib) or XML ResponseStatus. */
export type RouteFamily = 'json' | 'xml';

export interface Route {
  method: string;
  /** Exact pathname, or a pattern whose groups become `params`. */
  path: string | RegExp;
  family: RouteFamily;
  handle(request: RequestContext, params: string[]): Reply | Promise<Reply>;
}

/** The functions a JSON ISAPI resource says it supports in its capabilities. */
export const SUPPORTED_FUNCTIONS = { '@opt': 'post,delete,put,get,setUp' };

/** `GET <base>/capabilities` of a JSON resource: the document, built when asked (capacities can change). */
export function jsonCapabilitiesRoute(base: string, capabilities: () => Record<string, unknown>): Route {
  return { method: 'GET', path: `${base}/capabilities`, family: 'json', handle: () => jsonReply(capabilities()) };
}

/** The family of a path no route claims (for 404/405 and injected faults). */
export function familyForPath(pathname: string): RouteFamily {
  if (pathname === '/ISAPI/AccessControl/capabilities') return 'xml';
  return /^\/ISAPI\/(AccessControl|Intelligent)\//.test(pathname) ? 'json' : 'xml';
}

export function renderFailure(family: RouteFamily, namespace: string, requestURL: string, tuple: IsapiErrorTuple, errorMsg?: string): Reply {
  return family === 'json' ? jsonError(tuple, errorMsg) : xmlError(namespace, requestURL, tuple);
}

function matchPath(route: Route, pathname: string): string[] | null {
  if (typeof route.path === 'string') return route.path === pathname ? [] : null;
  const match = route.path.exec(pathname);
  return match ? match.slice(1).map((group) => decodeURIComponent(group ?? '')) : null;
}

/**
 * Runs the route for the request. Unknown paths answer 404 notSupport, known paths with another
 * method 405 methodNotAllowed. JSON endpoints written to without `?format=json` answer like
 * firmware that then parses the body as XML: 400 badXmlFormat, in XML.
 */
export async function dispatch(routes: readonly Route[], request: RequestContext, namespace: string): Promise<Reply> {
  let pathKnown = false;
  for (const route of routes) {
    const params = matchPath(route, request.pathname);
    if (!params) continue;
    pathKnown = true;
    if (route.method !== request.method) continue;
    if (route.family === 'json' && request.method !== 'GET' && request.query.get('format') !== 'json') {
      return xmlError(namespace, request.pathname, ERROR_TUPLES.badXmlFormat);
    }
    try {
      return await route.handle(request, params);
    } catch (error) {
      if (error instanceof IsapiFailure) return renderFailure(route.family, namespace, request.pathname, error.tuple, error.errorMsg);
      return renderFailure(route.family, namespace, request.pathname, ERROR_TUPLES.deviceError, (error as Error).message);
    }
  }
  const family = familyForPath(request.pathname);
  return renderFailure(family, namespace, request.pathname, pathKnown ? ERROR_TUPLES.methodNotAllowed : ERROR_TUPLES.notSupport);
}
