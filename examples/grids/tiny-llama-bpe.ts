// The tiny-llama grid with a logit buffer, argmax and embedding ROM for up to 512 tokens: byte-level BPE
// vocabularies start at 256 byte tokens (examples/hf-llama has 384). Everything else as tiny-llama.ts.
import { defineGrid, TINY_LLAMA_GRID } from '../../generators/grid/grid.ts';

export default defineGrid({ ...TINY_LLAMA_GRID, name: 'tiny-llama-bpe', engine: { ...TINY_LLAMA_GRID.engine, vocab: 512 } });
