// ModuleBuilder: declares ports, wires, registers, ROMs, SRAMs and instances; build() freezes and checks the IR.
import type { Driver, IrInstance, IrModule, IrNet, IrPort, IrRam, IrRamPort, IrRom, NetId, OpKind, WordNote } from './ir/types.ts';
import { mask } from './ir/types.ts';
import { DslError, Signal, describe, type NetSink } from './signal.ts';
import { runChecks } from './ir/checks.ts';
import { opFn } from './eval.ts';
import { callerSite } from './ir/src.ts';

interface MutNet {
  id: NetId;
  name?: string;
  width: number;
  signed: boolean;
  driver: Driver;
}

/** A declared wire: drive it exactly once (checked in build()). */
export class Wire extends Signal {
  /** Drive this wire from `src` (same width and signedness). */
  drive(src: Signal): void {
    (this.mod as ModuleBuilder).addSource(this.id, src);
  }
}

/** A register: give its next value with next() (allows feedback loops through the flop). */
export class Reg extends Signal {
  /** The value this register takes at the next enabled clock edge. */
  next(src: Signal): void {
    (this.mod as ModuleBuilder).setRegNext(this.id, src);
  }
}

/** How a register is clocked, reset and enabled (see ModuleBuilder.reg). */
export interface RegOptions {
  width: number;
  signed?: boolean;
  clock: Signal;
  /** Synchronous active-high reset. */
  reset?: Signal;
  resetValue?: bigint;
  enable?: Signal;
}

/**
 * Builds one module: declare ports (`input`, `clock`, `output`), values (`const`, `wire`, `reg`, `rom`,
 * `ram`) and child `instance`s, then `build()` freezes the IR and runs every check phase.
 */
export class ModuleBuilder implements NetSink {
  private readonly nets: MutNet[] = [];
  private readonly ports: IrPort[] = [];
  private readonly roms: IrRom[] = [];
  private readonly rams: { name: string; width: number; depth: number; ports: IrRamPort[] }[] = [];
  private readonly instances: IrInstance[] = [];
  private readonly consts = new Map<string, NetId>();
  private built?: IrModule;
  /** The generator line that made this module (printed in its header). */
  private readonly src = callerSite();

  constructor(
    readonly name: string,
    readonly opts: { doc?: string; params?: Record<string, string | number | boolean> } = {},
  ) {}

  // ---- NetSink ----
  /** NetSink: the width of net `id`. */
  netWidth(id: NetId): number { return this.nets[id].width; }
  /** NetSink: whether net `id` is signed. */
  netSigned(id: NetId): boolean { return this.nets[id].signed; }

  private newNet(width: number, signed: boolean, driver: Driver, name?: string): NetId {
    if (this.built) throw new DslError(`module '${this.name}': already built; cannot add to it`);
    if (!Number.isInteger(width) || width < 1) throw new DslError(`module '${this.name}': bad width ${width}${name ? ` for '${name}'` : ''}`);
    const id = this.nets.length;
    this.nets.push({ id, name, width, signed, driver });
    return id;
  }

  /** NetSink: a new operator net, after constant folding and identities (Signal's operators call it). */
  addOp(op: OpKind, args: NetId[], width: number, signed: boolean, extra: { value?: bigint; hi?: number; lo?: number; amount?: number } = {}): NetId {
    // Constant folding (as CIRCT canonicalizes): an op of constants is a constant, and comparing a net
    // with itself is decided. Verilator's lint flags comparisons that are constant after its own folding.
    if (op !== 'const' && args.length > 0 && args.every((a) => this.constValue(a) !== undefined)) {
      const fake = args.map((a, i) => ({ ...this.nets[a], id: i }));
      const res = { id: args.length, width, signed, driver: { kind: 'op' as const, op, args: args.map((_a, i) => i), ...extra } };
      const v = opFn(res, [...fake, res])(args.map((a) => this.constValue(a)!));
      return this.constant(v, width, signed);
    }
    // Identities with 0 and all-ones (Verilator's V3Const applies them before its CMPCONST/UNSIGNED lint).
    if (args.length === 2 && ['and', 'or', 'xor', 'add', 'sub', 'mul'].includes(op)) {
      const full = mask(width);
      for (const [k, other] of [[0, 1], [1, 0]] as const) {
        const c = this.constValue(args[k]);
        if (c === undefined) continue;
        if (c === 0n && (op === 'or' || op === 'xor' || op === 'add' || (op === 'sub' && k === 1))) return args[other];
        if (c === 0n && (op === 'and' || op === 'mul')) return this.constant(0n, width, signed);
        if (c === full && op === 'and') return args[other];
        if (c === full && op === 'or') return this.constant(full, width, signed);
      }
    }
    if (op === 'shl' || op === 'shr') {
      const a = this.constValue(args[0]);
      const k = this.constValue(args[1]);
      if (a === 0n) return args[0]; // 0 shifted is 0
      if (k === 0n) return args[0];
      if (k !== undefined && k >= BigInt(width) && (op === 'shl' || !signed)) return this.constant(0n, width, signed);
    }
    if (op === 'mux' && this.constValue(args[0]) !== undefined) return this.constValue(args[0]) ? args[1] : args[2];
    if (op === 'mux' && args[1] === args[2]) return args[1];
    if (args.length === 2 && args[0] === args[1]) {
      if (['eq', 'ne', 'lt', 'le', 'gt', 'ge'].includes(op)) return this.constant(op === 'eq' || op === 'le' || op === 'ge' ? 1n : 0n, 1, false);
      if (op === 'xor' || op === 'sub') return this.constant(0n, width, signed);
      if (op === 'and' || op === 'or') return args[0];
    }
    return this.newNet(width, signed, { kind: 'op', op, args, ...extra });
  }

  /** NetSink: the net of a constant, one per distinct (width, signedness, value). */
  constant(value: bigint, width: number, signed: boolean): NetId {
    const raw = value & mask(width);
    const key = `${width}:${signed}:${raw}`;
    const hit = this.consts.get(key);
    if (hit !== undefined) return hit;
    const id = this.addOp('const', [], width, signed, { value: raw });
    this.consts.set(key, id);
    return id;
  }

  constValue(id: NetId): bigint | undefined {
    const d = this.nets[id].driver;
    return d.kind === 'op' && d.op === 'const' ? d.value : undefined;
  }

  /** NetSink: name net `id`, or add a named alias of it when it cannot take the name (a constant, an input, a named net). */
  nameNet(id: NetId, name: string): NetId {
    const n = this.nets[id];
    if (n.name === undefined && n.driver.kind === 'op' && n.driver.op !== 'const') {
      n.name = name;
      return id;
    }
    return this.newNet(n.width, n.signed, { kind: 'wire', sources: [id] }, name);
  }

  // ---- ports ----
  /** Declare an input port; `unused: true` marks one that is deliberately not read. */
  input(name: string, width: number, opts: { signed?: boolean; unused?: boolean } = {}): Signal {
    const net = this.newNet(width, opts.signed ?? false, { kind: 'input' }, name);
    this.ports.push({ name, dir: 'input', net, width, signed: opts.signed ?? false, unused: opts.unused });
    return new Signal(this, net);
  }

  /** Declare the clock input (1 bit); registers, clocked ROM reads and RAM ports use it. */
  clock(name = 'clk', opts: { unused?: boolean } = {}): Signal {
    const net = this.newNet(1, false, { kind: 'input' }, name);
    this.ports.push({ name, dir: 'input', net, width: 1, signed: false, clock: true, unused: opts.unused });
    return new Signal(this, net);
  }

  /** An output port; `layout` says what each word of a constant output holds (printed word by word). */
  output(name: string, src: Signal, opts: { layout?: readonly WordNote[] } = {}): void {
    if (opts.layout) {
      const covered = opts.layout.reduce((s, w) => s + w.width, 0);
      if (covered !== src.width || opts.layout.some((w) => !Number.isInteger(w.width) || w.width < 1)) throw new DslError(`module '${this.name}': output '${name}' layout covers ${covered} of ${src.width} bits`);
      if (this.constValue(src.id) === undefined) throw new DslError(`module '${this.name}': output '${name}' has a layout but is not a constant`);
    }
    const net = this.newNet(src.width, src.signed, { kind: 'wire', sources: [src.id] }, name);
    this.ports.push({ name, dir: 'output', net, width: src.width, signed: src.signed, ...(opts.layout ? { layout: [...opts.layout] } : {}) });
  }

  // ---- values ----
  /** A constant of the given type; the value must fit. */
  const(value: bigint | number, width: number, signed = false): Signal {
    const v = BigInt(value);
    const lo = signed ? -(1n << BigInt(width - 1)) : 0n;
    const hi = signed ? (1n << BigInt(width - 1)) - 1n : mask(width);
    if (v < lo || v > hi) throw new DslError(`module '${this.name}': constant ${v} does not fit ${signed ? 'signed' : 'unsigned'} ${width} bits`);
    return new Signal(this, this.constant(v, width, signed));
  }

  /** Declare a wire to be driven later with drive(). */
  wire(name: string, width: number, signed = false): Wire {
    return new Wire(this, this.newNet(width, signed, { kind: 'wire', sources: [] }, name));
  }

  /** Add a source to declared wire `id` (Wire.drive calls it; build() checks there is exactly one). */
  addSource(id: NetId, src: Signal): void {
    const n = this.nets[id];
    if (n.driver.kind !== 'wire') throw new DslError(`module '${this.name}': '${n.name}' is not a declared wire`);
    n.driver = { kind: 'wire', sources: [...n.driver.sources, src.id] };
  }

  /** Declare a register; give its next value with Reg.next(). */
  reg(name: string, o: RegOptions): Reg {
    const signed = o.signed ?? false;
    const rv = o.resetValue ?? 0n;
    const id = this.newNet(o.width, signed, {
      kind: 'reg', clock: o.clock.id, reset: o.reset?.id, resetValue: rv & mask(o.width), enable: o.enable?.id, next: [],
    }, name);
    return new Reg(this, id);
  }

  /** A register holding `d` (delayed by one enabled clock). */
  delay(name: string, d: Signal, o: Omit<RegOptions, 'width' | 'signed'>): Signal {
    const r = this.reg(name, { ...o, width: d.width, signed: d.signed });
    r.next(d);
    return r;
  }

  /** Set the next value of register `id` (Reg.next calls it). */
  setRegNext(id: NetId, src: Signal): void {
    const n = this.nets[id];
    if (n.driver.kind !== 'reg') throw new DslError(`module '${this.name}': '${n.name}' is not a register`);
    n.driver = { ...n.driver, next: [...n.driver.next, src.id] };
  }

  /** sel ? whenTrue : whenFalse (a 1-bit sel; branches of the same type). */
  mux(sel: Signal, whenTrue: Signal, whenFalse: Signal): Signal {
    return sel.select(whenTrue, whenFalse);
  }

  /** Concatenation, first argument in the most significant bits (as in Verilog). */
  cat(...parts: Signal[]): Signal {
    if (parts.length === 0) throw new DslError(`module '${this.name}': cat of nothing`);
    if (parts.length === 1) return parts[0].asUnsigned();
    const w = parts.reduce((s, p) => s + p.width, 0);
    return new Signal(this, this.addOp('concat', parts.map((p) => p.id), w, false));
  }

  /** A ROM with fixed contents; read() it combinationally or with a clock (registered, block-RAM style). */
  rom(name: string, width: number, contents: readonly bigint[], opts: { notes?: readonly string[] } = {}): { read(addr: Signal, clock?: Signal): Signal } {
    if (contents.length < 1) throw new DslError(`module '${this.name}': ROM '${name}' is empty`);
    if (opts.notes && opts.notes.length !== contents.length) throw new DslError(`module '${this.name}': ROM '${name}' has ${contents.length} words but ${opts.notes.length} notes`);
    for (const [i, v] of contents.entries()) {
      if (v < 0n || v > mask(width)) throw new DslError(`module '${this.name}': ROM '${name}' word ${i} = ${v} does not fit ${width} bits`);
    }
    const rom = this.roms.length;
    this.roms.push({ name, width, contents: [...contents], ...(opts.notes ? { notes: [...opts.notes] } : {}) });
    return {
      read: (addr: Signal, clock?: Signal): Signal => {
        if (addr.signed) throw new DslError(`module '${this.name}': ROM '${name}' address must be unsigned, got ${describe(addr)}`);
        const k = this.constValue(addr.id);
        // A constant address reads a constant (and an always @* with no sensitivity would never run in Icarus).
        if (k !== undefined && clock === undefined) return new Signal(this, this.constant(contents[Number(k)] ?? 0n, width, false));
        return new Signal(this, this.newNet(width, false, { kind: 'rom', rom, addr: addr.id, clock: clock?.id }, `${name}_q`));
      },
    };
  }

  /** An SRAM of depth 2^addrBits; each port() adds a read/write port with registered, read-first data. */
  ram(name: string, width: number, addrBits: number): { port(p: { clock: Signal; addr: Signal; writeData?: Signal; writeEnable?: Signal }): Signal } {
    const ram = this.rams.length;
    const r = { name, width, depth: 2 ** addrBits, ports: [] as IrRamPort[] };
    this.rams.push(r);
    return {
      port: (p): Signal => {
        if (p.addr.width !== addrBits || p.addr.signed) throw new DslError(`module '${this.name}': RAM '${name}' address must be unsigned ${addrBits}-bit, got ${describe(p.addr)}`);
        if (p.writeData && (p.writeData.width !== width)) throw new DslError(`module '${this.name}': RAM '${name}' write data must be ${width} bits, got ${describe(p.writeData)}`);
        if ((p.writeData === undefined) !== (p.writeEnable === undefined)) throw new DslError(`module '${this.name}': RAM '${name}' port needs both writeData and writeEnable, or neither`);
        const readData = this.newNet(width, false, { kind: 'ram', ram, port: r.ports.length }, `${name}_q${r.ports.length}`);
        r.ports.push({ clock: p.clock.id, addr: p.addr.id, writeData: p.writeData?.id, writeEnable: p.writeEnable?.id, readData });
        return new Signal(this, readData);
      },
    };
  }

  /** Instantiate a built child module; returns its outputs by port name. */
  instance(name: string, child: IrModule, inputs: Record<string, Signal>): Record<string, Signal> {
    const inst = this.instances.length;
    const conn: Record<string, NetId> = {};
    for (const [k, s] of Object.entries(inputs)) conn[k] = s.id;
    this.instances.push({ name, module: child, inputs: conn, src: callerSite() });
    const outs: Record<string, Signal> = {};
    for (const p of child.ports) {
      if (p.dir !== 'output') continue;
      outs[p.name] = new Signal(this, this.newNet(p.width, p.signed, { kind: 'inst', inst, port: p.name }, `${name}_${p.name}`));
    }
    return outs;
  }

  /** Freeze into IR and run every check phase; throws IrCheckError on the first failing phase. */
  build(): IrModule {
    if (this.built) return this.built;
    const nets: IrNet[] = this.nets.map((n) => Object.freeze({ ...n }));
    const rams: IrRam[] = this.rams.map((r) => ({ ...r, ports: [...r.ports] }));
    const ir: IrModule = deepFreeze({
      name: this.name,
      doc: this.opts.doc,
      src: this.src,
      params: { ...(this.opts.params ?? {}) },
      ports: [...this.ports],
      nets,
      roms: [...this.roms],
      rams,
      instances: [...this.instances],
    });
    runChecks(ir);
    this.built = ir;
    return ir;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}
