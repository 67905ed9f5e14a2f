// The UART board wrapper: the digits MLP on the folded layout --fpga ice40-hx8k chooses, behind the UART,
// co-simulated in Verilator with a simulated serial line (bit-exact on the held-out vectors); and the host
// program's protocol layer (bin/board.mjs) run against that simulated board.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { buildGridDesign } from '../generators/grid/design.ts';
import { fpgaWrapper } from '../generators/fpga/wrapper.ts';
import { uartTop, clocksPerBit } from '../generators/fpga/uart.ts';
import { emitDesign } from '../dsl/verilog.ts';
import { FPGA_TARGETS } from '../verify/fpga.ts';
import { lintVerilog } from '../verify/lint.ts';
import { buildSim } from '../verify/verilator.ts';
import { deserialize, parseAnswer, requestBytes, runSession, serialize, type BoardFile } from '../verify/boardProtocol.ts';
import { simTransport } from '../verify/cosimUart.ts';
import { chooseLayout } from './fpgaFit.ts';
import { prepareModel } from './genMlp.ts';
import { SIM_CLOCKS_PER_BIT, uartStep } from './fpga.ts';
import { Progress } from './progress.ts';
import { ROOT, scratch } from './testing.ts';
import { readFileSync } from 'node:fs';

const tmp = scratch('hw-board-');
let boardJson: string | undefined;

/** A fake board on a pseudo-terminal: answers each request with the golden answer from board.json (argv[2]: a vector index to answer wrongly). */
const FAKE_BOARD = `import os, pty, sys, json, select
bf = json.load(open(sys.argv[1]))
bad = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else -1
m, s = pty.openpty()
print(os.ttyname(s), flush=True)
ab, lb, n_in, n_out = bf['actBits'], bf['logitBits'], bf['inBytes'], bf['outBytes']
def req(x):
    v = 0
    for e in reversed(x): v = (v << ab) | (e & ((1 << ab) - 1))
    return v.to_bytes(n_in, 'little')
def ans(g):
    v = 0
    for l in reversed(g['logits']): v = (v << lb) | (l & ((1 << lb) - 1))
    return bytes([g['cls']]) + v.to_bytes(n_out - 1, 'little')
table = {}
for vs in bf['sets'].values():
    for g in vs: table[req(g['x'])] = ans(g)
buf, k = b'', 0
while True:
    r, _, _ = select.select([m], [], [], 30)
    if not r: break
    buf += os.read(m, 4096)
    while len(buf) >= n_in:
        q, buf = buf[:n_in], buf[n_in:]
        a = table.get(q, bytes(n_out))
        if k == bad: a = bytes([(a[0] + 1) % 256]) + a[1:]
        os.write(m, a)
        k += 1
`;
afterAll(() => tmp.cleanup());

function fakeStaging(dir: string) {
  return {
    dir,
    async write(rel: string, data: string | Buffer): Promise<void> {
      await mkdir(dirname(join(dir, rel)), { recursive: true });
      await writeFile(join(dir, rel), data);
    },
  };
}

describe('UART board wrapper', () => {
  it('8N1 line coding round-trips; requests and answers pack as the stream wrapper does', () => {
    const bytes = [0x00, 0xff, 0x55, 0xa3, 0x01];
    for (const cpb of [4, 5, 104]) expect(deserialize([1, 1, 1, ...serialize(bytes, cpb), 1, 1], cpb)).toEqual({ bytes, framingErrors: 0 });
    expect([...requestBytes([-1, 2, -128], 8, 4)]).toEqual([0xff, 0x02, 0x80, 0x00]);
    // class 3, logits -2 and 5 in 12 bits: 0xffe | 0x005 << 12
    expect(parseAnswer([3, 0xfe, 0x5f, 0x00], 2, 12)).toEqual({ cls: 3, logits: [-2, 5] });
    expect(clocksPerBit(12e6, 115200)).toBe(104);
  });

  it('digits on the HX8K folded layout: UART wrapper lint-clean, co-simulated over a simulated serial line, 360/360 held-out equal; the host protocol against the simulated board', async () => {
    const o = { model: join(ROOT, 'examples/digits-mlp/model.safetensors'), weightBits: 4 as const, vectors: 1, verify: true, synth: false, trace: false, force: false, seed: 1, regEvery: 2, quiet: true };
    const target = FPGA_TARGETS['ice40-hx8k'];
    const grid = chooseLayout(o, target).grid!;
    const { q, testInts } = prepareModel(o, new Progress(1, true));
    const d = buildGridDesign(q, grid);
    const { dir } = tmp.fresh();
    const staging = fakeStaging(dir);
    for (const [p, text] of d.files) await staging.write(p, text);
    const classes = q.layers[q.layers.length - 1].outFeatures;
    const design = { core: d.top, resultPort: 'out_data' as const, resultBits: classes * grid.accBits, verilog: d.order, groups: [], cyclesPerInference: d.plan.latency, latency: d.plan.latency, layout: { kind: 'grid' as const } };
    const { top: stream, shape } = fpgaWrapper(d.top, design.resultPort, design.resultBits, 'fpga_stream');
    const cpb = clocksPerBit(target.clockMHz * 1e6, 115200);
    // The board top (104 clocks per bit) is lint-clean with the core.
    const board = emitDesign(uartTop(stream, cpb));
    const own = board.order.filter((f) => !d.order.some((v) => v.endsWith(`/${f}`)));
    expect(own.sort()).toEqual(['fpga_stream.v', 'fpga_top.v', 'uart_rx_c104.v', 'uart_tx_c104.v']);
    for (const f of own) await staging.write(`fpga/${f}`, board.files.get(f)!);
    await lintVerilog([...d.order.map((f) => join(dir, f)), ...own.map((f) => join(dir, 'fpga', f))], 'fpga_top');

    const t0 = performance.now();
    const u = await uartStep(staging, { ...design, golden: { q, heldOut: testInts, seed: 1, verify: true } }, shape, cpb, target, new Progress(1, true));
    expect(u.cosim, JSON.stringify(u.cosim)).toMatchObject({ set: 'held-out', equal: 360, total: 360, framingErrors: 0, clocksPerBit: SIM_CLOCKS_PER_BIT });
    expect(u.clocksPerBit).toBe(104);
    console.log(`UART co-simulation: ${u.cosim!.equal}/${u.cosim!.total} in ${u.cosim!.cycles} cycles, sim ${u.cosim!.simSeconds.toFixed(1)} s, step ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // The host program's session code, through a simulated board (each exchange: power-up, request, answer).
    boardJson = join(dir, 'fpga/board.json');
    const bf = JSON.parse(readFileSync(boardJson, 'utf8')) as BoardFile;
    expect([bf.inBytes, bf.outBytes, bf.classes, bf.logitBits, bf.sets['held-out'].length, bf.sets.random.length]).toEqual([64, 21, 10, 16, 360, 200]);
    const files = [...d.order.map((f) => join(dir, f)), join(dir, 'fpga/fpga_stream.v'), join(dir, 'fpga/sim/fpga_top.v'), join(dir, 'fpga/sim/uart_rx_c4.v'), join(dir, 'fpga/sim/uart_tx_c4.v')];
    const sim = await buildSim({ top: 'fpga_top', files, clock: 'clk', ports: [{ name: 'clk', dir: 'input', width: 1 }, { name: 'uart_rx', dir: 'input', width: 1 }, { name: 'uart_tx', dir: 'output', width: 1 }] });
    const s = await runSession(simTransport(sim, bf, SIM_CLOCKS_PER_BIT, d.plan.latency), bf, bf.sets.random.slice(0, 20));
    expect(s, s.firstMismatch).toMatchObject({ equal: 20, total: 20 });
  }, 240_000);

  it('bin/board.mjs over a pseudo-terminal (a fake board in Python answering from board.json): N/N equal, exit 0; a wrong answer: exit 1', async () => {
    expect(boardJson, 'needs the digits test above').toBeDefined();
    const { dir } = tmp.fresh();
    const fake = join(dir, 'fake_board.py');
    await writeFile(fake, FAKE_BOARD);
    for (const [corrupt, code, line] of [['', 0, /^held-out: 30\/30 equal to the golden model/m], ['3', 1, /^held-out: 29\/30 equal[^]*first mismatch: vector 3:/m]] as const) {
      const py = spawn('python3', [fake, boardJson!, corrupt], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        const tty = await new Promise<string>((done) => py.stdout.once('data', (b: Buffer) => done(b.toString().trim())));
        expect(tty).toMatch(/^\/dev\/pts\/\d+$/);
        const r = await new Promise<{ code: number; stdout: string }>((done) => execFile('node', [join(ROOT, 'bin/board.mjs'), '--board', dirname(dirname(boardJson!)), '--device', tty, '--count', '30'], (e, stdout) => done({ code: e ? Number(e.code) : 0, stdout })));
        expect(r.stdout).toMatch(line);
        expect(r.code, r.stdout).toBe(code);
      } finally {
        py.kill();
      }
    }
  }, 60_000);

  it('bin/board.mjs --help explains itself', async () => {
    const out = await new Promise<string>((done) => execFile('node', [join(ROOT, 'bin/board.mjs'), '--help'], (_e, stdout) => done(stdout)));
    expect(out).toMatch(/--device/);
    expect(out).toMatch(/board\.json/);
  });
});
