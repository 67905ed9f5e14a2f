// External tool plumbing for verify/: find a tool on PATH, read its version, run it as a subprocess.
//
// Nothing outlives gen-rtl: every tool runs in its own process group (detached), and a timeout, a
// SIGINT/SIGTERM of gen-rtl or its exit kills the whole group (Verilator's Perl wrapper and
// verilator_bin, make and each g++). Temporary folders are `hardwire-KIND-PID-*` in the system temp
// folder, removed on every exit path; those of runs killed outright (their PID dead) are removed by the
// next run. Every tool runs under an address-space limit (RLIMIT_AS, inherited by all it starts):
// three quarters of this machine's memory unless HARDWIRE_TOOL_MEMORY says otherwise; a tool that runs out
// of it is a ToolError (exit 5) naming the tool and the limit.

import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, totalmem } from 'node:os';
import { basename, delimiter, dirname, join, relative, resolve, sep } from 'node:path';
import { killGroup, pidAlive, registerCleanup, unregisterCleanup, type Cleanup } from '../core/cleanup.ts';
import { EXIT, ToolError, UserError } from '../core/errors.ts';

/** The Debian package that provides each tool, named in the "missing tool" message. */
const APT_PACKAGE: Record<string, string> = {
  verilator: 'verilator',
  iverilog: 'iverilog',
  vvp: 'iverilog',
  yosys: 'yosys',
  ccache: 'ccache',
};

/** How each tool prints its version (first line of the output is kept). */
const VERSION_ARGS: Record<string, string[]> = {
  verilator: ['--version'],
  iverilog: ['-V'],
  vvp: ['-V'],
  yosys: ['-V'],
  ccache: ['--version'],
};

const foundTools = new Map<string, string | null>();
const toolVersions = new Map<string, Promise<string>>();

/** The absolute path of `name` on PATH, or null. Cached per process. */
export function whichTool(name: string): string | null {
  const hit = foundTools.get(name);
  if (hit !== undefined) return hit;
  let found: string | null = null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      found = candidate;
      break;
    } catch {
      // not in this folder
    }
  }
  foundTools.set(name, found);
  return found;
}

/** The absolute path of `name`; a ToolError naming the apt package when it is missing. */
export function findTool(name: string): string {
  const path = whichTool(name);
  if (path === null) {
    const pkg = APT_PACKAGE[name] ?? name;
    throw new ToolError(`${name} not found on PATH: install it with \`apt-get install -y ${pkg}\``);
  }
  return path;
}

/** The first line of the tool's version output, e.g. "Verilator 5.006 2023-01-22 rev (Debian 5.006-3)". */
export function toolVersion(name: string): Promise<string> {
  let version = toolVersions.get(name);
  if (version === undefined) {
    version = (async () => {
      const res = await runTool(findTool(name), VERSION_ARGS[name] ?? ['--version'], { timeoutMs: 30_000 });
      // iverilog -V exits non-zero (no input files) but still prints its version first.
      const line = `${res.stdout}\n${res.stderr}`.split('\n').find((l) => l.trim() !== '');
      if (line === undefined) throw new ToolError(`${name}: could not read its version`);
      return line.trim();
    })();
    toolVersions.set(name, version);
    version.catch(() => toolVersions.delete(name));
  }
  return version;
}

export interface RunOptions {
  cwd?: string;
  /** Variables added to (not replacing) process.env. */
  env?: Record<string, string | undefined>;
  /** Written to the tool's stdin (closed afterwards); stdin is empty when absent. */
  input?: string | Buffer;
  /** Kill the tool (SIGKILL) and throw a ToolError after this long. */
  timeoutMs?: number;
  /** stdout is binary records (a simulator): only stderr is searched for out-of-memory messages. */
  binaryStdout?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status; a tool killed by a signal reports 128 + signal number. */
  code: number;
}

export interface RawRunResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

/** Run `cmd args` to completion and return its text output and exit code (a non-zero code is not an error here). */
export async function runTool(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await runToolRaw(cmd, args, opts);
  return { stdout: res.stdout.toString('utf8'), stderr: res.stderr, code: res.code };
}

/**
 * The watchdog: one small process per gen-rtl that holds the list of live tool groups ("+PGID" and
 * "-PGID" lines on its stdin) and kills them all when its stdin closes, which happens when gen-rtl dies
 * in any way, SIGKILL included (signal handlers cover only SIGINT/SIGTERM and exit).
 */
const WATCHDOG = `const g = new Set(); let b = '';
process.stdin.on('data', (d) => { b += d; let i; while ((i = b.indexOf('\\n')) >= 0) { const l = b.slice(0, i); b = b.slice(i + 1); const n = Number(l.slice(1)); if (l[0] === '+') g.add(n); else g.delete(n); } });
process.stdin.on('end', () => { for (const n of g) { try { process.kill(-n, 'SIGKILL'); } catch {} } process.exit(0); });`;
let watchdog: import('node:child_process').ChildProcess | undefined;

function watch(pgid: number): void {
  if (watchdog === undefined) {
    watchdog = spawn(process.execPath, ['-e', WATCHDOG], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    watchdog.on('error', () => {}); // without it, tools still die on signals and timeouts
    watchdog.stdin?.on('error', () => {});
    watchdog.unref(); // neither the process nor its pipe keeps gen-rtl alive
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }
  watchdog.stdin?.write(`+${pgid}\n`);
}

function unwatch(pgid: number): void {
  watchdog?.stdin?.write(`-${pgid}\n`);
}

/** The environment variable that sets the memory limit of every tool: `8G`, `512M`, bytes, or `off`. */
export const TOOL_MEMORY_ENV = 'HARDWIRE_TOOL_MEMORY';

/** `1.5 GiB`, `64 MiB`: a limit as the messages print it. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : Number(v.toFixed(1))} ${units[u]}`;
}

/**
 * The address-space limit of each tool process in bytes, or null for none: $HARDWIRE_TOOL_MEMORY
 * (`8G`, `512M`, `64k`, plain bytes; `off` for none), by default three quarters of this machine's memory (a
 * runaway verilator_bin must not take the whole machine, as one did: 20.5 GB of 23 GB).
 */
export function toolMemoryLimit(env: NodeJS.ProcessEnv = process.env): number | null {
  const raw = env[TOOL_MEMORY_ENV]?.trim();
  if (raw === undefined || raw === '') return Math.floor((totalmem() * 3) / 4);
  if (/^(off|none|unlimited)$/i.test(raw)) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(raw);
  const scale = m ? 1024 ** ' kmgt'.indexOf(m[2].toLowerCase() || ' ') : 0;
  const bytes = m ? Math.floor(Number(m[1]) * scale) : 0;
  if (!m || bytes < 1 << 20) {
    throw new UserError(`${TOOL_MEMORY_ENV}=${JSON.stringify(raw)}: not a memory size of at least 1M (examples: 8G, 512M, off)`, EXIT.usage);
  }
  return bytes;
}

/** What tools print when an allocation fails under RLIMIT_AS (C++, glibc, gcc, the dynamic loader, Python, Perl). */
const OUT_OF_MEMORY = /bad_alloc|out of memory|cannot allocate memory|memory exhausted|failed to map segment|MemoryError|Out of memory!/i;

/** `/bin/sh` sets the limit (in KiB) and execs the tool: the tool and everything it starts inherit it. */
function limited(cmd: string, args: readonly string[], limit: number | null): { cmd: string; args: string[] } {
  if (limit === null) return { cmd, args: [...args] };
  return { cmd: '/bin/sh', args: ['-c', 'ulimit -v "$1" 2>/dev/null; shift; exec "$@"', 'sh', String(Math.max(1, Math.floor(limit / 1024))), cmd, ...args] };
}

/** Size of each stdin write; large enough to amortize syscalls, small enough to interleave with stdout. */
const WRITE_CHUNK = 1 << 20;

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/**
 * Run `cmd args`, streaming `input` into stdin in chunks (waiting for 'drain', so tens of MB never
 * pile up in the pipe) while stdout is collected concurrently as bytes — no deadlock either way.
 */
export function runToolRaw(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RawRunResult> {
  return new Promise<RawRunResult>((resolve, reject) => {
    // detached: the tool leads a new process group (setsid), so killing -pid reaches everything it
    // starts; the registry kills the group if gen-rtl is interrupted or exits first.
    const group: Cleanup = { paths: [], groups: [] };
    registerCleanup(group);
    const limit = toolMemoryLimit();
    const run = limited(cmd, args, limit);
    const child = spawn(run.cmd, run.args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid !== undefined) {
      group.groups.push(child.pid);
      watch(child.pid);
    }
    const endGroup = (): void => {
      // Whatever the leader left behind in its group (a g++ of a make that exited) goes with it.
      if (child.pid !== undefined) {
        killGroup(child.pid, 'SIGKILL');
        unwatch(child.pid);
      }
      group.groups = [];
      unregisterCleanup(group);
    };
    const outChunks: Buffer[] = [];
    const errChunks: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
          }, opts.timeoutMs)
        : undefined;

    child.stdout.on('data', (c: Buffer) => outChunks.push(c));
    child.stderr.on('data', (c: Buffer) => errChunks.push(c));
    // A tool that exits before reading all its input closes the pipe: EPIPE is reported through its exit status.
    child.stdin.on('error', () => {});

    child.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      endGroup();
      reject(new ToolError(`${cmd}: could not start (${err.code ?? err.message})`));
    });
    child.on('close', (code, signal) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      endGroup();
      if (timedOut) {
        reject(new ToolError(`${cmd}: timed out after ${((opts.timeoutMs ?? 0) / 1000).toFixed(1)} s`));
        return;
      }
      const status = code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0);
      const stderr = Buffer.concat(errChunks).toString('utf8');
      if (limit !== null && status === 127 && /^sh: .*exec: .*(not found|Permission denied)/m.test(stderr)) {
        reject(new ToolError(`${cmd}: could not start (${stderr.trim().split('\n').pop()})`));
        return;
      }
      // Out of memory under our limit: said as such, whatever the tool made of it (an abort, a
      // message, an exit code), and never passed on as a lint warning or a mismatch.
      if (limit !== null && status !== 0 && OUT_OF_MEMORY.test(opts.binaryStdout ? stderr : `${stderr}\n${Buffer.concat(outChunks).toString('utf8')}`)) {
        const line = (stderr.split('\n').find((l) => OUT_OF_MEMORY.test(l)) ?? '').trim().slice(0, 120);
        reject(new ToolError(`${basename(cmd)} ran out of memory under the tool memory limit of ${formatBytes(limit)} (${line}); raise it with ${TOOL_MEMORY_ENV} (e.g. 16G, or off; the default is three quarters of this machine's memory)`));
        return;
      }
      resolve({ stdout: Buffer.concat(outChunks), stderr, code: status });
    });

    void writeInput(child.stdin, opts.input);
  });
}

async function writeInput(stdin: NodeJS.WritableStream & { destroyed?: boolean }, input: string | Buffer | undefined): Promise<void> {
  if (input === undefined || input.length === 0) {
    stdin.end();
    return;
  }
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  for (let off = 0; off < buf.length; off += WRITE_CHUNK) {
    if (stdin.destroyed) return;
    const ok = stdin.write(buf.subarray(off, Math.min(buf.length, off + WRITE_CHUNK)));
    if (!ok) {
      await new Promise<void>((res) => {
        const done = () => {
          stdin.removeListener('drain', done);
          stdin.removeListener('close', done);
          stdin.removeListener('error', done);
          res();
        };
        stdin.once('drain', done);
        stdin.once('close', done);
        stdin.once('error', done);
      });
    }
  }
  if (!stdin.destroyed) stdin.end();
}

/** Prefix of our temporary folders in the system temp folder: `hardwire-KIND-PID-XXXXXX`. */
const TEMP_NAME = /^hardwire-[a-z]+-(\d+)-[A-Za-z0-9]{6}$/;
let sweptTemp = false;

/** Removes the temporary folders in `dir` (default: the system temp folder) of runs that are gone (killed with SIGKILL, or a crash). */
export function sweepStaleTemp(dir = tmpdir()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true, maxRetries: 3 });
      removed.push(name);
    } catch {
      // not ours to remove (another user's), or being removed meanwhile
    }
  }
  return removed;
}

/**
 * A fresh temporary folder `hardwire-KIND-PID-XXXXXX` in the system temp folder, removed by remove(),
 * on SIGINT/SIGTERM and on exit. Use as `const tmp = await makeTempDir('x'); try {...} finally { await tmp.remove(); }`.
 */
export async function makeTempDir(kind: string): Promise<{ dir: string; remove(): Promise<void> }> {
  if (!sweptTemp) {
    sweptTemp = true;
    sweepStaleTemp();
  }
  const cleanup: Cleanup = { paths: [], groups: [] };
  registerCleanup(cleanup); // before mkdtemp: a signal during it still finds the record
  let dir: string;
  try {
    dir = await mkdtemp(join(tmpdir(), `hardwire-${kind}-${process.pid}-`));
  } catch (e) {
    unregisterCleanup(cleanup);
    throw e;
  }
  cleanup.paths.push(dir);
  return {
    dir,
    async remove(): Promise<void> {
      try {
        for (const p of cleanup.paths) await rm(p, { recursive: true, force: true, maxRetries: 3 });
      } finally {
        cleanup.paths = [];
        unregisterCleanup(cleanup);
      }
    },
  };
}

/**
 * The deepest folder holding all `files`, and each file's name relative to it ('./' before a name that
 * starts with '-'). Run a tool there with these names and no path we pass holds the characters above
 * that folder (spaces, Unicode, quotes): Verilator's Perl wrapper splits its arguments at spaces.
 */
export function besideEachOther(files: readonly string[]): { cwd: string; names: string[] } {
  const abs = files.map((f) => resolve(f));
  let cwd = abs.length > 0 ? dirname(abs[0]) : process.cwd();
  while (!abs.every((f) => f.startsWith(cwd.endsWith(sep) ? cwd : cwd + sep))) {
    const up = dirname(cwd);
    if (up === cwd) break;
    cwd = up;
  }
  const names = abs.map((f) => {
    const rel = relative(cwd, f);
    return rel.startsWith('-') ? `.${sep}${rel}` : rel;
  });
  return { cwd, names };
}

/** The last `n` non-empty lines of a tool's output, for one-line error messages. */
export function tailLines(text: string, n: number): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('\n');
}
