// Signals: typed handles on IR nets, with the operators of the DSL (widths are checked at once).
import type { NetId, OpKind } from './ir/types.ts';

/** A misuse of the DSL (width or signedness mismatch, bad slice, foreign operand): the message says what to do. */
export class DslError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DslError';
  }
}

/** What a Signal needs from its module builder. */
export interface NetSink {
  readonly name: string;
  netWidth(id: NetId): number;
  netSigned(id: NetId): boolean;
  addOp(op: OpKind, args: NetId[], width: number, signed: boolean, extra?: { value?: bigint; hi?: number; lo?: number; amount?: number }): NetId;
  constant(value: bigint, width: number, signed: boolean): NetId;
  nameNet(id: NetId, name: string): NetId;
  /** The raw bits of a constant net, or undefined. */
  constValue(id: NetId): bigint | undefined;
}

/**
 * A comparison whose result is fixed by the operand range alone (e.g. unsigned a >= 0): folded to a
 * constant, since Verilator's CMPCONST lint flags it. Returns undefined when the result depends on data.
 */
export function foldCompare(op: string, a: bigint | undefined, b: bigint | undefined, width: number, signed: boolean): bigint | undefined {
  const w = BigInt(width);
  const sv = (x: bigint): bigint => (signed && (x >> (w - 1n)) & 1n ? x - (1n << w) : x);
  const min = signed ? -(1n << (w - 1n)) : 0n;
  const max = signed ? (1n << (w - 1n)) - 1n : (1n << w) - 1n;
  if (a !== undefined && b !== undefined) {
    const x = sv(a), y = sv(b);
    const r = op === 'eq' ? x === y : op === 'ne' ? x !== y : op === 'lt' ? x < y : op === 'le' ? x <= y : op === 'gt' ? x > y : x >= y;
    return r ? 1n : 0n;
  }
  const flip: Record<string, string> = { lt: 'gt', le: 'ge', gt: 'lt', ge: 'le', eq: 'eq', ne: 'ne' };
  // Normalize to (signal op constant).
  const [o, k] = b !== undefined ? [op, sv(b)] : a !== undefined ? [flip[op], sv(a)] : [op, undefined];
  if (k === undefined) return undefined;
  if (o === 'lt' && k === min) return 0n;
  if (o === 'ge' && k === min) return 1n;
  if (o === 'gt' && k === max) return 0n;
  if (o === 'le' && k === max) return 1n;
  return undefined;
}

export type Operand = Signal | bigint | number;

/**
 * A typed handle on one net of a module being built: its operators check widths and signedness at once
 * and add IR nets (`a.add(b)`, `x.mul(w)`, `s.sext(16)`, `c.select(a, b)`); never mixed implicitly.
 */
export class Signal {
  constructor(readonly mod: NetSink, readonly id: NetId) {}

  /** Bit width of this value. */
  get width(): number {
    return this.mod.netWidth(this.id);
  }
  /** True when this value is signed (two's complement). */
  get signed(): boolean {
    return this.mod.netSigned(this.id);
  }

  private fail(op: string, msg: string): never {
    throw new DslError(`module '${this.mod.name}': ${op}: ${msg}`);
  }

  /** Turn a number into a constant of this signal's type, or check that a signal is in this module. */
  private operand(op: string, b: Operand): Signal {
    if (b instanceof Signal) {
      if (b.mod !== this.mod) this.fail(op, 'operands belong to different modules');
      return b;
    }
    const v = BigInt(b);
    const w = this.width;
    const lo = this.signed ? -(1n << BigInt(w - 1)) : 0n;
    const hi = this.signed ? (1n << BigInt(w - 1)) - 1n : (1n << BigInt(w)) - 1n;
    if (v < lo || v > hi) this.fail(op, `constant ${v} does not fit ${this.signed ? 'signed' : 'unsigned'} ${w} bits`);
    return new Signal(this.mod, this.mod.constant(v, w, this.signed));
  }

  private same(op: string, b: Signal): void {
    if (b.width !== this.width || b.signed !== this.signed) {
      this.fail(op, `operand types differ: ${describe(this)} vs ${describe(b)} (extend or truncate explicitly)`);
    }
  }

  private op2(op: OpKind, b: Operand, width?: number, signed?: boolean): Signal {
    const s = this.operand(op, b);
    this.same(op, s);
    if (width === 1 && ['eq', 'ne', 'lt', 'le', 'gt', 'ge'].includes(op)) {
      const f = foldCompare(op, this.mod.constValue(this.id), this.mod.constValue(s.id), this.width, this.signed);
      if (f !== undefined) return new Signal(this.mod, this.mod.constant(f, 1, false));
    }
    return this.wrap(op, [this.id, s.id], width ?? this.width, signed ?? this.signed);
  }

  private wrap(op: OpKind, args: NetId[], width: number, signed: boolean, extra?: { value?: bigint; hi?: number; lo?: number; amount?: number }): Signal {
    return new Signal(this.mod, this.mod.addOp(op, args, width, signed, extra));
  }

  /** Same-width addition (wraps): extend first for a carry. */
  add(b: Operand): Signal { return this.op2('add', b); }
  /** Same-width subtraction (wraps): extend first for a borrow. */
  sub(b: Operand): Signal { return this.op2('sub', b); }
  /** Bitwise AND of same-type operands. */
  and(b: Operand): Signal { return this.op2('and', b); }
  /** Bitwise OR of same-type operands. */
  or(b: Operand): Signal { return this.op2('or', b); }
  /** Bitwise XOR of same-type operands. */
  xor(b: Operand): Signal { return this.op2('xor', b); }
  /** Bitwise NOT, same width. */
  not(): Signal { return this.wrap('not', [this.id], this.width, this.signed); }
  /** Two's complement negation, same width (wraps at the most negative value). */
  neg(): Signal { return this.wrap('neg', [this.id], this.width, this.signed); }

  /** Full product: width is the sum of the operand widths; operands must share signedness. */
  mul(b: Signal): Signal {
    const s = this.operand('mul', b);
    if (s.signed !== this.signed) this.fail('mul', `signedness differs: ${describe(this)} vs ${describe(s)}`);
    return this.wrap('mul', [this.id, s.id], this.width + s.width, this.signed);
  }

  /** Exact widening add: result is one bit wider than the wider operand. */
  addWide(b: Signal): Signal {
    const w = Math.max(this.width, b.width) + 1;
    return this.ext(w).add(b.ext(w));
  }
  /** Exact widening subtraction: result is one bit wider than the wider operand. */
  subWide(b: Signal): Signal {
    const w = Math.max(this.width, b.width) + 1;
    return this.ext(w).sub(b.ext(w));
  }

  /** Shift left by a constant, growing by k bits (exact). */
  shl(k: number): Signal {
    if (!Number.isInteger(k) || k < 0) this.fail('shl', `bad shift ${k}`);
    if (k === 0) return this;
    return this.wrap('shlConst', [this.id], this.width + k, this.signed, { amount: k });
  }
  /** Shift right by a constant, keeping the width (arithmetic when signed). */
  shr(k: number): Signal {
    if (!Number.isInteger(k) || k < 0 || k >= this.width) this.fail('shr', `shift ${k} out of range for ${this.width} bits`);
    if (k === 0) return this;
    return this.wrap('shrConst', [this.id], this.width, this.signed, { amount: k });
  }
  /** Shift left by an unsigned signal amount, keeping the width. */
  shlBy(amount: Signal): Signal {
    if (amount.signed) this.fail('shlBy', 'shift amount must be unsigned');
    return this.wrap('shl', [this.id, this.operand('shlBy', amount).id], this.width, this.signed);
  }
  /** Shift right by an unsigned signal amount, keeping the width (arithmetic when signed). */
  shrBy(amount: Signal): Signal {
    if (amount.signed) this.fail('shrBy', 'shift amount must be unsigned');
    return this.wrap('shr', [this.id, this.operand('shrBy', amount).id], this.width, this.signed);
  }

  /** Bits hi..lo, unsigned. */
  slice(hi: number, lo: number): Signal {
    if (!(Number.isInteger(hi) && Number.isInteger(lo) && lo >= 0 && hi >= lo && hi < this.width)) {
      this.fail('slice', `[${hi}:${lo}] out of range for ${this.width} bits`);
    }
    if (lo === 0 && hi === this.width - 1 && !this.signed) return this;
    return this.wrap('slice', [this.id], hi - lo + 1, false, { hi, lo });
  }
  /** Bit i, unsigned 1-bit. */
  bit(i: number): Signal { return this.slice(i, i); }
  /**
   * Word `index` of this signal read as an array of `width`-bit words (word 0 in the low bits): the read
   * site of a mask ROM whose bits arrive as a constant. The word count must be a power of two, so every
   * index value reads a real word (no X past the end).
   */
  word(index: Signal, width: number): Signal {
    const words = this.width / width;
    if (!Number.isInteger(words) || (words & (words - 1)) !== 0) this.fail('word', `${this.width} bits are not a power-of-two number of ${width}-bit words`);
    if (index.signed) this.fail('word', 'index must be unsigned');
    const ib = Math.max(1, Math.ceil(Math.log2(this.width)));
    if (words === 1) return this.slice(width - 1, 0);
    const k = Math.log2(words);
    const idx = index.width >= k ? index.trunc(k) : index.zext(k);
    // Offset = index · width: a shift when width is a power of two, else a constant multiply.
    const pow2 = (width & (width - 1)) === 0;
    const off = pow2
      ? idx.zext(ib - Math.log2(width)).shl(Math.log2(width))
      : idx.zext(ib).mul(new Signal(this.mod, this.mod.constant(BigInt(width), ib, false))).trunc(ib);
    return this.wrap('partSel', [this.id, off.id], width, false, { amount: width });
  }
  /** The most significant bit (the sign bit of a signed value). */
  msb(): Signal { return this.bit(this.width - 1); }

  /** Sign-extend to w bits (w ≥ width). */
  sext(w: number): Signal {
    if (w < this.width) this.fail('sext', `cannot sign-extend ${this.width} bits to ${w}`);
    return w === this.width ? this : this.wrap('sext', [this.id], w, this.signed);
  }
  /** Zero-extend to w bits (w ≥ width). */
  zext(w: number): Signal {
    if (w < this.width) this.fail('zext', `cannot zero-extend ${this.width} bits to ${w}`);
    return w === this.width ? this : this.wrap('zext', [this.id], w, this.signed);
  }
  /** Extend by this signal's own signedness. */
  ext(w: number): Signal { return this.signed ? this.sext(w) : this.zext(w); }
  /** Explicit truncation to the low w bits (keeps signedness). */
  trunc(w: number): Signal {
    if (w > this.width || w < 1) this.fail('trunc', `cannot truncate ${this.width} bits to ${w}`);
    return w === this.width ? this : this.wrap('trunc', [this.id], w, this.signed);
  }
  /** The same bits read as signed. */
  asSigned(): Signal { return this.signed ? this : this.wrap('asSigned', [this.id], this.width, true); }
  /** The same bits read as unsigned. */
  asUnsigned(): Signal { return this.signed ? this.wrap('asUnsigned', [this.id], this.width, false) : this; }

  /** a == b, 1-bit. */
  eq(b: Operand): Signal { return this.op2('eq', b, 1, false); }
  /** a != b, 1-bit. */
  ne(b: Operand): Signal { return this.op2('ne', b, 1, false); }
  /** a < b by the operands' signedness, 1-bit. */
  lt(b: Operand): Signal { return this.op2('lt', b, 1, false); }
  /** a <= b by the operands' signedness, 1-bit. */
  le(b: Operand): Signal { return this.op2('le', b, 1, false); }
  /** a > b by the operands' signedness, 1-bit. */
  gt(b: Operand): Signal { return this.op2('gt', b, 1, false); }
  /** a >= b by the operands' signedness, 1-bit. */
  ge(b: Operand): Signal { return this.op2('ge', b, 1, false); }

  /** AND of all bits, 1-bit. */
  redAnd(): Signal { return this.wrap('redAnd', [this.id], 1, false); }
  /** OR of all bits, 1-bit. */
  redOr(): Signal { return this.wrap('redOr', [this.id], 1, false); }
  /** XOR of all bits (parity), 1-bit. */
  redXor(): Signal { return this.wrap('redXor', [this.id], 1, false); }

  /** 1-bit select: this ? a : b. */
  select(a: Operand, b: Operand): Signal {
    if (this.width !== 1) this.fail('select', `select needs a 1-bit condition, got ${describe(this)}`);
    const sa = a instanceof Signal ? a : b instanceof Signal ? b.operandOf(a) : this.fail('select', 'one branch must be a signal');
    const sb = b instanceof Signal ? b : sa.operandOf(b);
    if (sa.width !== sb.width || sa.signed !== sb.signed) this.fail('select', `branch types differ: ${describe(sa)} vs ${describe(sb)}`);
    return this.wrap('mux', [this.id, sa.id, sb.id], sa.width, sa.signed);
  }

  /** A constant of this signal's type. */
  operandOf(v: Operand): Signal { return this.operand('const', v); }

  /** Give this value a readable name in the emitted Verilog. */
  named(name: string): Signal {
    return new Signal(this.mod, this.mod.nameNet(this.id, name));
  }
}

/** "signed 8-bit" / "unsigned 1-bit": a signal's type, as error messages print it. */
export function describe(s: Signal): string {
  return `${s.signed ? 'signed' : 'unsigned'} ${s.width}-bit`;
}
