// FPGA flows: iCE40 with the open tools (Yosys synth_ice40 → nextpnr-ice40 → icepack), and for parts
// without an open flow here (Xilinx) a Vivado project script plus a Yosys synth_xilinx estimate.
// Every script and log is written into the output's fpga/ folder, so a run can be repeated by hand.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT, ToolError, UserError } from '../core/errors.ts';
import { findTool, runTool, tailLines } from './tools.ts';

export interface FpgaTarget {
  readonly name: string;
  readonly vendor: 'lattice' | 'xilinx';
  /** nextpnr-ice40 device flag and package (Lattice) or Vivado part (Xilinx). */
  readonly device: string;
  readonly package?: string;
  /** Yosys synth_xilinx -family. */
  readonly family?: string;
  readonly luts: number;
  readonly ffs: number;
  /** iCE40: 4 kbit EBRs; Xilinx: 36 kbit block RAMs. */
  readonly brams: number;
  readonly dsps: number;
  /** Pins for clk first, then the other wrapper ports (iCE40 only). */
  readonly pins?: readonly string[];
  /** Board clock the constraints ask for, MHz. */
  readonly clockMHz: number;
  /** The board's USB-serial bridge pins (FPGA side: rx in, tx out), for the UART wrapper (iCE40 only). */
  readonly uart?: { readonly board: string; readonly rx: string; readonly tx: string };
}

const HX8K_PINS = ['J3', 'B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B11', 'B12', 'B13', 'B14', 'B15', 'B16', 'C1', 'C2', 'C3', 'C4', 'C5'];
const UP5K_PINS = ['35', '2', '3', '4', '6', '9', '10', '11', '12', '13', '18', '19', '20', '21', '23', '25', '26', '27', '28', '31', '32', '34'];

export const FPGA_TARGETS: Readonly<Record<string, FpgaTarget>> = {
  'ice40-hx8k': { name: 'ice40-hx8k', vendor: 'lattice', device: 'hx8k', package: 'ct256', luts: 7680, ffs: 7680, brams: 32, dsps: 0, pins: HX8K_PINS, clockMHz: 12, uart: { board: 'iCE40-HX8K breakout board (FTDI channel B)', rx: 'B10', tx: 'B12' } },
  'ice40-up5k': { name: 'ice40-up5k', vendor: 'lattice', device: 'up5k', package: 'sg48', luts: 5280, ffs: 5280, brams: 30, dsps: 8, pins: UP5K_PINS, clockMHz: 12, uart: { board: 'iCEBreaker (FTDI channel B)', rx: '6', tx: '9' } },
  xc7a100t: { name: 'xc7a100t', vendor: 'xilinx', device: 'xc7a100tcsg324-1', family: 'xc7', luts: 63400, ffs: 126800, brams: 135, dsps: 240, clockMHz: 100 },
  xcu250: { name: 'xcu250', vendor: 'xilinx', device: 'xcu250-figd2104-2L-e', family: 'xcup', luts: 1728000, ffs: 3456000, brams: 2688, dsps: 12288, clockMHz: 300 },
};

/** The target named by --fpga, or a usage error listing the known ones. */
export function fpgaTarget(name: string): FpgaTarget {
  const t = FPGA_TARGETS[name];
  if (!t) throw new UserError(`--fpga ${name}: unknown target; known: ${Object.keys(FPGA_TARGETS).join(', ')}`, EXIT.usage);
  return t;
}

/** Resources of a netlist, or of the part of it under one instance. */
export interface FpgaResources {
  luts: number;
  carry: number;
  ffs: number;
  brams: number;
  dsps: number;
}

export interface FpgaResult {
  target: string;
  vendor: 'lattice' | 'xilinx';
  top: string;
  total: FpgaResources;
  /** By group (layer, lane, wrapper): cells counted by their hierarchical name after flattening. */
  parts: { name: string; instances: string[]; resources: FpgaResources }[];
  /** nextpnr's "Max frequency for clock" (MHz), iCE40 only. */
  fmaxMHz?: number;
  /** Logic cells placed (nextpnr ICESTORM_LC) / available. */
  placedLcs?: number;
  bitstream?: string;
  vivadoRun: false | undefined;
  files: string[];
  seconds: { synth: number; pnr?: number; pack?: number };
}

const empty = (): FpgaResources => ({ luts: 0, carry: 0, ffs: 0, brams: 0, dsps: 0 });

/** Which resource a cell type is (iCE40 and Xilinx primitives); undefined for I/O and the rest. */
function resourceOf(type: string): keyof FpgaResources | undefined {
  if (type === 'SB_LUT4' || /^LUT[1-6]$/.test(type)) return 'luts';
  if (type === 'SB_CARRY' || type === 'CARRY4' || type === 'CARRY8') return 'carry';
  if (/^SB_DFF/.test(type) || /^FD[CPRSE]{1,2}$/.test(type)) return 'ffs';
  if (/^SB_RAM40/.test(type) || /^RAMB(18|36)/.test(type)) return 'brams';
  if (type === 'SB_MAC16' || /^DSP48/.test(type)) return 'dsps';
  return undefined;
}

/** Count resources in a flattened Yosys JSON netlist, per group of instance-name prefixes. */
export function countByInstance(json: string, groups: { name: string; instances: string[] }[]): { total: FpgaResources; parts: FpgaResult['parts'] } {
  const j = JSON.parse(json) as { modules: Record<string, { attributes?: Record<string, unknown>; cells: Record<string, { type: string }> }> };
  const topName = Object.keys(j.modules).find((k) => j.modules[k].attributes?.top !== undefined) ?? Object.keys(j.modules)[0];
  const total = empty();
  const parts = groups.map((g) => ({ ...g, resources: empty() }));
  for (const [name, cell] of Object.entries(j.modules[topName].cells)) {
    const r = resourceOf(cell.type);
    if (!r) continue;
    // A RAMB36 counts as one 36 kbit block; a RAMB18 as half of one.
    const n = /^RAMB18/.test(cell.type) ? 0.5 : 1;
    total[r] += n;
    const part = parts.find((p) => p.instances.some((i) => name.startsWith(`${i}.`)));
    if (part) part.resources[r] += n;
  }
  return { total, parts };
}

/** A path in a Yosys script (no quotes or newlines possible in our relative paths). */
function ysPath(p: string): string {
  if (/["\s]/.test(p)) throw new UserError(`path cannot go into a Yosys script: ${JSON.stringify(p)}`);
  return p;
}

async function runLogged(dir: string, log: string, cmd: string, args: string[], timeoutMs: number): Promise<{ out: string; seconds: number }> {
  const t0 = performance.now();
  const res = await runTool(findTool(cmd), args, { cwd: dir, timeoutMs });
  const out = `${res.stdout}\n${res.stderr}`;
  await writeFile(join(dir, log), `$ ${cmd} ${args.join(' ')}\n${out}`);
  if (res.code !== 0) {
    const err = out.split('\n').find((l) => /^ERROR/.test(l)) ?? tailLines(out, 2);
    throw new ToolError(`${cmd} (fpga/${log}): ${err.trim() || `exit ${res.code}`}`);
  }
  return { out, seconds: (performance.now() - t0) / 1000 };
}

export interface FpgaFlowInput {
  /** The output's fpga/ folder (absolute); Verilog paths are relative to it. */
  dir: string;
  verilog: string[];
  top: string;
  target: FpgaTarget;
  groups: { name: string; instances: string[] }[];
  onProgress?: (msg: string) => void;
  timeoutMs?: number;
}

/** Yosys only (synth_ice40 or synth_xilinx): a fast resource count, used to decide whether a layout fits. */
export async function fpgaSynth(o: FpgaFlowInput): Promise<{ total: FpgaResources; parts: FpgaResult['parts']; seconds: number; files: string[] }> {
  const t = o.target;
  const ice = t.vendor === 'lattice';
  const synth = ice
    ? `synth_ice40 -top ${o.top}${t.dsps > 0 ? ' -dsp' : ''}`
    : `synth_xilinx -family ${t.family} -flatten -top ${o.top}`;
  const script = [
    `# ${ice ? 'iCE40' : 'Xilinx'} synthesis of ${o.top} for ${t.name} (Yosys); run from this folder: yosys -s synth.ys`,
    ...o.verilog.map((f) => `read_verilog ${ysPath(f)}`),
    synth,
    'tee -o stat.txt stat',
    `write_json ${o.top}.json`,
    '',
  ].join('\n');
  await writeFile(join(o.dir, 'synth.ys'), script);
  const r = await runLogged(o.dir, 'yosys.log', 'yosys', ['-s', 'synth.ys'], o.timeoutMs ?? 1_800_000);
  const counted = countByInstance(await readFile(join(o.dir, `${o.top}.json`), 'utf8'), o.groups);
  return { ...counted, seconds: r.seconds, files: ['synth.ys', 'yosys.log', 'stat.txt', `${o.top}.json`] };
}

/** nextpnr's fmax for the clock, MHz (the last report in the log is the final, routed one). */
export function parseFmax(log: string): number | undefined {
  const all = [...log.matchAll(/Max frequency for clock\s+'[^']*':\s*([\d.]+)\s*MHz/g)];
  return all.length ? Number(all[all.length - 1][1]) : undefined;
}

/** nextpnr's "ICESTORM_LC: used/ available" utilization line. */
export function parseLcs(log: string): number | undefined {
  const m = /ICESTORM_LC:\s*(\d+)\s*\/\s*\d+/.exec(log);
  return m ? Number(m[1]) : undefined;
}

/** Pin constraints for the wrapper's ports: clk on the board clock pin, the rest in order. */
export function pcfFor(t: FpgaTarget, ports: { name: string; width: number }[]): string {
  const fixed: Record<string, string> = t.uart ? { uart_rx: t.uart.rx, uart_tx: t.uart.tx } : {};
  const pins = [...(t.pins ?? [])].filter((p) => !Object.values(fixed).includes(p));
  const lines = [`# Pin constraints for fpga_top on ${t.name} (${t.package}); clk on the board's clock input${t.uart ? `; uart_rx/uart_tx on the ${t.uart.board} serial pins` : ''}.`];
  for (const [port, pin] of Object.entries(fixed)) {
    const k = ports.findIndex((p) => p.name === port && p.width === 1);
    if (k >= 0) { lines.push(`set_io ${port} ${pin}`); ports = ports.filter((_, i) => i !== k); }
  }
  const bits = ports.flatMap((p) => (p.width === 1 ? [p.name] : Array.from({ length: p.width }, (_, i) => `${p.name}[${i}]`)));
  const clk = bits.indexOf('clk');
  if (clk > 0) bits.unshift(...bits.splice(clk, 1));
  if (clk >= 0) { lines.splice(1, 0, `set_io clk ${pins[0]}`); bits.shift(); pins.shift(); }
  if (bits.length > pins.length) throw new Error(`pcfFor: ${bits.length} port bits, ${pins.length} pins listed for ${t.name}`);
  bits.forEach((b, i) => lines.push(`set_io ${b} ${pins[i]}`));
  return `${lines.join('\n')}\n`;
}

/** iCE40: synth_ice40 (done by the caller through fpgaSynth), then nextpnr-ice40 and icepack. */
export async function ice40PlaceAndRoute(o: FpgaFlowInput & { ports: { name: string; width: number }[] }): Promise<{ fmaxMHz?: number; placedLcs?: number; files: string[]; seconds: { pnr: number; pack: number } }> {
  const t = o.target;
  await writeFile(join(o.dir, `${o.top}.pcf`), pcfFor(t, o.ports));
  const args = [`--${t.device}`, '--package', t.package!, '--pcf', `${o.top}.pcf`, '--json', `${o.top}.json`, '--asc', `${o.top}.asc`,
    '--freq', String(t.clockMHz), '--seed', '1', '--report', 'nextpnr-report.json', '--timing-allow-fail'];
  await writeFile(join(o.dir, 'pnr.sh'), `#!/bin/sh\n# Place and route, then the bitstream; run from this folder after yosys -s synth.ys.\nset -e\nnextpnr-ice40 ${args.join(' ')}\nicepack ${o.top}.asc ${o.top}.bin\n`);
  const pnr = await runLogged(o.dir, 'nextpnr.log', 'nextpnr-ice40', args, o.timeoutMs ?? 1_800_000);
  const pack = await runLogged(o.dir, 'icepack.log', 'icepack', [`${o.top}.asc`, `${o.top}.bin`], 300_000);
  return {
    fmaxMHz: parseFmax(pnr.out), placedLcs: parseLcs(pnr.out),
    files: [`${o.top}.pcf`, 'pnr.sh', 'nextpnr.log', 'nextpnr-report.json', `${o.top}.asc`, 'icepack.log', `${o.top}.bin`],
    seconds: { pnr: pnr.seconds, pack: pack.seconds },
  };
}

/** Xilinx: a Vivado project script, the clock constraint and an out-of-context synthesis script (not run here). */
export async function writeVivadoProject(o: { dir: string; verilog: string[]; top: string; target: FpgaTarget }): Promise<string[]> {
  const t = o.target;
  const period = (1000 / t.clockMHz).toFixed(3);
  const xdc = `# Clock constraint for ${o.top} on ${t.device}: ${t.clockMHz} MHz.\ncreate_clock -name clk -period ${period} [get_ports clk]\n`;
  const reads = o.verilog.map((f) => `read_verilog [file normalize [file join $here ${f}]]`).join('\n');
  const project = `# Vivado project for ${o.top} on ${t.device}: vivado -mode batch -source vivado_project.tcl
set here [file dirname [file normalize [info script]]]
create_project -force ${o.top} [file join $here vivado] -part ${t.device}
add_files -norecurse [list ${o.verilog.map((f) => `[file normalize [file join $here ${f}]]`).join(' ')}]
add_files -fileset constrs_1 [file join $here ${o.top}.xdc]
set_property top ${o.top} [current_fileset]
launch_runs synth_1 -jobs 2
wait_on_run synth_1
launch_runs impl_1 -jobs 2
wait_on_run impl_1
open_run impl_1
report_utilization -hierarchical -file [file join $here vivado_utilization.rpt]
report_timing_summary -file [file join $here vivado_timing.rpt]
`;
  const ooc = `# Out-of-context synthesis of ${o.top} on ${t.device} (no I/O buffers): vivado -mode batch -source vivado_ooc_synth.tcl
set here [file dirname [file normalize [info script]]]
${reads}
read_xdc -mode out_of_context [file join $here ${o.top}.xdc]
synth_design -top ${o.top} -part ${t.device} -mode out_of_context
report_utilization -hierarchical -file [file join $here ooc_utilization.rpt]
report_timing_summary -file [file join $here ooc_timing.rpt]
`;
  await writeFile(join(o.dir, `${o.top}.xdc`), xdc);
  await writeFile(join(o.dir, 'vivado_project.tcl'), project);
  await writeFile(join(o.dir, 'vivado_ooc_synth.tcl'), ooc);
  return [`${o.top}.xdc`, 'vivado_project.tcl', 'vivado_ooc_synth.tcl'];
}
