// A whole grid design: the base (grid only), each chip's two masks and top, the multi-chip sim top,
// and the split of the emitted files into base/, mask-weights/, mask-routing/ and top/.
import type { IrModule } from '../../dsl/ir/types.ts';
import { emitDesign } from '../../dsl/verilog.ts';
import { render } from '../../templates/render.ts';
import type { QuantizedMlp } from '../model.ts';
import { gridModule } from './base.ts';
import type { GridSpec } from './grid.ts';
import { planOnGrid, type GridPlan } from './map.ts';
import { chipTop, maskRouting, maskWeights, multiChipTop } from './masks.ts';

export interface GridDesign {
  readonly plan: GridPlan;
  readonly top: IrModule;
  /** Output files by relative path (base/…, mask-weights/…, mask-routing/…, top/…). */
  readonly files: ReadonlyMap<string, string>;
  /** Verilog files in compile order, relative paths. */
  readonly order: readonly string[];
}

export const FOLDERS = ['base', 'mask-weights', 'mask-routing', 'top'] as const;

function folderOf(module: string): (typeof FOLDERS)[number] {
  if (module.startsWith('hw_')) return 'base';
  if (module === 'mask_weights' || module.startsWith('mask_weights_')) return 'mask-weights';
  if (module === 'mask_routing' || module.startsWith('mask_routing_')) return 'mask-routing';
  return 'top';
}

/**
 * Emits `top` and files each module under base/, mask-weights/, mask-routing/ or top/ by its name, with
 * one file list per folder (paths relative to the list) and the full list in top/<top>.f.
 */
export function splitIntoFolders(top: IrModule): { files: Map<string, string>; order: string[] } {
  const d = emitDesign(top);
  const files = new Map<string, string>();
  const order: string[] = [];
  const lists = new Map<string, string[]>(FOLDERS.map((f) => [f, []]));
  for (const f of d.order) {
    const folder = folderOf(f.replace(/\.v$/, ''));
    files.set(`${folder}/${f}`, d.files.get(f)!);
    order.push(`${folder}/${f}`);
    lists.get(folder)!.push(f);
  }
  for (const folder of FOLDERS.slice(0, 3)) files.set(`${folder}/${folder.replace('-', '_')}.f`, render('filelist.f.hbs', { top: folder, files: lists.get(folder)! }));
  files.set(`top/${top.name}.f`, render('filelist.f.hbs', { top: top.name, files: order.map((p) => `../${p}`) }));
  return { files, order };
}

export function buildGridDesign(q: QuantizedMlp, g: GridSpec, opts: { chips?: number } = {}): GridDesign {
  const plan = planOnGrid(q, g, opts);
  const { grid } = gridModule(g);
  const chipTops = plan.chips.map((c) => chipTop(g, grid, maskWeights(q, plan, c), maskRouting(q, plan, c), c.index));
  const top = chipTops.length === 1 ? chipTops[0] : multiChipTop(g, chipTops);
  const { files, order } = splitIntoFolders(top);
  return { plan, top, files, order };
}
