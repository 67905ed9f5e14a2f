// A small grid for the digits MLP: 48 lanes of 64 int4 ROM multiplier cells, ROM depth 4.
import { defineGrid } from '../../generators/grid/grid.ts';

export default defineGrid({
  name: 'digits-d4',
  rows: 64,
  lanes: 48,
  romDepth: 4,
  weightBits: 4,
  actBits: 8,
  accBits: 24,
  regEvery: 2,
  maxFeatures: 64,
  clockMHz: 250,
});
