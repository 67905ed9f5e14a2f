// What every run on the engine proves about its chip: the masks hold only constants (Yosys, 0 cells),
// base/ is the grid's alone (its hash, the same for every model of the grid), and how full the masks are.
import { yosysGateCount } from '../verify/yosys.ts';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { EngineDesign } from '../generators/engine/design.ts';
import { sitePorts } from '../generators/engine/base.ts';
import { checkMaskPurity } from '../verify/maskPurity.ts';
import { lintVerilog } from '../verify/lint.ts';
import { compileIcarus } from '../verify/icarus.ts';
import type { OutputStaging } from './output.ts';
import type { Progress } from './progress.ts';

export interface ChipFacts {
  /** sha256 over base/ (file names and contents, in order): equal for every model of the grid. */
  readonly baseSha256: string;
  readonly topSha256: string;
  /** Yosys cells of each mask module alone (all 0, or the run failed). */
  readonly maskCells: Record<string, number>;
  readonly maskSeconds: number;
  /** Bits each mask layer carries (its capacity, fixed by the grid). */
  readonly maskBits: { readonly weights: number; readonly routing: number };
  readonly weightWordsUsed: number;
  readonly instructions: number;
}

export function folderSha256(files: ReadonlyMap<string, string>, folder: string): string {
  const h = createHash('sha256');
  for (const [p, text] of [...files].filter(([p]) => p.startsWith(`${folder}/`)).sort(([a], [b]) => (a < b ? -1 : 1))) h.update(`${p}\0${text}\0`);
  return h.digest('hex');
}

/** The mask modules of an engine output, relative to its folder. */
export const MASKS = [
  { file: 'mask-weights/mask_weights.v', module: 'mask_weights' },
  { file: 'mask-routing/mask_routing.v', module: 'mask_routing' },
] as const;

/**
 * The steps every engine flow runs on its design: write the files into the staging folder, lint them
 * (Verilator -Wall, Icarus) and check each mask alone in Yosys. Returns the written files, in order.
 */
export async function stageAndCheck(d: EngineDesign, staging: Pick<OutputStaging, 'write' | 'dir'>, pr: Progress): Promise<{ files: string[]; chip: ChipFacts }> {
  for (const [p, text] of d.files) await staging.write(p, text);
  const files = d.order.map((p) => join(staging.dir, p));
  pr.begin('linting: verilator --lint-only -Wall, iverilog -g2005');
  await lintVerilog(files, d.top.name);
  await compileIcarus(files, d.top.name);
  pr.begin('checking the masks: each mask module alone in Yosys must have 0 cells (constants and wires only)');
  const chip = await pr.timed('yosys-masks', MASKS.map((m) => join(staging.dir, m.file)), () => chipFacts(d, staging.dir));
  pr.note(`mask_weights ${chip.maskCells.mask_weights} cells, mask_routing ${chip.maskCells.mask_routing} cells; base/ sha256 ${chip.baseSha256.slice(0, 16)}…`);
  return { files, chip };
}

export async function chipFacts(d: EngineDesign, dir: string): Promise<ChipFacts> {
  const purity = await checkMaskPurity(MASKS.map((m) => ({ file: join(dir, m.file), module: m.module })));
  const bits = (layer: 'weights' | 'routing'): number => sitePorts(d.caps).filter((s) => s.layer === layer).reduce((s, p) => s + p.width, 0);
  return {
    baseSha256: folderSha256(d.files, 'base'), topSha256: folderSha256(d.files, 'top'), maskCells: purity.cells, maskSeconds: purity.seconds,
    maskBits: { weights: bits('weights'), routing: bits('routing') }, weightWordsUsed: d.pz.prog.romUsed, instructions: d.pz.prog.instrs.length,
  };
}

/** The report section on the chip's split into base and masks. */
export function chipFactsMarkdown(f: ChipFacts, gridName: string, romDepth: number): string[] {
  return [
    '## Base die and masks', '',
    `The engine (sequencer, buffers, units, lane array, ROM read sites, KV-cache SRAM) is in \`base/\`, built from grid '${gridName}' alone: every model that fits the grid gets byte-identical \`base/\` and \`top/\` files. The model lives only in the two masks, which hold constants and nothing else.`, '',
    '| | value |', '|---|---|',
    `| base/ sha256 | \`${f.baseSha256}\` |`,
    `| top/ sha256 | \`${f.topSha256}\` |`,
    `| mask A (weights, embedding, tables) | ${f.maskBits.weights.toLocaleString('en-US')} bits; ${f.weightWordsUsed} of ${romDepth} weight words per cell used |`,
    `| mask B (microcode, lane requant words, head table, configuration) | ${f.maskBits.routing.toLocaleString('en-US')} bits; ${f.instructions}-word program |`,
    ...Object.entries(f.maskCells).map(([m, n]) => `| Yosys cells in \`${m}\` alone (\`hierarchy; proc; opt_clean; stat\`) | ${n} |`),
    '', '![floorplan: lane array, KV-cache SRAM, mask A and B](floorplan.svg)', '',
  ];
}

/** The die in Yosys (`--synth` of an engine flow): hierarchical generic gates and the longest path, cached per design. */
export async function synthDie(files: readonly string[], top: string, pr: Progress): Promise<{ gates: number; flops: number; logicDepth?: number; seconds: number }> {
  pr.begin('synthesizing the die in Yosys (hierarchical generic gates, longest path; kept per base/ and reused)');
  const g = await pr.timed('yosys-die', files, () => yosysGateCount(files, top, { flatten: false, depth: true, cache: true, timeoutMs: 3_600_000 }), (r) => r.cached === true);
  pr.note(`${g.totalGates} gates + ${g.flops} flops, longest path ${g.logicDepth ?? '?'} gate levels${g.cached ? ' (from the cache: this die was synthesized before)' : ''}`);
  return { gates: g.totalGates, flops: g.flops, logicDepth: g.logicDepth, seconds: g.seconds };
}
