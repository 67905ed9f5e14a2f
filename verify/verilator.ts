// Verilated co-simulation: build (and cache) a Verilator binary with a binary-record harness, then stream vectors through it.

import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, homedir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { pidAlive } from '../core/cleanup.ts';
import { EXIT, ToolError, UserError } from '../core/errors.ts';
import { LintError, verilatorMessages } from './lint.ts';
import { findTool, runTool, runToolRaw, tailLines, toolVersion, whichTool, makeTempDir } from './tools.ts';

/** One port of a simulated top: name, direction and width. */
export interface PortSpec {
  name: string;
  dir: 'input' | 'output';
  width: number;
}

/** What to Verilate: the top, its files, its ports in record order and its clock. */
export interface SimSpec {
  /** Top module name; its file's basename is used for the model class V<top>. */
  top: string;
  /** RTL files, self-contained (no `include); their basenames must be distinct. */
  files: string[];
  /** Every port of `top`, clock included, in the order records are packed. */
  ports: PortSpec[];
  /** A 1-bit input pulsed once per record; absent for a purely combinational design. */
  clock?: string;
  /** Build with --trace so run(..., { vcd }) can write a VCD. */
  trace?: boolean;
}

/** Where buildSim caches binaries and how it reports progress. */
export interface BuildOptions {
  cacheDir?: string;
  onProgress?: (msg: string) => void;
}

/** Records per fread/fwrite in the harness. */
const HARNESS_BLOCK = 4096;

/**
 * Flags that shape the binary and so belong to the cache key. -Wall with warnings fatal (Verilator's
 * default): RTL must be lint clean. X assignments and initial values are 0, so registers start at
 * zero like the IR evaluator's.
 */
const KEY_FLAGS = ['--cc', '--exe', '-Wall', '--x-assign', '0', '--x-initial', '0'];

/** Where verilated binaries are cached: opts.cacheDir, $HARDWIRE_CACHE, or $XDG_CACHE_HOME/hardwire/verilator. */
export function defaultCacheDir(): string {
  if (process.env.HARDWIRE_CACHE) return process.env.HARDWIRE_CACHE;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'hardwire', 'verilator');
}

// ---------------------------------------------------------------------------------------------
// Record layout

/** A port's place in a record. */
export interface PortSlot extends PortSpec {
  /** Byte offset in the record. */
  offset: number;
  /** ceil(width / 8). */
  bytes: number;
}

/** Lay ports out back to back, ceil(width/8) bytes each; returns the slots and the record size. */
export function layoutRecord(ports: readonly PortSpec[]): { slots: PortSlot[]; bytes: number } {
  let offset = 0;
  const slots = ports.map((p) => {
    const bytes = Math.ceil(p.width / 8);
    const slot = { ...p, offset, bytes };
    offset += bytes;
    return slot;
  });
  return { slots, bytes: offset };
}

/** Write `value` masked to the slot's width (negative values become two's complement) at rec[base + offset]. */
function packValue(buf: Buffer, base: number, slot: PortSlot, value: bigint): void {
  const v = BigInt.asUintN(slot.width, value);
  const at = base + slot.offset;
  if (slot.bytes <= 6) {
    buf.writeUIntLE(Number(v), at, slot.bytes);
    return;
  }
  // Wide ports: whole 64-bit words, then the tail bytes.
  let rest = v;
  let i = 0;
  for (; i + 8 <= slot.bytes; i += 8) {
    buf.writeBigUInt64LE(BigInt.asUintN(64, rest), at + i);
    rest >>= 64n;
  }
  const tail = slot.bytes - i;
  if (tail > 6) {
    buf.writeUIntLE(Number(rest & 0xffffffffffffn), at + i, 6);
    buf.writeUIntLE(Number(rest >> 48n), at + i + 6, tail - 6);
  } else if (tail > 0) {
    buf.writeUIntLE(Number(rest), at + i, tail);
  }
}

/** Read the slot's value (unsigned, masked to its width) from rec[base + offset]. */
function unpackValue(buf: Buffer, base: number, slot: PortSlot): bigint {
  const at = base + slot.offset;
  if (slot.bytes <= 6) {
    const n = buf.readUIntLE(at, slot.bytes);
    return slot.width >= 48 ? BigInt(n) : BigInt(n % 2 ** slot.width);
  }
  let v = 0n;
  let i = slot.bytes;
  const tail = slot.bytes % 8;
  if (tail > 0) {
    i -= tail;
    v = BigInt(buf.readUIntLE(at + i, Math.min(tail, 6)));
    if (tail > 6) v |= BigInt(buf.readUIntLE(at + i + 6, tail - 6)) << 48n;
  }
  for (i -= 8; i >= 0; i -= 8) v = (v << 64n) | buf.readBigUInt64LE(at + i);
  return BigInt.asUintN(slot.width, v);
}

/** Pack one record per cycle; cycle values are in slot order. `recordBytes` may exceed the slots (padding stays 0). */
export function packRecords(slots: readonly PortSlot[], recordBytes: number, cycles: readonly (readonly bigint[])[]): Buffer {
  const buf = Buffer.alloc(recordBytes * cycles.length);
  cycles.forEach((values, c) => {
    if (values.length !== slots.length) {
      throw new UserError(`cycle ${c}: ${values.length} input values given, the design has ${slots.length} (${slots.map((s) => s.name).join(', ')})`);
    }
    const base = c * recordBytes;
    for (let i = 0; i < slots.length; i++) packValue(buf, base, slots[i], values[i]);
  });
  return buf;
}

/** Unpack records into one bigint per slot per record. */
export function unpackRecords(slots: readonly PortSlot[], recordBytes: number, buf: Buffer): bigint[][] {
  if (recordBytes === 0) return [];
  const n = buf.length / recordBytes;
  const out: bigint[][] = new Array(n);
  for (let c = 0; c < n; c++) {
    const base = c * recordBytes;
    const row = new Array<bigint>(slots.length);
    for (let i = 0; i < slots.length; i++) row[i] = unpackValue(buf, base, slots[i]);
    out[c] = row;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Spec checks and harness rendering

const C_IDENT = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Reject specs the harness cannot drive, with a message naming the port. */
export function checkSimSpec(spec: SimSpec): void {
  if (!C_IDENT.test(spec.top)) throw new UserError(`sim: top module name ${JSON.stringify(spec.top)} is not a plain identifier`);
  if (spec.files.length === 0) throw new UserError(`sim ${spec.top}: no RTL files given`);
  const seen = new Set<string>();
  for (const p of spec.ports) {
    // Verilator mangles names with '__' or escapes; port names are API, so refuse rather than guess.
    if (!C_IDENT.test(p.name) || p.name.includes('__')) {
      throw new UserError(`sim ${spec.top}: port name ${JSON.stringify(p.name)} is not a plain identifier`);
    }
    if (seen.has(p.name)) throw new UserError(`sim ${spec.top}: port ${p.name} listed twice`);
    seen.add(p.name);
    if (!Number.isInteger(p.width) || p.width < 1) throw new UserError(`sim ${spec.top}: port ${p.name} has width ${p.width}`);
    if (p.dir !== 'input' && p.dir !== 'output') throw new UserError(`sim ${spec.top}: port ${p.name} has direction ${String(p.dir)}`);
  }
  if (spec.clock !== undefined) {
    const clk = spec.ports.find((p) => p.name === spec.clock);
    if (!clk || clk.dir !== 'input' || clk.width !== 1) {
      throw new UserError(`sim ${spec.top}: clock ${spec.clock} must be a 1-bit input port`);
    }
  }
  const names = new Set<string>();
  for (const f of spec.files) {
    const b = basename(f);
    if (names.has(b)) throw new UserError(`sim ${spec.top}: two RTL files named ${b}`);
    names.add(b);
  }
}

interface HarnessPort {
  name: string;
  width: number;
  offset: number;
  bytes: number;
  wide: boolean;
  ctype: string;
  mask: string;
  words: number;
  lastWord: number;
  topMask: string;
}

function harnessPort(slot: PortSlot): HarnessPort {
  const wide = slot.width > 64;
  const words = Math.ceil(slot.width / 32);
  const topBits = slot.width - (words - 1) * 32;
  return {
    name: slot.name,
    width: slot.width,
    offset: slot.offset,
    bytes: slot.bytes,
    wide,
    ctype: slot.width <= 8 ? 'CData' : slot.width <= 16 ? 'SData' : slot.width <= 32 ? 'IData' : 'QData',
    mask: wide ? '0' : `0x${((1n << BigInt(slot.width)) - 1n).toString(16)}ULL`,
    words,
    lastWord: words - 1,
    topMask: `0x${((1n << BigInt(topBits)) - 1n).toString(16)}U`,
  };
}

const templatesDir = fileURLToPath(new URL('../templates/', import.meta.url));
let harnessTemplate: Promise<HandlebarsTemplateDelegate> | undefined;

/** Render templates/harness.cpp.hbs for a spec (pure apart from reading the template once). */
export async function renderHarness(spec: SimSpec): Promise<string> {
  harnessTemplate ??= readFile(join(templatesDir, 'harness.cpp.hbs'), 'utf8').then((src) =>
    Handlebars.create().compile(src, { noEscape: true, strict: true }),
  );
  const tmpl = await harnessTemplate;
  const l = simLayout(spec);
  return tmpl({
    top: spec.top,
    trace: spec.trace === true,
    hasClock: spec.clock !== undefined,
    clock: spec.clock ?? '',
    inBytes: l.inRecordBytes,
    outBytes: l.outRecordBytes,
    block: HARNESS_BLOCK,
    inputs: l.inSlots.map(harnessPort),
    outputs: l.outSlots.map(harnessPort),
  });
}

/** Input and output record layouts of a spec. A design with no data inputs gets a 1-byte dummy input record. */
export function simLayout(spec: SimSpec): { inSlots: PortSlot[]; outSlots: PortSlot[]; inRecordBytes: number; outRecordBytes: number } {
  const ins = layoutRecord(spec.ports.filter((p) => p.dir === 'input' && p.name !== spec.clock));
  const outs = layoutRecord(spec.ports.filter((p) => p.dir === 'output'));
  // The harness counts cycles by records read, so a record is never empty.
  return { inSlots: ins.slots, outSlots: outs.slots, inRecordBytes: Math.max(1, ins.bytes), outRecordBytes: outs.bytes };
}

// ---------------------------------------------------------------------------------------------
// The simulator

/**
 * A built Verilator model driven over stdin/stdout in binary records: `run(cycles)` streams one record
 * of inputs per cycle and returns the outputs sampled before each clock edge. Made by buildSim.
 */
export class VerilatedSim {
  /** Inputs except the clock, in spec order: one value each per cycle in run(). */
  readonly inputs: PortSpec[];
  readonly outputs: PortSpec[];
  readonly inRecordBytes: number;
  readonly outRecordBytes: number;
  private readonly inSlots: PortSlot[];
  private readonly outSlots: PortSlot[];

  constructor(
    readonly spec: SimSpec,
    /** Path of the cached binary. */
    readonly binary: string,
    /** True when the binary came from the cache without running Verilator. */
    readonly cached: boolean,
    /** Wall time of buildSim, cache lookup included. */
    readonly buildSeconds: number,
  ) {
    const l = simLayout(spec);
    this.inSlots = l.inSlots;
    this.outSlots = l.outSlots;
    this.inputs = l.inSlots.map(({ name, dir, width }) => ({ name, dir, width }));
    this.outputs = l.outSlots.map(({ name, dir, width }) => ({ name, dir, width }));
    this.inRecordBytes = l.inRecordBytes;
    this.outRecordBytes = l.outRecordBytes;
  }

  /**
   * One cycle per entry: one bigint per input port (spec order, clock excluded; masked to the width,
   * so negative values are fine). Returns per cycle one unsigned bigint per output port: the outputs
   * after the inputs are applied and before the clock edge.
   */
  async run(cycles: readonly (readonly bigint[])[], opts: { vcd?: string } = {}): Promise<bigint[][]> {
    const records = packRecords(this.inSlots, this.inRecordBytes, cycles);
    const out = await this.runRaw(records, opts);
    if (this.outRecordBytes === 0) return cycles.map(() => []);
    return unpackRecords(this.outSlots, this.outRecordBytes, out);
  }

  /** Stream packed input records through the binary; returns the packed output records. */
  async runRaw(records: Buffer, opts: { vcd?: string } = {}): Promise<Buffer> {
    if (records.length % this.inRecordBytes !== 0) {
      throw new UserError(`sim ${this.spec.top}: ${records.length} bytes is not a whole number of ${this.inRecordBytes}-byte records`);
    }
    if (opts.vcd !== undefined && !this.spec.trace) {
      throw new UserError(`sim ${this.spec.top}: a VCD needs the model built with trace: true`);
    }
    const args = opts.vcd !== undefined ? [opts.vcd] : [];
    const res = await runToolRaw(this.binary, args, { input: records, binaryStdout: true });
    if (res.code !== 0) {
      throw new ToolError(`sim ${this.spec.top}: verilated binary exited with ${res.code}: ${tailLines(res.stderr, 3) || 'no message'}`);
    }
    const n = records.length / this.inRecordBytes;
    if (res.stdout.length !== n * this.outRecordBytes) {
      throw new ToolError(`sim ${this.spec.top}: expected ${n * this.outRecordBytes} output bytes, got ${res.stdout.length}`);
    }
    return res.stdout;
  }
}

// ---------------------------------------------------------------------------------------------
// Build and cache

/** Stale staging folders (from a killed build) older than this are swept. */
const STALE_MS = 24 * 3600 * 1000;

/** Build the Verilated model for `spec`, or take it from the cache (no Verilator run on a hit). */
export async function buildSim(spec: SimSpec, opts: BuildOptions = {}): Promise<VerilatedSim> {
  const t0 = performance.now();
  const progress = opts.onProgress ?? (() => {});
  checkSimSpec(spec);
  findTool('verilator');
  const [version, harness, rtl] = await Promise.all([
    toolVersion('verilator'),
    renderHarness(spec),
    Promise.all(spec.files.map(async (f) => ({ name: basename(f), text: await readFile(f) }))),
  ]);
  const flags = [...KEY_FLAGS, ...(spec.trace ? ['--trace'] : []), '--top-module', spec.top, '-o', 'sim'];

  const hash = createHash('sha256');
  const field = (s: string | Buffer) => {
    hash.update(`${Buffer.byteLength(s)}:`);
    hash.update(s);
  };
  field(version);
  field(flags.join('\0'));
  field(harness);
  for (const f of rtl) {
    field(f.name);
    field(f.text);
  }
  field(spec.trace ? 'trace' : 'notrace');
  const key = hash.digest('hex');

  const root = opts.cacheDir ?? defaultCacheDir();
  const entry = join(root, key);
  const binary = join(entry, 'sim');
  const seconds = () => (performance.now() - t0) / 1000;
  if (await isFile(binary)) {
    progress('cached');
    return new VerilatedSim(spec, binary, true, seconds());
  }

  await mkdir(root, { recursive: true });
  void sweepStale(root);
  const tmp = await makeTempDir('verilate');
  const work = tmp.dir;
  try {
    // RTL is copied beside the harness and named relatively, so the build (and ccache's hashes)
    // does not depend on where the caller keeps its files.
    await mkdir(join(work, 'rtl'));
    await Promise.all(rtl.map((f) => writeFile(join(work, 'rtl', f.name), f.text)));
    await writeFile(join(work, 'harness.cpp'), harness);
    const env = buildEnv(work);

    progress('verilating…');
    const vArgs = [...flags, '--Mdir', 'obj', ...rtl.map((f) => join('rtl', f.name)), 'harness.cpp'];
    const v = await runTool(findTool('verilator'), vArgs, { cwd: work, env, timeoutMs: 3_600_000 });
    if (v.code !== 0) {
      const output = `${v.stdout}${v.stderr}`;
      const messages = verilatorMessages(output);
      if (messages.some((m) => m.startsWith('%Warning'))) throw new LintError('verilator', spec.top, messages, output);
      throw new UserError(`verilator ${spec.top}: ${messages[0] ?? tailLines(output, 3)}`, EXIT.verifyFailed);
    }

    progress(env.OBJCACHE ? 'compiling (ccache)…' : 'compiling…');
    const jobs = String(Math.max(1, availableParallelism()));
    const m = await runTool(findTool('make'), ['-j', jobs, '-C', 'obj', '-f', `V${spec.top}.mk`], { cwd: work, env, timeoutMs: 3_600_000 });
    if (m.code !== 0) {
      throw new ToolError(`C++ build of ${spec.top} failed: ${tailLines(m.stderr || m.stdout, 3)}`);
    }

    // Stage the finished entry beside its final place, then rename it in one step: a reader never
    // sees a half-written entry, and a killed build leaves only a .tmp- folder.
    const stage = join(root, `.tmp-${key.slice(0, 16)}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(stage);
    await copyFile(join(work, 'obj', 'sim'), join(stage, 'sim'));
    const buildSeconds = seconds();
    await writeFile(
      join(stage, 'info.json'),
      JSON.stringify({ top: spec.top, verilator: version, flags, files: rtl.map((f) => f.name), trace: spec.trace === true, buildSeconds }, null, 2) + '\n',
    );
    try {
      await rename(stage, entry);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      await rm(stage, { recursive: true, force: true });
      // Another process finished the same key first: its entry is identical, use it.
      if (!(code === 'EEXIST' || code === 'ENOTEMPTY') || !(await isFile(binary))) throw e;
    }
    progress(`built in ${buildSeconds.toFixed(1)} s`);
    return new VerilatedSim(spec, binary, false, buildSeconds);
  } finally {
    await tmp.remove();
  }
}

/** Environment for the build: ccache when installed, with paths under the work folder made relative so hits survive new temp folders. */
function buildEnv(work: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (process.env.OBJCACHE === undefined && whichTool('ccache') !== null) {
    env.OBJCACHE = 'ccache';
    env.CCACHE_BASEDIR = work;
    env.CCACHE_NOHASHDIR = 'true';
  }
  return env;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function sweepStale(root: string): Promise<void> {
  try {
    const now = Date.now();
    for (const name of await readdir(root)) {
      if (!name.startsWith('.tmp-')) continue;
      const p = join(root, name);
      // `.tmp-KEY-PID-RANDOM`: stale once its run is gone, or after a day (a pid of another machine sharing the cache).
      const pid = Number(/^\.tmp-[0-9a-f]+-(\d+)-/.exec(name)?.[1]);
      const st = await stat(p).catch(() => null);
      if (st && ((pid > 0 && pid !== process.pid && !pidAlive(pid)) || now - st.mtimeMs > STALE_MS)) await rm(p, { recursive: true, force: true });
    }
  } catch {
    // sweeping is best effort
  }
}
