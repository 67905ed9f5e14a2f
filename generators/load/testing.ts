// Test helper for the recognizers: a refusal must be one UserError line (exit 2) starting with a path.
import { expect } from 'vitest';
import { UserError } from '../../core/errors.ts';

/** Runs `load`, which must throw a one-line UserError with code 2 that starts with a file and names every part. */
export function expectLoadRefused(load: () => unknown, ...parts: string[]): string {
  let err: unknown;
  try {
    load();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserError);
  const e = err as UserError;
  expect(e.code).toBe(2);
  expect(e.message).toMatch(/^(\/\S+\.safetensors|config\.json): /);
  expect(e.message).not.toMatch(/\n/);
  for (const p of parts) expect(e.message).toContain(p);
  return e.message;
}
