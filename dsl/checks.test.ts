// Each IR check phase rejects its kind of bad circuit with a message naming module, signal and problem.
import { describe, expect, it } from 'vitest';
import { ModuleBuilder } from './module.ts';
import { IrCheckError, runChecks } from './ir/checks.ts';
import type { IrModule } from './ir/types.ts';

function expectCheck(f: () => unknown, phase: string, module: string, signal: string, problem: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(IrCheckError);
    const err = e as IrCheckError;
    expect(err.phase).toBe(phase);
    expect(err.module).toBe(module);
    expect(err.signal).toBe(signal);
    expect(err.message).toMatch(problem);
    expect(err.message).toContain(`module '${module}'`);
    return;
  }
  throw new Error('expected an IrCheckError');
}

describe('IR checks', () => {
  it('widths: a wire driven by a signal of another width', () => {
    const m = new ModuleBuilder('wmod');
    const a = m.input('a', 8);
    const w = m.wire('narrow', 4);
    w.drive(a);
    m.output('y', w);
    expectCheck(() => m.build(), 'widths', 'wmod', 'narrow', /unsigned 8-bit, expected unsigned 4-bit/);
  });

  it('widths: a register whose next value has another signedness', () => {
    const m = new ModuleBuilder('rmod');
    const clk = m.clock();
    const a = m.input('a', 8, { signed: true });
    const r = m.reg('acc', { width: 8, clock: clk });
    r.next(a);
    m.output('y', r);
    expectCheck(() => m.build(), 'widths', 'rmod', 'acc', /signed 8-bit, expected unsigned 8-bit/);
  });

  it('widths: an instance input connected with the wrong width', () => {
    const c = new ModuleBuilder('leaf');
    c.output('y', c.input('x', 8).not());
    const leaf = c.build();
    const m = new ModuleBuilder('parent');
    m.output('y', m.instance('u_leaf', leaf, { x: m.input('a', 6) }).y);
    expectCheck(() => m.build(), 'widths', 'parent', 'u_leaf', /input 'x' is 8 bits, connected to 6-bit 'a'/);
  });

  it('widths: a hand-made IR op with mismatched operands (no implicit extension)', () => {
    const m = new ModuleBuilder('raw');
    const a = m.input('a', 8);
    const b = m.input('b', 9);
    m.output('y', a.add(a).named('sum'));
    m.output('z', b);
    const ir = m.build();
    const bad: IrModule = {
      ...ir,
      nets: ir.nets.map((n) => (n.driver.kind === 'op' && n.driver.op === 'add' ? { ...n, driver: { ...n.driver, args: [a.id, b.id] } } : n)),
    };
    expectCheck(() => runChecks(bad), 'widths', 'raw', 'sum', /add operands differ: unsigned 8-bit vs unsigned 9-bit/);
  });

  it('widths: the DSL refuses implicit extension at once', () => {
    const m = new ModuleBuilder('eager');
    const a = m.input('a', 8);
    const b = m.input('b', 9);
    expect(() => a.add(b)).toThrow(/module 'eager': add: operand types differ: unsigned 8-bit vs unsigned 9-bit/);
  });

  it('drivers: a wire with two drivers', () => {
    const m = new ModuleBuilder('dmod');
    const a = m.input('a', 4);
    const b = m.input('b', 4);
    const w = m.wire('both', 4);
    w.drive(a);
    w.drive(b);
    m.output('y', w);
    expectCheck(() => m.build(), 'drivers', 'dmod', 'both', /has 2 drivers/);
  });

  it('drivers: a wire with no driver', () => {
    const m = new ModuleBuilder('umod');
    m.input('a', 4, { unused: true });
    m.output('y', m.wire('floating', 4));
    expectCheck(() => m.build(), 'drivers', 'umod', 'floating', /has no driver/);
  });

  it('loops: a combinational loop through two wires', () => {
    const m = new ModuleBuilder('lmod');
    const a = m.input('a', 4);
    const p = m.wire('p', 4);
    const q = m.wire('q', 4);
    p.drive(q.add(a));
    q.drive(p.xor(a));
    m.output('y', q);
    expectCheck(() => m.build(), 'loops', 'lmod', 'p', /combinational loop: .*p.*q.*p|combinational loop/);
  });

  it('loops: a loop through a register is fine', () => {
    const m = new ModuleBuilder('okloop');
    const clk = m.clock();
    const a = m.input('a', 4);
    const r = m.reg('acc', { width: 4, clock: clk });
    r.next(r.add(a));
    m.output('y', r);
    expect(() => m.build()).not.toThrow();
  });

  it('loops: a loop through a child instance is found', () => {
    const c = new ModuleBuilder('passthru');
    c.output('y', c.input('x', 4).not());
    const child = c.build();
    const m = new ModuleBuilder('imod');
    const a = m.input('a', 4);
    const w = m.wire('fb', 4);
    const o = m.instance('u_p', child, { x: w });
    w.drive(o.y.xor(a));
    m.output('y', w);
    expectCheck(() => m.build(), 'loops', 'imod', 'fb', /combinational loop/);
  });

  it('inputs: an input that is never used', () => {
    const m = new ModuleBuilder('imod2');
    const a = m.input('a', 4);
    m.input('spare', 4);
    m.output('y', a);
    expectCheck(() => m.build(), 'inputs', 'imod2', 'spare', /never used/);
  });

  it('inputs: marking an input unused is accepted', () => {
    const m = new ModuleBuilder('imod3');
    m.input('spare', 4, { unused: true });
    m.output('y', m.const(1, 2));
    expect(() => m.build()).not.toThrow();
  });

  it('names: an illegal port name', () => {
    const m = new ModuleBuilder('nmod');
    m.output('y', m.input('bad name', 1));
    expectCheck(() => m.build(), 'names', 'nmod', 'bad name', /not a Verilog identifier/);
  });

  it('names: a keyword as a port name', () => {
    const m = new ModuleBuilder('kmod');
    m.output('y', m.input('always', 1));
    expectCheck(() => m.build(), 'names', 'kmod', 'always', /keyword/);
  });

  it('names: two ports with one name', () => {
    const m = new ModuleBuilder('cmod');
    const a = m.input('a', 1);
    m.output('a', a);
    expectCheck(() => m.build(), 'names', 'cmod', 'a', /two ports have this name/);
  });

  it('names: two different modules with the same name', () => {
    const c1 = new ModuleBuilder('twin');
    c1.output('y', c1.input('x', 4).not());
    const c2 = new ModuleBuilder('twin');
    c2.output('y', c2.input('x', 4).neg());
    const m = new ModuleBuilder('tmod');
    const a = m.input('a', 4);
    const y1 = m.instance('u1', c1.build(), { x: a }).y;
    const y2 = m.instance('u2', c2.build(), { x: a }).y;
    m.output('y', y1.xor(y2));
    expectCheck(() => m.build(), 'names', 'tmod', 'u2', /two different modules are both named 'twin'/);
  });

  it('names: internal names are legalized, hostile names never reach Verilog raw', async () => {
    const { emitDesign } = await import('./verilog.ts');
    const m = new ModuleBuilder('hostile', { doc: 'doc */ with\nnewline and `define' });
    const a = m.input('a', 4);
    // Used twice, so the named value keeps its own (legalized) declaration.
    const h = a.not().named('module */ wire x; // \n../../etc');
    m.output('y', h.xor(a));
    m.output('z', h.and(a));
    const text = emitDesign(m.build()).files.get('hostile.v')!;
    expect(text).not.toMatch(/\*\//);
    expect(text).toMatch(/wire \[3:0\] module_wire_x_etc;/);
    expect(text.split('\n').filter((l) => l.includes('newline')).every((l) => l.startsWith('//'))).toBe(true);
  });
});
