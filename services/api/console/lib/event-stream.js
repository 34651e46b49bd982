import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';

/**
 * Server-sent events from /api/v1/events/stream with the feed's filters. EventSource reconnects
 * by itself (sending Last-Event-ID, so nothing is missed); when the server refuses outright
 * (e.g. the session ended) it gives up, and we check the session and try again a little later.
 * Returns 'connecting' | 'live' | 'reconnecting' | 'paused'.
 */
export function useEventStream(query, enabled, onEvent) {
  const [status, setStatus] = useState(enabled ? 'connecting' : 'paused');
  const [attempt, setAttempt] = useState(0);
  const handler = useRef(onEvent);
  handler.current = onEvent;

  useEffect(() => {
    if (!enabled) {
      setStatus('paused');
      return undefined;
    }
    setStatus('connecting');
    const source = new EventSource(`/api/v1/events/stream${query}`);
    let retryTimer = null;
    let stopped = false;
    const retryIn = (ms) => {
      if (!stopped) retryTimer = setTimeout(() => setAttempt((n) => n + 1), ms);
    };
    source.addEventListener('open', () => setStatus('live'));
    source.addEventListener('event', (message) => {
      try {
        handler.current(JSON.parse(message.data));
      } catch {
        // A malformed message is skipped; the next one still counts.
      }
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CONNECTING) {
        setStatus('reconnecting');
        return;
      }
      setStatus('reconnecting');
      // Closed for good: a 401 here signs the console out (via the API wrapper); otherwise retry.
      api.get('/api/v1/session').then(
        () => retryIn(3000),
        () => retryIn(5000),
      );
    });
    return () => {
      stopped = true;
      source.close();
      if (retryTimer) clearTimeout(retryTimer);
    };
  }, [query, enabled, attempt]);

  return status;
}
