// SVG floorplan of a grid design: one panel per chip, one column per lane, coloured by the layer it holds.
import type { GridPlan } from '../generators/grid/map.ts';

const COLOURS = ['#3b82c4', '#e0803a', '#4aa564', '#c44e52', '#8172b2', '#937860', '#da8bc3', '#8c8c8c'];

export function floorplanSvg(plan: GridPlan): string {
  const g = plan.grid;
  const laneW = Math.max(4, Math.min(14, Math.floor(640 / g.lanes)));
  const panelW = g.lanes * laneW;
  const panelH = 160;
  const gap = 30;
  const W = Math.max(panelW + 40, 420);
  const maxLayers = Math.max(...plan.chips.map((c) => c.layers.length));
  const H = 60 + plan.chips.length * (panelH + gap + 20 + 16 * maxLayers);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`];
  out.push(`  <text x="20" y="22" font-weight="bold">grid '${g.name}': ${g.lanes} lanes x ${g.rows} ROM cells, depth ${g.romDepth}; utilization ${(100 * plan.utilization).toFixed(2)}%</text>`);
  plan.chips.forEach((chip, ci) => {
    const y0 = 40 + ci * (panelH + gap + 20 + 16 * maxLayers);
    out.push(`  <text x="20" y="${y0 + 12}">chip ${ci}: ${chip.lanesUsed}/${g.lanes} lanes used, ${chip.latency} cycles per inference</text>`);
    out.push(`  <rect x="20" y="${y0 + 20}" width="${panelW}" height="${panelH}" fill="#f4f4f4" stroke="#999"/>`);
    chip.layers.forEach((pl, li) => {
      const colour = COLOURS[pl.layer % COLOURS.length];
      const depthUsed = pl.steps / g.romDepth;
      for (let c = pl.lane0; c < pl.lane0 + pl.lanes; c++) {
        const h = Math.max(2, panelH * depthUsed);
        out.push(`  <rect x="${20 + c * laneW}" y="${(y0 + 20 + panelH - h).toFixed(1)}" width="${laneW - 1}" height="${h.toFixed(1)}" fill="${colour}"/>`);
      }
      out.push(`  <rect x="20" y="${y0 + panelH + 28 + li * 16}" width="10" height="10" fill="${colour}"/>`);
      out.push(`  <text x="36" y="${y0 + panelH + 37 + li * 16}">layer ${pl.layer}: lanes ${pl.lane0}-${pl.lane0 + pl.lanes - 1}, ${pl.steps}/${g.romDepth} ROM words per cell</text>`);
    });
  });
  out.push(`  <text x="20" y="${H - 6}" fill="#666">bar height = share of the ROM depth a lane's cells use; grey = unused</text>`);
  out.push('</svg>', '');
  return out.join('\n');
}
