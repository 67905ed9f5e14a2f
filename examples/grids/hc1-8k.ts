// An HC1-class engine die for Llama 3.1 8B at 8k context (`gen-rtl plan --grid examples/grids/hc1.ts`):
// 512 lanes x 4,096 rows of int3 ROM multiplier cells (the HC1 hardwires 3-bit weights), 3,712 weights
// deep (7.8e9 weight slots: every projection of all 32 layers and the lm_head in one die's mask ROM,
// every lane on every matrix), the engine's units for 32 heads of 128, a vocabulary of 128,256, 64-wide vector units, and a KV-cache SRAM
// of 2 banks (K, V) x 32 layers x 8,192 positions x 8,192 bits (every KV head of a position in one row).
// Clock 1 GHz, assumed. The same die as hc1.ts with an 8k-position KV cache.
import { defineGrid } from '../../generators/grid/grid.ts';

export default defineGrid({
  name: 'hc1-8k', rows: 4096, lanes: 512, romDepth: 3712, weightBits: 3, actBits: 8, accBits: 32, regEvery: 2,
  maxFeatures: 14336, vector: 64, lut: { units: 67, entries: 1024, width: 16 }, sram: { banks: 2, words: 32 * 8192, width: 8192 }, clockMHz: 1000,
  engine: { heads: 32, headDim: 128, context: 8192, vocab: 128256, instrs: 512 },
});
