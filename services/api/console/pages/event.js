import { api, enc } from '../lib/api.js';
import { useLoad } from '../lib/hooks.js';
import { html } from '../lib/html.js';
import { Link } from '../lib/router.js';
import { formatDateTime, viewerTimeZone } from '../lib/time.js';
import { Page } from '../components/layout.js';
import { Badge, VerifyBadge } from '../components/badges.js';
import { deviceLabel, eventHeadline } from '../components/event-feed.js';
import { ErrorNotice, Loading } from '../components/states.js';

const formatBytes = (bytes) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`);
const shown = (value) => (value === null || value === undefined || value === '' ? html`<span class="muted">—</span>` : String(value));

function Fields({ rows }) {
  return html`<dl class="fields">${rows.map(([label, value]) => html`<div class="field-row"><dt>${label}</dt><dd>${shown(value)}</dd></div>`)}</dl>`;
}

/** One event: its pictures full size, every field, and the document exactly as stored. */
export function EventPage({ id }) {
  const { data: event, error, loading, reload } = useLoad(() => api.get(`/api/v1/events/${enc(id)}`), [id]);

  if (loading && !event) return html`<${Page} title="Event"><${Loading} /><//>`;
  if (error) {
    return html`<${Page} title="Event" actions=${html`<${Link} class="button" href="/">← Live events<//>`}>
      <${ErrorNotice} title=${error.status === 404 ? 'No such event' : 'Could not load the event'} error=${error} onRetry=${error.status === 404 ? null : reload} />
    <//>`;
  }

  const device = event.device;
  return html`<${Page}
    title=${eventHeadline(event)}
    subtitle=${html`${event.eventType ?? event.eventFamily} · ${deviceLabel(event)} · <time datetime=${event.receivedAt}>${formatDateTime(event.occurredAt ?? event.receivedAt)}</time>`}
    actions=${html`<${Link} class="button" href="/">← Live events<//>`}
  >
    <div class="event-layout">
      <section class="card pictures" aria-label="Pictures">
        <h2>Pictures</h2>
        ${event.pictures.length === 0
          ? html`<p class="muted">This event came without a picture.</p>`
          : event.pictures.map(
              (picture) => html`<figure class="picture">
                <a href=${picture.url} target="_blank" rel="noopener"><img class="picture-full" src=${picture.url} alt=${`picture ${picture.partName ?? ''} of the event`} /></a>
                <figcaption class="muted small">${picture.partName ?? 'picture'} · ${picture.contentType} · ${formatBytes(picture.bytes)}</figcaption>
              </figure>`,
            )}
      </section>
      <section class="card" aria-label="Details">
        <h2>Details ${event.verifyResult && html`<${VerifyBadge} result=${event.verifyResult} />`}</h2>
        <${Fields}
          rows=${[
            ['Person', event.personName],
            ['Employee no', event.employeeNo],
            ['Card no', event.cardNo],
            ['License plate', event.licensePlate],
            ['Verify result', event.verifyResult],
            ['Door', event.doorNo],
            ['Event type', event.eventType],
            ['Event state', event.eventState],
            ['Family', event.eventFamily],
            ['Major / minor type', event.majorEventType === null && event.minorEventType === null ? null : `${event.majorEventType ?? '—'} / ${event.minorEventType ?? '—'}`],
            ['Channel', [event.channelId, event.channelName].filter((v) => v !== null && v !== undefined).join(' · ')],
          ]}
        />
        <h3>Time</h3>
        <${Fields}
          rows=${[
            [`Happened (${viewerTimeZone})`, event.occurredAt ? formatDateTime(event.occurredAt) : null],
            ["Device's clock (as sent)", event.deviceTime],
            [`Received (${viewerTimeZone})`, formatDateTime(event.receivedAt)],
            ['Received (UTC)', event.receivedAt],
          ]}
        />
        <h3>Device</h3>
        <${Fields}
          rows=${[
            ['Name', device?.name],
            ['Model', device?.model],
            ['Serial number', device?.serialNumber],
            ['IP address (reported)', device?.ipAddress],
            ['MAC address', device?.macAddress],
            ['Sent from', event.remoteAddress],
            ['Posted to', event.sourcePath],
          ]}
        />
        <h3>Record</h3>
        <${Fields} rows=${[['Event id', event.id], ['Pictures', event.pictures.length]]} />
      </section>
    </div>
    <section class="card raw" aria-label="Raw document">
      <h2>Raw document <${Badge}>as stored<//></h2>
      <pre class="code"><code>${JSON.stringify(event.payload, null, 2)}</code></pre>
    </section>
  <//>`;
}
