import { describe, expect, it } from 'vitest';
import { BatchItemFailure, createMicroBatcher } from '../../services/archiver/micro-batcher.js';

/** A run that the test finishes by hand, to hold a flush "in flight". */
function heldRuns<In, Out>(answer: (items: In[]) => (Out | BatchItemFailure)[]) {
  const batches: { items: In[]; release: () => void; fail: (error: unknown) => void }[] = [];
  const run = (items: In[]) =>
    new Promise<(Out | BatchItemFailure)[]>((resolve, reject) => {
      batches.push({ items, release: () => resolve(answer(items)), fail: reject });
    });
  return { batches, run };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('micro-batcher (group commit)', () => {
  it('sends what arrives in one turn together, and what arrives during a flush in the next one', async () => {
    const { batches, run } = heldRuns<number, string>((items) => items.map((n) => `r${n}`));
    const sizes: number[] = [];
    const batcher = createMicroBatcher({ maxBatch: 100, run, observe: (size) => sizes.push(size) });
    const first = [1, 2, 3].map((n) => batcher.add(n));
    await turn();
    expect(batches.map((batch) => batch.items)).toEqual([[1, 2, 3]]);
    const second = [4, 5].map((n) => batcher.add(n));
    await turn();
    expect(batches).toHaveLength(1); // one flush at a time: 4 and 5 wait for it
    batches[0]!.release();
    expect(await Promise.all(first)).toEqual(['r1', 'r2', 'r3']);
    await turn();
    expect(batches[1]!.items).toEqual([4, 5]);
    batches[1]!.release();
    expect(await Promise.all(second)).toEqual(['r4', 'r5']);
    expect(sizes).toEqual([3, 2]);
  });

  it('splits at maxBatch and runs up to maxInFlight flushes at once', async () => {
    const { batches, run } = heldRuns<number, number>((items) => items);
    const batcher = createMicroBatcher({ maxBatch: 2, maxInFlight: 2, run });
    const results = [1, 2, 3, 4, 5].map((n) => batcher.add(n));
    await turn();
    expect(batches.map((batch) => batch.items)).toEqual([[1, 2], [3, 4]]);
    batches[0]!.release();
    await turn();
    expect(batches[2]!.items).toEqual([5]);
    batches[1]!.release();
    batches[2]!.release();
    expect(await Promise.all(results)).toEqual([1, 2, 3, 4, 5]);
  });

  it('fails one item alone, or every item of a batch with the very error the run threw', async () => {
    const { batches, run } = heldRuns<number, number>((items) => items.map((n) => (n === 2 ? new BatchItemFailure(new Error('bad row')) : n)));
    const batcher = createMicroBatcher({ maxBatch: 10, run });
    const results = [1, 2, 3].map((n) => batcher.add(n).catch((error: Error) => error.message));
    await turn();
    batches[0]!.release();
    expect(await Promise.all(results)).toEqual([1, 'bad row', 3]);

    const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const failing = [4, 5].map((n) => batcher.add(n).catch((error: unknown) => error));
    await turn();
    batches[1]!.fail(outage);
    const errors = await Promise.all(failing);
    expect(errors.every((error) => error === outage)).toBe(true);
  });
});
