// gen-rtl on a Llama checkpoint, run as a user runs it (node bin/gen-rtl.mjs): each bad prompt, option,
// grid, tokenizer, config or token file gives one error line naming it, the documented exit code and no
// output folder; a good run writes base/ + masks + top/ + reports, and base/ depends only on the grid.
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../generators/load/safetensors.ts';
import { EXIT } from '../core/errors.ts';
import { expectOneLineError, genRtl, ROOT, scratch, walk, type Run } from './testing.ts';
import { readability } from '../verify/readability.ts';

const EXAMPLE = join(ROOT, 'examples/tiny-llama');
const MODEL = join(EXAMPLE, 'model.safetensors');
const TOKENIZER = join(EXAMPLE, 'tokenizer.json');
/** No co-simulation, no progress lines: a refused run takes ~2 s, a good one ~15 s (quantize + lint). */
const FAST = ['--no-verify', '-q'];

const { fresh, cleanup } = scratch('hw-llama-cli-');
afterAll(cleanup);

/** A copy of examples/tiny-llama in a fresh folder, to corrupt one file of it. */
function exampleCopy(): { dir: string; out: string; model: string; config: string; tokenizer: string } {
  const { dir, out } = fresh();
  const ex = join(dir, 'tiny-llama');
  for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'calib.safetensors', 'reference.safetensors']) cpSync(join(EXAMPLE, f), join(ex, f));
  return { dir, out, model: join(ex, 'model.safetensors'), config: join(ex, 'config.json'), tokenizer: join(ex, 'tokenizer.json') };
}


/** Nothing written: no --out folder and no staging folder (.out.tmp-*) beside it. */
function expectNoOutput(dir: string, out: string): void {
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(dir).filter((e) => e.startsWith('.'))).toEqual([]);
}


/** Each file under `dir` with its bytes and modification time: equal snapshots mean an untouched folder. */
function snapshot(dir: string): Record<string, string> {
  const s: Record<string, string> = {};
  for (const p of walk(dir)) {
    const st = statSync(join(dir, p));
    s[p] = st.isDirectory() ? 'dir' : `${st.mtimeMs} ${readFileSync(join(dir, p)).toString('base64')}`;
  }
  return s;
}

/** The files of one output subfolder, by name. */
function folder(out: string, sub: string): Map<string, Buffer> {
  return new Map(readdirSync(join(out, sub)).sort().map((f) => [f, readFileSync(join(out, sub, f))]));
}

/** Writes a grid file into `dir` (optionally beside a package.json {"type": "module"}). */
function gridFile(dir: string, name: string, fields: string, esm = false): string {
  if (esm) writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
  const path = join(dir, `${name}.ts`);
  const grid = JSON.stringify(join(ROOT, 'generators/grid/grid.ts'));
  writeFileSync(path, `import { defineGrid } from ${grid};\nexport default defineGrid({ name: '${name}', ${fields} });\n`);
  return path;
}

/** The grid of the example but for the fields given. */
const TINY_FIELDS = (romDepth: number, sram: string): string =>
  `rows: 64, lanes: 16, romDepth: ${romDepth}, weightBits: 4, accBits: 24, maxFeatures: 192, lut: { units: 5, entries: 1024, width: 16 }, sram: ${sram}`;

const i64 = (a: readonly number[]): Uint8Array => new Uint8Array(new BigInt64Array(a.map(BigInt)).buffer);

describe('gen-rtl Llama: bad usage (exit 3, error line + usage hint, no output)', () => {
  it('no --prompt for a Llama checkpoint', async () => {
    const { dir, out } = fresh();
    const r = await genRtl([MODEL, '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.usage, MODEL, '--prompt');
    expectNoOutput(dir, out);
  });

  it.each([
    [['--prompt', ''], '--prompt number 1 is empty'],
    [['--prompt', 'The ', '--prompt', ''], '--prompt number 2 is empty'],
    [['--prompt', 'The ', '--tokens', '0'], '--tokens must be a positive integer, got 0'],
    [['--prompt', 'The ', '--tokens', '1.5'], '--tokens must be a positive integer, got 1.5'],
    [['--prompt', 'The ', '--tokens', 'many'], '--tokens must be a positive integer, got NaN'],
    [['--prompt', 'The ', '--context', '1'], '--context must be an integer in [2, 65536], got 1'],
    [['--prompt', 'The ', '--context', '2.5'], '--context must be an integer in [2, 65536], got 2.5'],
    // 'The ' is 4 tokens: 4 + 6 - 1 = 9 positions do not fit 8 (4 + 5 - 1 = 8 do: the good run below).
    [['--prompt', 'The ', '--tokens', '6', '--context', '8'], '--prompt number 1 (4 tokens) plus --tokens 6 needs 9 positions; the context is 8 (--context)'],
    [['--prompt', 'The ', '--prompt', 'The program is ', '--tokens', '2', '--context', '8'], '--prompt number 2 (15 tokens)'],
  ])('%j', async (args, message) => {
    const { dir, out } = fresh();
    const r = await genRtl([MODEL, ...args, '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.usage, message);
    expectNoOutput(dir, out);
  });

  it('no calibration text beside the model and no --calib', async () => {
    const s = exampleCopy();
    rmSync(join(s.dir, 'tiny-llama/calib.safetensors'));
    const r = await genRtl([s.model, '--prompt', 'The ', '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.usage, s.model, '--calib');
    expectNoOutput(s.dir, s.out);
  });
});

describe('gen-rtl Llama: prompts outside the vocabulary (exit 2, names tokenizer.json and the character)', () => {
  it.each([
    ['café', "'é' (U+00E9) at index 3"],
    ['a~b', "'~' (U+007E) at index 1"],
    ['a😀', "'😀' (U+1F600) at index 1"],
    ['ab\x1b[31m', "'\\u001b' (U+001B) at index 2"], // a control character is escaped, never sent to the terminal
  ])('%j', async (prompt, what) => {
    const { dir, out } = fresh();
    const r = await genRtl([MODEL, '--prompt', prompt, '--out', out, ...FAST]);
    const line = expectOneLineError(r, EXIT.badInput, TOKENIZER, what, 'not in the vocabulary');
    expect(line).toMatch(/^[^\x00-\x1f\x7f]*$/);
    expectNoOutput(dir, out);
  });
});

// Each of the first four quantizes the model before it finds the grid too small (~10 s).
describe('gen-rtl Llama: grids that cannot hold the model (exit 2, names the grid)', () => {
  it("ROM depth 64: the model needs 98 words per cell", async () => {
    const { dir, out } = fresh();
    const grid = gridFile(dir, 'small', TINY_FIELDS(64, '{ banks: 2, words: 512, width: 256 }'));
    const r = await genRtl([MODEL, '--prompt', 'The ', '--tokens', '4', '--grid', grid, '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, "grid 'small'", 'ROM depth', 'needs 98', 'has 64');
    expectNoOutput(dir, out);
  });

  it('KV-cache SRAM of one layer (128 words of 128 positions) for a 2-layer model', async () => {
    const { dir, out } = fresh();
    const grid = gridFile(dir, 'tinysram', TINY_FIELDS(128, '{ banks: 2, words: 128, width: 256 }'));
    const r = await genRtl([MODEL, '--prompt', 'The ', '--tokens', '4', '--grid', grid, '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, "grid 'tinysram'", 'has 2 layers', 'holds 1 layer of 128 positions', 'sram.words 128');
    expectNoOutput(dir, out);
  });

  it('SRAM shallower than the engine context: the grid has no engine at all', async () => {
    const { dir, out } = fresh();
    const grid = gridFile(dir, 'noengine', TINY_FIELDS(128, '{ banks: 2, words: 64, width: 256 }'));
    const r = await genRtl([MODEL, '--prompt', 'The ', '--tokens', '4', '--grid', grid, '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, grid, "grid 'noengine'", 'has no engine', 'SRAM of 64 words', 'engine.context 128');
    expectNoOutput(dir, out);
  });

  it('--context 300 overflows the default grid (128 positions per layer)', async () => {
    const { dir, out } = fresh();
    const r = await genRtl([MODEL, '--prompt', 'The ', '--tokens', '4', '--context', '300', '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, "grid 'tiny-llama'", 'context of 300 positions', '128 per layer', '--context');
    expectNoOutput(dir, out);
  });

  it('--weight-bits 8 against the int4 grid', async () => {
    const { dir, out } = fresh();
    const r = await genRtl([MODEL, '--prompt', 'The ', '--tokens', '4', '--weight-bits', '8', '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, "grid 'tiny-llama'", 'int4', 'int8', '--weight-bits');
    expectNoOutput(dir, out);
  });

  it('a grid file that breaks a defineGrid rule names the file and the field', async () => {
    const { dir, out } = fresh();
    const grid = gridFile(dir, 'narrowacc', TINY_FIELDS(128, '{ banks: 2, words: 512, width: 256 }').replace('accBits: 24', 'accBits: 12'));
    const r = await genRtl([MODEL, '--prompt', 'The ', '--grid', grid, '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, grid, "grid 'narrowacc'", "field 'accBits'");
    expectNoOutput(dir, out);
  });

  // A grid file in an ES-module package loads the same way as one in a plain folder (loadGrid uses
  // tsx's tsImport; a bare import() of a .ts file outside an ESM package used to fail in require()).
  it('a grid file beside a package.json {"type": "module"} loads too', async () => {
    const { dir, out } = fresh();
    const grid = gridFile(dir, 'small', TINY_FIELDS(64, '{ banks: 2, words: 512, width: 256 }'), true);
    const r = await genRtl([MODEL, '--prompt', 'The ', '--tokens', '4', '--grid', grid, '--out', out, ...FAST]);
    expect(r.stderr).not.toContain('cannot load the grid file');
    expectOneLineError(r, EXIT.badInput, grid, "grid 'small'", 'ROM depth');
  });

  it('a grid without the lookup-table units the Llama needs', async () => {
    const { dir, out } = fresh();
    const grid = gridFile(dir, 'nolut', TINY_FIELDS(128, '{ banks: 2, words: 512, width: 256 }').replace('units: 5', 'units: 2'));
    const r = await genRtl([MODEL, '--prompt', 'The ', '--tokens', '4', '--grid', grid, '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, grid, "grid 'nolut'", '4 lookup-table units', 'has 2');
    expectNoOutput(dir, out);
  });
});

describe('gen-rtl Llama: bad config, tokenizer and token files (exit 2, names the file)', () => {
  it("tokenizer.json's vocabulary differs from config.json's vocab_size", async () => {
    const s = exampleCopy();
    const tok = JSON.parse(readFileSync(s.tokenizer, 'utf8'));
    tok.vocab.push('~');
    writeFileSync(s.tokenizer, JSON.stringify(tok));
    const r = await genRtl([s.model, '--prompt', 'The ', '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.tokenizer, '87 tokens', s.config, 'vocab_size 86');
    expectNoOutput(s.dir, s.out);
  });

  it('no tokenizer.json beside the model', async () => {
    const s = exampleCopy();
    rmSync(s.tokenizer);
    const r = await genRtl([s.model, '--prompt', 'The ', '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.tokenizer, 'tokenizer file not found');
    expectNoOutput(s.dir, s.out);
  });

  it('--tokenizer names a missing file', async () => {
    const { dir, out } = fresh();
    const tok = join(dir, 'nope.json');
    const r = await genRtl([MODEL, '--prompt', 'The ', '--tokenizer', tok, '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, tok, 'not found');
    expectNoOutput(dir, out);
  });

  it('a tokenizer.json with a repeated character', async () => {
    const s = exampleCopy();
    const tok = JSON.parse(readFileSync(s.tokenizer, 'utf8'));
    tok.vocab[85] = 'a';
    writeFileSync(s.tokenizer, JSON.stringify(tok));
    const r = await genRtl([s.model, '--prompt', 'The ', '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.tokenizer, '"vocab"[85]', 'repeats');
    expectNoOutput(s.dir, s.out);
  });

  it.each([
    ['with --prompt', ['--prompt', 'The ']],
    ['without --prompt', []],
  ])('config.json that is not JSON (%s)', async (_how, args) => {
    const s = exampleCopy();
    writeFileSync(s.config, '{"model_type": "llama", ');
    const r = await genRtl([s.model, ...args, '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.config, 'not valid JSON');
    expectNoOutput(s.dir, s.out);
  });

  it('config.json with rope_scaling set', async () => {
    const s = exampleCopy();
    const cfg = JSON.parse(readFileSync(s.config, 'utf8'));
    cfg.rope_scaling = { type: 'linear', factor: 2.0 };
    writeFileSync(s.config, JSON.stringify(cfg, null, 2));
    const r = await genRtl([s.model, '--prompt', 'The ', '--out', s.out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, s.config, '"rope_scaling"', 'not supported');
    expectNoOutput(s.dir, s.out);
  });

  it('--prompt on a checkpoint that is not a Llama', async () => {
    const { dir, out } = fresh();
    const r = await genRtl(['examples/digits-mlp/model.safetensors', '--prompt', 'The ', '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, 'examples/digits-mlp/config.json', '"model_type"', '"llama"');
    expectNoOutput(dir, out);
  });

  it.each([
    ['--calib', 'no tensor tokens', [{ name: 'x', dtype: 'I64', shape: [4], data: i64([1, 2, 3, 4]) }], ["'tokens'", 'found x']],
    ['--calib', 'token id = vocab_size', [{ name: 'tokens', dtype: 'I64', shape: [5], data: i64([1, 2, 86, 3, 4]) }], ["tensor 'tokens'", 'token 86 at index 2', 'vocabulary of 86']],
    ['--calib', 'negative token id', [{ name: 'tokens', dtype: 'I64', shape: [5], data: i64([1, 2, 3, -1, 4]) }], ["tensor 'tokens'", 'token -1 at index 3']],
    ['--calib', 'float token ids', [{ name: 'tokens', dtype: 'F32', shape: [4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) }], ["tensor 'tokens'", 'F32', 'integer']],
    ['--calib', 'a 2-D token tensor', [{ name: 'tokens', dtype: 'I64', shape: [2, 2], data: i64([1, 2, 3, 4]) }], ["tensor 'tokens'", '[2,2]']],
    ['--eval', 'token id = vocab_size', [{ name: 'val_tokens', dtype: 'I64', shape: [5], data: i64([1, 2, 3, 4, 90]) }], ["tensor 'val_tokens'", 'token 90 at index 4']],
  ] as const)('%s file: %s', async (option, _what, tensors, mentions) => {
    const { dir, out } = fresh();
    const file = join(dir, 'tokens.safetensors');
    writeSafetensors(file, tensors);
    const r = await genRtl([MODEL, '--prompt', 'The ', option, file, '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, file, ...mentions);
    expectNoOutput(dir, out);
  });

  it('--calib that is not a safetensors file', async () => {
    const { dir, out } = fresh();
    const r = await genRtl([MODEL, '--prompt', 'The ', '--calib', join(EXAMPLE, 'config.json'), '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.badInput, join(EXAMPLE, 'config.json'), 'not a safetensors file', 'header length');
    expectNoOutput(dir, out);
  });
});

describe('gen-rtl Llama: a good run', () => {
  const { dir, out } = fresh();
  let firstRun: Promise<Run> | undefined;
  /** The run the later cases compare against, started by whichever case needs it first. */
  const first = (): Promise<Run> => (firstRun ??= genRtl([MODEL, '--prompt', 'The ', '--tokens', '4', '--out', out, ...FAST]));
  const out8 = join(dir, 'out8');
  let secondRun: Promise<Run> | undefined;
  /** The same on a different context, run beside the first (each takes ~15 s of one core). */
  const second = (): Promise<Run> => (secondRun ??= genRtl([MODEL, '--prompt', 'The ', '--tokens', '5', '--context', '8', '--out', out8, ...FAST]));

  it("--tokens 4 --no-verify: base/, masks, top/, reports; the golden continuation has 4 characters", async () => {
    void second();
    const r = await first();
    expect(r.code, r.stderr).toBe(EXIT.ok);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^hardwired model\.safetensors: [\d,]+ int4 weights on grid 'tiny-llama'/);
    const files = walk(out);
    for (const f of ['base/base.f', 'base/hw_grid.v', 'base/hw_engine.v', 'mask-weights/mask_weights.f', 'mask-weights/mask_weights.v', 'mask-routing/mask_routing.f', 'mask-routing/mask_routing.v', 'top/chip_top.f', 'top/chip_top.v', 'report.md', 'report.json', 'cycles.svg']) {
      expect(files, f).toContain(f);
    }
    // The top file list names every Verilog file of the four folders, and each exists.
    const list = readFileSync(join(out, 'top/chip_top.f'), 'utf8').split('\n').filter((l) => l && !l.startsWith('//'));
    expect(list.sort()).toEqual(files.filter((f) => f.endsWith('.v')).map((f) => `../${f}`).sort());
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(rep.prompts).toHaveLength(1);
    expect(rep.prompts[0].prompt).toBe('The ');
    expect([...rep.prompts[0].golden]).toHaveLength(4);
    const vocab = new Set(JSON.parse(readFileSync(TOKENIZER, 'utf8')).vocab);
    for (const c of rep.prompts[0].golden) expect(vocab.has(c), c).toBe(true);
    expect(rep.context).toBe(128);
    expect(rep.verified).toBe(false);
    expect(readFileSync(join(out, 'cycles.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain(`golden (integer): \`${rep.prompts[0].golden}\``);
    // No staging folder of this run left (the --context 8 run beside it may still be staging its own).
    expect(readdirSync(dir).filter((e) => e.startsWith('.out.'))).toEqual([]);
  });

  it('--context 8 --tokens 5 (exactly fills the context): base/ and mask-weights/ byte-identical, mask-routing/ differs', async () => {
    const o2 = out8;
    const r = await second();
    expect(r.code, r.stderr).toBe(EXIT.ok);
    expect((await first()).code).toBe(EXIT.ok);
    const rep = JSON.parse(readFileSync(join(o2, 'report.json'), 'utf8'));
    expect(rep.context).toBe(8);
    expect([...rep.prompts[0].golden]).toHaveLength(5);
    const base = folder(out, 'base');
    // The whole engine is in base/, and base/ depends on the grid alone.
    expect([...base.keys()]).toEqual(['base.f', 'hw_argmax.v', 'hw_attn.v', 'hw_cell.v', 'hw_engine.v', 'hw_grid.v', 'hw_lane.v', 'hw_norm.v', 'hw_rope.v', 'hw_seq.v', 'hw_silu.v']);
    expect(folder(o2, 'base')).toEqual(base);
    // The context is a configuration word (mask B); the weights, tables and the RoPE table of every
    // engine position (mask A) do not depend on it (calibration windows come from the calibration file).
    expect(folder(o2, 'mask-routing')).not.toEqual(folder(out, 'mask-routing'));
    expect(folder(o2, 'mask-weights')).toEqual(folder(out, 'mask-weights'));
  });

  it('readable Verilog (issue 11): model-derived names, no aliases, every mask word annotated, every module and instance located', async () => {
    expect((await first()).code).toBe(EXIT.ok);
    const files = new Map(walk(out).filter((f) => /^(base|mask-[a-z]+|top)\/.*\.v$/.test(f)).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    expect(files.size).toBe(13);
    const r = readability(files);
    expect(r.decls).toBeGreaterThan(1000);
    expect(r.tNamed / r.decls).toBeLessThan(0.05);
    expect(r.aliases).toEqual([]);
    expect(r.bareMaskWords).toEqual([]);
    expect(r.missingSrc).toEqual([]);
    expect([r.modules, r.instances]).toEqual([13, 90]);
    // What the comments say: weight words by layer, matrix, row and columns; microcode decoded.
    const mw = files.get('mask-weights/mask_weights.v')!;
    expect(mw).toMatch(/assign w_l0\[255:0\] = 256'h[0-9a-f]+;  \/\/ address 0: layer 0 q_proj row 0 cols 0-63\n/);
    expect(mw).toMatch(/assign lut_exp\[255:0\] = 256'h[0-9a-f]+;  \/\/ entries 0-15: exp2 table\n/);
    const mr = files.get('mask-routing/mask_routing.v')!;
    expect(mr).toMatch(/assign ucode\[\d+:\d+\] = \d+'h[0-9a-f]+;  \/\/ instruction 2: matmul lenm1=\d+ layer=0 dest=q src=u /);
    expect(mr).toMatch(/\/\/ pass 0: layer 0 q_proj row 0 requant M \d+ S \d+\n/);
    expect(files.get('base/hw_engine.v')).toMatch(/^\/\/ src: generators\/engine\/base\.ts:\d+$/m);
    // Locators are paths from the repository root: the text does not depend on where the checkout is.
    for (const t of files.values()) expect(t).not.toContain(ROOT);
  });

  it('into the existing --out without --force: refused (as for an MLP: exit 3), the folder untouched', async () => {
    expect((await first()).code).toBe(EXIT.ok);
    const before = snapshot(out);
    const r = await genRtl([MODEL, '--prompt', 'The ', '--tokens', '4', '--out', out, ...FAST]);
    expectOneLineError(r, EXIT.usage, out, '--force');
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(dir).filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it('a refused run with --force leaves the existing --out untouched', async () => {
    const { dir: d2, out: o3 } = fresh();
    mkdirSync(o3);
    writeFileSync(join(o3, 'keep.txt'), 'old output\n');
    const before = snapshot(o3);
    const r = await genRtl([MODEL, '--prompt', 'café', '--out', o3, '--force', ...FAST]);
    expectOneLineError(r, EXIT.badInput, 'é');
    expect(snapshot(o3)).toEqual(before);
    expect(readdirSync(d2)).toEqual(['out']);
  });
});
