import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';

/**
 * History-API routing: the server answers index.html for every page path, and links change the
 * URL without a reload. `navigate` also notifies every `useLocation`.
 */

const listeners = new Set();
const notify = () => {
  for (const listener of listeners) listener(currentLocation());
};
window.addEventListener('popstate', notify);

export const currentLocation = () => ({ path: location.pathname, search: location.search });

export function navigate(to, { replace = false } = {}) {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.scrollTo(0, 0);
  notify();
}

export function useLocation() {
  const [where, setWhere] = useState(currentLocation);
  useEffect(() => {
    listeners.add(setWhere);
    return () => listeners.delete(setWhere);
  }, []);
  return where;
}

/** An ordinary <a href> (so open-in-new-tab works) that navigates in place on a plain click. */
export function Link({ href, children, ...rest }) {
  const onClick = (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

/** Matches `/events/:id`-style patterns; returns the params or null. */
export function match(pattern, path) {
  const names = [];
  const regex = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, name) => (names.push(name), '([^/]+)'))}$`);
  const found = regex.exec(path);
  if (!found) return null;
  return Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(found[index + 1])]));
}
