// A checkpoint as transformers writes it (examples/hf-llama: save_pretrained in bf16, two shards and an
// index, tied embeddings, rope_parameters of type llama3, bos/eos): read from its folder, the float path
// equals transformers' logits, the RoPE frequencies equal transformers' llama3-scaled ones, and the
// hardwired RTL on the tiny-llama grid generates exactly what the golden model does.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../../cli/testing.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
import { recognizeLlama } from '../../generators/load/llama.ts';
import { openWeights, resolveModelPath } from '../../generators/load/sharded.ts';
import { openSafetensors } from '../../generators/load/safetensors.ts';
import { FloatLlamaRunner, generateGreedy, llama3InvFreq } from '../../verify/golden/float-llama.ts';
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

  it('gen-rtl on the folder with a text prompt (BPE): RTL text = golden text, KV cache equal, Icarus agrees; float loss = transformers\'', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hw-hf-')), 'out');
    const r = await run('node', [CLI, DIR, '--prompt', 'Permission is hereby granted, free of charge, ', '--tokens', '32', '--grid', join(ROOT, 'examples/grids/tiny-llama-bpe.ts'), '--out', out, '-q'], { cwd: ROOT, maxBuffer: 1 << 24 });
    console.log(r.stdout);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(rep.verified).toBe(true);
    const p = rep.prompts[0];
    expect(p.rtl).toBe(p.golden);
    expect(p.stepsEqual).toBe(p.steps);
    expect(p.kvRowsEqual).toBe(p.kvRows);
    expect(rep.fullContext.stepsEqual).toBe(rep.fullContext.steps);
    expect(rep.icarus.equal).toBe(rep.icarus.cycles);
    expect(rep.cyclesMeasuredEqualPlanned.equal).toBe(rep.cyclesMeasuredEqualPlanned.steps);
    // The float path's held-out loss repeats the number transformers printed in make.py.
    expect(rep.quantization.floatLoss).toBeCloseTo(Number(ref.metadata!.val_tokens_loss), 3);
  });
});
