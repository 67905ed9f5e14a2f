// gen-rtl --fpga as a user runs it: iCE40 place and route with a bitstream, the Xilinx scripts with a Yosys
// estimate, the fit to the part (folded layout chosen, or one line and exit 2), and the report parsers.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../generators/load/safetensors.ts';
import { randomFloatMlp } from '../generators/mlp/testing.ts';
import { countByInstance, FPGA_TARGETS, parseFmax, parseLcs, pcfFor } from '../verify/fpga.ts';
import { foldedLayouts, gridLutEstimate } from '../generators/fpga/fit.ts';
import { EXIT } from '../core/errors.ts';
import { chooseLayout } from './fpgaFit.ts';
import { prepareModel } from './genMlp.ts';
import { Progress } from './progress.ts';
import { expectOneLineError, genRtl, scratch } from './testing.ts';

const f32 = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const tmp = scratch('hw-fpga-');
afterAll(() => tmp.cleanup());

/** A small random MLP with calibration data, in a fresh folder. */
function tinyModel(shape: number[]): { model: string; out: string } {
  const { dir, out } = tmp.fresh();
  const m = randomFloatMlp(shape, 5);
  writeSafetensors(join(dir, 'model.safetensors'), m.layers.flatMap((l) => [
    { name: `${l.name}.weight`, dtype: 'F32' as const, shape: [l.outFeatures, l.inFeatures], data: f32(l.weight) },
    { name: `${l.name}.bias`, dtype: 'F32' as const, shape: [l.outFeatures], data: f32(l.bias!) },
  ]));
  const calib = Float32Array.from({ length: 32 * shape[0] }, (_, i) => Math.sin(i * 1.7) * 2);
  writeSafetensors(join(dir, 'calib.safetensors'), [{ name: 'x', dtype: 'F32', shape: [32, shape[0]], data: f32(calib) }]);
  return { model: join(dir, 'model.safetensors'), out };
}

describe('--fpga', () => {
  it('ice40-hx8k: wrapper, synth_ice40, nextpnr with a pcf, icepack bitstream; resources per layer and fmax in report.md/json', async () => {
    const { model, out } = tinyModel([4, 3, 2]);
    const r = await genRtl([model, '--fpga', 'ice40-hx8k', '--vectors', '50', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/fit: Spatial layout kept/);
    expect(r.stdout).toMatch(/fpga +ice40-hx8k: [\d,]+ LUT, \d+ carry, [\d,]+ FF, \d+ BRAM, \d+ DSP; fmax [\d.]+ MHz \(nextpnr\)/);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const f = rep.fpga;
    expect(f.target).toBe('ice40-hx8k');
    expect(f.fmaxMHz).toBeGreaterThan(1);
    expect(f.total.luts).toBeGreaterThan(0);
    expect(f.parts.map((p: { name: string }) => p.name)).toEqual(['layer 0 (4 -> 3)', 'layer 1 (3 -> 2)', 'wrapper and control']);
    const sum = f.parts.reduce((s: number, p: { resources: { luts: number } }) => s + p.resources.luts, 0);
    expect(sum).toBe(f.total.luts);
    expect(f.parts[0].resources.luts).toBeGreaterThan(0);
    expect(f.inferencesPerSecond).toBeCloseTo(f.fmaxMHz * 1e6, 0);
    // The board wrapper: a UART (115200 baud at 12 MHz: 104 clocks per bit) co-simulated over a simulated line.
    expect(f.uart).toMatchObject({ baud: 115200, clocksPerBit: 104, cosim: { set: 'random', equal: 200, total: 200, clocksPerBit: 4 } });
    expect(r.stderr).toMatch(/UART wrapper co-simulated: 200\/200 vectors equal/);
    for (const file of ['fpga/fpga_top.v', 'fpga/fpga_stream.v', 'fpga/uart_rx_c104.v', 'fpga/uart_tx_c104.v', 'fpga/board.json', 'fpga/sim/fpga_top.v', 'fpga/synth.ys', 'fpga/yosys.log', 'fpga/stat.txt', 'fpga/fpga_top.pcf', 'fpga/nextpnr.log', 'fpga/fpga_top.asc', 'fpga/icepack.log', 'fpga/fpga_top.bin', 'fpga/pnr.sh']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    expect(readFileSync(join(out, 'fpga/fpga_top.pcf'), 'utf8').split('\n').slice(1, 4)).toEqual(['set_io clk J3', 'set_io uart_rx B10', 'set_io uart_tx B12']);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/## FPGA: ice40-hx8k/);
    expect(md).toMatch(/\*\*fmax [\d.]+ MHz\*\*/);
    expect(md).toMatch(/\*\*UART wrapper co-simulated: 200\/200 vectors equal\*\*/);
  });

  it('xc7a100t: Vivado project, out-of-context script and XDC written, synth_xilinx estimate, "Vivado was not run"', async () => {
    const { model, out } = tinyModel([4, 3, 2]);
    const r = await genRtl([model, '--fpga', 'xc7a100t', '--no-verify', '--out', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fpga +xc7a100t: [\d,]+ LUT.*Vivado was not run/);
    const f = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).fpga;
    expect(f.vivadoRun).toBe(false);
    expect(f.total.luts).toBeGreaterThan(0);
    expect(f.fmaxMHz).toBeUndefined();
    expect(readFileSync(join(out, 'fpga/fpga_top.xdc'), 'utf8')).toMatch(/create_clock -name clk -period 10\.000 \[get_ports clk\]/);
    expect(readFileSync(join(out, 'fpga/vivado_project.tcl'), 'utf8')).toMatch(/-part xc7a100tcsg324-1/);
    expect(readFileSync(join(out, 'fpga/vivado_ooc_synth.tcl'), 'utf8')).toMatch(/synth_design -top fpga_top -part xc7a100tcsg324-1 -mode out_of_context/);
    expect(readFileSync(join(out, 'fpga/synth.ys'), 'utf8')).toMatch(/synth_xilinx -family xc7/);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\*\*Vivado was not run\*\*/);
  });

  it('a 1024-input MLP on UP5K: no layout fits (its input alone needs 8,192 flops), one line, exit 2; an unknown target is a usage error', async () => {
    const { model, out } = tinyModel([1024, 4, 2]);
    const r = await genRtl([model, '--fpga', 'ice40-up5k', '--out', out]);
    expectOneLineError(r, EXIT.badInput, 'does not fit ice40-up5k in any layout', 'the part has 5,280');
    expect(existsSync(out)).toBe(false);
    expectOneLineError(await genRtl(['examples/digits-mlp/model.safetensors', '--fpga', 'ice40-hx1k']), EXIT.usage, '--fpga ice40-hx1k: unknown target; known: ice40-hx8k, ice40-up5k, xc7a100t, xcu250');
  });

  it('fit to the part: the digits MLP is folded to the least folded grid that fits HX8K; the estimate ranks the layouts', () => {
    const o = { model: 'examples/digits-mlp/model.safetensors', weightBits: 4 as const, vectors: 1, verify: false, synth: false, trace: false, force: false, seed: 1, regEvery: 2, quiet: true };
    const hx = chooseLayout(o, FPGA_TARGETS['ice40-hx8k']);
    expect([hx.grid?.rows, hx.grid?.lanes, hx.grid?.romDepth]).toEqual([8, 2, 256]);
    expect(hx.note).toMatch(/^The spatial design does not fit ice40-hx8k \(~[\d,]+ logic cells estimated, the part has 7,680\): folded onto a grid of 2 lanes x 8 ROM multiplier cells, ROM depth 256/);
    const up = chooseLayout(o, FPGA_TARGETS['ice40-up5k']);
    expect([up.grid?.rows, up.grid?.lanes, up.grid?.romDepth]).toEqual([2, 2, 1024]);
    // Less folding costs more logic: each layout's estimate is above the next, more folded one's.
    const ests = foldedLayouts(prepareModel(o, new Progress(1, true)).q, 't').map(gridLutEstimate);
    expect(ests.length).toBeGreaterThan(3);
    for (let i = 1; i < ests.length; i++) expect(ests[i]).toBeLessThan(ests[i - 1]);
  });

  it('parsers: nextpnr fmax (the last, routed report) and logic cells; pcf clock first; resources by instance', () => {
    const log = "Info: Max frequency for clock 'clk$SB_IO_IN_$glb_clk': 40.10 MHz (PASS at 12.00 MHz)\nInfo:     ICESTORM_LC:  2445/ 7680    31%\nInfo: Max frequency for clock 'clk$SB_IO_IN_$glb_clk': 38.52 MHz (PASS at 12.00 MHz)\n";
    expect(parseFmax(log)).toBe(38.52);
    expect(parseLcs(log)).toBe(2445);
    expect(parseFmax('nothing')).toBeUndefined();
    const pcf = pcfFor(FPGA_TARGETS['ice40-up5k'], [{ name: 'rst', width: 1 }, { name: 'clk', width: 1 }, { name: 'rx_data', width: 2 }]);
    expect(pcf.split('\n').slice(1, 5)).toEqual(['set_io clk 35', 'set_io rst 2', 'set_io rx_data[0] 3', 'set_io rx_data[1] 4']);
    const json = JSON.stringify({ modules: { fpga_top: { attributes: { top: '1' }, cells: {
      'u_core.u_layer0.a': { type: 'SB_LUT4' }, 'u_core.u_layer0.b': { type: 'SB_CARRY' }, 'u_core.u_layer1.c': { type: 'SB_DFFE' },
      'in_buf_SB_DFFE_Q': { type: 'SB_DFFE' }, 'u_core.u_layer10.d': { type: 'SB_RAM40_4K' }, io: { type: 'SB_IO' },
    } } } });
    const c = countByInstance(json, [{ name: 'l0', instances: ['u_core.u_layer0'] }, { name: 'l1', instances: ['u_core.u_layer1'] }]);
    expect(c.total).toEqual({ luts: 1, carry: 1, ffs: 2, brams: 1, dsps: 0 });
    expect(c.parts[0].resources).toEqual({ luts: 1, carry: 1, ffs: 0, brams: 0, dsps: 0 });
    // 'u_core.u_layer10' is not under 'u_core.u_layer1'.
    expect(c.parts[1].resources).toEqual({ luts: 0, carry: 0, ffs: 1, brams: 0, dsps: 0 });
  });
});
