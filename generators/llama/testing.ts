// Small random Llamas for tests: seeded float weights in HF's layout, with dims chosen by the test.
import type { FloatLlama, LlamaDims } from '../llama-model.ts';
import { mulberry32 } from '../../verify/prng.ts';

export function randomFloatLlama(dims: LlamaDims, seed: number): FloatLlama {
  const r = mulberry32(seed);
  const mat = (rows: number, cols: number): Float32Array => Float32Array.from({ length: rows * cols }, () => ((r() * 2 - 1) * 1.5) / Math.sqrt(cols));
  const norm = (n: number): Float32Array => Float32Array.from({ length: n }, () => 0.5 + r());
  const H = dims.hidden, A = dims.heads * dims.headDim, KV = dims.kvHeads * dims.headDim, I = dims.intermediate;
  const embedTokens = Float32Array.from({ length: dims.vocab * H }, () => r() * 2 - 1);
  const layers = Array.from({ length: dims.layers }, () => ({
    inputNorm: norm(H), qProj: mat(A, H), kProj: mat(KV, H), vProj: mat(KV, H), oProj: mat(H, A),
    postAttentionNorm: norm(H), gateProj: mat(I, H), upProj: mat(I, H), downProj: mat(H, I),
  }));
  return { kind: 'llama', dims, embedTokens, layers, norm: norm(H), lmHead: dims.tied ? embedTokens : mat(dims.vocab, H) };
}

/** Random token windows (calibration or prompts). */
export function randomTokens(n: number, vocab: number, seed: number): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => Math.floor(r() * vocab));
}
