// The grid of examples/tiny-llama, and the default grid for Llama checkpoints: 16 lanes x 64 rows of
// int4 ROM multiplier cells, 128 weights deep; elementwise units (RMSNorm, SiLU, argmax) 4 elements wide;
// LUT units (rsqrt, exp, reciprocal, 4 x SiLU); a KV-cache SRAM of 2 banks x 512 words x 256 bits; 250 MHz. Copy the fields into your own defineGrid({...}) to try
// another shape: more lanes make every projection faster, a shallower ROM needs more cells.
import { TINY_LLAMA_GRID } from '../../generators/grid/grid.ts';

export default TINY_LLAMA_GRID;
