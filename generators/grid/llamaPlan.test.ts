// gen-rtl plan on an engine grid: the headline is the engine's own cycle model (the one Verilator
// measures equal on tiny-llama, cli/llamaCli.test.ts), with the stated transistor model.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLlamaConfig, planLlama, formatLlamaPlan, TRANSISTORS } from './llamaPlan.ts';
import { TINY_LLAMA_GRID, loadGrid } from './grid.ts';
import { buildProgram, cyclesPerToken, shapesOf } from '../llama/schedule.ts';

const config = (p: string) => parseLlamaConfig(JSON.parse(readFileSync(p, 'utf8')), p);

describe('planLlama on an engine grid', () => {
  it('tiny-llama: the plan is the RTL schedule at every position (first, last, mean, first token)', () => {
    const c = config('examples/tiny-llama/config.json');
    const plan = planLlama(c, TINY_LLAMA_GRID, 128);
    const prog = buildProgram(shapesOf(c), TINY_LLAMA_GRID);
    const e = plan.engine!;
    expect(e).toBeDefined();
    expect(e.cyclesFirst).toBe(cyclesPerToken(prog, 0));
    expect(e.cyclesLast).toBe(cyclesPerToken(prog, 127));
    let sum = 0;
    for (let p = 0; p < 128; p++) sum += cyclesPerToken(prog, p);
    expect(e.cyclesMean).toBeCloseTo(sum / 128, 6);
    expect(e.ttftCycles).toBe(sum);
    expect(e.bound).toBeLessThanOrEqual(e.cyclesLast);
  });

  it('Llama 3.1 8B on the hc1 die: one die, under 5 transistors per weight at 1k; two dies at 8k', async () => {
    const c = config('examples/llama-3.1-8b/config.json');
    const k1 = planLlama(c, await loadGrid('examples/grids/hc1.ts'), 1024).engine!;
    expect(k1.dies).toBe(1);
    expect(k1.transistors.perWeight).toBeLessThan(5);
    expect(k1.transistors.total).toBeLessThan(TRANSISTORS.die);
    const k8 = planLlama(c, await loadGrid('examples/grids/hc1-8k.ts'), 8192).engine!;
    expect(k8.dies).toBe(2);
    expect(k8.cyclesLast).toBeGreaterThan(k1.cyclesLast);
    const text = formatLlamaPlan(planLlama(c, await loadGrid('examples/grids/hc1.ts'), 1024), 'config.json');
    expect(text).toMatch(/^projection for config.json on grid 'hc1'/);
    expect(text).toMatch(/\n {2}transistors {2}\d\.\d\d per weight all-in/);
    expect(text).toMatch(/\n {2}first token {2}[\d,]+ cycles = [\d.]+ ms for a 1,024-token prompt/);
  });
});
