/** A connection URL fit for a log line: the password replaced. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    // Host lists (redis+cluster://a:6379,b:6379) are not WHATWG URLs: redact the user info by hand.
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
    return '[unparseable url]';
  }
}
