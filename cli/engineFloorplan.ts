// SVG floorplan of a chip on the engine: the base die's lane array with the ROM words each matrix
// uses, the KV-cache SRAM rows the model uses, and how full mask A and mask B are (their capacities are
// the grid's; the coloured part is this model's).
import type { EngineDesign } from '../generators/engine/design.ts';
import { sitePorts } from '../generators/engine/base.ts';

const COLOURS = ['#3b82c4', '#e0803a', '#4aa564', '#c44e52', '#8172b2', '#937860', '#da8bc3', '#8c8c8c'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export interface FloorplanUse {
  /** KV-cache layers and positions the model uses (0 for an MLP). */
  readonly kvLayers: number;
  readonly context: number;
}

export function engineFloorplanSvg(d: EngineDesign, use: FloorplanUse): string {
  const c = d.caps;
  const g = c.g;
  const prog = d.pz.prog;
  const W = 720;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="500" font-family="sans-serif" font-size="12">`];
  const text = (x: number, y: number, s: string, extra = ''): void => { out.push(`  <text x="${x}" y="${y}"${extra}>${esc(s)}</text>`); };
  text(20, 22, `base die of grid '${g.name}' (the same for every model that fits) with the ${d.pz.kind} in its masks`, ' font-weight="bold"');

  // Lane array: one column per lane, ROM words stacked by matrix (every matrix uses every lane).
  const y0 = 40, h = 200, x0 = 20, aw = 440;
  text(x0, y0 + 12, `lane array: ${g.lanes} lanes x ${g.rows} cells, ${prog.romUsed}/${g.romDepth} ROM words per cell used`);
  out.push(`  <rect x="${x0}" y="${y0 + 20}" width="${aw}" height="${h}" fill="#f4f4f4" stroke="#999"/>`);
  const mats = prog.instrs.flatMap((i) => (i.op === 'matmul' ? [i] : []));
  const names = [...new Set(mats.map((m) => m.name))];
  for (const m of mats) {
    const colour = COLOURS[names.indexOf(m.name) % COLOURS.length];
    const top = y0 + 20 + h - (h * (m.addr0 + m.passes * m.chunks)) / g.romDepth;
    out.push(`  <rect x="${x0}" y="${top.toFixed(1)}" width="${aw}" height="${((h * m.passes * m.chunks) / g.romDepth).toFixed(1)}" fill="${colour}" stroke="#fff" stroke-width="0.5"><title>${esc(`${m.name} (layer ${m.layer}): ROM words ${m.addr0}..${m.addr0 + m.passes * m.chunks - 1}`)}</title></rect>`);
  }
  for (let l = 1; l < g.lanes; l++) out.push(`  <line x1="${x0 + (aw * l) / g.lanes}" y1="${y0 + 20}" x2="${x0 + (aw * l) / g.lanes}" y2="${y0 + 20 + h}" stroke="#fff" stroke-opacity="0.6"/>`);
  names.forEach((n, i) => {
    out.push(`  <rect x="${x0 + aw + 16}" y="${y0 + 24 + i * 16}" width="10" height="10" fill="${COLOURS[i % COLOURS.length]}"/>`);
    text(x0 + aw + 32, y0 + 33 + i * 16, n);
  });

  // KV-cache SRAM: layers x positions.
  const ky = y0 + h + 50;
  const kvUsed = use.kvLayers * use.context;
  text(x0, ky, `KV-cache SRAM: ${g.sram.banks} banks x ${g.sram.words} words x ${g.sram.width} bits = ${c.layers} layers x ${c.ctx} positions; ${kvUsed} of ${c.layers * c.ctx} rows used`);
  for (let l = 0; l < c.layers; l++) {
    const used = l < use.kvLayers ? use.context / c.ctx : 0;
    out.push(`  <rect x="${x0 + l * (aw / c.layers)}" y="${ky + 8}" width="${aw / c.layers - 4}" height="24" fill="#f4f4f4" stroke="#999"/>`);
    if (used > 0) out.push(`  <rect x="${x0 + l * (aw / c.layers)}" y="${ky + 8}" width="${((aw / c.layers - 4) * used).toFixed(1)}" height="24" fill="${COLOURS[2]}"/>`);
  }

  // The two masks: capacity by site kind, used part coloured.
  const bar = (y: number, layer: 'weights' | 'routing', label: string, used: (name: string, width: number) => number): void => {
    const sites = sitePorts(c).filter((s) => s.layer === layer);
    const total = sites.reduce((a, s) => a + s.width, 0);
    const usedBits = sites.reduce((a, s) => a + used(s.name, s.width), 0);
    text(x0, y, `${label}: ${total.toLocaleString('en-US')} bits, ${usedBits.toLocaleString('en-US')} (${((100 * usedBits) / total).toFixed(1)}%) carry this model`);
    out.push(`  <rect x="${x0}" y="${y + 8}" width="${aw}" height="20" fill="#f4f4f4" stroke="#999"/>`);
    let x = x0;
    for (const s of sites) {
      const w = (aw * s.width) / total;
      const u = used(s.name, s.width) / s.width;
      if (u > 0) out.push(`  <rect x="${x.toFixed(1)}" y="${y + 8}" width="${(w * u).toFixed(1)}" height="20" fill="${layer === 'weights' ? COLOURS[0] : COLOURS[1]}"><title>${esc(s.name)}</title></rect>`);
      x += w;
    }
  };
  const wordsUsed = prog.romUsed / c.passes;
  const passesUsed = prog.passes / c.passes;
  const emb = d.pz.embed;
  const vocabUsed = emb ? emb.table.length / emb.hidden / c.vocab : 0;
  const maskA = (n: string, w: number): number => {
    if (n.startsWith('w_l')) return w * wordsUsed;
    if (n.startsWith('emb_g') && emb) {
      const first = Number(n.slice(5)) * c.embGroup;
      return first < emb.hidden ? (w * vocabUsed * Math.min(c.embGroup, emb.hidden - first)) / c.embGroup : 0;
    }
    if (n.startsWith('lut')) return d.pz.tables ? w : 0;
    if (n === 'rope') return d.pz.rope ? (w * d.pz.rope.half) / c.half : 0;
    return 0;
  };
  bar(ky + 70, 'weights', 'mask A (weights, embedding, tables)', maskA);
  bar(ky + 130, 'routing', 'mask B (microcode, lane requant words, configuration)', (n, w) => (n === 'ucode' ? (w * prog.instrs.length) / c.instrs : n.startsWith('bias_') || n.startsWith('ms_') ? w * passesUsed : w));
  text(x0, 476, 'lane array: height = ROM depth, one band per matrix (every matrix uses every lane)', ' fill="#666"');
  text(x0, 492, 'masks and SRAM: box = capacity fixed by the grid; colour = what this model uses', ' fill="#666"');
  out.push('</svg>', '');
  return out.join('\n');
}
