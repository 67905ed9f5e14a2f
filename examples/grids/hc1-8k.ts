// examples/grids/hc1.ts with an 8k-position KV cache (32 layers x 8,192 positions per SRAM bank), the
// default of `gen-rtl plan` for contexts of 1,025 to 8,192.
import { HC1_8K_GRID } from '../../generators/grid/grid.ts';

export default HC1_8K_GRID;
