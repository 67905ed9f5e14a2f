// The engine's instruction set and configuration word: the only contract between base/ (which decodes
// them) and mask layer B (which holds their bits). Field widths come from the grid alone.
import { bitsFor, type EngineCaps } from './caps.ts';

export const OPS = ['end', 'embed', 'load', 'norm', 'matmul', 'rope', 'kvwrite', 'attn', 'silu', 'argmax'] as const;
export type Op = (typeof OPS)[number];

/** Where a matmul's lane results go: int8 buffers, the int16 residual (added), or the logit buffer. */
export const DESTS = ['u', 'g', 'q', 'k', 'v', 'up', 'x', 'logits'] as const;
export type EngineDest = (typeof DESTS)[number];

export interface Field { readonly name: string; readonly bits: number }

/** One microcode word, as numbers (mask B encodes it; the comments beside the ROM decode it). */
export interface Word {
  op: number; lenm1: number; layer: number; dest: number; src: number; relu: number; raw: number;
  addr0: number; pass0: number; chunksm1: number; passesm1: number;
}

export function ucodeFields(c: EngineCaps): Field[] {
  return [
    { name: 'op', bits: bitsFor(OPS.length - 1) },
    { name: 'lenm1', bits: 16 },
    { name: 'layer', bits: c.layerBits },
    { name: 'dest', bits: bitsFor(DESTS.length - 1) },
    { name: 'src', bits: 1 },
    { name: 'relu', bits: 1 },
    { name: 'raw', bits: 1 },
    { name: 'addr0', bits: c.addrBits },
    { name: 'pass0', bits: bitsFor(c.passes - 1) },
    { name: 'chunksm1', bits: bitsFor(c.chunks - 1) },
    { name: 'passesm1', bits: bitsFor(maxPasses(c) - 1) },
  ];
}

/** Most lane passes one matmul can write: the largest destination buffer over the lanes. */
export function maxPasses(c: EngineCaps): number {
  return Math.ceil(Math.max(c.F, c.vocab, c.kvMax) / c.L);
}

/** Model constants that the units take as tie-offs (mask layer B's configuration word). */
export interface Cfg {
  hblk: number; vocab: number; hdlog: number; heads: number; qlen: number; context: number;
  rsqS0: number; expM: number; expS: number; actM: number; actS: number;
}

export function cfgFields(c: EngineCaps): Field[] {
  return [
    { name: 'hblk', bits: bitsFor(c.F / c.E) },
    { name: 'vocab', bits: bitsFor(c.vocab) },
    { name: 'hdlog', bits: bitsFor(Math.log2(c.hd)) },
    { name: 'heads', bits: bitsFor(c.heads) },
    { name: 'qlen', bits: bitsFor(c.F) },
    { name: 'context', bits: bitsFor(c.ctx) },
    { name: 'rsqS0', bits: 6 },
    { name: 'expM', bits: 15 },
    { name: 'expS', bits: 6 },
    { name: 'actM', bits: 15 },
    { name: 'actS', bits: 6 },
  ];
}

export function widthOf(fields: readonly Field[]): number {
  return fields.reduce((s, f) => s + f.bits, 0);
}

/** Pack named values into a word, first field in the low bits; a value that does not fit is a bug. */
export function pack(fields: readonly Field[], v: Record<string, number>): bigint {
  let w = 0n, off = 0n;
  for (const f of fields) {
    const x = v[f.name] ?? 0;
    if (!Number.isInteger(x) || x < 0 || x >= 2 ** f.bits) throw new Error(`field ${f.name} = ${x} does not fit ${f.bits} bits`);
    w |= BigInt(x) << off;
    off += BigInt(f.bits);
  }
  return w;
}

export function unpack(fields: readonly Field[], w: bigint): Record<string, number> {
  const out: Record<string, number> = {};
  let off = 0n;
  for (const f of fields) {
    out[f.name] = Number((w >> off) & ((1n << BigInt(f.bits)) - 1n));
    off += BigInt(f.bits);
  }
  return out;
}

/** A microcode word in words, for the comment beside it in mask B. */
export function describeWord(c: EngineCaps, w: bigint): string {
  const v = unpack(ucodeFields(c), w);
  const op = OPS[v.op] ?? `op${v.op}`;
  if (op === 'matmul') {
    return `matmul layer ${v.layer} -> ${DESTS[v.dest]}${v.relu ? ' relu' : ''}${v.raw ? ' raw' : ''} from ${v.src ? 'g' : 'u'}: rom ${v.addr0}.., pass ${v.pass0}.., ${v.passesm1 + 1} passes x ${v.chunksm1 + 1} chunks, ${v.lenm1 + 1} cycles`;
  }
  if (op === 'attn') return `attn layer ${v.layer} (cycles depend on the position)`;
  return `${op}${op === 'kvwrite' ? ` layer ${v.layer}` : ''}, ${v.lenm1 + 1} cycles`;
}
