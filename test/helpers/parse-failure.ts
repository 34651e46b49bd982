import { expect } from 'vitest';
import { ParseFailure, type ParseFailureCode } from '../../libs/hikvision/event-model.js';

/** The ParseFailure that `run` throws or rejects with; fails the test on success or on any other error. */
export async function parseFailureOf(run: () => unknown): Promise<ParseFailure> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ParseFailure);
    return error as ParseFailure;
  }
  throw new Error('expected a ParseFailure');
}

/** As parseFailureOf, and its code must be `code` (the reason is shown when it is not). */
export async function expectParseFailure(run: () => unknown, code: ParseFailureCode): Promise<ParseFailure> {
  const failure = await parseFailureOf(run);
  expect(failure.code, failure.reason).toBe(code);
  return failure;
}
