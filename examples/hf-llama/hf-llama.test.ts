// A checkpoint as transformers writes it (examples/hf-llama: save_pretrained in bf16, two shards and an
// index, tied embeddings, rope_parameters of type llama3, bos/eos): read from its folder, the float path
// equals transformers' logits, the RoPE frequencies equal transformers' llama3-scaled ones, and the
// hardwired RTL on the tiny-llama grid generates exactly what the golden model does.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../cli/testing.ts';
import { recognizeLlama } from '../../generators/load/llama.ts';
import { openWeights, resolveModelPath } from '../../generators/load/sharded.ts';
import { openSafetensors } from '../../generators/load/safetensors.ts';
import BPE_GRID from '../grids/tiny-llama-bpe.ts';
import { quantizeLlama } from '../../generators/quantize/llama.ts';
import { buildLlamaDesign } from '../../generators/llama/design.ts';
import { cyclesPerToken } from '../../generators/llama/schedule.ts';
import { FloatLlamaRunner, generateGreedy, llama3InvFreq } from '../../verify/golden/float-llama.ts';
import { generateInt } from '../../verify/golden/llama.ts';
import { emitDesign } from '../../dsl/verilog.ts';
import { simSpecOf, writeDesign } from '../../verify/design.ts';
import { buildSim } from '../../verify/verilator.ts';
import { cosimLlama } from '../../verify/cosimLlama.ts';
import type { FloatLlama } from '../../generators/llama-model.ts';

const DIR = join(ROOT, 'examples/hf-llama');

function load(): FloatLlama {
  const path = resolveModelPath(DIR);
  expect(path).toBe(join(DIR, 'model.safetensors.index.json'));
  const f = openWeights(path);
  try {
    return recognizeLlama(f, JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')), join(DIR, 'config.json'));
  } finally {
    f.close();
  }
}

const ref = openSafetensors(join(DIR, 'reference.safetensors'));
const ids = (name: string): number[] => Array.from(ref.readBigInt64(name), Number);
const model = load();

describe('examples/hf-llama (transformers save_pretrained: bf16, sharded, llama3 RoPE, tied)', () => {
  it('reads the folder: 2 shards through the index, tied lm_head, bos/eos, llama3 scaling', () => {
    expect(model.dims).toMatchObject({ hidden: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, vocab: 384, tied: true, bos: 0, eos: [1] });
    expect(model.dims.ropeScaling).toEqual({ factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 32 });
  });

  it("RoPE inverse frequencies equal transformers' (all three bands of the llama3 scaling)", () => {
    const want = ref.readFloat32('rope_inv_freq');
    const d = model.dims;
    const got = Array.from({ length: d.headDim / 2 }, (_, i) => llama3InvFreq(Math.fround(1 / Math.fround(d.ropeTheta ** Math.fround((2 * i) / d.headDim))), d.ropeScaling!));
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]) / want[i], `pair ${i}`).toBeLessThan(1e-6);
  });

  it("the float path equals transformers' logits to 1e-4 at every prompt position, and its greedy text", () => {
    const tokens = ids('tokens');
    const want = ref.readFloat32('logits');
    const V = model.dims.vocab;
    const r = new FloatLlamaRunner(model, 128);
    let worst = 0;
    tokens.forEach((t, p) => {
      const l = r.step(t);
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(l[v] - want[p * V + v]));
    });
    console.log(`float path vs transformers: worst |logit difference| ${worst.toExponential(2)} over ${tokens.length} x ${V}`);
    expect(worst).toBeLessThan(1e-4);
    const greedy = ids('greedy');
    expect(generateGreedy(model, tokens, greedy.length, model.dims.eos)).toEqual(greedy.slice(0, greedy.indexOf(1) >= 0 ? greedy.indexOf(1) + 1 : greedy.length));
  });

  it('hardwired on the tiny-llama-bpe grid (vocabulary up to 512): RTL tokens = golden, KV cache equal, cycles = plan', async () => {
    const q = quantizeLlama(model, { weightBits: 4, calib: chunks(readCalib(), 128) });
    const context = 128;
    const d = buildLlamaDesign(q, BPE_GRID, context);
    const dir = mkdtempSync(join(tmpdir(), 'hw-hf-'));
    const files = writeDesign(emitDesign(d.top), dir);
    const sim = await buildSim(simSpecOf(d.top, files));
    const prompt = ids('tokens');
    const n = 40;
    const r = await cosimLlama(sim, q, d.program, context, [{ prompt, tokens: n }]);
    const run = r.runs[0];
    expect(run.firstMismatch).toBeUndefined();
    expect(run.rtlTokens).toEqual(generateInt(q, prompt, n, context).tokens);
    expect(run.kvRowsEqual).toBe(run.kvRows);
    for (const s of run.cycles) expect(s.measured).toBe(cyclesPerToken(d.program, s.pos));
  });
});

function readCalib(): number[] {
  const f = openSafetensors(join(DIR, 'calib.safetensors'));
  try {
    return Array.from(f.readBigInt64('tokens'), Number);
  } finally {
    f.close();
  }
}

function chunks(a: number[], n: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n));
  return out;
}
