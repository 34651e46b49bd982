/**
 * Docker Compose's variable interpolation, as `docker compose config` applies it to every
 * string value: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error},
 * ${VAR:+replacement}, ${VAR+replacement}, and $$ for a literal $. Nested defaults are not used
 * by hikhub's compose file and are not supported here.
 */
export class MissingVariableError extends Error {
  constructor(readonly variable: string, detail: string) {
    super(`required variable ${variable} is missing a value: ${detail}`);
  }
}

const PATTERN = /\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\})/g;

export function interpolateString(text: string, env: Record<string, string | undefined>): string {
  return text.replace(PATTERN, (_match, dollar: string | undefined, bare: string | undefined, name: string | undefined, operator: string | undefined, argument: string | undefined) => {
    if (dollar) return '$';
    const variable = (bare ?? name)!;
    const value = env[variable];
    const set = value !== undefined;
    const setAndNonEmpty = set && value !== '';
    switch (operator) {
      case undefined:
        return value ?? '';
      case ':-':
        return setAndNonEmpty ? value : argument!;
      case '-':
        return set ? value : argument!;
      case ':?':
        if (!setAndNonEmpty) throw new MissingVariableError(variable, argument!);
        return value;
      case '?':
        if (!set) throw new MissingVariableError(variable, argument!);
        return value;
      case ':+':
        return setAndNonEmpty ? argument! : '';
      case '+':
        return set ? argument! : '';
      default:
        throw new Error(`unsupported interpolation operator ${operator}`);
    }
  });
}

/** Interpolate every string value (not keys) of a parsed compose document. */
export function interpolate<T>(value: T, env: Record<string, string | undefined>): T {
  if (typeof value === 'string') return interpolateString(value, env) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => interpolate(item, env)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env)])) as T;
  }
  return value;
}

/** Every variable the text refers to, with whether it is required (`:?` / `?`). */
export function referencedVariables(text: string): Map<string, { required: boolean }> {
  const found = new Map<string, { required: boolean }>();
  for (const match of text.matchAll(PATTERN)) {
    const variable = match[2] ?? match[3];
    if (!variable) continue;
    const required = match[4] === ':?' || match[4] === '?';
    found.set(variable, { required: required || (found.get(variable)?.required ?? false) });
  }
  return found;
}
