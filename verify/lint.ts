// Lint gate: `verilator --lint-only -Wall` must print nothing, and `.f` file lists are read here.

import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, resolve } from 'node:path';
import { EXIT, ToolError, UserError } from '../core/errors.ts';
import { besideEachOther, findTool, runTool } from './tools.ts';

/** RTL failed a lint or compile check; `warnings` holds every message line, in the tool's order. */
export class LintError extends UserError {
  constructor(
    readonly tool: string,
    readonly top: string,
    readonly warnings: readonly string[],
    /** The tool's complete output, including the source excerpts under each message. */
    readonly output: string,
  ) {
    const n = warnings.length;
    const more = n > 1 ? ` (+${n - 1} more)` : '';
    super(`${tool} lint of ${top}: ${n} warning${n === 1 ? '' : 's'}: ${warnings[0] ?? output.trim()}${more}`, EXIT.verifyFailed);
    this.name = 'LintError';
  }
}

/** Verilator's message lines ("%Warning-WIDTH: a.v:3:10: ..."), without its closing "Exiting due to" line. */
export function verilatorMessages(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => /^%(Warning|Error)/.test(l) && !/^%Error: Exiting due to/.test(l))
    .map((l) => l.trimEnd());
}

/** Lint `files` with `top` as the top module; throws LintError on any warning or any output at all. */
export async function lintVerilog(files: readonly string[], top: string): Promise<void> {
  const verilator = findTool('verilator');
  // From the files' own folder with relative names: the verilator wrapper splits paths at spaces.
  const { cwd, names } = besideEachOther(files);
  const args = ['--lint-only', '-Wall', '--top-module', top, ...names];
  const res = await runTool(verilator, args, { cwd, timeoutMs: 600_000 });
  const output = `${res.stdout}${res.stderr}`;
  if (res.code === 0 && output.trim() === '') return;
  const messages = verilatorMessages(output);
  // A crash of the tool is a tool failure (exit 5), never a lint warning of the design (exit 4): a
  // signal exit, or Verilator's own words for its crashes, whatever else it printed.
  const crashRe = /Verilator threw signal|Internal Error|Segmentation fault|Aborted|std::bad_alloc|out of memory/i;
  const crash = output.split('\n').find((l) => crashRe.test(l));
  if ((res.code > 128 && messages.length === 0) || crash) {
    const how = res.code > 128 ? `signal ${res.code - 128} (exit ${res.code})` : `exit ${res.code}`;
    throw new ToolError(`verilator --lint-only crashed: ${how}, "${(crash ?? output.trim().split('\n')[0] ?? '').trim().slice(0, 120)}"; to reproduce: cd ${JSON.stringify(cwd)} && ${verilator} ${args.join(' ')}`);
  }
  throw new LintError('verilator', top, messages.length > 0 ? messages : [output.trim()], output);
}

/**
 * Lint every file's module as a top, with all the other files as its library (as a `.f` list would
 * give them). The module name is the file's basename (DECLFILENAME). Throws one LintError with the
 * distinct warnings of all modules.
 */
export async function lintEach(files: readonly string[]): Promise<void> {
  const tops = files.map((f) => basename(f, extname(f)));
  const failures: LintError[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tops.length) {
      const top = tops[next++];
      try {
        await lintVerilog(files, top);
      } catch (e) {
        if (e instanceof LintError) failures.push(e);
        else throw e;
      }
    }
  };
  const jobs = Math.max(1, Math.min(availableParallelism(), tops.length));
  await Promise.all(Array.from({ length: jobs }, worker));
  if (failures.length === 0) return;
  // A submodule's warning shows up once per top that instantiates it: keep each line once.
  const warnings = [...new Set(failures.flatMap((f) => f.warnings))];
  const failedTops = failures.map((f) => f.top).sort();
  throw new LintError('verilator', failedTops.join(', '), warnings, failures.map((f) => f.output).join('\n'));
}

/**
 * Read a `.f` file list: one path per line, relative to the list's folder; `//` starts a comment.
 * Options (`-f`, `+incdir+`, ...) are not supported: our lists hold file names only.
 */
export async function readFileList(fPath: string): Promise<string[]> {
  const text = await readFile(fPath, 'utf8');
  const dir = dirname(resolve(fPath));
  const files: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const cut = raw.indexOf('//');
    const line = (cut >= 0 ? raw.slice(0, cut) : raw).trim();
    if (line === '') return;
    if (line.startsWith('-') || line.startsWith('+')) {
      throw new UserError(`${fPath}:${i + 1}: options are not supported in file lists: ${line}`);
    }
    files.push(resolve(dir, line));
  });
  return files;
}
