// The --fpga step of the MLP flows: pin wrapper, FPGA synthesis (and on iCE40 place and route and a
// bitstream), resources per layer and in total, fmax and inferences/s, all written under the output's fpga/.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { IrModule } from '../dsl/ir/types.ts';
import { emitDesign } from '../dsl/verilog.ts';
import { fpgaWrapper } from '../generators/fpga/wrapper.ts';
import { fpgaSynth, ice40PlaceAndRoute, writeVivadoProject, type FpgaResources, type FpgaTarget } from '../verify/fpga.ts';
import { lintVerilog } from '../verify/lint.ts';
import { EXIT, UserError } from './errors.ts';
import type { OutputStaging } from './output.ts';
import type { Progress } from './progress.ts';

export interface FpgaDesign {
  readonly core: IrModule;
  readonly resultPort: 'out_logits' | 'out_data';
  readonly resultBits: number;
  /** The core's Verilog files, relative to the output folder, in compile order. */
  readonly verilog: readonly string[];
  /** Resource groups by instance path under the wrapper (u_core.…). */
  readonly groups: readonly { name: string; instances: string[] }[];
  /** Core cycles per inference at full rate (spatial: 1, pipelined; grid: the schedule's latency). */
  readonly cyclesPerInference: number;
  /** Which layout and why (spatial, or the folded grid chosen to fit). */
  readonly layout: { kind: 'spatial' | 'grid'; grid?: { name: string; rows: number; lanes: number; romDepth: number; accBits: number }; note?: string };
}

export interface FpgaReport {
  readonly target: string;
  readonly part: string;
  readonly tool: string;
  readonly layout: FpgaDesign['layout'];
  readonly available: { luts: number; ffs: number; brams: number; dsps: number };
  readonly total: FpgaResources;
  readonly parts: readonly { name: string; resources: FpgaResources }[];
  /** iCE40: routed logic cells, fmax (nextpnr), bitstream. */
  readonly placedLcs?: number;
  readonly fmaxMHz?: number;
  readonly bitstream?: string;
  readonly cyclesPerInference: number;
  /** At the measured fmax: the core alone, and through the byte-wide pin wrapper (one inference at a time). */
  readonly inferencesPerSecond?: number;
  readonly wrapper: { inBytes: number; outBytes: number; cyclesPerInference: number; inferencesPerSecond?: number };
  readonly vivadoRun: boolean;
  readonly files: readonly string[];
  readonly seconds: Record<string, number>;
}

/** The fpga/ folder of the output: wrapper, scripts, netlists, logs, bitstream. */
export async function runFpga(staging: OutputStaging, d: FpgaDesign, target: FpgaTarget, pr: Progress): Promise<FpgaReport> {
  const dir = join(staging.dir, 'fpga');
  await mkdir(dir, { recursive: true });
  const { top, shape } = fpgaWrapper(d.core, d.resultPort, d.resultBits);
  await staging.write('fpga/fpga_top.v', emitDesign(top).files.get('fpga_top.v')!);
  await lintVerilog([...d.verilog.map((f) => join(staging.dir, f)), join(dir, 'fpga_top.v')], 'fpga_top');
  const verilog = [...d.verilog.map((f) => `../${f}`), 'fpga_top.v'];
  const groups = [...d.groups.map((g) => ({ name: g.name, instances: [...g.instances] }))];
  const input = { dir, verilog, top: 'fpga_top', target, groups, onProgress: (m: string) => pr.note(m) };

  const ice = target.vendor === 'lattice';
  pr.note(`${ice ? 'synth_ice40' : `synth_xilinx -family ${target.family}`}: Yosys synthesis of the wrapped design for ${target.name}`);
  const syn = await fpgaSynth(input);
  const t = syn.total;
  pr.note(`${t.luts.toLocaleString('en-US')} LUTs, ${t.carry} carry, ${t.ffs.toLocaleString('en-US')} FFs, ${t.brams} BRAM, ${t.dsps} DSP (of ${target.luts.toLocaleString('en-US')} LUTs) in ${syn.seconds.toFixed(0)} s`);
  const files = ['fpga_top.v', ...syn.files];
  const seconds: Record<string, number> = { synth: syn.seconds };
  let fmaxMHz: number | undefined;
  let placedLcs: number | undefined;
  let bitstream: string | undefined;
  if (ice) {
    if (t.luts > target.luts) {
      throw new UserError(`${target.name}: the ${d.layout.kind} layout needs ${t.luts} LUT4 after synth_ice40, the part has ${target.luts} (see fpga/stat.txt)`, EXIT.badInput);
    }
    pr.note(`nextpnr-ice40 --${target.device} --package ${target.package}: place and route, then icepack`);
    const pnr = await ice40PlaceAndRoute({ ...input, ports: top.ports.map((p) => ({ name: p.name, width: p.width })) });
    fmaxMHz = pnr.fmaxMHz;
    placedLcs = pnr.placedLcs;
    bitstream = 'fpga/fpga_top.bin';
    files.push(...pnr.files);
    seconds.pnr = pnr.seconds.pnr;
    seconds.pack = pnr.seconds.pack;
    pr.note(`routed: ${placedLcs ?? '?'} logic cells of ${target.luts}, fmax ${fmaxMHz?.toFixed(2) ?? '?'} MHz (nextpnr), bitstream fpga/fpga_top.bin`);
  } else {
    files.push(...(await writeVivadoProject({ dir, verilog, top: 'fpga_top', target })));
    pr.note(`Vivado was not run: fpga/vivado_project.tcl, fpga/vivado_ooc_synth.tcl and fpga/fpga_top.xdc are written for it`);
  }
  const wrapCycles = shape.inBytes + shape.outBytes + d.cyclesPerInference + 3;
  return {
    target: target.name, part: ice ? `iCE40 ${target.device.toUpperCase()} ${target.package}` : target.device,
    tool: ice ? 'Yosys synth_ice40 + nextpnr-ice40 + icepack' : `Yosys synth_xilinx -family ${target.family} (estimate; Vivado was not run)`,
    layout: d.layout,
    available: { luts: target.luts, ffs: target.ffs, brams: target.brams, dsps: target.dsps },
    total: t, parts: [...syn.parts.map((p) => ({ name: p.name, resources: p.resources })), { name: 'wrapper and control', resources: rest(t, syn.parts.map((p) => p.resources)) }],
    placedLcs, fmaxMHz, bitstream,
    cyclesPerInference: d.cyclesPerInference,
    inferencesPerSecond: fmaxMHz ? (fmaxMHz * 1e6) / d.cyclesPerInference : undefined,
    wrapper: { inBytes: shape.inBytes, outBytes: shape.outBytes, cyclesPerInference: wrapCycles, inferencesPerSecond: fmaxMHz ? (fmaxMHz * 1e6) / wrapCycles : undefined },
    vivadoRun: false,
    files: files.map((f) => `fpga/${f}`),
    seconds,
  };
}

/** What is left of `total` after the listed parts. */
function rest(total: FpgaResources, parts: FpgaResources[]): FpgaResources {
  const r = { ...total };
  for (const p of parts) for (const k of Object.keys(r) as (keyof FpgaResources)[]) r[k] -= p[k];
  return r;
}

const n = (v: number): string => v.toLocaleString('en-US');

/** The report.md section for an FPGA run. */
export function fpgaMarkdown(f: FpgaReport): string {
  const md: string[] = [`## FPGA: ${f.target} (${f.part})`, ''];
  if (f.layout.note) md.push(f.layout.note, '');
  md.push(`Flow: ${f.tool}. The design sits behind a byte-stream pin wrapper (\`fpga/fpga_top.v\`: ${f.wrapper.inBytes} bytes in, ${f.wrapper.outBytes} bytes out per inference: the class, then the logits).`, '');
  md.push('| part of the design | LUT | carry | FF | BRAM | DSP |', '|---|---:|---:|---:|---:|---:|');
  const row = (name: string, r: FpgaResources) => md.push(`| ${name} | ${n(r.luts)} | ${n(r.carry)} | ${n(r.ffs)} | ${r.brams} | ${r.dsps} |`);
  for (const p of f.parts) row(p.name, p.resources);
  row('**total**', f.total);
  md.push(`| available on ${f.target} | ${n(f.available.luts)} | | ${n(f.available.ffs)} | ${f.available.brams} | ${f.available.dsps} |`, '');
  md.push('Per-layer rows count the cells whose flattened hierarchical name lies under that layer\'s instances (after synthesis; glue named elsewhere is in "wrapper and control").', '');
  if (f.fmaxMHz !== undefined) {
    md.push(`Routed: ${f.placedLcs !== undefined ? `${n(f.placedLcs)} logic cells; ` : ''}**fmax ${f.fmaxMHz.toFixed(2)} MHz** (nextpnr-ice40's timing report, \`fpga/nextpnr.log\`). Bitstream \`${f.bitstream}\`.`, '');
    md.push(`At the measured fmax: ${n(Math.round(f.inferencesPerSecond!))} inferences/s for the core (${f.cyclesPerInference} cycles per inference${f.layout.kind === 'spatial' ? ', pipelined' : ' from the grid plan'}); ${n(Math.round(f.wrapper.inferencesPerSecond!))} inferences/s through the byte-wide wrapper (${f.wrapper.cyclesPerInference} cycles, one inference at a time).`, '');
  } else {
    md.push('**Vivado was not run** (no Xilinx tools here): the figures above are Yosys `synth_xilinx` estimates, and there is no fmax. `fpga/vivado_project.tcl` (project, synthesis, implementation, reports), `fpga/vivado_ooc_synth.tcl` (out-of-context synthesis) and `fpga/fpga_top.xdc` (clock constraint) are ready for Vivado.', '');
  }
  md.push(`Files: ${f.files.map((x) => `\`${x}\``).join(', ')}.`, '');
  return md.join('\n');
}

/** The summary line printed on stdout. */
export function fpgaSummary(f: FpgaReport): string {
  const t = f.total;
  const head = `  fpga      ${f.target}: ${n(t.luts)} LUT, ${n(t.carry)} carry, ${n(t.ffs)} FF, ${t.brams} BRAM, ${t.dsps} DSP`;
  if (f.fmaxMHz !== undefined) return `${head}; fmax ${f.fmaxMHz.toFixed(2)} MHz (nextpnr); ${n(Math.round(f.inferencesPerSecond!))} inferences/s (${f.cyclesPerInference} cycles each); bitstream ${f.bitstream}`;
  return `${head} (Yosys estimate; Vivado was not run; Tcl + XDC in fpga/)`;
}
