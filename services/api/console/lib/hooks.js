import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/**
 * Load something from the API: { data, error, loading, reload }. A newer load wins over an older
 * one still in flight; `keep` leaves the previous data on screen while reloading.
 */
export function useLoad(loader, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setState((previous) => ({ ...previous, loading: true }));
    try {
      const data = await loader();
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === generation.current) setState((previous) => ({ data: previous.data, error, loading: false }));
    }
  }, deps);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { ...state, reload, setData: (update) => setState((previous) => ({ ...previous, data: typeof update === 'function' ? update(previous.data) : update })) };
}

/** Calls `tick` every `ms` while `active`; stops when the page hides it or unmounts. */
export function useInterval(tick, ms, active = true) {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => latest.current(), ms);
    return () => clearInterval(timer);
  }, [ms, active]);
}
