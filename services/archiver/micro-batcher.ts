/**
 * Group commit for concurrent callers. Each `add(item)` resolves with that item's own result,
 * but items go out together: a flush starts as soon as a slot is free (after `lingerMs`, or on
 * the next turn of the event loop so that everything added in the same I/O phase joins it) or
 * at once when `maxBatch` items wait, and items that arrive while flushes run go in the next one.
 * Under load batches grow by themselves; an idle archiver pays no waiting.
 *
 * `run` answers one result per item, in order; a `BatchItemFailure` fails that item alone. If
 * `run` throws, every item of the batch gets that very error object (an outage classifier
 * further up must recognise a pg or connection error as it is).
 */
export class BatchItemFailure {
  constructor(readonly error: unknown) {}
}

export interface MicroBatcherOptions<In, Out> {
  /** Most items in one flush. */
  maxBatch: number;
  /** Flushes running at once (each may hold a database connection, say). */
  maxInFlight?: number;
  /** How long the first waiting item waits for company when a slot is free; 0 = the next event loop turn. */
  lingerMs?: number;
  run: (items: In[]) => Promise<readonly (Out | BatchItemFailure)[]>;
  /** Told the size of every flush (a histogram). */
  observe?: (size: number) => void;
}

export interface MicroBatcher<In, Out> {
  add(item: In): Promise<Out>;
}

interface Entry<In, Out> {
  item: In;
  resolve: (value: Out) => void;
  reject: (error: unknown) => void;
}

export function createMicroBatcher<In, Out>(options: MicroBatcherOptions<In, Out>): MicroBatcher<In, Out> {
  const { maxBatch, run, observe } = options;
  const maxInFlight = options.maxInFlight ?? 1;
  const lingerMs = options.lingerMs ?? 0;
  let pending: Entry<In, Out>[] = [];
  let inFlight = 0;
  let timerSet = false;

  const flush = async (batch: Entry<In, Out>[]): Promise<void> => {
    observe?.(batch.length);
    let results: readonly (Out | BatchItemFailure)[];
    try {
      results = await run(batch.map((entry) => entry.item));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
      return;
    }
    if (results.length !== batch.length) {
      const error = new Error(`batch of ${batch.length} items answered ${results.length} results`);
      for (const entry of batch) entry.reject(error);
      return;
    }
    batch.forEach((entry, index) => {
      const result = results[index]!;
      if (result instanceof BatchItemFailure) entry.reject(result.error);
      else entry.resolve(result);
    });
  };

  const start = (): void => {
    while (pending.length && inFlight < maxInFlight) {
      const batch = pending.length <= maxBatch ? pending : pending.slice(0, maxBatch);
      pending = pending.length <= maxBatch ? [] : pending.slice(maxBatch);
      inFlight++;
      void flush(batch).finally(() => {
        inFlight--;
        // Whoever waited during this flush has waited long enough.
        start();
      });
    }
  };

  const schedule = (): void => {
    if (pending.length >= maxBatch) return start();
    if (timerSet || inFlight >= maxInFlight) return; // a finishing flush takes what waits
    timerSet = true;
    const fire = () => {
      timerSet = false;
      start();
    };
    if (lingerMs > 0) setTimeout(fire, lingerMs);
    else setImmediate(fire);
  };

  return {
    add(item: In): Promise<Out> {
      return new Promise<Out>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        schedule();
      });
    },
  };
}
