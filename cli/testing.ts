// Helpers for the tests that run gen-rtl as a user does: spawn the CLI, make scratch folders, list files.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const CLI = join(ROOT, 'bin/gen-rtl.mjs');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node bin/gen-rtl.mjs ...args` from the repository root (or `cwd`); never rejects. */
export function genRtl(args: readonly string[], cwd = ROOT): Promise<Run> {
  return new Promise((done) => {
    execFile('node', [CLI, ...args], { cwd, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
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
