// --force never loses a user's files: it replaces only an earlier hardwire output (the marker file),
// never a folder of the inputs, a parent of one, the current folder or home; a lock keeps two runs
// off one --out, and what a killed run left beside --out is taken over or removed.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EXIT } from '../core/errors.ts';
import { MARKER } from './output.ts';
import { CLI, expectOneLineError, genRtl, scratch, tinyMlpFiles, walk, type Run } from './testing.ts';

/** Keeps every run short: no Yosys, no co-simulation, no progress lines (lint still runs). */
const FAST = ['--no-synth', '--no-verify', '-q'];

const { fresh, cleanup } = scratch('hw-force-');
afterAll(cleanup);

const tinyModel = tinyMlpFiles;

/** Each path under `dir` with its bytes and modification time: equal snapshots mean an untouched folder. */
function snapshot(dir: string): Record<string, string> {
  const s: Record<string, string> = {};
  for (const p of walk(dir)) {
    const st = statSync(join(dir, p));
    s[p] = st.isDirectory() ? 'dir' : `${st.mtimeMs} ${readFileSync(join(dir, p)).toString('base64')}`;
  }
  return s;
}

/** A refused --force run: exit 3, one line naming the folder and why, every file where it was. */
async function expectRefused(run: Promise<Run>, folder: string, why: string, before: Record<string, string>): Promise<void> {
  const r = await run;
  expectOneLineError(r, EXIT.usage, folder, why);
  expect(snapshot(folder)).toEqual(before);
}

describe('--force replaces only what hardwire wrote', () => {
  it("--force at the model's own folder: refused (exit 3), every file still there", async () => {
    const { dir } = fresh();
    const m = tinyModel(join(dir, 'model'));
    writeFileSync(join(dir, 'model', 'notes.txt'), 'mine\n');
    const before = snapshot(join(dir, 'model'));
    await expectRefused(genRtl([m.model, '--out', join(dir, 'model'), '--force', ...FAST]), join(dir, 'model'), 'holds the input', before);
  });

  it("--force at the model folder's parent: refused (exit 3), every file still there", async () => {
    const { dir } = fresh();
    const m = tinyModel(join(dir, 'models', 'mlp'));
    writeFileSync(join(dir, 'models', 'unrelated.txt'), 'mine\n');
    const before = snapshot(join(dir, 'models'));
    await expectRefused(genRtl([m.model, '--out', join(dir, 'models'), '--force', ...FAST]), join(dir, 'models'), 'contains the input', before);
    // A parent of a calibration file elsewhere is refused the same way.
    const c = tinyModel(join(dir, 'calib-only'));
    const beforeC = snapshot(join(dir, 'calib-only'));
    await expectRefused(genRtl([m.model, '--calib', c.calib, '--out', join(dir, 'calib-only'), '--force', ...FAST]), join(dir, 'calib-only'), c.calib, beforeC);
  });

  it("--out . --force in a folder of the user's files: refused (exit 3), every file still there", async () => {
    const { dir } = fresh();
    const m = tinyModel(join(dir, 'elsewhere'));
    const cwd = join(dir, 'work');
    mkdirSync(join(cwd, 'src'), { recursive: true });
    writeFileSync(join(cwd, 'src', 'main.c'), 'int main(void) { return 0; }\n');
    writeFileSync(join(cwd, 'README'), 'mine\n');
    const before = snapshot(cwd);
    await expectRefused(genRtl([m.model, '--out', '.', '--force', ...FAST], cwd), cwd, 'is the current folder', before);
    await expectRefused(genRtl([m.model, '--out', '..', '--force', ...FAST], join(cwd, 'src')), cwd, 'contains the current folder', before);
  });

  it('--out $HOME --force: refused (exit 3), every file still there', async () => {
    const { dir } = fresh();
    const m = tinyModel(join(dir, 'elsewhere'));
    const home = join(dir, 'home');
    mkdirSync(join(home, '.config'), { recursive: true });
    writeFileSync(join(home, '.config', 'settings'), 'mine\n');
    writeFileSync(join(home, 'thesis.tex'), 'mine\n');
    const before = snapshot(home);
    await expectRefused(genRtl([m.model, '--out', home, '--force', ...FAST], dir, { HOME: home }), home, 'is the home folder', before);
  });

  it('--force at a non-empty folder without the marker: refused (exit 3), untouched', async () => {
    const { dir, out } = fresh();
    const m = tinyModel(join(dir, 'model'));
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'not ours\n');
    const before = snapshot(out);
    await expectRefused(genRtl([m.model, '--out', out, '--force', ...FAST]), out, `no ${MARKER}`, before);
    expect(readdirSync(dir).sort()).toEqual(['model', 'out']); // no lock or staging folder left
  });

  it('--force over an earlier hardwire output: replaced; the marker names the run', async () => {
    const { dir, out } = fresh();
    const m = tinyModel(join(dir, 'model'));
    const a = await genRtl([m.model, '--out', out, ...FAST]);
    expect(a.code, a.stderr).toBe(EXIT.ok);
    const marker = JSON.parse(readFileSync(join(out, MARKER), 'utf8'));
    expect(marker).toMatchObject({ tool: 'hardwire gen-rtl', version: '0.1.0', argv: [m.model, '--out', out, ...FAST] });
    expect(Date.parse(marker.started)).toBeGreaterThan(Date.now() - 600_000);
    writeFileSync(join(out, 'stale.txt'), 'from the old run\n');
    const b = await genRtl([m.model, '--out', out, '--force', ...FAST]);
    expect(b.code, b.stderr).toBe(EXIT.ok);
    expect(existsSync(join(out, 'stale.txt'))).toBe(false);
    expect(existsSync(join(out, 'report.json'))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['model', 'out']);
  });
});

/** The pid of a process that has exited (so a lock or staging name with it is stale). */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

describe('the lock on --out', () => {
  it('two concurrent runs on one --out: one result, one refusal up front (exit 3)', async () => {
    const { dir, out } = fresh();
    const m = tinyModel(join(dir, 'model'));
    // The first run co-simulates with an empty Verilator cache: it holds the lock for seconds.
    const env = { ...process.env, HARDWIRE_CACHE: join(dir, 'cache') };
    const first = spawn('node', [CLI, m.model, '--out', out, '--force', '--no-synth', '--vectors', '50', '-q'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr1 = '';
    first.stderr.on('data', (d: Buffer) => (stderr1 += d.toString()));
    const done = new Promise<number | null>((res) => first.on('close', (code) => res(code)));
    const lock = join(dir, '.out.lock');
    while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(lock, 'utf8')).toBe(`${first.pid}\n`);
    const t0 = performance.now();
    const second = await genRtl([m.model, '--out', out, '--force', ...FAST]);
    const secondSeconds = (performance.now() - t0) / 1000;
    expectOneLineError(second, EXIT.usage, out, 'in use by another gen-rtl run', `pid ${first.pid}`);
    expect(await done, stderr1).toBe(EXIT.ok);
    expect(JSON.parse(readFileSync(join(out, MARKER), 'utf8')).pid).toBe(first.pid);
    expect(existsSync(join(out, 'report.json'))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['cache', 'model', 'out']);
    expect(secondSeconds).toBeLessThan(10);
  });

  it("a dead run's lock, staging and lock leftovers are taken over and removed", async () => {
    const { dir, out } = fresh();
    const m = tinyModel(join(dir, 'model'));
    const pid = deadPid();
    writeFileSync(join(dir, '.out.lock'), `${pid}\n`);
    writeFileSync(join(dir, `.out.lock-${pid}-0badc0de`), `${pid}\n`);
    mkdirSync(join(dir, `.out.tmp-${pid}-12345678`, 'rtl'), { recursive: true });
    writeFileSync(join(dir, `.out.tmp-${pid}-12345678`, 'rtl', 'half.v'), 'module half;\n');
    const r = await genRtl([m.model, '--out', out, ...FAST]);
    expect(r.code, r.stderr).toBe(EXIT.ok);
    expect(readdirSync(dir).sort()).toEqual(['model', 'out']);
  });

  it("a dead run's old output, left between its two renames, is put back", async () => {
    const { dir, out } = fresh();
    const m = tinyModel(join(dir, 'model'));
    expect((await genRtl([m.model, '--out', out, ...FAST])).code).toBe(EXIT.ok);
    const before = snapshot(out);
    const old = join(dirname(out), `.out.old-${deadPid()}-abcdef01`);
    spawnSync('mv', [out, old]);
    const r = await genRtl([m.model, '--out', out, ...FAST]); // without --force: the restored output is kept
    expectOneLineError(r, EXIT.usage, out, '--force');
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['model', 'out']);
  });
});
