// A grid shaped like a large hardwired inference die (HC1-class): used by `gen-rtl plan` for Llama 3.1 8B.
// 4,096 rows x 4,096 lanes of ROM multiplier cells, each holding 64 weights of 4 bits (a 4 Gbit
// weight ROM per die), int8 activations, a KV-cache SRAM, and a 1 GHz clock target.
import { defineGrid } from '../../generators/grid/grid.ts';

export default defineGrid({
  name: 'hc1-like',
  rows: 4096,
  lanes: 4096,
  romDepth: 64,
  weightBits: 4,
  actBits: 8,
  accBits: 32,
  regEvery: 2,
  maxFeatures: 14336,
  lut: { units: 64, entries: 256, width: 16 },
  sram: { banks: 64, words: 65536, width: 256 },
  clockMHz: 1000,
});
