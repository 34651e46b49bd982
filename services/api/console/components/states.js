import { html } from '../lib/html.js';

/** Loading, error and empty states, the same everywhere. */

export const Loading = ({ label = 'Loading…' }) => html`<div class="state state-loading" role="status"><span class="spinner" aria-hidden="true"></span>${label}</div>`;

/** The API's own message, plainly, with a way to try again. */
export function ErrorNotice({ error, onRetry, title = 'Something went wrong' }) {
  if (!error) return null;
  const issues = error.issues ?? [];
  return html`<div class="notice notice-error" role="alert">
    <div>
      <strong>${title}</strong>
      <p>${error.message ?? String(error)}</p>
      ${issues.length > 0 && html`<ul class="issues">${issues.map((issue) => html`<li><code>${issue.path}</code> ${issue.message}</li>`)}</ul>`}
    </div>
    ${onRetry && html`<button type="button" class="button" onClick=${onRetry}>Try again</button>`}
  </div>`;
}

export const Empty = ({ title, children }) => html`<div class="state state-empty"><strong>${title}</strong>${children && html`<div class="state-hint">${children}</div>`}</div>`;

export const Success = ({ children }) => (children ? html`<div class="notice notice-ok" role="status">${children}</div>` : null);
