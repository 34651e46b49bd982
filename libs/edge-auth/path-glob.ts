/**
 * Path allow-list globs: `*` matches within one segment, `**` across segments (`/**` is every
 * path), `?` one character of a segment. Everything else is literal.
 */
export function createPathMatcher(globs: readonly string[]): (path: string) => boolean {
  if (globs.includes('/**')) return () => true;
  const patterns = globs.map(globToRegExp);
  return (path) => patterns.some((pattern) => pattern.test(path));
}

export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // "/**" at the end also matches the bare prefix ("/hikvision/**" matches "/hikvision").
      if (source.endsWith('/') && i + 2 === glob.length) source = `${source.slice(0, -1)}(?:/.*)?`;
      else source += '.*';
      i++;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
