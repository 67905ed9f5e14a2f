// IR check phases, run on every build(): names, drivers, widths, unused inputs, combinational loops.
import type { IrModule, IrNet, NetId } from './types.ts';
import { mask } from './types.ts';
import { illegalReason } from './names.ts';

export type CheckPhase = 'names' | 'drivers' | 'widths' | 'inputs' | 'loops';

/** A check phase refused the IR: names the phase, the module, the signal and the problem. */
export class IrCheckError extends Error {
  constructor(readonly phase: CheckPhase, readonly module: string, readonly signal: string, readonly problem: string) {
    super(`IR check '${phase}' failed in module '${module}', signal '${signal}': ${problem}`);
    this.name = 'IrCheckError';
  }
}

export function netLabel(m: IrModule, id: NetId): string {
  const n = m.nets[id];
  return n?.name ?? `_t${id}`;
}

function ty(n: IrNet): string {
  return `${n.signed ? 'signed' : 'unsigned'} ${n.width}-bit`;
}

/** Run every check phase in order (names, drivers, widths, unused inputs, loops); ModuleBuilder.build() calls it. */
export function runChecks(m: IrModule): void {
  checkNames(m);
  checkDrivers(m);
  checkWidths(m);
  checkInputsUsed(m);
  checkLoops(m);
}

export function checkNames(m: IrModule): void {
  const bad = illegalReason(m.name);
  if (bad) throw new IrCheckError('names', m.name, m.name, `module name ${bad}`);
  const seen = new Set<string>();
  for (const p of m.ports) {
    const why = illegalReason(p.name);
    if (why) throw new IrCheckError('names', m.name, p.name, `port name ${why}`);
    if (seen.has(p.name)) throw new IrCheckError('names', m.name, p.name, 'two ports have this name');
    seen.add(p.name);
  }
  const insts = new Set<string>();
  for (const i of m.instances) {
    if (insts.has(i.name)) throw new IrCheckError('names', m.name, i.name, 'two instances have this name');
    insts.add(i.name);
  }
  // One module name, one design: children with the same name must be the same structure.
  const byName = new Map<string, IrModule>();
  const walk = (x: IrModule): void => {
    for (const i of x.instances) {
      const prev = byName.get(i.module.name);
      if (prev && prev !== i.module && fingerprint(prev) !== fingerprint(i.module)) {
        throw new IrCheckError('names', m.name, i.name, `two different modules are both named '${i.module.name}'`);
      }
      if (!prev) { byName.set(i.module.name, i.module); walk(i.module); }
    }
  };
  walk(m);
  if (byName.has(m.name)) throw new IrCheckError('names', m.name, m.name, 'module instantiates a module with its own name');
}

const prints = new WeakMap<IrModule, string>();
function fingerprint(m: IrModule): string {
  let s = prints.get(m);
  if (s === undefined) {
    // Source locators say where a module was made, not what it is: two sites may build one structure.
    s = JSON.stringify(m, (k, v) => (k === 'src' ? undefined : typeof v === 'bigint' ? `${v}n` : v));
    prints.set(m, s);
  }
  return s;
}

export function checkDrivers(m: IrModule): void {
  for (const n of m.nets) {
    const d = n.driver;
    if (d.kind === 'wire' && d.sources.length !== 1) {
      throw new IrCheckError('drivers', m.name, netLabel(m, n.id), d.sources.length === 0 ? 'has no driver' : `has ${d.sources.length} drivers (exactly one allowed)`);
    }
    if (d.kind === 'reg' && d.next.length !== 1) {
      throw new IrCheckError('drivers', m.name, netLabel(m, n.id), d.next.length === 0 ? 'register has no next value' : `register has ${d.next.length} next values (exactly one allowed)`);
    }
  }
  for (const r of m.rams) {
    const writers = r.ports.filter((p) => p.writeData !== undefined).length;
    if (writers > 2) throw new IrCheckError('drivers', m.name, r.name, `RAM has ${writers} write ports (at most 2)`);
  }
}

export function checkWidths(m: IrModule): void {
  const fail = (id: NetId, msg: string): never => { throw new IrCheckError('widths', m.name, netLabel(m, id), msg); };
  const net = (id: NetId): IrNet => m.nets[id];
  const sameTy = (id: NetId, a: NetId, what: string): void => {
    if (net(a).width !== net(id).width || net(a).signed !== net(id).signed) fail(id, `${what} is ${ty(net(a))}, expected ${ty(net(id))}`);
  };
  const oneBit = (id: NetId, s: NetId | undefined, what: string): void => {
    if (s !== undefined && net(s).width !== 1) fail(id, `${what} '${netLabel(m, s)}' must be 1 bit, is ${net(s).width}`);
  };
  for (const n of m.nets) {
    const d = n.driver;
    if (d.kind === 'wire') d.sources.forEach((s) => sameTy(n.id, s, `driver '${netLabel(m, s)}'`));
    else if (d.kind === 'reg') {
      d.next.forEach((s) => sameTy(n.id, s, `next value '${netLabel(m, s)}'`));
      oneBit(n.id, d.clock, 'clock'); oneBit(n.id, d.reset, 'reset'); oneBit(n.id, d.enable, 'enable');
      if (d.resetValue < 0n || d.resetValue > mask(n.width)) fail(n.id, `reset value ${d.resetValue} does not fit ${n.width} bits`);
    } else if (d.kind === 'rom') {
      const rom = m.roms[d.rom];
      if (rom.width !== n.width) fail(n.id, `ROM '${rom.name}' is ${rom.width} bits wide, read as ${n.width}`);
      if (net(d.addr).signed) fail(n.id, 'ROM address must be unsigned');
      if (rom.contents.length > 2 ** net(d.addr).width) fail(n.id, `ROM '${rom.name}' has ${rom.contents.length} words, more than its ${net(d.addr).width}-bit address reaches`);
      oneBit(n.id, d.clock, 'clock');
    } else if (d.kind === 'ram') {
      const r = m.rams[d.ram];
      const p = r.ports[d.port];
      if (n.width !== r.width) fail(n.id, `RAM '${r.name}' is ${r.width} bits wide, read as ${n.width}`);
      if (2 ** net(p.addr).width !== r.depth) fail(n.id, `RAM '${r.name}' address must be ${Math.log2(r.depth)} bits`);
      if (p.writeData !== undefined && net(p.writeData).width !== r.width) fail(n.id, `RAM '${r.name}' write data is ${net(p.writeData).width} bits, RAM is ${r.width}`);
      oneBit(n.id, p.clock, 'clock'); oneBit(n.id, p.writeEnable, 'write enable');
    } else if (d.kind === 'inst') {
      const inst = m.instances[d.inst];
      const cp = inst.module.ports.find((p) => p.name === d.port && p.dir === 'output');
      if (!cp) fail(n.id, `instance '${inst.name}' of '${inst.module.name}' has no output '${d.port}'`);
      else if (cp.width !== n.width) fail(n.id, `instance '${inst.name}' output '${d.port}' is ${cp.width} bits, connected to ${n.width}`);
    } else if (d.kind === 'op') {
      checkOp(m, n, fail);
    }
  }
  for (const inst of m.instances) {
    const failI = (msg: string): never => { throw new IrCheckError('widths', m.name, inst.name, msg); };
    for (const p of inst.module.ports) {
      if (p.dir !== 'input') continue;
      const src = inst.inputs[p.name];
      if (src === undefined) failI(`input '${p.name}' of '${inst.module.name}' is not connected`);
      else if (net(src).width !== p.width) failI(`input '${p.name}' is ${p.width} bits, connected to ${net(src).width}-bit '${netLabel(m, src)}'`);
    }
    for (const k of Object.keys(inst.inputs)) {
      if (!inst.module.ports.some((p) => p.name === k && p.dir === 'input')) failI(`'${inst.module.name}' has no input '${k}'`);
    }
  }
}

function checkOp(m: IrModule, n: IrNet, fail: (id: NetId, msg: string) => never): void {
  const d = n.driver;
  if (d.kind !== 'op') return;
  const a = d.args.map((x) => m.nets[x]);
  const arity = (k: number): void => { if (a.length !== k) fail(n.id, `${d.op} takes ${k} operands, has ${a.length}`); };
  const same = (x: IrNet, y: IrNet): void => {
    if (x.width !== y.width || x.signed !== y.signed) fail(n.id, `${d.op} operands differ: ${ty(x)} vs ${ty(y)}`);
  };
  const result = (w: number, s: boolean): void => {
    if (n.width !== w || n.signed !== s) fail(n.id, `${d.op} result must be ${s ? 'signed' : 'unsigned'} ${w}-bit, is ${ty(n)}`);
  };
  switch (d.op) {
    case 'const':
      arity(0);
      if (d.value === undefined || d.value < 0n || d.value > mask(n.width)) fail(n.id, `constant does not fit ${n.width} bits`);
      return;
    case 'add': case 'sub': case 'and': case 'or': case 'xor':
      arity(2); same(a[0], a[1]); result(a[0].width, a[0].signed); return;
    case 'not': case 'neg':
      arity(1); result(a[0].width, a[0].signed); return;
    case 'mul':
      arity(2);
      if (a[0].signed !== a[1].signed) fail(n.id, 'mul operands differ in signedness');
      result(a[0].width + a[1].width, a[0].signed); return;
    case 'shlConst':
      arity(1); result(a[0].width + (d.amount ?? 0), a[0].signed); return;
    case 'shrConst':
      arity(1);
      if (d.amount === undefined || d.amount < 0 || d.amount >= a[0].width) fail(n.id, 'shift amount out of range');
      result(a[0].width, a[0].signed); return;
    case 'shl': case 'shr':
      arity(2); if (a[1].signed) fail(n.id, 'shift amount must be unsigned'); result(a[0].width, a[0].signed); return;
    case 'slice':
      arity(1);
      if (d.hi === undefined || d.lo === undefined || d.lo < 0 || d.hi < d.lo || d.hi >= a[0].width) fail(n.id, `slice [${d.hi}:${d.lo}] out of range of ${a[0].width} bits`);
      result(d.hi - d.lo + 1, false); return;
    case 'concat':
      if (a.length < 1) fail(n.id, 'concat of nothing');
      result(a.reduce((s, x) => s + x.width, 0), false); return;
    case 'sext': case 'zext':
      arity(1); if (n.width < a[0].width) fail(n.id, `${d.op} narrows ${a[0].width} to ${n.width} bits`);
      if (n.signed !== a[0].signed) fail(n.id, `${d.op} changes signedness`); return;
    case 'trunc':
      arity(1); if (n.width > a[0].width) fail(n.id, `trunc widens ${a[0].width} to ${n.width} bits`);
      if (n.signed !== a[0].signed) fail(n.id, 'trunc changes signedness'); return;
    case 'asSigned': arity(1); result(a[0].width, true); return;
    case 'asUnsigned': arity(1); result(a[0].width, false); return;
    case 'eq': case 'ne': case 'lt': case 'le': case 'gt': case 'ge':
      arity(2); same(a[0], a[1]); result(1, false); return;
    case 'mux':
      arity(3); if (a[0].width !== 1) fail(n.id, `mux select must be 1 bit, is ${a[0].width}`);
      same(a[1], a[2]); result(a[1].width, a[1].signed); return;
    case 'redAnd': case 'redOr': case 'redXor':
      arity(1); result(1, false); return;
    case 'partSel': {
      arity(2);
      const w = d.amount ?? 0;
      if (w < 1 || w > a[0].width) fail(n.id, `part select of ${w} bits out of ${a[0].width}`);
      // The index has exactly the bits that address every bit of the operand (Verilator -Wall WIDTH).
      const iw = Math.max(1, Math.ceil(Math.log2(a[0].width)));
      if (a[1].signed || a[1].width !== iw) fail(n.id, `part-select index must be unsigned ${iw}-bit, is ${ty(a[1])}`);
      result(w, false); return;
    }
  }
}

/** Nets each net reads combinationally (registers, synchronous ROM and RAM outputs break paths). */
export function combDeps(m: IrModule, id: NetId): NetId[] {
  const d = m.nets[id].driver;
  switch (d.kind) {
    case 'op': return [...d.args];
    case 'wire': return [...d.sources];
    case 'rom': return d.clock === undefined ? [d.addr] : [];
    case 'inst': {
      const inst = m.instances[d.inst];
      return outputDependsOn(inst.module, d.port).map((p) => inst.inputs[p]).filter((x) => x !== undefined);
    }
    default: return [];
  }
}

/** Every net a net reads at all (for usage), including through flops and memories. */
export function allReads(m: IrModule): NetId[] {
  const out: NetId[] = [];
  for (const n of m.nets) {
    const d = n.driver;
    if (d.kind === 'op') out.push(...d.args);
    else if (d.kind === 'wire') out.push(...d.sources);
    else if (d.kind === 'reg') { out.push(d.clock, ...d.next); if (d.reset !== undefined) out.push(d.reset); if (d.enable !== undefined) out.push(d.enable); }
    else if (d.kind === 'rom') { out.push(d.addr); if (d.clock !== undefined) out.push(d.clock); }
  }
  for (const r of m.rams) for (const p of r.ports) {
    out.push(p.clock, p.addr);
    if (p.writeData !== undefined) out.push(p.writeData);
    if (p.writeEnable !== undefined) out.push(p.writeEnable);
  }
  for (const i of m.instances) out.push(...Object.values(i.inputs));
  return out;
}

const depCache = new WeakMap<IrModule, Map<string, string[]>>();
/** Input ports of `m` that output `port` depends on combinationally. */
export function outputDependsOn(m: IrModule, port: string): string[] {
  let cache = depCache.get(m);
  if (!cache) { cache = new Map(); depCache.set(m, cache); }
  const hit = cache.get(port);
  if (hit) return hit;
  const p = m.ports.find((x) => x.name === port && x.dir === 'output');
  const found = new Set<string>();
  if (p) {
    const inputByNet = new Map(m.ports.filter((x) => x.dir === 'input').map((x) => [x.net, x.name]));
    const seen = new Set<NetId>();
    const stack = [p.net];
    while (stack.length) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const name = inputByNet.get(id);
      if (name !== undefined) found.add(name);
      stack.push(...combDeps(m, id));
    }
  }
  const res = [...found].sort();
  cache.set(port, res);
  return res;
}

export function checkInputsUsed(m: IrModule): void {
  const read = new Set(allReads(m));
  for (const p of m.ports) {
    if (p.dir === 'output') { read.add(p.net); continue; }
    if (!p.unused && !read.has(p.net)) throw new IrCheckError('inputs', m.name, p.name, 'input is never used (use it or mark it { unused: true })');
  }
}

/** Topological order of all nets by combinational dependencies; throws on a loop. */
export function combOrder(m: IrModule): NetId[] {
  const state = new Uint8Array(m.nets.length); // 0 new, 1 on stack, 2 done
  const order: NetId[] = [];
  for (const start of m.nets) {
    if (state[start.id]) continue;
    const stack: { id: NetId; deps: NetId[]; i: number }[] = [{ id: start.id, deps: combDeps(m, start.id), i: 0 }];
    state[start.id] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.i < top.deps.length) {
        const d = top.deps[top.i++];
        if (state[d] === 1) {
          const loop = stack.slice(stack.findIndex((s) => s.id === d)).map((s) => netLabel(m, s.id));
          throw new IrCheckError('loops', m.name, netLabel(m, d), `combinational loop: ${[...loop, netLabel(m, d)].join(' -> ')}`);
        }
        if (state[d] === 0) { state[d] = 1; stack.push({ id: d, deps: combDeps(m, d), i: 0 }); }
      } else {
        state[top.id] = 2;
        order.push(top.id);
        stack.pop();
      }
    }
  }
  return order;
}

export function checkLoops(m: IrModule): void {
  combOrder(m);
}
