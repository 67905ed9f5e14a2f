// An HC1-class engine die for Llama 3.1 8B at 1k context, the default of `gen-rtl plan --context 1024`:
// 512 lanes x 4,096 rows of int3 ROM multiplier cells (the HC1 hardwires 3-bit weights), 3,712 weights
// deep (every projection of all 32 layers and the lm_head in one die's mask ROM, every lane on every
// matrix), the engine's units for 32 heads of 128, a vocabulary of 128,256, 64-wide vector units, a
// KV-cache SRAM of 2 banks (K, V) x 32 layers x 1,024 positions x 8,192 bits; 1 GHz, assumed. Copy the
// fields into your own defineGrid({...}) to explore other dies.
import { HC1_GRID } from '../../generators/grid/grid.ts';

export default HC1_GRID;
