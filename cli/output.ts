// Writes a generated output folder safely: checked relative paths, a staging folder beside the
// destination, and a rename into place only once complete, so a reader sees the old or the new output.
//
// Exit codes (cli/errors.ts): an existing non-empty --out without --force, an --out that is a file or
// a symbolic link, or an unwritable --out is EXIT.usage (the command line must change); an unsafe or
// colliding file path is EXIT.badInput (it comes from the model: tensor and layer names).
//
// Atomic against exceptions, process.exit, SIGINT and SIGTERM; not against power loss (no fsync).

import { randomBytes } from 'node:crypto';
import { lstatSync, opendirSync, renameSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { EXIT, UserError } from './errors.ts';

/** One file of the output, at a relative, '/'-separated path. */
export interface OutputFile {
  path: string;
  data: string | Buffer;
}

export interface OutputOptions {
  /** Replace an existing non-empty output folder. */
  force?: boolean;
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

// Folders to remove synchronously if the process is interrupted or exits: one record per open
// staging. Handlers are installed only while at least one staging is open.
const live = new Set<{ paths: string[] }>();

function removeLiveFolders(): string[] {
  const removed: string[] = [];
  for (const cleanup of live) {
    for (const p of cleanup.paths) {
      try {
        rmSync(p, RM_OPTS);
        removed.push(p);
      } catch {
        // best effort: we are exiting
      }
    }
    cleanup.paths = [];
  }
  return removed;
}

function onSignal(signal: 'SIGINT' | 'SIGTERM'): void {
  const removed = removeLiveFolders();
  const list = removed.length > 0 ? `; removed ${removed.map(quote).join(', ')}` : '';
  process.stderr.write(`interrupted by ${signal}${list}\n`);
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

const onSigint = (): void => onSignal('SIGINT');
const onSigterm = (): void => onSignal('SIGTERM');
const onExit = (): void => void removeLiveFolders();

function register(cleanup: { paths: string[] }): void {
  if (live.size === 0) {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    process.on('exit', onExit);
  }
  live.add(cleanup);
}

function unregister(cleanup: { paths: string[] }): void {
  if (!live.delete(cleanup) || live.size > 0) return;
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);
  process.off('exit', onExit);
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
  private readonly cleanup: { paths: string[] };
  private readonly paths = new PathSet();

  private constructor(
    /** Absolute path of the destination folder. */
    readonly outDir: string,
    /** Absolute path of the staging folder. */
    readonly dir: string,
    private readonly opts: OutputOptions,
  ) {
    this.cleanup = { paths: [dir] };
  }

  /** Checks the --force rule (fail fast, before long work) and creates the staging folder. */
  static async open(outDir: string, opts: OutputOptions = {}): Promise<OutputStaging> {
    const dest = path.resolve(outDir);
    if (path.dirname(dest) === dest) {
      throw new UserError(`output folder ${quote(outDir)} is a filesystem root`, EXIT.usage);
    }
    try {
      if (destinationState(dest) === 'full' && !opts.force) throw notEmptyError(dest);
      await fsp.mkdir(path.dirname(dest), { recursive: true });
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot write output folder ${quote(dest)}: ${(e as Error).message}`, EXIT.usage);
    }
    const staging = new OutputStaging(dest, siblingName(dest, 'tmp'), opts);
    register(staging.cleanup); // before mkdir, so that no signal can slip in between
    try {
      await fsp.mkdir(staging.dir, DIR_MODE); // not recursive: fails if the name exists
      await fsp.chmod(staging.dir, DIR_MODE);
    } catch (e) {
      await staging.abort();
      throw new UserError(`cannot create a staging folder beside ${quote(dest)}: ${(e as Error).message}`, EXIT.usage);
    }
    return staging;
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
    this.cleanup.paths = old === undefined ? [] : [old];
    try {
      if (old !== undefined) await fsp.rm(old, RM_OPTS);
    } finally {
      unregister(this.cleanup);
    }
  }

  /** Removes the staging folder. Does nothing after commit() or a previous abort(). */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'done';
    try {
      await fsp.rm(this.dir, RM_OPTS);
    } finally {
      unregister(this.cleanup);
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
