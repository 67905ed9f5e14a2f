// Helpers for the tests that run gen-rtl as a user does: spawn the CLI, make scratch folders, list files.
import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { expect } from 'vitest';
import { EXIT } from '../core/errors.ts';
import { writeSafetensors, type TensorToWrite } from '../generators/load/safetensors.ts';

export const ROOT = resolve(import.meta.dirname, '..');
export const CLI = join(ROOT, 'bin/gen-rtl.mjs');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node bin/gen-rtl.mjs ...args` from the repository root (or `cwd`, with `env` added); never rejects. */
export function genRtl(args: readonly string[], cwd = ROOT, env?: Record<string, string>): Promise<Run> {
  return new Promise((done) => {
    const opts = { cwd, maxBuffer: 1 << 24, env: env ? { ...process.env, ...env } : process.env };
    execFile('node', [CLI, ...args], opts, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** Scratch folders named `prefix…` under the temp dir; `cleanup` (for afterAll) removes them all. */
export function scratch(prefix: string): { fresh(): { dir: string; out: string }; cleanup(): void } {
  const made: string[] = [];
  return {
    /** A fresh folder; the output goes to <folder>/out, which does not exist yet. */
    fresh(): { dir: string; out: string } {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      made.push(dir);
      return { dir, out: join(dir, 'out') };
    },
    cleanup(): void {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** Every file below `dir`, as sorted relative paths. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

/**
 * A failed run: the documented code, one `gen-rtl: error:` line (plus the usage hint for exit 3), no
 * stack trace, nothing on stdout. Returns the line.
 */
export function expectOneLineError(r: Run, code: number, ...mentions: string[]): string {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n');
  expect(lines.pop()).toBe(''); // ends with a newline
  if (code === EXIT.usage) expect(lines.pop()).toBe("Run 'gen-rtl --help' for usage.");
  expect(lines, r.stderr).toHaveLength(1);
  const line = lines[0];
  expect(line).toMatch(/^gen-rtl: error: \S/);
  expect(line).not.toMatch(/\s+at .+:\d+:\d+|internal error|Error:/);
  for (const m of mentions) expect(line).toContain(m);
  expect(r.stdout).toBe('');
  return line;
}

/** Every path under `dir`, '/'-separated, folders included; fails on anything but files and folders. */
export function walk(dir: string): string[] {
  const out: string[] = [];
  const go = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const st = lstatSync(p);
      expect(st.isFile() || st.isDirectory(), `${p} is neither a file nor a folder`).toBe(true);
      out.push(relative(dir, p).split(sep).join('/'));
      if (st.isDirectory()) go(p);
    }
  };
  go(dir);
  return out;
}

const f32 = (a: readonly number[]): Uint8Array => new Uint8Array(new Float32Array(a).buffer);
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233));

/** A 4 -> 3 -> 2 MLP (model.safetensors) and its calibration data (calib.safetensors) in `dir`. */
export function tinyMlpFiles(dir: string): { model: string; calib: string } {
  mkdirSync(dir, { recursive: true });
  const tensors: TensorToWrite[] = [
    { name: 'fc1.weight', dtype: 'F32', shape: [3, 4], data: f32(values(12, 1)) },
    { name: 'fc1.bias', dtype: 'F32', shape: [3], data: f32(values(3, 2)) },
    { name: 'fc2.weight', dtype: 'F32', shape: [2, 3], data: f32(values(6, 3)) },
    { name: 'fc2.bias', dtype: 'F32', shape: [2], data: f32(values(2, 4)) },
  ];
  const model = join(dir, 'model.safetensors');
  writeSafetensors(model, tensors);
  const calib = join(dir, 'calib.safetensors');
  writeSafetensors(calib, [{ name: 'x', dtype: 'F32', shape: [8, 4], data: f32(values(32, 5)) }]);
  return { model, calib };
}
