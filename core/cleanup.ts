// What must not outlive gen-rtl: staging and temp folders, lock files and tool process groups. One
// registry, emptied synchronously on SIGINT/SIGTERM (exit 130/143) and on process exit.
//
// Handlers are installed only while something is registered, so a library user who registers nothing
// keeps Node's default signal behaviour.

import { rmSync } from 'node:fs';

const RM_OPTS = { recursive: true, force: true, maxRetries: 3 } as const;

/** A set of paths (folders or files) to remove, and process groups to kill, if we exit now. */
export interface Cleanup {
  paths: string[];
  /** Process group ids (the leader's pid) of tools started detached. */
  groups: number[];
}

const live = new Set<Cleanup>();

/** Kills every registered process group (SIGKILL) and removes every registered path; returns the paths removed. */
export function runCleanups(): string[] {
  const removed: string[] = [];
  for (const c of live) {
    for (const g of c.groups) killGroup(g, 'SIGKILL');
    c.groups = [];
  }
  for (const c of live) {
    for (const p of c.paths) {
      try {
        rmSync(p, RM_OPTS);
        removed.push(p);
      } catch {
        // best effort: we are exiting
      }
    }
    c.paths = [];
  }
  return removed;
}

/** Sends `signal` to process group `pgid`; a group that is gone already is not an error. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group has exited
  }
}

/** `s` quoted with JSON.stringify, non-ASCII escaped: safe on one terminal line. */
function quote(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function onSignal(signal: 'SIGINT' | 'SIGTERM'): void {
  const removed = runCleanups().filter((p) => !p.endsWith('.lock'));
  const list = removed.length > 0 ? `; removed ${removed.map(quote).join(', ')}` : '';
  process.stderr.write(`interrupted by ${signal}${list}\n`);
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

const onSigint = (): void => onSignal('SIGINT');
const onSigterm = (): void => onSignal('SIGTERM');
const onExit = (): void => void runCleanups();

/** Registers `c` (a record the caller keeps and edits); installs the handlers with the first one. */
export function registerCleanup(c: Cleanup): void {
  if (live.size === 0) {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    process.on('exit', onExit);
  }
  live.add(c);
}

/** Unregisters `c`; removes the handlers with the last one. */
export function unregisterCleanup(c: Cleanup): void {
  if (!live.delete(c) || live.size > 0) return;
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);
  process.off('exit', onExit);
}

/** True when a process with this pid exists (EPERM: it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
