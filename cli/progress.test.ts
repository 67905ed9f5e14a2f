// Progress heartbeat with an estimate from earlier runs (durations.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Progress } from './progress.ts';
import { expectedSeconds, recordSeconds } from './durations.ts';

let dir: string;
let prev: string | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hw-progress-'));
  prev = process.env.HARDWIRE_CACHE;
  process.env.HARDWIRE_CACHE = dir;
});
afterAll(() => {
  if (prev === undefined) delete process.env.HARDWIRE_CACHE;
  else process.env.HARDWIRE_CACHE = prev;
  rmSync(dir, { recursive: true, force: true });
});

describe('durations', () => {
  it('scales the last rate by the input size; averages runs; no estimate for an unseen kind', () => {
    expect(expectedSeconds('k', 100)).toBeUndefined();
    recordSeconds('k', 1000, 10);
    expect(expectedSeconds('k', 2000)).toBeCloseTo(20);
    recordSeconds('k', 1000, 30);
    expect(expectedSeconds('k', 1000)).toBeCloseTo(20);
  });
  it('an unreadable file means no estimate, not an error', () => {
    writeFileSync(join(dir, 'durations.json'), '{not json');
    expect(expectedSeconds('k', 1)).toBeUndefined();
    recordSeconds('k', 10, 1); // rewrites it
    expect(expectedSeconds('k', 10)).toBeCloseTo(1);
  });
});

describe('Progress.timed', () => {
  it('the heartbeat says what earlier runs of that size took; a cached result is not recorded', async () => {
    const f = join(dir, 'design.v');
    writeFileSync(f, 'x'.repeat(500));
    recordSeconds('yosys-test', 500, 120);
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      return true;
    });
    try {
      const pr = new Progress(1, false, 50);
      pr.begin('synthesizing');
      const r = await pr.timed('yosys-test', [f], () => new Promise<number>((res) => setTimeout(() => res(7), 1300)));
      expect(r).toBe(7);
      pr.done();
      await pr.timed('yosys-test', [f], async () => 'hit', () => true);
    } finally {
      spy.mockRestore();
    }
    expect(lines.some((l) => /still synthesizing \(\d+ s in this step, ~2\.0 min expected from earlier runs here\)/.test(l))).toBe(true);
    // 120 s then ~1.3 s: the average moved down, and the cached call left it there
    const e = expectedSeconds('yosys-test', 500)!;
    expect(e).toBeGreaterThan(60);
    expect(e).toBeLessThan(62);
  });
});
