import { html } from '../lib/html.js';
import { Link } from '../lib/router.js';
import { formatDateTime, formatShort } from '../lib/time.js';
import { Badge, VerifyBadge } from './badges.js';
import { Thumb } from './face.js';

/** Who or what the event is about, in one line. */
export function eventHeadline(event) {
  if (event.personName) return event.personName;
  if (event.licensePlate) return event.licensePlate;
  if (event.employeeNo) return `Employee ${event.employeeNo}`;
  if (event.cardNo) return `Card ${event.cardNo}`;
  return event.eventType ?? event.eventFamily ?? 'Event';
}

export function deviceLabel(event) {
  return event.device?.name ?? event.device?.model ?? event.device?.ipAddress ?? event.remoteAddress ?? 'unknown device';
}

export function placeLabel(event) {
  const parts = [];
  if (event.doorNo !== null && event.doorNo !== undefined) parts.push(`Door ${event.doorNo}`);
  if (event.channelName) parts.push(event.channelName);
  else if (event.channelId !== null && event.channelId !== undefined && event.doorNo == null) parts.push(`Channel ${event.channelId}`);
  const ip = event.device?.ipAddress ?? event.remoteAddress;
  if (ip) parts.push(ip);
  return parts.join(' · ');
}

/** "Device clock …" for the tooltip: the device's own time string, as it sent it. */
export function timeTooltip(event) {
  const lines = [`Received ${formatDateTime(event.receivedAt)}`];
  if (event.occurredAt) lines.unshift(`Happened ${formatDateTime(event.occurredAt)}`);
  lines.push(event.deviceTime ? `Device clock: ${event.deviceTime}` : 'The device sent no time');
  return lines.join('\n');
}

/** "device 09:14:03 +08:00": the clock part of what the device sent, its full text in the tooltip. */
export function deviceClock(deviceTime) {
  if (!deviceTime) return '';
  const found = /T(\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(.*)$/.exec(deviceTime);
  return found ? `device ${found[1]}${found[2] ? ` ${found[2]}` : ''}` : `device ${deviceTime}`;
}

function EventRow({ event, fresh }) {
  const picture = event.pictures?.[0];
  // The feed is ordered by arrival, so arrival is the time shown; the device's clock comes second.
  const when = event.receivedAt;
  const detail = [event.employeeNo && `#${event.employeeNo}`, event.cardNo && `card ${event.cardNo}`, event.personName && event.licensePlate].filter(Boolean).join(' · ');
  return html`<${Link} href=${`/events/${event.id}`} class=${fresh ? 'feed-row row-new' : 'feed-row'} data-event-id=${event.id}>
    <span class="cell cell-thumb"><${Thumb} src=${picture?.url} name=${event.personName} label=${picture ? 'picture' : 'no picture'} /></span>
    <span class="cell cell-time">
      <time datetime=${when} title=${timeTooltip(event)}>${formatShort(when)}</time>
      <small class="muted" title=${event.deviceTime ? `The device's own clock: ${event.deviceTime}` : 'The device sent no time'}>${deviceClock(event.deviceTime)}</small>
    </span>
    <span class="cell cell-who"><strong class="person-name">${eventHeadline(event)}</strong><small class="muted">${detail}</small></span>
    <span class="cell cell-where"><span class="device-name">${deviceLabel(event)}</span><small class="muted">${placeLabel(event)}</small></span>
    <span class="cell cell-what">
      ${event.verifyResult ? html`<${VerifyBadge} result=${event.verifyResult} />` : html`<${Badge}>${event.eventType ?? event.eventFamily}<//>`}
      <small class="muted">${event.verifyResult ? event.eventType : event.eventState ?? ''}</small>
    </span>
  <//>`;
}

/** A table on a laptop, cards on a tablet: one list of rows that CSS lays out either way. */
export function EventFeed({ events, freshIds }) {
  return html`<div class="feed" role="list">
    <div class="feed-head" aria-hidden="true">
      <span></span><span>Time</span><span>Who / what</span><span>Device · door</span><span>Result</span>
    </div>
    ${events.map((event) => html`<${EventRow} key=${event.id} event=${event} fresh=${freshIds.has(event.id)} />`)}
  </div>`;
}
