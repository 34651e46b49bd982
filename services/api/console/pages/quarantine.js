import { useState } from 'preact/hooks';
import { api, enc, queryString } from '../lib/api.js';
import { useLoad } from '../lib/hooks.js';
import { html } from '../lib/html.js';
import { formatDateTime, formatShort } from '../lib/time.js';
import { Page } from '../components/layout.js';
import { Badge } from '../components/badges.js';
import { Empty, ErrorNotice, Loading, Success } from '../components/states.js';

const PAGE_SIZE = 50;
const REASON_CODES = ['empty_body', 'unsupported_content_type', 'malformed_multipart', 'no_event_document', 'malformed_xml', 'malformed_json', 'forbidden_xml', 'not_an_event', 'too_large', 'unstorable'];
const formatBytes = (bytes) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`);

function Outcome({ item }) {
  if (!item.reprocessedAt) return html`<span class="muted small">not re-run</span>`;
  const tone = /event|archived|ok|success/i.test(item.reprocessOutcome ?? '') ? 'good' : 'warn';
  return html`<${Badge} tone=${tone} title=${`re-run ${formatDateTime(item.reprocessedAt)}`}>${item.reprocessOutcome ?? 're-run'}<//>`;
}

/** Payloads hikhub kept but could not parse: why, what, and a way to re-run them after a fix. */
export function QuarantinePage() {
  const [reasonCode, setReasonCode] = useState('');
  const list = useLoad(() => api.get(`/api/v1/quarantine${queryString({ reasonCode, limit: PAGE_SIZE })}`), [reasonCode]);
  const [more, setMore] = useState({ loading: false, error: null });
  const [notice, setNotice] = useState(null);
  const [actionError, setActionError] = useState(null);
  const items = list.data?.items ?? [];

  const loadOlder = async () => {
    setMore({ loading: true, error: null });
    try {
      const page = await api.get(`/api/v1/quarantine${queryString({ reasonCode, limit: PAGE_SIZE, cursor: list.data.nextCursor })}`);
      list.setData((current) => ({ items: [...current.items, ...page.items], nextCursor: page.nextCursor }));
      setMore({ loading: false, error: null });
    } catch (error) {
      setMore({ loading: false, error });
    }
  };

  const rerun = async (item) => {
    setActionError(null);
    try {
      await api.post(`/api/v1/quarantine/${enc(item.id)}/reprocess`);
      setNotice('Re-run queued. Refresh in a moment to see the outcome.');
    } catch (error) {
      setActionError(error);
    }
  };
  const rerunAll = async () => {
    setActionError(null);
    try {
      const answer = await api.post('/api/v1/quarantine/reprocess', reasonCode ? { reasonCode } : {});
      setNotice(`${answer.queued} payload${answer.queued === 1 ? '' : 's'} queued to be parsed again.`);
    } catch (error) {
      setActionError(error);
    }
  };

  return html`<${Page}
    title="Quarantine"
    subtitle="Requests hikhub kept byte for byte but could not turn into events. After a parser fix, re-run them."
    actions=${html`<label class="inline-select"><span class="visually-hidden">Reason</span>
        <select name="reasonCode" value=${reasonCode} onChange=${(e) => setReasonCode(e.currentTarget.value)}>
          <option value="">All reasons</option>
          ${REASON_CODES.map((code) => html`<option value=${code}>${code}</option>`)}
        </select>
      </label>
      <button type="button" class="button" onClick=${list.reload}>Refresh</button>
      <button type="button" class="button" disabled=${items.length === 0} onClick=${rerunAll}>Re-run all${reasonCode ? ` ${reasonCode}` : ''}</button>`}
  >
    <${Success}>${notice}<//>
    <${ErrorNotice} error=${actionError} />
    <${ErrorNotice} title="Could not load the quarantine" error=${list.error} onRetry=${list.reload} />
    ${list.loading && !list.data && html`<${Loading} />`}
    ${list.data && items.length === 0 && html`<${Empty} title=${reasonCode ? `Nothing quarantined as ${reasonCode}.` : 'Nothing in quarantine.'}>Every request devices sent so far became an event. Anything hikhub cannot parse lands here with its reason, never dropped.<//>`}
    ${items.length > 0 &&
    html`<div class="card card-flush"><table class="table quarantine-table">
      <thead><tr><th>Received</th><th>Reason</th><th class="hide-narrow">Source</th><th class="num">Size</th><th>Re-run</th><th></th></tr></thead>
      <tbody>${items.map(
        (item) => html`<tr data-quarantine-id=${item.id}>
          <td><time datetime=${item.receivedAt} title=${`quarantined ${formatDateTime(item.quarantinedAt)}`}>${formatShort(item.receivedAt)}</time></td>
          <td><${Badge} tone="bad">${item.reasonCode}<//><div class="small reason">${item.reason}</div></td>
          <td class="hide-narrow"><code class="wrap">${item.sourcePath}</code><div class="muted small">from ${item.remoteAddress}${item.contentType ? ` · ${item.contentType}` : ''}</div></td>
          <td class="num">${formatBytes(item.bodyBytes)}</td>
          <td><${Outcome} item=${item} /></td>
          <td class="actions">
            <a class="button button-small" href=${`/api/v1/quarantine/${enc(item.id)}/body`} download>Download</a>
            <button type="button" class="button button-small" onClick=${() => rerun(item)}>Re-run</button>
          </td>
        </tr>`,
      )}</tbody>
    </table></div>`}
    <${ErrorNotice} error=${more.error} onRetry=${loadOlder} />
    ${list.data?.nextCursor && html`<div class="more"><button type="button" class="button" disabled=${more.loading} onClick=${loadOlder}>${more.loading ? 'Loading…' : 'Load older'}</button></div>`}
  <//>`;
}
