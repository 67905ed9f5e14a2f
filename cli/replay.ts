// Replayable output: OUT/replay.sh reruns by hand what the run checked: Verilator lint, the Icarus
// testbench on the vectors the run used (compared with the run's outputs), the Verilator harness on a
// vectors file (compared byte for byte), and Yosys (synth.ys lists the files: Yosys 0.23 reads no .f).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { ABC_GATES } from '../verify/yosys.ts';
import { packRecords, simLayout, type SimSpec } from '../verify/verilator.ts';
import type { OutputStaging } from './output.ts';

const templatesDir = fileURLToPath(new URL('../templates/', import.meta.url));
const TB = 'hardwire_icarus_tb';

function shellWord(s: string): string {
  if (!/^[A-Za-z0-9_./+-]+$/.test(s)) throw new Error(`replay: ${JSON.stringify(s)} cannot go into replay.sh unquoted`);
  return s;
}

export interface ReplayInput {
  /** Top module and its ports (files are taken from `files`). */
  readonly spec: SimSpec;
  /** The RTL files relative to the output folder, in compile order. */
  readonly files: readonly string[];
  /** The co-simulation's stimulus (one value per non-clock input per cycle) and Verilator's outputs. */
  readonly stimulus: readonly (readonly bigint[])[];
  readonly outputs: readonly (readonly bigint[])[];
  /** Cycles replayed in Icarus (a prefix; Icarus is slow); the rest only in Verilator. */
  readonly icarusCycles: number;
  /** What the vectors are, for the script's messages. */
  readonly what: string;
  /** Outputs left out of the Icarus comparison (a debug read port of an SRAM that Icarus starts at X). */
  readonly ignoreInIcarus?: readonly string[];
  /** The Yosys step instead of the flattened gate count: the engine flows check each mask alone (0 cells). */
  readonly masks?: readonly { readonly file: string; readonly module: string }[];
}

/** Write sim/ (testbench, vectors, expected outputs), synth.ys and replay.sh into the output. */
export async function writeReplay(staging: Pick<OutputStaging, 'write'>, r: ReplayInput): Promise<string[]> {
  const { inSlots, outSlots, inRecordBytes, outRecordBytes } = simLayout(r.spec);
  const ignored = new Set(r.ignoreInIcarus ?? []);
  const icSlots = outSlots.map((s, k) => ({ s, k })).filter(({ s }) => !ignored.has(s.name));
  const top = shellWord(r.spec.top);
  const files = r.files.map(shellWord);
  const written: string[] = [];
  const put = async (p: string, data: string | Buffer) => { await staging.write(p, data); written.push(p); };

  // Icarus: one $readmemh file per input, the testbench, and the outputs the run saw (Verilator's).
  const n = Math.min(r.icarusCycles, r.stimulus.length);
  const cycles = r.stimulus.slice(0, n);
  const inputs = [];
  for (const [i, slot] of inSlots.entries()) {
    await put(`sim/in_${i}.hex`, cycles.map((v) => BigInt.asUintN(slot.width, v[i]).toString(16)).join('\n') + '\n');
    inputs.push({ name: slot.name, msb: slot.width - 1, file: `in_${i}.hex` });
  }
  const src = await readFile(join(templatesDir, 'icarus_tb.v.hbs'), 'utf8');
  const tb = Handlebars.create().compile(src, { noEscape: true, strict: true })({
    tbName: TB, top, hasClock: r.spec.clock !== undefined, clock: r.spec.clock ?? '', inputs,
    outputs: icSlots.map(({ s }) => ({ name: s.name, msb: s.width - 1 })),
    unobserved: outSlots.filter((s) => ignored.has(s.name)).map((s) => ({ name: s.name, msb: s.width - 1 })), connections: r.spec.ports.map((p) => ({ name: p.name })),
    cycles: n, lastCycle: n - 1, outFile: 'icarus_out.hex', format: icSlots.length ? icSlots.map(() => '%h').join(' ') : '.',
  });
  await put(`sim/${TB}.v`, tb);
  const hex = (v: bigint, w: number) => v.toString(16).padStart(Math.ceil(w / 4), '0');
  await put('sim/icarus_expected.hex', r.outputs.slice(0, n).map((o) => icSlots.map(({ s, k }) => hex(o[k], s.width)).join(' ')).join('\n') + '\n');

  // Verilator: the harness (sim/harness.cpp, written by the flow) on binary records, one per cycle.
  await put('sim/vectors.bin', packRecords(inSlots, inRecordBytes, r.stimulus));
  await put('sim/expected.bin', packRecords(outSlots, outRecordBytes, r.outputs));

  // Yosys: the generic-gate synthesis the report counts, with the files listed (no .f); for the engine
  // flows, each mask module alone (it must have 0 cells).
  if (r.masks) {
    await put('synth.ys', [
      `# Each mask module alone (as gen-rtl checks it): the cell count must be 0. Run from this folder: yosys -s synth.ys`,
      ...r.masks.flatMap((m) => ['design -reset', `read_verilog ${shellWord(m.file)}`, `hierarchy -top ${shellWord(m.module)}`, 'proc', 'opt_clean', `tee -a synth_stat.txt stat`]),
      '',
    ].join('\n'));
  } else await put('synth.ys', [
    `# Generic-gate synthesis of ${top} (as in report.md); run from this folder: yosys -s synth.ys`,
    ...files.map((f) => `read_verilog ${f}`),
    `synth -flatten -noabc -top ${top}`,
    `abc -g ${ABC_GATES}`,
    'opt_clean',
    'tee -o synth_stat.txt stat -tech cmos',
    '',
  ].join('\n'));
  const synthCheck = r.masks
    ? `  rm -f synth_stat.txt
  echo "== yosys -s synth.ys (each mask module alone: 0 cells)"
  yosys -q -s synth.ys > /dev/null
  if grep -i "number of cells" synth_stat.txt | grep -qv " 0$"; then echo "replay: a mask module has cells (synth_stat.txt)" >&2; exit 1; fi
  echo "   $(grep -ci "number of cells" synth_stat.txt) mask modules, 0 cells each"`
    : `  echo "== yosys -s synth.ys (generic gates; cell counts in synth_stat.txt)"
  yosys -q -s synth.ys > /dev/null
  grep -m1 -i "number of cells" synth_stat.txt || true`;

  const list = files.join(' \\\n  ');
  await put('replay.sh', `#!/usr/bin/env bash
# Reruns by hand what gen-rtl checked for ${top}: lint, Icarus and Verilator on ${r.what}, and Yosys.
# Usage: bash replay.sh [--no-synth]   (from any folder; needs verilator, iverilog, make, a C++ compiler, yosys)
set -euo pipefail
cd "$(dirname "$0")"
FILES="${list}"

echo "== verilator --lint-only -Wall"
verilator --lint-only -Wall --top-module ${top} $FILES
echo "   lint clean"

echo "== Icarus: sim/${TB}.v on sim/in_*.hex (${n} cycles), outputs compared with sim/icarus_expected.hex"
iverilog -g2005 -Wall -s ${TB} -o sim/icarus.vvp $FILES sim/${TB}.v
(cd sim && vvp -n icarus.vvp > /dev/null)
# Cycle 0 is the reset cycle: Icarus registers start at X there (Verilator's at 0), so it is not compared.
if ! cmp -s <(tail -n +2 sim/icarus_out.hex) <(tail -n +2 sim/icarus_expected.hex); then
  echo "replay: Icarus outputs differ from the run's (sim/icarus_out.hex vs sim/icarus_expected.hex)" >&2; exit 1
fi
echo "   $(( $(wc -l < sim/icarus_out.hex) - 1 )) cycles identical"

echo "== Verilator: sim/harness.cpp on sim/vectors.bin (${r.stimulus.length} cycles, ${inRecordBytes}-byte records), outputs compared with sim/expected.bin"
rm -rf sim/obj
verilator --cc --exe --build -j "$(nproc 2>/dev/null || echo 2)" -Wall --x-assign 0 --x-initial 0 --top-module ${top} -o sim --Mdir sim/obj $FILES "$PWD/sim/harness.cpp" > /dev/null
sim/obj/sim < sim/vectors.bin > sim/verilator_out.bin
cmp sim/verilator_out.bin sim/expected.bin
echo "   ${r.stimulus.length} cycles identical"

if [ "\${1:-}" != "--no-synth" ]; then
${synthCheck}
fi
echo "replay: all passed"
`);
  return written;
}
