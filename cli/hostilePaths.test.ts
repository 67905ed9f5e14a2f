// Hostile folder names, generated: an output folder and a model folder whose names hold spaces,
// Unicode, quotes, `$`, `#`, backslashes, a leading dash, glob and shell characters. Every run either
// succeeds, or is refused in one line (exit 2 or 3); never a tool error, never a file outside --out
// (the model's folder is left as it was, the lock and staging beside --out are gone).
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { EXIT } from '../core/errors.ts';
import { expectOneLineError, genRtl, ROOT, scratch, tinyMlpFiles, walk, type Run } from './testing.ts';

const { fresh, cleanup } = scratch('hw-hostile-');
afterAll(cleanup);

/** Lint and the Icarus compile run (they see the paths); no co-simulation, no Yosys. */
const FAST = ['--no-synth', '--no-verify', '-q'];

/** A 4 -> 3 -> 2 MLP with its calibration data in `dir`. */
const tinyMlp = (dir: string): string => tinyMlpFiles(dir).model;

/** The tiny Llama's files copied into `dir` (without its held-out text: quantizing stays short). */
function tinyLlama(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'calib.safetensors']) copyFileSync(join(ROOT, 'examples/tiny-llama', f), join(dir, f));
  return join(dir, 'model.safetensors');
}

/** Characters that break naive quoting somewhere: shells, Make, Perl, Verilog strings, file lists. */
const HOSTILE = [' ', '  ', 'ü', 'ñ', '日本', '🙂', '"', "'", '`', '$', '$HOME', '#', '\\', '-', '--', '*', '?', '[', ']', '{', '}', '(', ')', '&', ';', '|', '<', '>', '!', '~', '%', '@', '+', '=', ',', '.', '\t', 'a', 'Z', '0', '.f', '.v', '\n'];

/** One folder name: 1 to 6 hostile pieces (never '.' or '..', never a '/'), sometimes with a leading dash. */
const segment = fc
  .tuple(fc.boolean(), fc.array(fc.constantFrom(...HOSTILE), { minLength: 1, maxLength: 6 }))
  .map(([dash, parts]) => `${dash ? '-' : ''}${parts.join('')}`)
  .filter((s) => !/^\.+$/.test(s) && Buffer.byteLength(s) <= 200);

/** Everything under `dir` must be under one of `allowed` (or a parent of one): no stray file. */
function strays(dir: string, allowed: readonly string[]): string[] {
  const rel = allowed.map((a) => a.slice(dir.length + 1).split(sep).join('/'));
  return walk(dir).filter((p) => !rel.some((a) => p === a || p.startsWith(`${a}/`) || a.startsWith(`${p}/`)));
}

/** What the run did: success (an output with the report and Verilog) or one clear refusal; nothing else. */
function expectCleanOutcome(r: Run, out: string): 'ok' | 'refused' {
  if (r.code === EXIT.ok) {
    expect(existsSync(join(out, 'report.json')), r.stderr).toBe(true);
    expect(statSync(join(out, 'report.json')).isFile()).toBe(true);
    return 'ok';
  }
  expect([EXIT.badInput, EXIT.usage], `exit ${r.code}: ${r.stderr}`).toContain(r.code);
  expectOneLineError(r, r.code);
  expect(existsSync(out)).toBe(false);
  return 'refused';
}

describe('generated hostile folder names for --out and for the model', () => {
  const flows = [
    // Line breaks and tabs, a `$(...)`, quotes and a leading dash always, then generated names.
    { name: 'spatial MLP', model: tinyMlp, args: [] as string[], runs: 5, examples: [["a\nb\tc", "-x 'q' $(true)", '#"\\;']] as [string, string, string][] },
    { name: 'grid MLP', model: tinyMlp, args: ['--grid', join(ROOT, 'examples/grids/digits-d1.ts')], runs: 2, examples: [] as [string, string, string][] },
    { name: 'Llama', model: tinyLlama, args: ['--prompt', 'The ', '--tokens', '1'], runs: 1, examples: [] as [string, string, string][] },
  ];
  it.each(flows)('$name: succeeds or is refused in one line (exit 2/3); no tool error; nothing outside --out', async (flow) => {
    const outcomes: string[] = [];
    await fc.assert(
      fc.asyncProperty(segment, segment, segment, async (modelSeg, outSeg, leaf) => {
        const { dir } = fresh();
        const modelDir = join(dir, 'models', modelSeg);
        const model = flow.model(modelDir);
        const before = walk(modelDir).map((p) => `${p} ${statSync(join(modelDir, p)).isFile() ? readFileSync(join(modelDir, p)).length : 'dir'}`);
        const out = join(dir, 'outs', outSeg, leaf);
        const r = await genRtl([model, '--out', out, ...flow.args, ...FAST], dir);
        outcomes.push(`${JSON.stringify(modelSeg)} -> ${JSON.stringify(`${outSeg}/${leaf}`)}: ${expectCleanOutcome(r, out)}${r.code ? ` (${r.stderr.trim()})` : ''}`);
        // The model's folder is as it was; nothing else appeared but --out and its parents.
        expect(walk(modelDir).map((p) => `${p} ${statSync(join(modelDir, p)).isFile() ? readFileSync(join(modelDir, p)).length : 'dir'}`)).toEqual(before);
        expect(strays(dir, [modelDir, out])).toEqual([]);
      }),
      { numRuns: flow.runs, seed: 16, endOnFailure: true, examples: flow.examples },
    );
    // A handful of names must succeed: the property is not satisfied by refusing everything.
    expect(outcomes.filter((o) => o.endsWith(': ok')).length, outcomes.join('\n')).toBeGreaterThan(0);
  }, 600_000);
});
