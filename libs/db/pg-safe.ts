/**
 * Postgres text and jsonb refuse two things JavaScript strings can hold: NUL (U+0000) and lone
 * UTF-16 surrogates. Device payloads can carry either (binary junk in a JSON field, a truncated
 * multi-byte name), and an unstorable row would otherwise fail its job on every retry.
 */
const NUL = /\u0000/g;

export function pgSafeText(value: string): string;
export function pgSafeText(value: string | null): string | null;
export function pgSafeText(value: string | null): string | null {
  if (value === null) return null;
  return value.toWellFormed().replace(NUL, '');
}

/** A deep copy with every key and string value made storable (dates kept as they are). */
export function pgSafeJson<T>(value: T): T;
export function pgSafeJson(value: unknown): unknown {
  if (typeof value === 'string') return pgSafeText(value);
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map(pgSafeJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [pgSafeText(key), pgSafeJson(item)]));
  }
  return value;
}

/** Postgres SQLSTATE class 22, "data exception": the values themselves cannot be stored; retrying cannot help. */
export function isDataException(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}
