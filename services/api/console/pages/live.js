import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, queryString } from '../lib/api.js';
import { anyFilter, apiParams, filtersFromSearch, mergeEvents, searchFromFilters } from '../lib/event-filters.js';
import { useEventStream } from '../lib/event-stream.js';
import { html } from '../lib/html.js';
import { navigate } from '../lib/router.js';
import { Page } from '../components/layout.js';
import { EventFeed } from '../components/event-feed.js';
import { EventFilterBar } from '../components/event-filter-bar.js';
import { Empty, ErrorNotice, Loading } from '../components/states.js';

const PAGE_SIZE = 50;
const FRESH_MS = 4000;
/** A feed left open for days must not grow without end: past this, the oldest rows leave the view. */
const MAX_FEED_ROWS = 1000;

const STREAM_LABELS = {
  live: ['live', 'New events appear here as devices send them'],
  connecting: ['connecting', 'Opening the live connection…'],
  reconnecting: ['reconnecting', 'The live connection dropped; reconnecting by itself'],
  paused: ['paused', 'A time range that ends in the past shows no new events'],
};

function LiveIndicator({ status }) {
  const [label, title] = STREAM_LABELS[status] ?? [status, ''];
  return html`<span class=${`live live-${status}`} title=${title} data-status=${status}><span class="live-dot" aria-hidden="true"></span>${label}</span>`;
}

/** Lists for the device and event-type filters; the feed works without them. */
function useFilterChoices() {
  const [choices, setChoices] = useState({ devices: [], eventTypes: [] });
  useEffect(() => {
    api.get('/api/v1/observed-devices').then((answer) => setChoices((c) => ({ ...c, devices: answer.items ?? [] })), () => undefined);
    api.get('/api/v1/event-types').then((answer) => setChoices((c) => ({ ...c, eventTypes: answer.items ?? [] })), () => undefined);
  }, []);
  return choices;
}

export function LivePage({ search }) {
  const filters = useMemo(() => filtersFromSearch(search), [search]);
  const query = useMemo(() => queryString(apiParams(filters)), [filters]);
  const { devices, eventTypes } = useFilterChoices();
  const [feed, setFeed] = useState({ events: [], nextCursor: null, loading: true, error: null });
  const [olderLoading, setOlderLoading] = useState(false);
  const [freshIds, setFreshIds] = useState(() => new Set());
  const [attempt, setAttempt] = useState(0);
  const timers = useRef([]);

  useEffect(() => {
    const controller = new AbortController();
    // A new query starts empty; the stream (restarted with the same query) may add events before the list arrives.
    setFeed({ events: [], nextCursor: null, loading: true, error: null });
    const params = queryString({ ...apiParams(filters), limit: PAGE_SIZE });
    api.get(`/api/v1/events${params}`, { signal: controller.signal }).then(
      (answer) => setFeed((current) => ({ events: mergeEvents(current.events, answer.items), nextCursor: answer.nextCursor, loading: false, error: null })),
      (error) => error.name !== 'AbortError' && setFeed({ events: [], nextCursor: null, loading: false, error }),
    );
    return () => controller.abort();
  }, [query, attempt]);

  useEffect(() => () => timers.current.forEach(clearTimeout), []);

  const streaming = !filters.to || new Date(filters.to).getTime() > Date.now();
  const status = useEventStream(query, streaming && !feed.error, (event) => {
    setFeed((current) => {
      const events = mergeEvents(current.events, [event]);
      if (events.length <= MAX_FEED_ROWS) return { ...current, events };
      // Trimmed rows are no longer reachable by "load older" from here; the time filters are.
      return { ...current, events: events.slice(0, MAX_FEED_ROWS), nextCursor: null, trimmed: true };
    });
    setFreshIds((ids) => new Set(ids).add(event.id));
    timers.current.push(
      setTimeout(() => setFreshIds((ids) => {
        const next = new Set(ids);
        next.delete(event.id);
        return next;
      }), FRESH_MS),
    );
  });

  const loadOlder = async () => {
    setOlderLoading(true);
    try {
      const answer = await api.get(`/api/v1/events${queryString({ ...apiParams(filters), limit: PAGE_SIZE, cursor: feed.nextCursor })}`);
      setFeed((current) => ({ ...current, events: mergeEvents(current.events, answer.items), nextCursor: answer.nextCursor, error: null }));
    } catch (error) {
      setFeed((current) => ({ ...current, error }));
    } finally {
      setOlderLoading(false);
    }
  };

  const setFilters = (next) => navigate(`/${searchFromFilters(next)}`, { replace: true });
  const filtered = anyFilter(filters);
  const ingestUrl = `http://${location.hostname}:8080/hikvision/events`;

  return html`<${Page}
    title="Live events"
    subtitle="Everything your devices send, newest first."
    actions=${html`<${LiveIndicator} status=${status} />
      <a class="button" href=${`/api/v1/events/export.csv${query}`} download>Export CSV</a>`}
  >
    <${EventFilterBar} filters=${filters} devices=${devices} eventTypes=${eventTypes} onChange=${setFilters} />
    ${filtered && html`<p class="filter-summary muted">Filtered view. <button type="button" class="link-button" onClick=${() => setFilters({ from: '', to: '', deviceId: '', eventType: '', employeeNo: '', name: '', plate: '', hasPicture: '' })}>Clear filters</button></p>`}
    <${ErrorNotice} title="Could not load events" error=${feed.error} onRetry=${() => setAttempt((n) => n + 1)} />
    ${feed.loading && feed.events.length === 0 && !feed.error && html`<${Loading} label="Loading events…" />`}
    ${!feed.loading && !feed.error && feed.events.length === 0 &&
    (filtered
      ? html`<${Empty} title="No events match these filters.">Change or clear the filters; new matching events will still appear here live.<//>`
      : html`<${Empty} title="No events yet.">
          Point a device's HTTP listening (alarm server) at <code>${ingestUrl}</code> (the ingest port, <code>INGEST_PORT</code>, default 8080),
          or use <strong>Devices → Configure event push</strong>. Events appear here the moment they arrive.
        <//>`)}
    ${feed.events.length > 0 && html`<${EventFeed} events=${feed.events} freshIds=${freshIds} />`}
    ${feed.trimmed && html`<p class="muted more">This live view keeps the newest ${MAX_FEED_ROWS} events. Use From/To to look further back.</p>`}
    ${feed.nextCursor && html`<div class="more"><button type="button" class="button" disabled=${olderLoading} onClick=${loadOlder}>${olderLoading ? 'Loading…' : 'Load older events'}</button></div>`}
  <//>`;
}
