/**
 * Where hikhub's Redis is, read from the one setting REDIS_URL. Three shapes, chosen by scheme:
 *
 *   redis://[user:password@]host:port[/db]                         one Redis (as always)
 *   redis+cluster://[user:password@]host:port[,host:port…]         Redis Cluster: seed nodes
 *   redis+sentinel://[user:password@]host:port[,host:port…]/name[/db][?sentinelPassword=…]
 *                                                                   the master `name` found via Sentinels
 *
 * `rediss…` is the same over TLS. One variable keeps every deployment file, secret and test
 * helper that passes REDIS_URL working unchanged, and the scheme says the mode at a glance.
 * Pure parsing (no ioredis): env.ts validates with it at boot, connection.ts connects with it.
 */

interface HostPort {
  host: string;
  port: number;
}

interface Auth {
  username?: string;
  password?: string;
  tls: boolean;
}

export type RedisTarget =
  | ({ mode: 'standalone'; url: string } & Auth)
  | ({ mode: 'cluster'; nodes: HostPort[] } & Auth)
  | ({ mode: 'sentinel'; sentinels: HostPort[]; name: string; db: number; sentinelPassword?: string } & Auth);

type RedisMode = RedisTarget['mode'];

const SCHEMES: Record<string, { mode: RedisMode; tls: boolean }> = {
  'redis:': { mode: 'standalone', tls: false },
  'rediss:': { mode: 'standalone', tls: true },
  'redis+cluster:': { mode: 'cluster', tls: false },
  'rediss+cluster:': { mode: 'cluster', tls: true },
  'redis+sentinel:': { mode: 'sentinel', tls: false },
  'rediss+sentinel:': { mode: 'sentinel', tls: true },
};

const REDIS_URL_SCHEMES = Object.keys(SCHEMES).map((scheme) => `${scheme}//`);

class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

/** The mode a REDIS_URL asks for, or null when the scheme is not one hikhub knows. */
export function redisModeOf(url: string): RedisMode | null {
  const scheme = /^([a-z+]+:)\/\//i.exec(url)?.[1]?.toLowerCase();
  return (scheme && SCHEMES[scheme]?.mode) || null;
}

/** Parses REDIS_URL; throws RedisUrlError saying what is wrong (never echoing the password). */
export function parseRedisUrl(url: string): RedisTarget {
  const match = /^([a-z+]+:)\/\/(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(url.trim());
  const scheme = match?.[1]?.toLowerCase();
  const kind = scheme ? SCHEMES[scheme] : undefined;
  if (!match || !kind) throw new RedisUrlError(`expected a URL starting with ${REDIS_URL_SCHEMES.join(', ')}`);
  const [, , userInfo, hostList = '', path = '', query = ''] = match;
  const auth: Auth = { tls: kind.tls, ...parseUserInfo(userInfo) };

  if (kind.mode === 'standalone') {
    if (hostList.includes(',')) throw new RedisUrlError(`one host only; for several use ${kind.tls ? 'rediss' : 'redis'}+cluster:// or +sentinel://`);
    try {
      new URL(url);
    } catch {
      throw new RedisUrlError('not a valid URL');
    }
    return { mode: 'standalone', url, ...auth };
  }

  const hosts = parseHostList(hostList, kind.mode === 'sentinel' ? 26379 : 6379);
  if (kind.mode === 'cluster') {
    if (path.replace(/\/+$/, '') !== '') throw new RedisUrlError('a cluster URL takes no path (Redis Cluster has database 0 only)');
    return { mode: 'cluster', nodes: hosts, ...auth };
  }

  const [name, db = '0', ...rest] = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (!name) throw new RedisUrlError('a sentinel URL names the master after the hosts: redis+sentinel://host:26379,host:26379/mymaster');
  if (rest.length || !/^\d+$/.test(db)) throw new RedisUrlError('expected /<master name>[/<db number>] after the sentinel hosts');
  const params = new URLSearchParams(query);
  const sentinelPassword = params.get('sentinelPassword') ?? undefined;
  return { mode: 'sentinel', sentinels: hosts, name, db: Number(db), ...(sentinelPassword ? { sentinelPassword } : {}), ...auth };
}

function parseUserInfo(userInfo: string | undefined): { username?: string; password?: string } {
  if (!userInfo) return {};
  const colon = userInfo.indexOf(':');
  const username = decodeURIComponent(colon < 0 ? userInfo : userInfo.slice(0, colon));
  const password = colon < 0 ? undefined : decodeURIComponent(userInfo.slice(colon + 1));
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function parseHostList(list: string, defaultPort: number): HostPort[] {
  const items = list.split(',').map((item) => item.trim());
  if (!items.length || items.some((item) => !item)) throw new RedisUrlError('expected host:port[,host:port…] after the scheme');
  return items.map((item) => {
    const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(item);
    const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
    if (!match || port < 1 || port > 65535) throw new RedisUrlError(`"${item}" is not host:port`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
}
