// Writes a generated output folder safely: checked relative paths, a staging folder beside the
// destination, and a rename into place only once complete, so a reader sees the old or the new output.
//
// Exit codes (core/errors.ts): an existing non-empty --out without --force, an --out that is a file or
// a symbolic link, or an unwritable --out is EXIT.usage (the command line must change); an unsafe or
// colliding file path is EXIT.badInput (it comes from the model: tensor and layer names).
//
// Never lose a user's files: every output carries a marker file (MARKER, the run's identity), and
// --force replaces only a folder that has one. A folder holding an input, a parent of one, the current
// folder and the home folder are refused whatever the options. A lock file beside --out
// (`.NAME.lock`, the owner's pid) keeps a second run off the same --out; a lock, staging or old folder
// of a run that is gone (its pid dead) is taken over or removed by the next run.
//
// Atomic against exceptions, process.exit, SIGINT and SIGTERM; not against power loss (no fsync).

import { randomBytes } from 'node:crypto';
import {
  linkSync,
  lstatSync,
  opendirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import * as fsp from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { pidAlive, registerCleanup, unregisterCleanup, type Cleanup } from '../core/cleanup.ts';
import { EXIT, UserError } from '../core/errors.ts';

/** The file in every output folder that says hardwire wrote it: --force replaces only such a folder. */
export const MARKER = '.hardwire-output.json';

/** One file of the output, at a relative, '/'-separated path. */
export interface OutputFile {
  path: string;
  data: string | Buffer;
}

export interface OutputOptions {
  /** Replace an existing non-empty output folder that an earlier hardwire run wrote (it has MARKER). */
  force?: boolean;
  /**
   * The run's input files (model, config, calibration, tokenizer, grid ...; undefined entries are
   * skipped): the output folder may not be the folder of one of them or a parent of it.
   */
  inputs?: readonly (string | undefined)[];
  onProgress?: (msg: string) => void;
}

/** A path segment: starts with a letter, digit or '_' (so never '.', '..' or a hidden name). */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const MAX_PATH_CHARS = 1023;
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
const RM_OPTS = { recursive: true, force: true, maxRetries: 3 } as const;

/** `s` quoted with JSON.stringify, non-ASCII escaped too and long strings cut: safe on one terminal line. */
function quote(s: string): string {
  const cut = s.length > 200 ? s.slice(0, 200) : s;
  const quoted = JSON.stringify(cut).replace(
    /[^\x20-\x7e]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
  return cut.length < s.length ? `${quoted}... (${s.length} characters)` : quoted;
}

/**
 * Returns `p` unchanged if it is a safe relative output path, else throws a UserError naming it.
 * Safe: '/'-separated segments each matching SEGMENT, under 1024 characters. This rules out
 * absolute paths, '.', '..', empty segments, backslashes, control characters and non-ASCII, so a
 * hostile tensor name can never write outside the output folder.
 */
export function safeRelPath(p: string): string {
  if (typeof p !== 'string') {
    throw new UserError(`unsafe output path ${quote(String(p))}: not a string`, EXIT.badInput);
  }
  const bad = (why: string) => new UserError(`unsafe output path ${quote(p)}: ${why}`, EXIT.badInput);
  if (p.length === 0) throw bad('empty');
  if (p.length > MAX_PATH_CHARS) throw bad(`longer than ${MAX_PATH_CHARS} characters`);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(p)) throw bad('contains a control character');
  if (p.includes('\\')) throw bad('contains a backslash');
  if (p.startsWith('/')) throw bad('absolute path');
  for (const seg of p.split('/')) {
    if (seg === '') throw bad('empty path segment');
    if (seg === '.' || seg === '..') throw bad(`contains a '${seg}' segment`);
    if (!SEGMENT.test(seg)) {
      throw bad(`segment ${quote(seg)} must be 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'`);
    }
  }
  return p;
}

/**
 * The paths written so far, keyed by lower case: catches a path that is both a file and a folder,
 * and paths that differ only in case (they would collide on macOS and Windows file systems).
 */
class PathSet {
  private readonly seen = new Map<string, { path: string; isDir: boolean }>();

  add(rel: string, allowRewrite: boolean): void {
    const segs = rel.split('/');
    for (let i = 1; i <= segs.length; i++) {
      const sub = segs.slice(0, i).join('/');
      const isDir = i < segs.length;
      const key = sub.toLowerCase();
      const prev = this.seen.get(key);
      if (prev === undefined) {
        this.seen.set(key, { path: sub, isDir });
        continue;
      }
      if (prev.path !== sub) {
        const msg = `output paths ${quote(prev.path)} and ${quote(sub)} differ only in letter case`;
        throw new UserError(msg, EXIT.badInput);
      }
      if (prev.isDir !== isDir) {
        throw new UserError(`output path ${quote(sub)} is both a file and a folder`, EXIT.badInput);
      }
      if (!isDir && !allowRewrite) throw new UserError(`output path ${quote(sub)} is written twice`, EXIT.badInput);
    }
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function notEmptyError(outDir: string): UserError {
  const msg = `output folder ${quote(outDir)} exists and is not empty; pass --force to replace it`;
  return new UserError(msg, EXIT.usage);
}

/** What is at the destination now; throws a UserError if it is something we must not replace. */
function destinationState(dest: string): 'absent' | 'empty' | 'full' {
  let st;
  try {
    st = lstatSync(dest);
  } catch (e) {
    if (errno(e) === 'ENOENT') return 'absent';
    throw e;
  }
  if (!st.isDirectory()) {
    const what = st.isSymbolicLink() ? 'a symbolic link' : 'not a folder';
    const msg = `output path ${quote(dest)} exists and is ${what}; remove it or choose another folder`;
    throw new UserError(msg, EXIT.usage);
  }
  // Read one entry only: the old output may be large.
  const dir = opendirSync(dest);
  try {
    return dir.readSync() === null ? 'empty' : 'full';
  } finally {
    dir.closeSync();
  }
}

/** A fresh sibling name of `dest`: `.<basename>.<tag>-<pid>-<random>`. */
function siblingName(dest: string, tag: 'tmp' | 'old'): string {
  const name = `.${path.basename(dest)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;
  return path.join(path.dirname(dest), name);
}

/** `p` with symbolic links resolved as far as it exists (a missing tail is appended as given). */
function realish(p: string): string {
  const abs = path.resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realish(parent), path.basename(abs));
  }
}

/** True when `a` is `b` or a folder above it (both absolute). */
function sameOrAbove(a: string, b: string): boolean {
  return a === b || b.startsWith(a.endsWith(path.sep) ? a : a + path.sep);
}

/**
 * Why `dest` may never be replaced, or undefined: it holds an input (or is above one), is (or is
 * above) the current folder, or is (or is above) the home folder.
 */
export function protectedReason(dest: string, inputs: readonly (string | undefined)[] = []): string | undefined {
  const d = realish(dest);
  for (const input of inputs) {
    if (input === undefined) continue;
    const dir = path.dirname(realish(input));
    if (sameOrAbove(d, dir)) return `it ${d === dir ? 'holds' : 'contains'} the input ${quote(input)}`;
  }
  const cwd = realish(process.cwd());
  if (sameOrAbove(d, cwd)) return d === cwd ? 'it is the current folder' : 'it contains the current folder';
  const home = homedir();
  if (home && sameOrAbove(d, realish(home))) return d === realish(home) ? 'it is the home folder' : 'it contains the home folder';
  return undefined;
}

/** Refuses a non-empty `dest` that has no MARKER: --force must never delete a folder hardwire did not write. */
function checkOurs(dest: string): void {
  try {
    if (lstatSync(path.join(dest, MARKER)).isFile()) return;
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw e;
  }
  const msg = `output folder ${quote(dest)} was not written by hardwire (no ${MARKER} in it); --force replaces only an earlier hardwire output: remove it yourself or choose another --out`;
  throw new UserError(msg, EXIT.usage);
}

let version: string | undefined;
function toolVersion(): string {
  if (version === undefined) {
    try {
      version = String(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/** The marker's content: which tool wrote the folder, when, and from which command. */
function markerText(): string {
  const m = {
    tool: 'hardwire gen-rtl',
    version: toolVersion(),
    pid: process.pid,
    started: new Date().toISOString(),
    cwd: process.cwd(),
    argv: process.argv.slice(2),
  };
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** The lock file beside `dest`: `.<basename>.lock`, holding the owner's pid. */
function lockPath(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}.lock`);
}

/**
 * Takes the lock on `dest` or throws a UserError (exit 3) naming the run that holds it. The lock's
 * content is complete when it appears (written aside, then hard-linked into place: link(2) fails if
 * the name exists). A lock whose pid is dead is moved aside (one taker wins) and taken over.
 */
function takeLock(dest: string): string {
  const lock = lockPath(dest);
  const mine = `${lock}-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(mine, `${process.pid}\n`, { mode: 0o644, flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(mine, lock);
        return lock;
      } catch (e) {
        if (errno(e) !== 'EEXIST') throw e;
      }
      let text: string;
      try {
        text = readFileSync(lock, 'utf8');
      } catch (e) {
        if (errno(e) === 'ENOENT') continue; // released meanwhile
        throw e;
      }
      const pid = Number(text.trim());
      if (pidAlive(pid)) {
        const msg = `output folder ${quote(dest)} is in use by another gen-rtl run (pid ${pid}; lock file ${quote(lock)}): wait for it to finish or choose another --out`;
        throw new UserError(msg, EXIT.usage);
      }
      const aside = `${lock}-stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        renameSync(lock, aside);
      } catch (e) {
        if (errno(e) === 'ENOENT') continue; // another run took it over first
        throw e;
      }
      // If another run replaced the stale lock between our read and our rename, put its lock back.
      if (readFileSync(aside, 'utf8') !== text) {
        try {
          linkSync(aside, lock);
        } catch {
          // a third run holds it now
        }
      }
      rmSync(aside, { force: true });
    }
    throw new UserError(`could not take the lock ${quote(lock)} on output folder ${quote(dest)}; try again`, EXIT.usage);
  } finally {
    rmSync(mine, { force: true });
  }
}

/**
 * Removes what killed runs left beside `dest` (their pid in the name is dead): staging folders
 * (`.NAME.tmp-PID-*`), lock leftovers, and old outputs (`.NAME.old-PID-*`) — an old output is put
 * back instead if the run died between its two renames and `dest` is missing. Returns the names removed.
 */
function sweepStale(dest: string): string[] {
  const parent = path.dirname(dest);
  const prefix = `.${path.basename(dest)}.`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of names.sort()) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(tmp|old|lock-stale|lock)-(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length));
    if (!m || Number(m[2]) === process.pid || pidAlive(Number(m[2]))) continue;
    const p = path.join(parent, name);
    try {
      if (m[1] === 'old' && destinationState(dest) === 'absent') {
        renameSync(p, dest);
        continue;
      }
      rmSync(p, RM_OPTS);
      removed.push(name);
    } catch {
      // best effort: another run may be sweeping too
    }
  }
  return removed;
}

/** Removes what `c` still lists (the lock file last) and unregisters it. */
function release(c: Cleanup): void {
  for (const p of c.paths) rmSync(p, RM_OPTS);
  c.paths = [];
  unregisterCleanup(c);
}

/** Creates folder `at` (mode 0755) unless it exists; an existing symlink or file is an error. */
async function ensureDir(at: string): Promise<void> {
  try {
    await fsp.mkdir(at, DIR_MODE);
    await fsp.chmod(at, DIR_MODE); // mkdir's mode is masked by umask
  } catch (e) {
    if (errno(e) !== 'EEXIST') throw e;
    const st = await fsp.lstat(at);
    if (!st.isDirectory()) throw new Error(`${at} exists in the staging folder and is not a folder`);
  }
}

/** Writes a file with mode 0644, replacing (never following) a file or symlink already there. */
async function writeFileAt(file: string, data: string | Buffer): Promise<void> {
  let fh;
  try {
    fh = await fsp.open(file, 'wx', FILE_MODE); // O_EXCL: fails on an existing symlink, never follows it
  } catch (e) {
    if (errno(e) !== 'EEXIST') throw e;
    if ((await fsp.lstat(file)).isDirectory()) throw new Error(`${file} is a folder in the staging folder`);
    await fsp.unlink(file);
    fh = await fsp.open(file, 'wx', FILE_MODE);
  }
  try {
    await fh.writeFile(data);
    await fh.chmod(FILE_MODE); // open's mode is masked by umask
  } finally {
    await fh.close();
  }
}

/**
 * A staging folder beside `outDir` that becomes `outDir` on commit(). Use it when the output is
 * produced over a long job (e.g. tools run inside `dir`):
 *
 *     const staging = await OutputStaging.open(outDir, { force });
 *     try { await staging.write('top.v', text); ...; await staging.commit(); }
 *     catch (e) { await staging.abort(); throw e; }
 *
 * While open, SIGINT/SIGTERM remove the staging folder and exit with 130/143, and process exit
 * removes it. Only files written through write() get the fixed modes (0644, folders 0755).
 */
export class OutputStaging {
  private state: 'open' | 'committing' | 'done' = 'open';
  private readonly paths = new PathSet();

  private constructor(
    /** Absolute path of the destination folder. */
    readonly outDir: string,
    /** Absolute path of the staging folder. */
    readonly dir: string,
    private readonly opts: OutputOptions,
    /** The staging folder, then the lock file: removed on abort, signals and exit. */
    private readonly cleanup: Cleanup,
  ) {}

  /**
   * Checks the output rules (fail fast, before long work), takes the lock on the output folder,
   * removes what killed runs left beside it, and creates the staging folder with the marker in it.
   */
  static async open(outDir: string, opts: OutputOptions = {}): Promise<OutputStaging> {
    const dest = path.resolve(outDir);
    if (path.dirname(dest) === dest) {
      throw new UserError(`output folder ${quote(outDir)} is a filesystem root`, EXIT.usage);
    }
    const why = protectedReason(dest, opts.inputs);
    if (why !== undefined) {
      throw new UserError(`output folder ${quote(dest)} is refused: ${why}; hardwire never writes over its inputs, the current folder or home: choose another --out`, EXIT.usage);
    }
    const cleanup: Cleanup = { paths: [], groups: [] };
    registerCleanup(cleanup); // before the lock, so that no signal can slip in between
    try {
      try {
        await fsp.mkdir(path.dirname(dest), { recursive: true });
        cleanup.paths.push(takeLock(dest));
        sweepStale(dest);
        const state = destinationState(dest);
        if (state === 'full' && !opts.force) throw notEmptyError(dest);
        if (state === 'full') checkOurs(dest);
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new UserError(`cannot write output folder ${quote(dest)}: ${(e as Error).message}`, EXIT.usage);
      }
      const dir = siblingName(dest, 'tmp');
      cleanup.paths.unshift(dir); // the staging folder goes first, the lock last
      try {
        await fsp.mkdir(dir, DIR_MODE); // not recursive: fails if the name exists
        await fsp.chmod(dir, DIR_MODE);
        await writeFileAt(path.join(dir, MARKER), markerText());
      } catch (e) {
        throw new UserError(`cannot create a staging folder beside ${quote(dest)}: ${(e as Error).message}`, EXIT.usage);
      }
      return new OutputStaging(dest, dir, opts, cleanup);
    } catch (e) {
      release(cleanup);
      throw e;
    }
  }

  /** Writes `data` at the safe relative path `relPath` inside the staging folder. */
  async write(relPath: string, data: string | Buffer): Promise<void> {
    if (this.state !== 'open') throw new Error(`OutputStaging.write(${quote(String(relPath))}) after commit or abort`);
    const rel = safeRelPath(relPath);
    this.paths.add(rel, true);
    const segs = rel.split('/');
    let at = this.dir;
    for (const seg of segs.slice(0, -1)) {
      at = path.join(at, seg);
      await ensureDir(at);
    }
    await writeFileAt(path.join(at, segs[segs.length - 1]), data);
  }

  /**
   * Moves the staging folder into place. With --force, an existing output is renamed aside first
   * and deleted after, so that the complete old or the complete new output exists at every instant.
   * On failure the staging folder is removed and the old output is left as it was.
   */
  async commit(): Promise<void> {
    if (this.state !== 'open') throw new Error('OutputStaging.commit() after commit or abort');
    this.state = 'committing';
    let old: string | undefined;
    try {
      // Synchronous from the check to the last rename: no signal handler can run in between.
      const dest = destinationState(this.outDir);
      if (dest === 'full') {
        if (!this.opts.force) throw notEmptyError(this.outDir);
        checkOurs(this.outDir);
        old = siblingName(this.outDir, 'old');
        renameSync(this.outDir, old);
        try {
          renameSync(this.dir, this.outDir);
        } catch (e) {
          try {
            renameSync(old, this.outDir);
          } catch {
            const why = (e as Error).message;
            throw new Error(`could not move the new output into ${this.outDir} (${why}); the old output is in ${old}`);
          }
          old = undefined;
          throw e;
        }
        this.opts.onProgress?.(`replaced the old output in ${this.outDir}`);
      } else {
        renameSync(this.dir, this.outDir); // rename(2) replaces an empty folder
      }
    } catch (e) {
      this.state = 'open';
      await this.abort();
      if (errno(e) === 'ENOTEMPTY' || errno(e) === 'EEXIST') throw notEmptyError(this.outDir);
      throw e;
    }
    this.state = 'done';
    this.cleanup.paths = [...(old === undefined ? [] : [old]), ...this.cleanup.paths.slice(1)];
    try {
      if (old !== undefined) await fsp.rm(old, RM_OPTS);
    } finally {
      release(this.cleanup);
    }
  }

  /** Removes the staging folder. Does nothing after commit() or a previous abort(). */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'done';
    try {
      await fsp.rm(this.dir, RM_OPTS);
    } finally {
      release(this.cleanup);
    }
  }
}

/**
 * Writes `files` as the complete content of `outDir`, in sorted path order, through an
 * OutputStaging. Every path is checked before anything is created.
 */
export async function writeOutputDir(
  outDir: string,
  files: Iterable<OutputFile>,
  opts: OutputOptions = {},
): Promise<void> {
  const list: OutputFile[] = [];
  const paths = new PathSet();
  for (const f of files) {
    paths.add(safeRelPath(f.path), false);
    list.push(f);
  }
  list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const staging = await OutputStaging.open(outDir, opts);
  try {
    opts.onProgress?.(`writing ${list.length} files to ${staging.outDir}`);
    for (const f of list) await staging.write(f.path, f.data);
    await staging.commit();
  } catch (e) {
    await staging.abort();
    throw e;
  }
}
