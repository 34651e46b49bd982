import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';

const initials = (name) =>
  (name ?? '?')
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word[0]?.toUpperCase() ?? '')
    .join('') || '?';

/** A face (or capture) thumbnail; initials or an icon when there is no picture or it fails to load. */
export function Thumb({ src, name, size = 'md', label = 'no picture' }) {
  const [broken, setBroken] = useState(false);
  if (!src || broken) {
    return html`<span class=${`thumb thumb-${size} thumb-empty`} title=${label} aria-label=${label}>${name ? initials(name) : '—'}</span>`;
  }
  return html`<img class=${`thumb thumb-${size}`} src=${src} alt=${name ? `face of ${name}` : 'event picture'} loading="lazy" decoding="async" onError=${() => setBroken(true)} />`;
}
