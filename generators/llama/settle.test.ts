// The overlapped schedule (settle.ts) on the tiny-llama shapes: the cycles of every word, which the
// co-simulations (examples/tiny-llama, llama.test.ts, examples/llama-h48) confirm on the RTL.
import { describe, expect, it } from 'vitest';
import { TINY_LLAMA_GRID } from '../grid/grid.ts';
import { buildProgram, cyclesPerToken, instrCycles, shapesOf, type Instr } from './schedule.ts';

const tiny = { hidden: 64, intermediate: 176, layers: 2, heads: 4, kvHeads: 2, headDim: 16, vocab: 86 };
const label = (i: Instr): string => (i.op === 'matmul' ? i.name : i.op);

describe('settle: matmul words overlap what follows', () => {
  const prog = buildProgram(shapesOf(tiny), TINY_LLAMA_GRID);
  it('tiny-llama at position 0: 355 cycles, word by word', () => {
    const words = prog.instrs.map((i) => `${label(i)} ${instrCycles(prog, i, 0)}`);
    const layer = ['norm 17', 'q_proj 4', 'k_proj 2', 'v_proj 1', 'rope 12', 'kvwrite 1', 'attn 8', 'o_proj 8', 'norm 17', 'gate_proj 11', 'up_proj 5', 'silu 44', 'down_proj 16'];
    // q waits for its own issue (4 passes) before k may use the lanes; v's word lasts 1 cycle: RoPE
    // starts while k and v are still in the lanes; up's word waits only for its first pass before SwiGLU.
    expect(words).toEqual(['embed 1', 'norm 33', ...layer.slice(1), ...layer, 'norm 17', 'lm_head 5', 'argmax 22', 'end 1']);
    expect(cyclesPerToken(prog, 0)).toBe(355);
    expect(cyclesPerToken(prog, 127)).toBe(355 + 4 * 127); // two sweeps of the cache per layer
  });

  it('a matmul word never ends before its issue when the next word is a matmul (one lane array)', () => {
    const mm = prog.instrs.filter((i) => i.op === 'matmul');
    prog.instrs.forEach((ins, k) => {
      const next = prog.instrs[k + 1];
      if (ins.op === 'matmul' && next?.op === 'matmul') expect(instrCycles(prog, ins, 0)).toBeGreaterThanOrEqual(ins.passes * ins.chunks);
    });
    expect(mm.every((i) => i.op === 'matmul' && i.drain !== undefined && i.drain >= 0)).toBe(true);
  });
});
