// A grid shaped like a large hardwired inference die (HC1-class), used by `gen-rtl plan` for Llama 3.1 8B:
// 4,096 rows x 4,096 lanes of ROM multiplier cells, each holding 64 weights of 4 bits (a 4 Gbit weight
// ROM per die), int8 activations, a KV-cache SRAM, a 1 GHz clock target. It is also plan's default grid;
// copy the fields into your own defineGrid({...}) to explore other dies.
import { DIE_GRID } from '../../generators/grid/grid.ts';

export default DIE_GRID;
