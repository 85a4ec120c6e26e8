/** Assertions for code that must refuse with a DroverError (unit tests only). */
import assert from 'node:assert/strict';
import { DroverError } from '../errors/index.ts';

/** Awaits `promise`, which must reject with a DroverError, and returns that error for further checks. */
export async function refusal(promise: Promise<unknown>): Promise<DroverError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DroverError, `expected a DroverError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a refusal');
}

/** Awaits `promise`, which must reject with a DroverError of `code` (and a message matching `pattern`). */
export async function refused(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  const error = await refusal(promise);
  assert.equal(error.code, code, error.message);
  if (pattern) assert.match(error.message, pattern);
}
