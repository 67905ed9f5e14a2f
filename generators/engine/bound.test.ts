// The speed bound: hand-computed terms for the tiny-llama shapes, and never above the schedule the RTL runs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TINY_LLAMA_GRID } from '../grid/grid.ts';
import { buildProgram, cyclesPerToken, shapesOf } from '../llama/schedule.ts';
import { boundPerToken } from './bound.ts';

const tiny = { hidden: 64, intermediate: 176, layers: 2, heads: 4, kvHeads: 2, headDim: 16, vocab: 86, tied: false };

describe('boundPerToken', () => {
  it('tiny-llama: 97,664 MACs on 1,024 cells, 2·4·16·(p+1)·2 attention MACs on 8 heads x 16, 822 elements on 4 (norm scale passes, the first norm sum, SiLU, argmax), RoPE 4 pairs a cycle', () => {
    const prog = buildProgram(shapesOf(tiny), TINY_LLAMA_GRID);
    const b0 = boundPerToken(prog, 0);
    expect(b0.work.matmul.ops).toBe(97_664);
    expect(b0.terms).toMatchObject({ matmul: 96, attention: 2, elementwise: 206, normSums: 16, rope: 24 });
    expect(b0).toMatchObject({ limiter: 'elementwise', fill: prog.laneLatency + 1, cycles: 206 + prog.laneLatency + 1 });
    const b127 = boundPerToken(prog, 127);
    expect(b127.terms).toMatchObject({ attention: 256, kvRead: 256 });
    expect(b127.limiter).toBe('attention');
  });

  it('is never above the cycles the RTL takes (random shapes, positions)', () => {
    fc.assert(fc.property(
      fc.record({ hidden: fc.integer({ min: 8, max: 128 }), intermediate: fc.integer({ min: 8, max: 192 }), layers: fc.integer({ min: 1, max: 4 }), kvHeads: fc.integer({ min: 1, max: 2 }), rep: fc.integer({ min: 1, max: 4 }), headDim: fc.constantFrom(4, 8, 16), vocab: fc.integer({ min: 2, max: 128 }), p: fc.integer({ min: 0, max: 127 }) }),
      (r) => {
        const d = { ...r, heads: r.kvHeads * r.rep, tied: false };
        const prog = buildProgram(shapesOf(d), TINY_LLAMA_GRID);
        expect(boundPerToken(prog, r.p).cycles).toBeLessThanOrEqual(cyclesPerToken(prog, r.p));
      }), { numRuns: 200, seed: 5 });
  });
});
