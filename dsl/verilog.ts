// The Verilog-2005 printer: one module per file from the frozen IR, sized literals, explicit extension.
// Readable output: alias chains share one name, single-use anonymous values are inlined where Verilog's
// width and sign rules provably leave the result unchanged, the rest get names derived from the model.
import type { IrModule, IrNet, IrPort, NetId } from './ir/types.ts';
import { collectModules, mask } from './ir/types.ts';
import { Namespace, commentSafe } from './ir/names.ts';
import { render } from '../templates/render.ts';

/** Emitted files: file name → text. Modules in dependency order, then the `.f` list. */
export interface EmittedDesign {
  readonly top: string;
  readonly files: ReadonlyMap<string, string>;
  /** Verilog file names in compile order (children first). */
  readonly order: readonly string[];
}

/** Print `top` and every module below it, one Verilog-2005 file each (file name = module name), and a `.f` list. */
export function emitDesign(top: IrModule, opts: { fileListName?: string; pathPrefix?: string } = {}): EmittedDesign {
  const files = new Map<string, string>();
  const order: string[] = [];
  for (const m of collectModules(top)) {
    const f = `${m.name}.v`;
    files.set(f, printModule(m));
    order.push(f);
  }
  files.set(opts.fileListName ?? `${top.name}.f`, render('filelist.f.hbs', { top: top.name, files: order.map((f) => `${opts.pathPrefix ?? ''}${f}`) }));
  return { top: top.name, files, order };
}

function lit(width: number, value: bigint): string {
  const v = value & mask(width);
  if (width === 1) return `1'b${v}`;
  return `${width}'h${v.toString(16)}`;
}

/** An inlined expression longer than this is declared instead, so lines stay readable. */
const INLINE_MAX = 72;

/** Short op names for derived net names (`acc_sum`, `up48_mux`). */
const TAG: Record<string, string> = {
  add: 'sum', sub: 'diff', mul: 'prod', and: 'and', or: 'or', xor: 'xor', not: 'inv', neg: 'neg',
  shlConst: 'shl', shrConst: 'shr', shl: 'shl', shr: 'shr', slice: 'bits', concat: 'cat', sext: 'sext', zext: 'zext',
  trunc: 'lo', eq: 'eq', ne: 'ne', lt: 'lt', le: 'le', gt: 'gt', ge: 'ge', mux: 'mux', redAnd: 'all', redOr: 'any',
  redXor: 'par', partSel: 'word',
};

/** Live nets: everything that can reach an output, an instance input or a RAM port. */
function liveNets(m: IrModule): Set<NetId> {
  const live = new Set<NetId>();
  const stack: NetId[] = [];
  const push = (id: NetId | undefined): void => { if (id !== undefined && !live.has(id)) { live.add(id); stack.push(id); } };
  for (const p of m.ports) if (p.dir === 'output') push(p.net);
  for (const i of m.instances) Object.values(i.inputs).forEach(push);
  for (const n of m.nets) if (n.driver.kind === 'inst' || n.driver.kind === 'input') push(n.id);
  const ramLive = new Set<number>();
  while (stack.length) {
    const id = stack.pop()!;
    const d = m.nets[id].driver;
    if (d.kind === 'op') d.args.forEach(push);
    else if (d.kind === 'wire') d.sources.forEach(push);
    else if (d.kind === 'reg') { push(d.clock); push(d.reset); push(d.enable); d.next.forEach(push); }
    else if (d.kind === 'rom') { push(d.addr); push(d.clock); }
    else if (d.kind === 'ram' && !ramLive.has(d.ram)) {
      ramLive.add(d.ram);
      for (const p of m.rams[d.ram].ports) { push(p.clock); push(p.addr); push(p.writeData); push(p.writeEnable); push(p.readData); }
    }
  }
  return live;
}

/** The net a net merely renames (a one-source wire, an output port, a signedness cast), if any. */
function aliasSource(n: IrNet): NetId | undefined {
  const d = n.driver;
  if (d.kind === 'wire' && d.sources.length === 1) return d.sources[0];
  if (d.kind === 'op' && (d.op === 'asSigned' || d.op === 'asUnsigned')) return d.args[0];
  return undefined;
}

/**
 * Whether argument `i` of op net `n` is printed once as a plain operand whose Verilog width is its own
 * IR width (the IR gives every context-determined operand the width of its context, and every net is
 * unsigned in Verilog with `$signed` applied explicitly), so an expression can stand there unchanged.
 * Selects (slice, trunc, part-select base, sign bits of an extension) need a name.
 */
function inlineSafe(m: IrModule, n: IrNet, i: number): boolean {
  const d = n.driver;
  if (d.kind !== 'op') return false;
  const a = m.nets[d.args[i]];
  // An arithmetic shift `$signed(a) >>> b` is a signed expression: in an unsigned context Verilog makes
  // its operand unsigned and the shift logical, so it always gets a name.
  const ad = a.driver;
  if (ad.kind === 'op' && ad.op === 'shr' && m.nets[ad.args[0]].signed) return false;
  // Verilator's lint folds identities inside one expression (a 1-bit reduction is its operand, ~~x is
  // x) and then flags the constant comparison it finds; as separate nets they stay apart, as in the DSL.
  if (ad.kind === 'op' && (ad.op === 'redAnd' || ad.op === 'redOr' || ad.op === 'redXor') && m.nets[ad.args[0]].width === 1) return false;
  if (ad.kind === 'op' && (ad.op === 'not' || ad.op === 'neg') && d.op === ad.op) return false;
  switch (d.op) {
    case 'slice': case 'trunc': case 'shrConst': case 'sext': case 'asSigned': case 'asUnsigned': case 'const': return false;
    case 'partSel': return i === 1;
    case 'mul': return a.width === n.width || !a.signed;
    case 'zext': return true;
    default: return true;
  }
}

interface Use {
  /** Consumer: an op net printed as an expression, or a label (register, port, instance pin). */
  readonly net?: NetId;
  readonly label?: string;
  readonly inline: boolean;
}

/** The Verilog-2005 text of one module: sized literals, explicit extension, lint clean by construction. */
export function printModule(m: IrModule): string {
  const live = liveNets(m);
  const net = (id: NetId): IrNet => m.nets[id];

  // ---- alias classes: a net and every wire/cast that only renames it share one Verilog name ----
  // Every net's class root, once (refs are looked up many times per net).
  const roots = new Int32Array(m.nets.length).fill(-1);
  for (const n of m.nets) {
    const path: NetId[] = [];
    let r = n.id;
    while (roots[r] < 0) {
      const s = aliasSource(net(r));
      if (s === undefined || path.length > m.nets.length) { roots[r] = r; break; }
      path.push(r);
      r = s;
    }
    for (const p of path) roots[p] = roots[r];
  }
  const rootOf = (id: NetId): NetId => roots[id];
  const members = new Map<NetId, NetId[]>();
  for (const n of m.nets) {
    if (!live.has(n.id)) continue;
    const r = rootOf(n.id);
    const list = members.get(r);
    if (list) list.push(n.id); else members.set(r, [n.id]);
  }
  const isRoot = (id: NetId): boolean => rootOf(id) === id;
  const portOf = new Map<NetId, IrPort>(m.ports.map((p) => [p.net, p]));
  const outPorts = new Map<NetId, IrPort[]>();
  for (const p of m.ports) if (p.dir === 'output') outPorts.set(rootOf(p.net), [...(outPorts.get(rootOf(p.net)) ?? []), p]);
  const outPortsOf = (r: NetId): IrPort[] => outPorts.get(r) ?? [];
  const constVal = (id: NetId): bigint | undefined => {
    const d = m.nets[roots[id]].driver;
    return d.kind === 'op' && d.op === 'const' ? d.value : undefined;
  };

  // ---- names: ports, then user names, ROMs, RAMs, instances; derived names last ----
  const ns = new Namespace();
  const names = new Map<NetId, string>(); // class root → Verilog name
  const outRep = new Map<NetId, IrPort>(); // class root → the output port that carries its value
  for (const p of m.ports) ns.reserve(p.name);
  ns.reserve('_unused_ok');
  for (const [r, list] of members) {
    if (constVal(r) !== undefined) continue;
    const rn = net(r);
    if (rn.driver.kind === 'input') { names.set(r, portOf.get(r)!.name); continue; }
    const outs = outPortsOf(r);
    if (outs.length) { names.set(r, outs[0].name); outRep.set(r, outs[0]); continue; }
    const named = rn.name !== undefined ? rn : list.map(net).find((x) => x.name !== undefined);
    if (named) names.set(r, ns.claim(named.name!));
  }
  const romNames = m.roms.map((r) => ns.claim(r.name));
  const ramNames = m.rams.map((r) => ns.claim(r.name));
  const instNames = m.instances.map((i) => ns.claim(i.name));

  // ---- uses of every class, by the nets and sites that print it ----
  const uses = new Map<NetId, Use[]>();
  const use = (id: NetId | undefined, u: Use): void => {
    if (id === undefined || constVal(id) !== undefined) return;
    const r = rootOf(id);
    const list = uses.get(r);
    if (list) list.push(u); else uses.set(r, [u]);
  };
  for (const n of m.nets) {
    if (!live.has(n.id) || !isRoot(n.id)) continue;
    const d = n.driver;
    const label = names.get(n.id) ?? '';
    if (d.kind === 'op') d.args.forEach((a, i) => use(a, { net: n.id, inline: inlineSafe(m, n, i) }));
    else if (d.kind === 'reg') { for (const x of [d.clock, d.reset, d.enable, d.next[0]]) use(x, { label, inline: false }); }
    else if (d.kind === 'rom') { use(d.addr, { label: `${romNames[d.rom]}_addr`, inline: false }); use(d.clock, { label, inline: false }); }
  }
  m.rams.forEach((r, ri) => {
    if (!r.ports.some((p) => live.has(p.readData))) return;
    for (const p of r.ports) {
      use(p.clock, { label: ramNames[ri], inline: false });
      use(p.addr, { label: `${ramNames[ri]}_addr`, inline: false });
      use(p.writeData, { label: `${ramNames[ri]}_wdata`, inline: false });
      use(p.writeEnable, { label: `${ramNames[ri]}_we`, inline: false });
    }
  });
  m.instances.forEach((inst, ii) => {
    for (const [port, id] of Object.entries(inst.inputs)) use(id, { label: `${instNames[ii]}_${port}`, inline: false });
  });
  for (const p of m.ports) {
    if (p.dir !== 'output') continue;
    const r = rootOf(p.net);
    if (outRep.get(r) !== p) use(p.net, { label: p.name, inline: false });
  }

  // ---- expressions, inlining single-use anonymous values bottom-up (operands have lower ids) ----
  const inlined = new Map<NetId, string>();
  /** Placeholders printed so far: an expression that used one is printed again once names exist. */
  let placeholders = 0;
  const provisional = new Set<NetId>();
  const ref = (id: NetId): string => {
    const c = constVal(id);
    if (c !== undefined) return lit(net(id).width, c);
    const r = rootOf(id);
    const t = inlined.get(r);
    if (t !== undefined) return t;
    // Before derived names exist, an anonymous value stands in with a placeholder of typical length.
    const name = names.get(r);
    if (name !== undefined) return name;
    placeholders++;
    return `_t${r}`;
  };
  const sel = (id: NetId, hi: number, lo: number): string => {
    const n = net(id);
    const c = constVal(id);
    if (c !== undefined) return lit(hi - lo + 1, c >> BigInt(lo));
    if (lo === 0 && hi === n.width - 1) return ref(id);
    return hi === lo ? `${ref(id)}[${hi}]` : `${ref(id)}[${hi}:${lo}]`;
  };
  const msb = (id: NetId): string => sel(id, net(id).width - 1, net(id).width - 1);
  const extTo = (id: NetId, w: number, signed: boolean): string => {
    const n = net(id);
    const k = w - n.width;
    const c = constVal(id);
    if (c !== undefined) {
      const neg = signed && (c >> BigInt(n.width - 1)) & 1n;
      return lit(w, neg ? c | (mask(w) ^ mask(n.width)) : c);
    }
    if (k === 0) return ref(id);
    return signed ? `{{${k}{${msb(id)}}}, ${ref(id)}}` : `{${lit(k, 0n)}, ${ref(id)}}`;
  };
  const sgn = (id: NetId): string => `$signed(${ref(id)})`;

  function opExpr(n: IrNet): string {
    const d = n.driver;
    if (d.kind !== 'op') throw new Error('not an op');
    const [a, b, c] = d.args;
    const s = a !== undefined && net(a).signed;
    switch (d.op) {
      case 'const': return lit(n.width, d.value!);
      case 'add': return `${ref(a)} + ${ref(b)}`;
      case 'sub': return `${ref(a)} - ${ref(b)}`;
      case 'mul': return `${extTo(a, n.width, s)} * ${extTo(b, n.width, s)}`;
      case 'and': return `${ref(a)} & ${ref(b)}`;
      case 'or': return `${ref(a)} | ${ref(b)}`;
      case 'xor': return `${ref(a)} ^ ${ref(b)}`;
      case 'not': return `~${ref(a)}`;
      case 'neg': return `-${ref(a)}`;
      case 'shlConst': return `{${ref(a)}, ${lit(d.amount!, 0n)}}`;
      case 'shrConst': {
        const k = d.amount!;
        const w = net(a).width;
        return s ? `{{${k}{${msb(a)}}}, ${sel(a, w - 1, k)}}` : `{${lit(k, 0n)}, ${sel(a, w - 1, k)}}`;
      }
      case 'shl': return `${ref(a)} << ${ref(b)}`;
      case 'shr': return s ? `${sgn(a)} >>> ${ref(b)}` : `${ref(a)} >> ${ref(b)}`;
      case 'slice': return sel(a, d.hi!, d.lo!);
      case 'concat': return `{${d.args.map(ref).join(', ')}}`;
      case 'sext': return extTo(a, n.width, true);
      case 'zext': return extTo(a, n.width, false);
      case 'trunc': return sel(a, n.width - 1, 0);
      case 'asSigned': case 'asUnsigned': return ref(a);
      case 'eq': return `${ref(a)} == ${ref(b)}`;
      case 'ne': return `${ref(a)} != ${ref(b)}`;
      case 'lt': return s ? `${sgn(a)} < ${sgn(b)}` : `${ref(a)} < ${ref(b)}`;
      case 'le': return s ? `${sgn(a)} <= ${sgn(b)}` : `${ref(a)} <= ${ref(b)}`;
      case 'gt': return s ? `${sgn(a)} > ${sgn(b)}` : `${ref(a)} > ${ref(b)}`;
      case 'ge': return s ? `${sgn(a)} >= ${sgn(b)}` : `${ref(a)} >= ${ref(b)}`;
      case 'mux': return `${ref(a)} ? ${ref(b)} : ${ref(c)}`;
      case 'redAnd': return `&${ref(a)}`;
      case 'redOr': return `|${ref(a)}`;
      case 'redXor': return `^${ref(a)}`;
      case 'partSel': return `${ref(a)}[${ref(b)} +: ${n.width}]`;
    }
  }

  /** Whether an expression is one primary (name, select, concatenation) that needs no parentheses. */
  const primary = (t: string): boolean => /^[A-Za-z_$][\w$]*(\[[^\]]*\])?$/.test(t) || (t.startsWith('{') && closes(t));
  const exprs = new Map<NetId, string>();
  for (const n of m.nets) {
    if (!live.has(n.id) || !isRoot(n.id) || n.driver.kind !== 'op' || constVal(n.id) !== undefined) continue;
    const before = placeholders;
    const text = opExpr(n);
    exprs.set(n.id, text);
    // Provisional if it printed a placeholder itself or embeds an inlined operand that did.
    if (placeholders !== before || (n.driver as { args: readonly NetId[] }).args.some((a) => provisional.has(rootOf(a)) && inlined.has(rootOf(a)))) provisional.add(n.id);
    if (names.has(n.id)) continue;
    const u = uses.get(n.id) ?? [];
    if (u.length === 1 && u[0].inline && u[0].net !== undefined && text.length <= INLINE_MAX) {
      inlined.set(n.id, primary(text) ? text : `(${text})`);
    }
  }

  // ---- derived names for the anonymous values still declared: consumer's name, else operand's ----
  const stemDown = new Map<NetId, string>();
  const stemOf = (r: NetId): string | undefined => names.get(r) !== undefined && !derived.has(r) ? names.get(r) : stemDown.get(r);
  const derived = new Set<NetId>();
  const anon = [...exprs.keys()].filter((id) => !names.has(id));
  for (const id of [...anon].reverse()) {
    const u = (uses.get(id) ?? [])[0];
    const s = u === undefined ? undefined : u.label ?? (u.net !== undefined ? stemOf(u.net) : undefined);
    if (s) stemDown.set(id, s);
  }
  const stemUp = new Map<NetId, string>();
  for (const id of anon) {
    const d = net(id).driver;
    if (d.kind !== 'op') continue;
    const args = d.args.filter((a) => constVal(a) !== undefined ? false : true).map(rootOf);
    const own = (r: NetId): string | undefined => (names.has(r) && !derived.has(r) ? names.get(r) : undefined);
    for (const r of args) {
      const s = own(r) ?? stemUp.get(r);
      if (s) { stemUp.set(id, s); break; }
    }
    if (inlined.has(id)) continue;
    // One named operand (an extension, a select, a compare with a constant): named after it (`x_sext`);
    // otherwise a single-use value after what it feeds (`acc_sum`), a shared one after its operands.
    const single = (uses.get(id) ?? []).length === 1;
    const solo = args.length === 1 ? own(args[0]) : undefined;
    const stem = solo ?? (single ? stemDown.get(id) ?? stemUp.get(id) : stemUp.get(id) ?? stemDown.get(id));
    const tag = d.op === 'slice' ? (d.hi === d.lo ? `b${d.hi}` : `${d.hi}_${d.lo}`) : TAG[d.op];
    names.set(id, ns.claim(stem ? `${stem}_${tag}` : tag));
    derived.add(id);
  }
  // Expressions computed before the derived names existed are printed again with them (operands first).
  for (const id of exprs.keys()) {
    if (!provisional.has(id)) continue;
    const text = opExpr(net(id));
    exprs.set(id, text);
    if (inlined.has(id)) inlined.set(id, primary(text) ? text : `(${text})`);
  }

  // ---- declarations, assignments, processes ----
  const decls: string[] = [];
  const assigns: string[] = [];
  const procs: string[] = [];
  const regPorts = new Set<string>();
  const decl = (r: NetId, kind: 'wire' | 'reg'): void => {
    const port = outRep.get(r);
    if (port) { if (kind === 'reg') regPorts.add(port.name); return; }
    const n = net(r);
    decls.push(`  ${kind} ${n.width > 1 ? `[${n.width - 1}:0] ` : ''}${names.get(r)};`);
  };

  for (const n of m.nets) {
    if (!live.has(n.id) || !isRoot(n.id) || constVal(n.id) !== undefined || inlined.has(n.id)) continue;
    const d = n.driver;
    const name = names.get(n.id)!;
    if (d.kind === 'input') continue;
    if (d.kind === 'reg') {
      decl(n.id, 'reg');
      // One unconditional assignment of a mux, not `if (rst) ... else if (en) ...`: Verilator 5.006
      // orders conditional non-blocking assignments in time quadratic in the length of a register
      // chain (a 4,000-register enabled chain: 45 s to lint; as a mux: 2.5 s). Same hardware in Yosys.
      const paren = (t: string): string => (/^[\w$]+(\[[^\]]*\])?$/.test(t) ? t : `(${t})`);
      let next = ref(d.next[0]);
      if (d.enable !== undefined) next = `${paren(ref(d.enable))} ? ${paren(next)} : ${name}`;
      if (d.reset !== undefined) next = `${paren(ref(d.reset))} ? ${lit(n.width, d.resetValue)} : ${d.enable !== undefined ? `(${next})` : paren(next)}`;
      procs.push(`  always @(posedge ${ref(d.clock)}) ${name} <= ${next};`);
      continue;
    }
    if (d.kind === 'rom') {
      decl(n.id, 'reg');
      const rom = m.roms[d.rom];
      const aw = net(d.addr).width;
      const sync = d.clock !== undefined;
      const asg = sync ? '<=' : '=';
      const lines = [sync ? `  always @(posedge ${ref(d.clock!)}) begin  // ROM ${romNames[d.rom]}` : `  always @* begin  // ROM ${romNames[d.rom]}`, `    case (${ref(d.addr)})`];
      rom.contents.forEach((v, i) => {
        const note = rom.notes?.[i];
        lines.push(`      ${lit(aw, BigInt(i))}: ${name} ${asg} ${lit(rom.width, v)};${note === undefined ? '' : `  // ${commentSafe(note, 200)}`}`);
      });
      if (rom.contents.length < 2 ** aw) lines.push(`      default: ${name} ${asg} ${lit(rom.width, 0n)};`);
      lines.push('    endcase', '  end');
      procs.push(lines.join('\n'));
      continue;
    }
    if (d.kind === 'ram') { decl(n.id, 'reg'); continue; }
    if (d.kind === 'inst') { decl(n.id, 'wire'); continue; }
    if (d.kind !== 'op') throw new Error(`module '${m.name}': net ${n.id} has no single driver`);
    decl(n.id, 'wire');
    assigns.push(`  assign ${name} = ${exprs.get(n.id)!};`);
  }
  // Output ports that carry a constant, or the same value as another port or an input.
  for (const p of m.ports) {
    if (p.dir !== 'output') continue;
    const r = rootOf(p.net);
    if (outRep.get(r) === p) continue;
    const c = constVal(r);
    if (c !== undefined && p.layout) assigns.push(...layoutAssigns(p, c));
    else assigns.push(`  assign ${p.name} = ${ref(p.net)};`);
  }

  // SRAMs: one always block per clock, ports in order (a later port's write wins a same-address conflict).
  m.rams.forEach((r, ri) => {
    if (!r.ports.some((p) => live.has(p.readData))) return;
    const mem = ramNames[ri];
    decls.push(`  reg [${r.width - 1}:0] ${mem} [0:${r.depth - 1}];`);
    const byClock = new Map<string, string[]>();
    for (const p of r.ports) {
      const clk = ref(p.clock);
      const lines = byClock.get(clk) ?? [];
      if (p.writeData !== undefined) lines.push(`    if (${ref(p.writeEnable!)}) ${mem}[${ref(p.addr)}] <= ${ref(p.writeData)};`);
      lines.push(`    ${ref(p.readData)} <= ${mem}[${ref(p.addr)}];`);
      byClock.set(clk, lines);
    }
    for (const [clk, lines] of byClock) procs.push([`  always @(posedge ${clk}) begin  // SRAM ${mem}`, ...lines, '  end'].join('\n'));
  });

  // Instances: every port connected by name, each with the source line that made it.
  const instOuts = m.instances.map(() => new Map<string, NetId>());
  for (const n of m.nets) if (n.driver.kind === 'inst') instOuts[n.driver.inst].set(n.driver.port, n.id);
  const insts = m.instances.map((inst, ii) => {
    const outNet = instOuts[ii];
    const conns = inst.module.ports.map((p) => `    .${p.name}(${p.dir === 'input' ? ref(inst.inputs[p.name]) : ref(outNet.get(p.name)!)})`);
    const src = inst.src === undefined ? [] : [`  // src: ${commentSafe(inst.src)}`];
    return [...src, `  ${inst.module.name} ${instNames[ii]} (`, conns.join(',\n'), '  );'].join('\n');
  });

  // Bits that are declared but never read go to one sink that Verilator's unused-regexp accepts.
  const used = bitUsage(m, live, rootOf);
  const sinks: string[] = [];
  for (const r of members.keys()) {
    if (constVal(r) !== undefined || outRep.has(r) || inlined.has(r)) continue;
    const u = used.get(r) ?? 0n;
    for (const [hi, lo] of ranges(mask(net(r).width) & ~u, net(r).width)) sinks.push(sel(r, hi, lo));
  }
  const body: string[] = [];
  if (decls.length) body.push(decls.join('\n'), '');
  if (assigns.length) body.push(assigns.join('\n'), '');
  if (procs.length) body.push(procs.join('\n\n'), '');
  if (insts.length) body.push(insts.join('\n\n'), '');
  if (sinks.length) body.push(`  wire _unused_ok = &{1'b0, ${sinks.join(', ')}, 1'b0};`, '');
  if (body.length && body[body.length - 1] === '') body.pop();

  const ports = m.ports.map((p, i) => {
    const range = p.width > 1 ? `[${p.width - 1}:0] ` : '';
    return `${p.dir === 'input' ? 'input ' : 'output'} ${regPorts.has(p.name) ? 'reg ' : 'wire'} ${range}${p.name}${i < m.ports.length - 1 ? ',' : ''}`;
  });
  const params = Object.keys(m.params).sort().map((k) => commentSafe(`${k} = ${String(m.params[k])}`));
  return render('module.v.hbs', { name: m.name, doc: m.doc === undefined ? '' : commentSafe(m.doc), src: m.src === undefined ? '' : commentSafe(m.src), params, ports, body });
}

/** Whether the `{` at the start of t closes at its very end (one concatenation, not `{a} + {b}`). */
function closes(t: string): boolean {
  let depth = 0;
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '{') depth++;
    else if (t[i] === '}' && --depth === 0) return i === t.length - 1;
  }
  return false;
}

/** A constant output printed word by word, low word first, each with the comment saying what it holds. */
function layoutAssigns(p: IrPort, value: bigint): string[] {
  const out: string[] = [];
  let lo = 0;
  for (const w of p.layout!) {
    const hi = lo + w.width - 1;
    const target = p.width === 1 ? p.name : hi === lo ? `${p.name}[${lo}]` : `${p.name}[${hi}:${lo}]`;
    out.push(`  assign ${target} = ${lit(w.width, value >> BigInt(lo))};  // ${commentSafe(w.note, 200)}`);
    lo = hi + 1;
  }
  if (lo !== p.width) throw new Error(`output '${p.name}': layout covers ${lo} of ${p.width} bits`);
  return out;
}

function isConst(n: IrNet): boolean {
  return n.driver.kind === 'op' && n.driver.op === 'const';
}

/** Which bits of each live class (by root) some live consumer reads; renaming aliases read nothing. */
function bitUsage(m: IrModule, live: Set<NetId>, rootOf: (id: NetId) => NetId): Map<NetId, bigint> {
  const used = new Map<NetId, bigint>();
  const some = (id: NetId | undefined, bits?: bigint): void => {
    if (id === undefined) return;
    const r = rootOf(id);
    used.set(r, (used.get(r) ?? 0n) | (bits ?? mask(m.nets[id].width)));
  };
  for (const n of m.nets) {
    if (!live.has(n.id) || isConst(n) || aliasSource(n) !== undefined) continue;
    const d = n.driver;
    if (d.kind === 'op') {
      const a = d.args[0];
      if (d.op === 'slice') some(a, mask(d.hi! - d.lo! + 1) << BigInt(d.lo!));
      else if (d.op === 'trunc') some(a, mask(n.width));
      else if (d.op === 'shrConst') {
        const w = m.nets[a].width;
        some(a, (mask(w) ^ mask(d.amount!)) | (n.signed ? 1n << BigInt(w - 1) : 0n));
      } else d.args.forEach((x) => some(x));
    } else if (d.kind === 'reg') { some(d.clock); some(d.reset); some(d.enable); d.next.forEach((x) => some(x)); }
    else if (d.kind === 'rom') { some(d.addr); some(d.clock); }
  }
  for (const r of m.rams) {
    if (!r.ports.some((p) => live.has(p.readData))) continue;
    for (const p of r.ports) { some(p.clock); some(p.addr); some(p.writeData); some(p.writeEnable); }
  }
  for (const i of m.instances) Object.values(i.inputs).forEach((x) => some(x));
  for (const p of m.ports) if (p.dir === 'output') some(p.net);
  return used;
}

/** Runs of set bits, high first, as [hi, lo]. */
function ranges(bits: bigint, width: number): [number, number][] {
  const out: [number, number][] = [];
  let i = width - 1;
  while (i >= 0) {
    if ((bits >> BigInt(i)) & 1n) {
      const hi = i;
      while (i >= 0 && (bits >> BigInt(i)) & 1n) i--;
      out.push([hi, i + 1]);
    } else i--;
  }
  return out;
}
