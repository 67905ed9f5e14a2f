// The frozen IR that the DSL builds: one SSA net per value, each with a single driver.

export type NetId = number;

/** Operators on nets. Width rules are in dsl/ir/checks.ts (checkWidths). */
export type OpKind =
  | 'const'
  | 'add' | 'sub' | 'mul'
  | 'and' | 'or' | 'xor' | 'not' | 'neg'
  | 'shlConst' | 'shrConst' | 'shl' | 'shr'
  | 'slice' | 'concat' | 'sext' | 'zext' | 'trunc' | 'asSigned' | 'asUnsigned'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'
  | 'mux'
  | 'redAnd' | 'redOr' | 'redXor'
  /** Indexed part select a[idx +: amount]: a ROM bit site read at a variable offset. */
  | 'partSel';

export type Driver =
  /** A module input port. */
  | { readonly kind: 'input' }
  /** A combinational operator. `value` for const, `hi`/`lo` for slice, `amount` for constant shifts. */
  | {
      readonly kind: 'op';
      readonly op: OpKind;
      readonly args: readonly NetId[];
      readonly value?: bigint;
      readonly hi?: number;
      readonly lo?: number;
      readonly amount?: number;
    }
  /** A declared wire: must end with exactly one source (checked). */
  | { readonly kind: 'wire'; readonly sources: readonly NetId[] }
  /** A D flip-flop bank: synchronous active-high reset, optional enable. */
  | {
      readonly kind: 'reg';
      readonly clock: NetId;
      readonly reset?: NetId;
      readonly resetValue: bigint;
      readonly enable?: NetId;
      readonly next: readonly NetId[];
    }
  /** A ROM read: combinational (`clock` absent) or registered (synchronous, like block RAM). */
  | { readonly kind: 'rom'; readonly rom: number; readonly addr: NetId; readonly clock?: NetId }
  /** The registered read data of one SRAM port (read-first). */
  | { readonly kind: 'ram'; readonly ram: number; readonly port: number }
  /** An output port of a child instance. */
  | { readonly kind: 'inst'; readonly inst: number; readonly port: string };

/** One net: an SSA value with a width, a signedness and exactly one driver. */
export interface IrNet {
  readonly id: NetId;
  /** Name given in the DSL, or undefined for anonymous intermediate values. Legalized when printed. */
  readonly name?: string;
  readonly width: number;
  readonly signed: boolean;
  readonly driver: Driver;
}

/** A module port: its direction, width and the net that carries it. */
export interface IrPort {
  readonly name: string;
  readonly dir: 'input' | 'output';
  readonly net: NetId;
  readonly width: number;
  readonly signed: boolean;
  /** Input marked as intentionally unused (checked: otherwise every input must be read). */
  readonly unused?: boolean;
  /** Input is a clock. */
  readonly clock?: boolean;
  /** A constant output's words, low bits first, each with a comment saying what it holds (mask ROMs). */
  readonly layout?: readonly WordNote[];
}

/** `width` bits of a constant and what they hold, e.g. `layer 0 q_proj rows 0-15 cols 64-127`. */
export interface WordNote {
  readonly width: number;
  readonly note: string;
}

/** A ROM: fixed words of `width` bits, word 0 first. */
export interface IrRom {
  readonly name: string;
  readonly width: number;
  readonly contents: readonly bigint[];
  /** What each word holds, printed beside it. */
  readonly notes?: readonly string[];
}

/** One read/write port of an SRAM: registered, read-first data. */
export interface IrRamPort {
  readonly clock: NetId;
  readonly addr: NetId;
  readonly writeData?: NetId;
  readonly writeEnable?: NetId;
  /** The net carrying the registered read data of this port. */
  readonly readData: NetId;
}

/** An SRAM of `depth` words of `width` bits with its ports. */
export interface IrRam {
  readonly name: string;
  readonly width: number;
  readonly depth: number;
  readonly ports: readonly IrRamPort[];
}

/** A child module instance and the parent nets driving its inputs. */
export interface IrInstance {
  readonly name: string;
  readonly module: IrModule;
  /** Child input port name → parent net. */
  readonly inputs: Readonly<Record<string, NetId>>;
  /** The source line that made it (`path/from/repo/root.ts:123`), printed beside it. */
  readonly src?: string;
}

/** A frozen, checked module: what ModuleBuilder.build() returns and the printer and evaluator read. */
export interface IrModule {
  readonly name: string;
  /** One line describing the module, printed as a comment (sanitized). */
  readonly doc?: string;
  /** The source line that made it (`path/from/repo/root.ts:123`), printed in its header. */
  readonly src?: string;
  /** Elaboration parameters (plain generator arguments), printed in the header comment. */
  readonly params: Readonly<Record<string, string | number | boolean>>;
  readonly ports: readonly IrPort[];
  readonly nets: readonly IrNet[];
  readonly roms: readonly IrRom[];
  readonly rams: readonly IrRam[];
  readonly instances: readonly IrInstance[];
}

/** All ones in the low `width` bits. */
export function mask(width: number): bigint {
  return (1n << BigInt(width)) - 1n;
}

/** Interpret raw bits as a signed or unsigned value. */
export function toSigned(raw: bigint, width: number): bigint {
  return raw >> BigInt(width - 1) & 1n ? raw - (1n << BigInt(width)) : raw;
}

/** Every module reachable from `top` (children first, then top), each name once. */
export function collectModules(top: IrModule): IrModule[] {
  const out: IrModule[] = [];
  const seen = new Map<string, IrModule>();
  const visit = (m: IrModule): void => {
    const prev = seen.get(m.name);
    if (prev) return;
    seen.set(m.name, m);
    for (const inst of m.instances) visit(inst.module);
    out.push(m);
  };
  visit(top);
  return out;
}
