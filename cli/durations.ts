// How long a long step took here before, per byte of its input, so the progress heartbeat can say what
// to expect ("~170 s expected") during a Yosys run or a Verilator build. One small JSON file beside the
// tool caches; a lost or unreadable file only means no estimate. Never part of any output.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** $HARDWIRE_CACHE/durations.json, or $XDG_CACHE_HOME/hardwire/durations.json. */
export function durationsFile(): string {
  if (process.env.HARDWIRE_CACHE) return join(process.env.HARDWIRE_CACHE, 'durations.json');
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'hardwire', 'durations.json');
}

type Rates = Record<string, { secondsPerByte: number; runs: number }>;

function readRates(): Rates {
  try {
    const o = JSON.parse(readFileSync(durationsFile(), 'utf8')) as unknown;
    return o && typeof o === 'object' && !Array.isArray(o) ? (o as Rates) : {};
  } catch {
    return {};
  }
}

/** Seconds a step of `kind` on `bytes` of input is expected to take, from earlier runs here; undefined if never seen. */
export function expectedSeconds(kind: string, bytes: number): number | undefined {
  const r = readRates()[kind];
  return r && Number.isFinite(r.secondsPerByte) && r.secondsPerByte > 0 ? r.secondsPerByte * bytes : undefined;
}

/** Remember how long a step took (a moving average of seconds per byte, the newest run weighted 1/2). */
export function recordSeconds(kind: string, bytes: number, seconds: number): void {
  if (!(bytes > 0 && seconds > 0)) return;
  try {
    const rates = readRates();
    const prev = rates[kind];
    const rate = seconds / bytes;
    rates[kind] = { secondsPerByte: prev ? (prev.secondsPerByte + rate) / 2 : rate, runs: (prev?.runs ?? 0) + 1 };
    const file = durationsFile();
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(rates, null, 1)}\n`);
    renameSync(tmp, file);
  } catch {
    // an estimate is a convenience: a read-only cache folder costs only the estimate
  }
}
