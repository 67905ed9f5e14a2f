// gen-rtl run as a user runs it (node bin/gen-rtl.mjs): bad input gives one error line, the documented
// exit code and no output folder; hostile tensor names never reach Verilog or escape --out; SIGINT
// leaves nothing half-written.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { serializeSafetensors, writeSafetensors, type TensorToWrite } from '../generators/load/safetensors.ts';
import { EXIT } from '../core/errors.ts';
import { MARKER } from './output.ts';
import { CLI, expectOneLineError, genRtl, ROOT, scratch, walk } from './testing.ts';

/** Keeps every run short: no Yosys, few vectors, no progress lines. */
const FAST = ['--no-synth', '--vectors', '200', '-q'];

const { fresh, cleanup } = scratch('hw-cli-');
afterAll(cleanup);

const f32 = (a: readonly number[]): Uint8Array => new Uint8Array(new Float32Array(a).buffer);
/** Deterministic values in [-1, 1]. */
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233));

type Tensors = TensorToWrite[];

/** A 4 -> 3 -> 2 MLP with F32 weights and biases under the two layer prefixes. */
function mlp(p1 = 'fc1', p2 = 'fc2'): Tensors {
  return [
    { name: `${p1}.weight`, dtype: 'F32', shape: [3, 4], data: f32(values(12, 1)) },
    { name: `${p1}.bias`, dtype: 'F32', shape: [3], data: f32(values(3, 2)) },
    { name: `${p2}.weight`, dtype: 'F32', shape: [2, 3], data: f32(values(6, 3)) },
    { name: `${p2}.bias`, dtype: 'F32', shape: [2], data: f32(values(2, 4)) },
  ];
}

function replace(ts: Tensors, name: string, t: Partial<TensorToWrite> | null): Tensors {
  return ts.flatMap((x) => (x.name !== name ? [x] : t === null ? [] : [{ ...x, ...t }]));
}

const CALIB: Tensors = [{ name: 'x', dtype: 'F32', shape: [8, 4], data: f32(values(32, 5)) }];

/** Writes model.safetensors (and calib.safetensors, config.json) into a fresh folder. */
function setup(model: Tensors | Buffer, opts: { calib?: Tensors; config?: unknown } = {}): { dir: string; out: string; model: string; calib: string } {
  const { dir, out } = fresh();
  const modelPath = join(dir, 'model.safetensors');
  if (Buffer.isBuffer(model)) writeFileSync(modelPath, model);
  else writeSafetensors(modelPath, model);
  const calib = join(dir, 'calib.safetensors');
  writeSafetensors(calib, opts.calib ?? CALIB);
  if (opts.config !== undefined) writeFileSync(join(dir, 'config.json'), JSON.stringify(opts.config));
  return { dir, out, model: modelPath, calib };
}



describe('gen-rtl: bad input files (exit 2, one line, no output)', () => {
  it('missing model file', async () => {
    const { dir, out } = fresh();
    const model = join(dir, 'nope.safetensors');
    const r = await genRtl([model, '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, model, 'not found');
    expect(existsSync(out)).toBe(false);
  });

  it('not a safetensors file (random bytes)', async () => {
    const s = setup(randomBytes(4096));
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.model, 'header length');
    expect(existsSync(s.out)).toBe(false);
  });

  it.each([
    ['in the data section', 10, /data section is \d+ bytes but tensors end at byte \d+/],
    ['in the header', 300, /header length \d+ bytes runs past the end/],
  ])('truncated file: cut %s', async (_where, cut, why) => {
    const whole = serializeSafetensors(mlp());
    const s = setup(whole.subarray(0, whole.length - (cut as number)));
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, ...FAST]);
    expect(expectOneLineError(r, EXIT.badInput, s.model)).toMatch(why as RegExp);
    expect(existsSync(s.out)).toBe(false);
  });

  it('missing tensor: config.json lists a layer whose weight is absent', async () => {
    const s = setup(replace(mlp(), 'fc2.weight', null), { config: { layers: ['fc1', 'fc2'] } });
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.model, "'fc2.weight'");
    expect(existsSync(s.out)).toBe(false);
  });

  it('extra tensor that belongs to no layer', async () => {
    const s = setup([...mlp(), { name: 'fc2.scale', dtype: 'F32', shape: [2], data: f32([1, 1]) }]);
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.model, "'fc2.scale'");
    expect(existsSync(s.out)).toBe(false);
  });

  it("shapes that don't chain", async () => {
    const s = setup(replace(mlp(), 'fc2.weight', { shape: [2, 5], data: f32(values(10, 3)) }));
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.model, "'fc2.weight' [2,5]", "'fc1.weight' [3,4]");
    expect(existsSync(s.out)).toBe(false);
  });

  it.each([
    ['NaN', NaN],
    ['Inf', Infinity],
  ])('%s weight', async (_what, bad) => {
    const w = values(12, 1);
    w[7] = bad;
    const s = setup(replace(mlp(), 'fc1.weight', { data: f32(w) }));
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.model, "'fc1.weight'", String(bad), 'index 7');
    expect(existsSync(s.out)).toBe(false);
  });

  it('unsupported dtype for weights (I64)', async () => {
    const data = new Uint8Array(new BigInt64Array(6).fill(1n).buffer);
    const s = setup(replace(mlp(), 'fc2.weight', { dtype: 'I64', data }));
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.model, "'fc2.weight'", 'I64');
    expect(existsSync(s.out)).toBe(false);
  });

  it('calibration file with the wrong shape', async () => {
    const s = setup(mlp(), { calib: [{ name: 'x', dtype: 'F32', shape: [8, 5], data: f32(values(40, 5)) }] });
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.calib, "'x'", '[8,5]');
    expect(existsSync(s.out)).toBe(false);
  });

  it("calibration file without tensor 'x'", async () => {
    const s = setup(mlp(), { calib: [{ name: 'inputs', dtype: 'F32', shape: [8, 4], data: f32(values(32, 5)) }] });
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.calib, "'x'");
    expect(existsSync(s.out)).toBe(false);
  });
});

describe('gen-rtl: bad usage (exit 3, error line + usage hint)', () => {
  it('unknown option', async () => {
    const s = setup(mlp());
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, '--bogus-option', ...FAST]);
    expectOneLineError(r, EXIT.usage, 'bogus-option');
    expect(existsSync(s.out)).toBe(false);
  });

  it('no model argument', async () => {
    const r = await genRtl(FAST);
    expectOneLineError(r, EXIT.usage, 'MODEL.safetensors');
  });

  it('--weight-bits 5 (a yargs message over several lines, printed as one)', async () => {
    const s = setup(mlp());
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, '--weight-bits', '5', ...FAST]);
    expectOneLineError(r, EXIT.usage, 'weight-bits', '5');
    expect(existsSync(s.out)).toBe(false);
  });

  it('existing non-empty output folder: refused without --force (untouched), replaced with it once it is an earlier output', async () => {
    const s = setup(mlp());
    mkdirSync(s.out);
    writeFileSync(join(s.out, 'keep.txt'), 'old output\n');
    const before = statSync(join(s.out, 'keep.txt')).mtimeMs;

    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, '--no-verify', ...FAST]);
    expectOneLineError(r, EXIT.usage, s.out, '--force');
    expect(walk(s.out)).toEqual(['keep.txt']);
    expect(readFileSync(join(s.out, 'keep.txt'), 'utf8')).toBe('old output\n');
    expect(statSync(join(s.out, 'keep.txt')).mtimeMs).toBe(before);
    expect(readdirSync(s.dir).sort()).toEqual(['calib.safetensors', 'model.safetensors', 'out']);

    // --force replaces only an earlier hardwire output: this folder has no marker, so it is refused too.
    const n = await genRtl([s.model, '--calib', s.calib, '--out', s.out, '--no-verify', '--force', ...FAST]);
    expectOneLineError(n, EXIT.usage, s.out, MARKER);
    expect(walk(s.out)).toEqual(['keep.txt']);
    writeFileSync(join(s.out, MARKER), '{"tool": "hardwire gen-rtl"}\n');

    const f = await genRtl([s.model, '--calib', s.calib, '--out', s.out, '--no-verify', '--force', ...FAST]);
    expect(f.code, f.stderr).toBe(EXIT.ok);
    expect(f.stderr).toBe('');
    expect(existsSync(join(s.out, 'keep.txt'))).toBe(false);
    expect(existsSync(join(s.out, 'report.json'))).toBe(true);
    expect(readdirSync(s.dir).sort()).toEqual(['calib.safetensors', 'model.safetensors', 'out']); // no staging or old folder left
  });
});

describe('gen-rtl: edge cases that must work', () => {
  it('an all-zero layer is allowed; plan.cells counts only non-zero weights', async () => {
    // Layer 1 all zero; layer 2 rows whose weights are all near the row maximum, so none rounds to 0.
    const w2 = [0.9, -0.8, 1.0, -1.0, 0.85, 0.95];
    const s = setup(replace(replace(mlp(), 'fc1.weight', { data: f32(new Array(12).fill(0)) }), 'fc2.weight', { data: f32(w2) }));
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, ...FAST]); // co-simulated: zero layers are an edge case of the RTL
    expect(r.code, r.stderr).toBe(EXIT.ok);
    const rep = JSON.parse(readFileSync(join(s.out, 'report.json'), 'utf8'));
    expect(rep.plan.weights).toBe(18);
    expect(rep.plan.nonZeroWeights).toBe(6);
    expect(rep.plan.cells).toBe(6);
    expect(rep.cosim.randomEqual).toBe(rep.cosim.randomTotal);
  });

  it('--help exits 0 and lists every option', async () => {
    const r = await genRtl(['--help']);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stderr).toBe('');
    for (const o of ['--out', '--weight-bits', '--calib', '--vectors', '--no-verify', '--trace', '--force', '--prompt', '--tokens', '--context', '--eval', '--fpga']) expect(r.stdout).toContain(o);
  });
});

describe('gen-rtl: hostile tensor names', () => {
  const HOSTILE: [string, string][] = [
    ['module */ wire x;//', '../../evil'],
    ['always', `${'n'.repeat(299)}Z`], // a 300-character name
    ['ω', 'bad\nname'],
  ];

  it.each(HOSTILE)('layers %j and %j: generated with no trace of the names, or refused in one line', async (p1, p2) => {
    // Layer order from config.json: natural order would sort some of these names the other way.
    const s = setup(mlp(p1, p2), { config: { layers: [p1, p2] } });
    const r = await genRtl([s.model, '--calib', s.calib, '--out', s.out, '--no-verify', ...FAST]);
    if (r.code !== EXIT.ok) {
      expectOneLineError(r, EXIT.badInput, s.model);
      expect(existsSync(s.out)).toBe(false);
    } else {
      expect(r.stderr).toBe('');
      const files = walk(s.out);
      expect(files).toContain('rtl/mlp_top.v');
      // Everything written is inside --out (walk follows no links), and nothing else appeared beside it.
      expect(readdirSync(s.dir).sort()).toEqual(['calib.safetensors', 'config.json', 'model.safetensors', 'out']);
      for (const f of files) expect(realpathSync(join(s.out, f)).startsWith(realpathSync(s.out) + sep)).toBe(true);
      for (const p of [p1, p2]) {
        for (const base of [s.out, join(s.out, 'rtl'), join(s.out, 'sim')]) {
          const at = resolve(base, p);
          if (!at.startsWith(s.out + sep)) expect(existsSync(at), at).toBe(false);
        }
      }
      // No name reaches the Verilog or the file lists. A keyword such as 'always' is part of Verilog
      // itself, so for those the full tensor names are what must not appear.
      for (const f of files.filter((x) => /\.(v|f)$/.test(x))) {
        const text = readFileSync(join(s.out, f), 'utf8');
        for (const p of [p1, p2]) {
          for (const needle of [`${p}.weight`, `${p}.bias`, ...(p === 'always' ? [] : [p])]) {
            expect(text.includes(needle), `${f} contains ${JSON.stringify(needle)}`).toBe(false);
          }
        }
        expect(text).toMatch(/^[\x20-\x7e\n]*$/); // printable ASCII only
      }
    }
  });
});

describe('gen-rtl: interrupted', () => {
  it('SIGINT during co-simulation leaves no output and no staging folder, exit 130', async () => {
    const { dir, out } = fresh();
    // detached: its own process group, so the SIGINT reaches the CLI and its tools as Ctrl-C would.
    const child = spawn('node', [CLI, 'examples/digits-mlp/model.safetensors', '--out', out, '--no-synth'], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let sent = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
      child.on('exit', (code, signal) => done({ code, signal }));
    });
    child.stdout.resume();
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
      if (!sent && stderr.includes('[5/')) {
        sent = true;
        process.kill(-child.pid!, 'SIGINT');
      }
    });
    const { code, signal } = await exited;
    try {
      process.kill(-child.pid!, 'SIGKILL'); // anything of its group still running
    } catch {
      // group already gone
    }
    expect(sent, stderr).toBe(true);
    expect({ code, signal }, stderr).toEqual({ code: 130, signal: null });
    expect(stderr).toMatch(/interrupted by SIGINT/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]); // no staging folder (.out.tmp-*) either
  });
});
