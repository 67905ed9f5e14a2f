// The IR evaluator: the DSL's own cycle-accurate semantics, in bigint, over a flattened hierarchy.
import type { Driver, IrModule, IrNet, IrRam, IrRom, NetId } from './ir/types.ts';
import { mask, toSigned } from './ir/types.ts';
import { combOrder } from './ir/checks.ts';

/** Inline every instance into one net list; child input ports become wires from the parent's nets. */
export function flatten(top: IrModule): IrModule {
  const nets: IrNet[] = [];
  const roms: IrRom[] = [];
  const rams: IrRam[] = [];
  const add = (m: IrModule, prefix: string, inputSrc: Map<NetId, NetId> | undefined): NetId[] => {
    const base = nets.length;
    const romBase = roms.length;
    const ramBase = rams.length;
    const map = (id: NetId): NetId => base + id;
    roms.push(...m.roms);
    for (const r of m.rams) rams.push({ ...r, ports: r.ports.map((p) => ({ clock: map(p.clock), addr: map(p.addr), writeData: p.writeData === undefined ? undefined : map(p.writeData), writeEnable: p.writeEnable === undefined ? undefined : map(p.writeEnable), readData: map(p.readData) })) });
    // Reserve ids first so children can be appended after.
    for (const n of m.nets) nets.push(n);
    const instOut: Map<string, NetId>[] = [];
    for (const inst of m.instances) {
      const childInputs = new Map<NetId, NetId>();
      for (const p of inst.module.ports) if (p.dir === 'input') childInputs.set(p.net, map(inst.inputs[p.name]));
      const childMap = add(inst.module, `${prefix}${inst.name}.`, childInputs);
      const outs = new Map<string, NetId>();
      for (const p of inst.module.ports) if (p.dir === 'output') outs.set(p.name, childMap[p.net]);
      instOut.push(outs);
    }
    for (const n of m.nets) {
      const d = n.driver;
      let nd: Driver;
      switch (d.kind) {
        case 'input': {
          const src = inputSrc?.get(n.id);
          nd = src === undefined ? d : { kind: 'wire', sources: [src] };
          break;
        }
        case 'op': nd = { ...d, args: d.args.map(map) }; break;
        case 'wire': nd = { kind: 'wire', sources: d.sources.map(map) }; break;
        case 'reg': nd = { ...d, clock: map(d.clock), reset: d.reset === undefined ? undefined : map(d.reset), enable: d.enable === undefined ? undefined : map(d.enable), next: d.next.map(map) }; break;
        case 'rom': nd = { kind: 'rom', rom: romBase + d.rom, addr: map(d.addr), clock: d.clock === undefined ? undefined : map(d.clock) }; break;
        case 'ram': nd = { kind: 'ram', ram: ramBase + d.ram, port: d.port }; break;
        case 'inst': nd = { kind: 'wire', sources: [instOut[d.inst].get(d.port)!] }; break;
      }
      nets[map(n.id)] = { id: map(n.id), name: n.name === undefined ? undefined : `${prefix}${n.name}`, width: n.width, signed: n.signed, driver: nd };
    }
    return m.nets.map((n) => map(n.id));
  };
  add(top, '', undefined);
  return { name: top.name, params: top.params, ports: top.ports, nets, roms, rams, instances: [] };
}

type Fn = (v: bigint[]) => bigint;

export function opFn(n: IrNet, nets: readonly IrNet[]): Fn {
  const d = n.driver;
  if (d.kind !== 'op') throw new Error('not an op');
  const m = mask(n.width);
  const [a, b, c] = d.args;
  const wa = a === undefined ? 0 : nets[a].width;
  const sa = a === undefined ? false : nets[a].signed;
  const sv = (x: bigint): bigint => (sa ? toSigned(x, wa) : x);
  switch (d.op) {
    case 'const': { const k = d.value!; return () => k; }
    case 'add': return (v) => (v[a] + v[b]) & m;
    case 'sub': return (v) => (v[a] - v[b]) & m;
    case 'mul': return (v) => (sv(v[a]) * (sa ? toSigned(v[b], nets[b].width) : v[b])) & m;
    case 'and': return (v) => v[a] & v[b];
    case 'or': return (v) => v[a] | v[b];
    case 'xor': return (v) => v[a] ^ v[b];
    case 'not': return (v) => ~v[a] & m;
    case 'neg': return (v) => -v[a] & m;
    case 'shlConst': { const k = BigInt(d.amount!); return (v) => (v[a] << k) & m; }
    case 'shrConst': { const k = BigInt(d.amount!); return (v) => (sv(v[a]) >> k) & m; }
    case 'shl': return (v) => (v[b] >= BigInt(n.width) ? 0n : (v[a] << v[b]) & m);
    case 'shr': return (v) => (sv(v[a]) >> (v[b] >= BigInt(wa) ? BigInt(wa) : v[b])) & m;
    case 'slice': { const lo = BigInt(d.lo!); return (v) => (v[a] >> lo) & m; }
    case 'concat': {
      const parts = d.args.map((x) => ({ x, w: BigInt(nets[x].width) }));
      return (v) => { let r = 0n; for (const p of parts) r = (r << p.w) | v[p.x]; return r; };
    }
    case 'sext': return (v) => toSigned(v[a], wa) & m; // replicates the top bit whatever the declared sign
    case 'zext': case 'asSigned': case 'asUnsigned': return (v) => v[a];
    case 'trunc': return (v) => v[a] & m;
    case 'eq': return (v) => (v[a] === v[b] ? 1n : 0n);
    case 'ne': return (v) => (v[a] !== v[b] ? 1n : 0n);
    case 'lt': return (v) => (sv(v[a]) < sv(v[b]) ? 1n : 0n);
    case 'le': return (v) => (sv(v[a]) <= sv(v[b]) ? 1n : 0n);
    case 'gt': return (v) => (sv(v[a]) > sv(v[b]) ? 1n : 0n);
    case 'ge': return (v) => (sv(v[a]) >= sv(v[b]) ? 1n : 0n);
    case 'mux': return (v) => (v[a] ? v[b] : v[c]);
    case 'redAnd': { const full = mask(wa); return (v) => (v[a] === full ? 1n : 0n); }
    case 'redOr': return (v) => (v[a] !== 0n ? 1n : 0n);
    case 'redXor': return (v) => { let x = v[a], p = 0n; while (x) { p ^= x & 1n; x >>= 1n; } return p; };
    case 'partSel': return (v) => (v[a] >> v[b]) & m;
  }
}

/**
 * Cycle semantics (same as the Verilator harness): step() sets the inputs, settles the logic, samples the
 * outputs, then applies one rising clock edge. State starts at zero. One clock domain.
 */
export class Evaluator {
  readonly flat: IrModule;
  readonly inputs: { name: string; width: number; net: NetId }[];
  readonly outputs: { name: string; width: number; net: NetId }[];
  private readonly v: bigint[];
  private readonly comb: { id: NetId; fn: Fn }[] = [];
  private readonly regs: { id: NetId; next: NetId; reset?: NetId; rv: bigint; en?: NetId }[] = [];
  private readonly syncRoms: { id: NetId; addr: NetId; contents: readonly bigint[] }[] = [];
  private readonly mems: bigint[][];
  cycle = 0;

  constructor(top: IrModule) {
    const f = flatten(top);
    this.flat = f;
    this.v = f.nets.map(() => 0n);
    this.inputs = top.ports.filter((p) => p.dir === 'input' && !p.clock).map((p) => ({ name: p.name, width: p.width, net: p.net }));
    this.outputs = top.ports.filter((p) => p.dir === 'output').map((p) => ({ name: p.name, width: p.width, net: p.net }));
    this.mems = f.rams.map((r) => new Array<bigint>(r.depth).fill(0n));
    for (const id of combOrder(f)) {
      const n = f.nets[id];
      const d = n.driver;
      if (d.kind === 'op') this.comb.push({ id, fn: opFn(n, f.nets) });
      else if (d.kind === 'wire') { const s = d.sources[0]; this.comb.push({ id, fn: (v) => v[s] }); }
      else if (d.kind === 'rom') {
        const contents = f.roms[d.rom].contents;
        if (d.clock === undefined) { const a = d.addr; this.comb.push({ id, fn: (v) => contents[Number(v[a])] ?? 0n }); }
        else this.syncRoms.push({ id, addr: d.addr, contents });
      } else if (d.kind === 'reg') this.regs.push({ id, next: d.next[0], reset: d.reset, rv: d.resetValue, en: d.enable });
    }
  }

  /** One cycle: inputs in port order (clocks excluded); returns outputs in port order. */
  step(inputs: readonly bigint[]): bigint[] {
    const v = this.v;
    this.inputs.forEach((p, i) => { v[p.net] = (inputs[i] ?? 0n) & mask(p.width); });
    for (const c of this.comb) v[c.id] = c.fn(v);
    const out = this.outputs.map((p) => v[p.net]);
    // Rising edge: compute every next state from the settled values, then commit together.
    const regNext = this.regs.map((r) => (r.reset !== undefined && v[r.reset] ? r.rv : r.en !== undefined && !v[r.en] ? v[r.id] : v[r.next]));
    const romNext = this.syncRoms.map((r) => r.contents[Number(v[r.addr])] ?? 0n);
    const ramReads: { id: NetId; val: bigint }[] = [];
    const writes: { mem: bigint[]; addr: number; val: bigint }[] = [];
    this.flat.rams.forEach((r, ri) => {
      for (const p of r.ports) {
        const addr = Number(v[p.addr]);
        ramReads.push({ id: p.readData, val: this.mems[ri][addr] });
        if (p.writeEnable !== undefined && v[p.writeEnable]) writes.push({ mem: this.mems[ri], addr, val: v[p.writeData!] });
      }
    });
    this.regs.forEach((r, i) => { v[r.id] = regNext[i]; });
    this.syncRoms.forEach((r, i) => { v[r.id] = romNext[i]; });
    for (const w of writes) w.mem[w.addr] = w.val;
    for (const r of ramReads) v[r.id] = r.val;
    this.cycle++;
    return out;
  }

  /** Settled value of a named net of the top module (for debugging and tests). */
  peek(name: string): bigint | undefined {
    const n = this.flat.nets.find((x) => x.name === name);
    return n === undefined ? undefined : this.v[n.id];
  }

  /** Contents of RAM number i (flattened order). */
  ram(i: number): readonly bigint[] {
    return this.mems[i];
  }
}
