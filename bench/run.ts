// npm run bench: speed of the generator, the simulators and the build cache, as ratios within one run.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openSafetensors } from '../generators/load/safetensors.ts';
import { recognizeLlama } from '../generators/load/llama.ts';
import { quantizeLlama } from '../generators/quantize/llama.ts';
import { TINY_LLAMA_GRID } from '../generators/grid/grid.ts';
import { buildLlamaDesign } from '../generators/llama/design.ts';
import { IntLlamaRunner } from '../verify/golden/llama.ts';
import { FloatLlamaRunner } from '../verify/golden/float-llama.ts';
import { cosimLlama } from '../verify/cosimLlama.ts';
import { boundPerToken } from '../generators/engine/bound.ts';
import { randomQuantizedMlp } from '../generators/mlp/testing.ts';
import { buildMlpRtl } from '../generators/mlp/top.ts';
import { emitDesign } from '../dsl/verilog.ts';
import { Evaluator } from '../dsl/eval.ts';
import { simSpecOf, writeDesign } from '../verify/design.ts';
import { buildSim, packRecords, layoutRecord } from '../verify/verilator.ts';
import { goldenMlp } from '../verify/golden/mlp.ts';
import { randomVectors } from '../cli/genMlp.ts';
import { packVector } from '../verify/cosimMlp.ts';

let peakRss = 0;
const sample = (): void => { peakRss = Math.max(peakRss, process.memoryUsage().rss); };
const sampler = setInterval(sample, 20);
const row = (what: string, value: string, note = ''): void => { console.log(`${what.padEnd(52)} ${value.padStart(16)}  ${note}`); };
const time = async <T>(f: () => Promise<T> | T): Promise<[T, number]> => { const t = performance.now(); const r = await f(); return [r, (performance.now() - t) / 1000]; };

// 1. Generator: a large synthetic model, CSD cells vs the naive-constant baseline in the same process.
const big = randomQuantizedMlp([256, 256, 256, 10], 4, 1).q;
const weights = big.layers.reduce((s, l) => s + l.weight.length, 0);
const [csdFiles, tCsd] = await time(() => { const r = buildMlpRtl(big); sample(); const e = emitDesign(r.top); sample(); return e; });
const [, tNaive] = await time(() => emitDesign(buildMlpRtl(big, { style: 'naive' }).top));
const bytes = [...csdFiles.files.values()].reduce((s, t) => s + t.length, 0);
row(`generate+emit ${weights.toLocaleString('en-US')} weights (csd)`, `${Math.round(weights / tCsd).toLocaleString('en-US')} w/s`, `${tCsd.toFixed(2)} s, ${(bytes / 1e6).toFixed(1)} MB Verilog`);
row('  vs naive x*CONST cells (same process)', `${(tNaive / tCsd).toFixed(2)}x`, `naive ${tNaive.toFixed(2)} s`);
row('  peak RSS after generating', `${(peakRss / 2 ** 20).toFixed(0)} MiB`);

// 2. Golden model vs IR evaluator vs Verilator on one small design.
const small = randomQuantizedMlp([16, 8, 4], 4, 2).q;
const rtl = buildMlpRtl(small);
const dir = mkdtempSync(join(tmpdir(), 'hw-bench-'));
const cacheDir = join(dir, 'cache');
const files = writeDesign(emitDesign(rtl.top), join(dir, 'rtl'));
const vecs = randomVectors(20000, 16, 8, 3);
const [, tGold] = await time(() => { for (const v of vecs) goldenMlp(small, v); });
row('golden model', `${Math.round(vecs.length / tGold).toLocaleString('en-US')} vec/s`);
const ev = new Evaluator(rtl.top);
const evN = 2000;
const [, tEv] = await time(() => { for (let i = 0; i < evN; i++) ev.step([0n, 1n, packVector(vecs[i], 8), 1n]); });
row('IR evaluator (bigint, cycle accurate)', `${Math.round(evN / tEv).toLocaleString('en-US')} cyc/s`);

const spec = simSpecOf(rtl.top, files);
const [cold, tCold] = await time(() => buildSim(spec, { cacheDir }));
const [, tHit] = await time(() => buildSim(spec, { cacheDir }));
rmSync(cacheDir, { recursive: true, force: true });
const [, tCcache] = await time(() => buildSim(spec, { cacheDir }));
row('Verilator build, cold (this run)', `${tCold.toFixed(2)} s`, cold.cached ? '(cached?)' : '');
row('  rebuild after cache loss (ccache)', `${tCcache.toFixed(2)} s`, `${(tCold / tCcache).toFixed(1)}x faster than cold`);
row('  cache hit (no Verilator run)', `${(tHit * 1000).toFixed(1)} ms`, `${(tCold / tHit).toFixed(0)}x faster than cold`);

const sim = await buildSim(spec, { cacheDir });
const n = 1_000_000;
const { slots, bytes: recBytes } = layoutRecord(spec.ports.filter((p) => p.dir === 'input' && p.name !== 'clk'));
const cycles: bigint[][] = [];
for (let i = 0; i < 50_000; i++) cycles.push([0n, 1n, packVector(vecs[i % vecs.length], 8), 1n]);
const recs50k = packRecords(slots, recBytes, cycles);
const raw = Buffer.concat(Array.from({ length: n / 50_000 }, () => recs50k));
const [, tRaw] = await time(() => sim.runRaw(raw));
const [, tRun] = await time(() => sim.run(cycles));
row('Verilator runRaw (binary records)', `${Math.round(n / tRaw).toLocaleString('en-US')} cyc/s`, `${n.toLocaleString('en-US')} cycles`);
row('  run() with bigint packing', `${Math.round(cycles.length / tRun).toLocaleString('en-US')} cyc/s`, `${((n / tRaw) / (cycles.length / tRun)).toFixed(1)}x slower than runRaw`);
row('  Verilator vs IR evaluator', `${((n / tRaw) / (evN / tEv)).toFixed(0)}x`);

// 3. The tiny Llama: golden vs float decoder speed, RTL generation, Verilator simulation of generation.
{
  const EX = join(import.meta.dirname, '..', 'examples', 'tiny-llama');
  const st = openSafetensors(join(EX, 'model.safetensors'));
  const model = recognizeLlama(st, JSON.parse(readFileSync(join(EX, 'config.json'), 'utf8')), 'config.json');
  st.close();
  const cf = openSafetensors(join(EX, 'calib.safetensors'));
  const ct = Array.from(cf.readBigInt64('tokens'), Number);
  cf.close();
  const calib: number[][] = [];
  for (let i = 0; i < ct.length; i += 128) calib.push(ct.slice(i, i + 128));
  const [q, tQ] = await time(() => quantizeLlama(model, { weightBits: 4, calib }));
  row('Llama: quantize + calibrate (2,048 tokens)', `${tQ.toFixed(2)} s`);
  const toks = ct.slice(0, 128);
  const ir = new IntLlamaRunner(q, 128);
  const [, tInt] = await time(() => { for (const t of toks) ir.step(t); });
  const fr = new FloatLlamaRunner(model, 128);
  const [, tFl] = await time(() => { for (const t of toks) fr.step(t); });
  row('  integer golden decoder', `${Math.round(toks.length / tInt).toLocaleString('en-US')} tok/s`, `${(tInt / tFl).toFixed(2)}x the float reference's time`);
  const [d, tGen] = await time(() => buildLlamaDesign(q, TINY_LLAMA_GRID, 128));
  row('  generate + emit the RTL', `${tGen.toFixed(2)} s`, `${[...d.files.values()].reduce((a, b) => a + b.length, 0).toLocaleString('en-US')} bytes of Verilog`);
  const ldir = mkdtempSync(join(tmpdir(), 'hw-bench-llama-'));
  const lfiles = d.order.map((f) => join(ldir, f));
  for (const [f, text] of d.files) { mkdirSync(dirname(join(ldir, f)), { recursive: true }); writeFileSync(join(ldir, f), text); }
  const [lsim, tB] = await time(() => buildSim(simSpecOf(d.top, lfiles)));
  row('  Verilator build', `${tB.toFixed(1)} s`, lsim.cached ? '(from the cache)' : '(cold)');
  // The whole context (8 prompt tokens, then 121 generated): every position measured.
  const [res, tSim] = await time(() => cosimLlama(lsim, q, d.program, 128, [{ prompt: toks.slice(0, 8), tokens: 121 }]));
  const cyc = res.simCycles;
  row(`  Verilator generation (${res.runs[0].steps} steps, bigint records)`, `${Math.round(cyc / tSim).toLocaleString('en-US')} cyc/s`, `${(res.runs[0].steps / tSim).toFixed(0)} tokens/s simulated; ${res.runs[0].stepsEqual}/${res.runs[0].steps} steps equal`);
  // Against the bound (generators/engine/bound.ts): measured cycles per token over the best any schedule could do on this die.
  for (const pos of [0, 63, 127]) {
    const m = res.runs[0].cycles.find((c) => c.pos === pos)?.measured;
    const b = boundPerToken(d.program, pos);
    row(`  cycles/token at position ${pos}`, m === undefined ? 'not reached' : `${m} measured`, `bound ${b.cycles} (${b.limiter}); ${m === undefined ? '' : `${(m / b.cycles).toFixed(2)}x the bound`}`);
  }
  rmSync(ldir, { recursive: true, force: true });
}
clearInterval(sampler);
row('peak RSS', `${(peakRss / 2 ** 20).toFixed(0)} MiB`);
rmSync(dir, { recursive: true, force: true });
