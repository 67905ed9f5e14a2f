// The --fpga step of the MLP flows: pin wrapper, FPGA synthesis (and on iCE40 place and route and a
// bitstream), resources per layer and in total, fmax and inferences/s, all written under the output's fpga/.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { IrModule } from '../dsl/ir/types.ts';
import { emitDesign } from '../dsl/verilog.ts';
import { fpgaWrapper } from '../generators/fpga/wrapper.ts';
import { clocksPerBit, uartTop } from '../generators/fpga/uart.ts';
import type { QuantizedMlp } from '../generators/model.ts';
import { goldenMlp } from '../verify/golden/mlp.ts';
import type { BoardFile, BoardVector } from '../verify/boardProtocol.ts';
import { cosimUart } from '../verify/cosimUart.ts';
import { buildSim } from '../verify/verilator.ts';
import { randomVectors } from './genMlp.ts';
import { fpgaSynth, ice40PlaceAndRoute, writeVivadoProject, type FpgaResources, type FpgaTarget } from '../verify/fpga.ts';
import { lintVerilog } from '../verify/lint.ts';
import { EXIT, UserError } from '../core/errors.ts';
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
  /** Cycles from in_valid accepted to out_valid (the spatial pipeline's depth, or the grid's schedule). */
  readonly latency: number;
  /** The golden model and its vectors: fpga/board.json for the host program, and the UART co-simulation when verify is set. */
  readonly golden?: { readonly q: QuantizedMlp; readonly heldOut: readonly Int32Array[]; readonly seed: number; readonly verify: boolean };
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
  /** The UART board wrapper (fpga_top): baud, divider, and its co-simulation with a simulated serial line. */
  readonly uart?: UartReport;
  readonly vivadoRun: boolean;
  readonly files: readonly string[];
  readonly seconds: Record<string, number>;
}

export interface UartReport {
  readonly baud: number;
  readonly clocksPerBit: number;
  /** Seconds per inference over the serial line (request and answer bytes, 10 bits each, at the baud). */
  readonly inferencesPerSecond: number;
  readonly cosim?: { readonly set: string; readonly equal: number; readonly total: number; readonly clocksPerBit: number; readonly cycles: number; readonly simSeconds: number; readonly framingErrors: number; readonly firstMismatch?: string };
}

/** The serial line's rate; the divider is chosen from the target's clock. */
export const BOARD_BAUD = 115200;
/** Clocks per bit in the co-simulation (the same generator, a faster line). */
export const SIM_CLOCKS_PER_BIT = 4;
/** Random vectors written to fpga/board.json beside the held-out set. */
const BOARD_RANDOM = 200;

/** The fpga/ folder of the output: wrapper, scripts, netlists, logs, bitstream. */
export async function runFpga(staging: OutputStaging, d: FpgaDesign, target: FpgaTarget, pr: Progress): Promise<FpgaReport> {
  const dir = join(staging.dir, 'fpga');
  await mkdir(dir, { recursive: true });
  // The byte-stream wrapper (fpga_stream), and the board's top: a UART in front of it (fpga_top).
  const { top: stream, shape } = fpgaWrapper(d.core, d.resultPort, d.resultBits, 'fpga_stream');
  const cpb = clocksPerBit(target.clockMHz * 1e6, BOARD_BAUD);
  const top = uartTop(stream, cpb);
  const own = (m: ReturnType<typeof emitDesign>) => m.order.filter((f) => !d.verilog.some((v) => v.endsWith(`/${f}`)));
  const emitted = emitDesign(top);
  const wrapperFiles = own(emitted);
  for (const f of wrapperFiles) await staging.write(`fpga/${f}`, emitted.files.get(f)!);
  await lintVerilog([...d.verilog.map((f) => join(staging.dir, f)), ...wrapperFiles.map((f) => join(dir, f))], 'fpga_top');
  const verilog = [...d.verilog.map((f) => `../${f}`), ...wrapperFiles];
  const uart = await uartStep(staging, d, shape, cpb, target, pr);
  // The core sits under the UART top's stream wrapper: u_stream.u_core.…
  const groups = [...d.groups.map((g) => ({ name: g.name, instances: g.instances.map((i) => `u_stream.${i}`) }))];
  const input = { dir, verilog, top: 'fpga_top', target, groups, onProgress: (m: string) => pr.note(m) };

  const ice = target.vendor === 'lattice';
  pr.note(`${ice ? 'synth_ice40' : `synth_xilinx -family ${target.family}`}: Yosys synthesis of the wrapped design for ${target.name}`);
  const syn = await fpgaSynth(input);
  const t = syn.total;
  pr.note(`${t.luts.toLocaleString('en-US')} LUTs, ${t.carry} carry, ${t.ffs.toLocaleString('en-US')} FFs, ${t.brams} BRAM, ${t.dsps} DSP (of ${target.luts.toLocaleString('en-US')} LUTs) in ${syn.seconds.toFixed(0)} s`);
  const files = [...wrapperFiles, 'board.json', ...(uart.cosim ? ['sim/'] : []), ...syn.files];
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
    uart,
    vivadoRun: false,
    files: files.map((f) => `fpga/${f}`),
    seconds,
  };
}

/**
 * fpga/board.json (the golden answers for bin/board.mjs), and the UART wrapper co-simulated in Verilator
 * with a simulated serial line: the same generator at SIM_CLOCKS_PER_BIT, written to fpga/sim/.
 */
export async function uartStep(staging: Pick<OutputStaging, 'dir' | 'write'>, d: FpgaDesign, shape: { inBytes: number; outBytes: number }, cpb: number, target: FpgaTarget, pr: Progress): Promise<UartReport> {
  const perSecond = BOARD_BAUD / (10 * (shape.inBytes + shape.outBytes));
  const report: UartReport = { baud: BOARD_BAUD, clocksPerBit: cpb, inferencesPerSecond: perSecond };
  const g = d.golden;
  if (!g) return report;
  const classes = g.q.layers[g.q.layers.length - 1].outFeatures;
  const answer = (x: Int32Array): BoardVector => {
    const r = goldenMlp(g.q, x);
    return { x: [...x], cls: r.cls, logits: r.logits.map(Number) };
  };
  const sets: Record<string, BoardVector[]> = {};
  if (g.heldOut.length) sets['held-out'] = g.heldOut.map(answer);
  sets.random = randomVectors(BOARD_RANDOM, g.q.layers[0].inFeatures, g.q.actBits, g.seed).map(answer);
  const board: BoardFile = {
    format: 'hardwire-board-1', top: 'fpga_top', target: target.name, clockMHz: target.clockMHz, baud: BOARD_BAUD, clocksPerBit: cpb,
    inBytes: shape.inBytes, outBytes: shape.outBytes, actBits: g.q.actBits, classes, logitBits: d.resultBits / classes, sets,
  };
  await staging.write('fpga/board.json', `${JSON.stringify(board)}
`);
  if (!g.verify) return report;

  const stream = fpgaWrapper(d.core, d.resultPort, d.resultBits, 'fpga_stream').top;
  const simTop = emitDesign(uartTop(stream, SIM_CLOCKS_PER_BIT));
  const simFiles = simTop.order.filter((f) => !d.verilog.some((v) => v.endsWith(`/${f}`)) && f !== 'fpga_stream.v');
  for (const f of simFiles) await staging.write(`fpga/sim/${f}`, simTop.files.get(f)!);
  const files = [...d.verilog.map((f) => join(staging.dir, f)), join(staging.dir, 'fpga', 'fpga_stream.v'), ...simFiles.map((f) => join(staging.dir, 'fpga', 'sim', f))];
  const set = sets['held-out'] ? 'held-out' : 'random';
  pr.note(`UART wrapper co-simulation: ${sets[set].length} ${set} vectors over a simulated 8N1 line at ${SIM_CLOCKS_PER_BIT} clocks per bit (the board build: ${cpb}, ${BOARD_BAUD} baud at ${target.clockMHz} MHz)`);
  const sim = await buildSim({ top: 'fpga_top', files, clock: 'clk', ports: [{ name: 'clk', dir: 'input', width: 1 }, { name: 'uart_rx', dir: 'input', width: 1 }, { name: 'uart_tx', dir: 'output', width: 1 }] }, { onProgress: (m) => pr.note(`verilator: ${m}`) });
  const r = await cosimUart(sim, board, SIM_CLOCKS_PER_BIT, d.latency, sets[set]);
  pr.note(`UART wrapper co-simulated: ${r.equal}/${r.total} vectors equal (${r.cycles.toLocaleString('en-US')} cycles in ${r.simSeconds.toFixed(1)} s)`);
  if (r.equal !== r.total) throw new UserError(`UART wrapper co-simulation: ${r.firstMismatch}`, EXIT.verifyFailed);
  return { ...report, cosim: { set, equal: r.equal, total: r.total, clocksPerBit: SIM_CLOCKS_PER_BIT, cycles: r.cycles, simSeconds: r.simSeconds, framingErrors: r.framingErrors, firstMismatch: r.firstMismatch } };
}

/** What is left of `total` after the listed parts. */
function rest(total: FpgaResources, parts: FpgaResources[]): FpgaResources {
  const r = { ...total };
  for (const p of parts) for (const k of Object.keys(r) as (keyof FpgaResources)[]) r[k] -= p[k];
  return r;
}

const n = (v: number): string => v.toLocaleString('en-US');
const FPGA_CLOCK = (f: FpgaReport): number => Math.round((f.uart!.clocksPerBit * f.uart!.baud) / 1e5) / 10;

/** The report.md section for an FPGA run. */
export function fpgaMarkdown(f: FpgaReport): string {
  const md: string[] = [`## FPGA: ${f.target} (${f.part})`, ''];
  if (f.layout.note) md.push(f.layout.note, '');
  md.push(`Flow: ${f.tool}. The design sits behind a byte-stream wrapper (\`fpga/fpga_stream.v\`: ${f.wrapper.inBytes} bytes in, ${f.wrapper.outBytes} bytes out per inference: the class, then the logits) and a UART (\`fpga/fpga_top.v\`: pins clk, uart_rx, uart_tx).`, '');
  if (f.uart) {
    const u = f.uart;
    md.push(`UART: 8N1 at ${n(u.baud)} baud, baud divider ${u.clocksPerBit} clocks per bit at ${f.target}'s ${FPGA_CLOCK(f)} MHz board clock; over the line ${u.inferencesPerSecond.toFixed(0)} inferences/s (the serial line, not the design, bounds a board prototype). Host program: \`node bin/board.mjs --board OUT/fpga/board.json --device /dev/ttyUSB1\` sends the vectors of \`fpga/board.json\` and compares the answers with the golden model's.`, '');
    if (u.cosim) md.push(`**UART wrapper co-simulated: ${u.cosim.equal}/${u.cosim.total} vectors equal** (${u.cosim.set} set; Verilator, the same generator at ${u.cosim.clocksPerBit} clocks per bit, the requests serialized into RX bit periods and TX decoded, ${n(u.cosim.cycles)} cycles; files in \`fpga/sim/\`).`, '');
  }
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

const u2 = (f: FpgaReport): string => `${f.uart!.cosim!.equal}/${f.uart!.cosim!.total} ${f.uart!.cosim!.set} vectors equal`;

/** The summary line printed on stdout. */
export function fpgaSummary(f: FpgaReport): string {
  const t = f.total;
  const head = `  fpga      ${f.target}: ${n(t.luts)} LUT, ${n(t.carry)} carry, ${n(t.ffs)} FF, ${t.brams} BRAM, ${t.dsps} DSP`;
  const u = f.uart?.cosim ? `\n  uart      ${f.uart.baud} baud (${f.uart.clocksPerBit} clocks per bit); wrapper co-simulated over a simulated line: ${u2(f)}; host: node bin/board.mjs --board OUT --device DEV` : '';
  if (f.fmaxMHz !== undefined) return `${head}; fmax ${f.fmaxMHz.toFixed(2)} MHz (nextpnr); ${n(Math.round(f.inferencesPerSecond!))} inferences/s (${f.cyclesPerInference} cycles each); bitstream ${f.bitstream}${u}`;
  return `${head} (Yosys estimate; Vivado was not run; Tcl + XDC in fpga/)${u}`;
}
