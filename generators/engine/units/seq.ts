// hw_seq: the microcoded sequencer. Runs the program in mask layer B's microcode ROM once per request
// (a token, or an input vector): each word runs for lenm1 + 1 cycles (attention: until the unit says
// done). Handshake: in_valid/in_ready accepts a request, out_valid/out_ready hands the result back.
import { ModuleBuilder } from '../../../dsl/module.ts';
import type { IrModule } from '../../../dsl/ir/types.ts';
import type { Signal } from '../../../dsl/signal.ts';
import { bitsFor, type EngineCaps } from '../caps.ts';
import { OPS, ucodeFields, widthOf, type Op } from '../isa.ts';

/** A field of a microcode word. */
export function fieldOf(c: EngineCaps, uw: Signal, name: string): Signal {
  let off = 0;
  for (const f of ucodeFields(c)) {
    if (f.name === name) return uw.slice(off + f.bits - 1, off);
    off += f.bits;
  }
  throw new Error(`no microcode field ${name}`);
}

export function seqUnit(c: EngineCaps): IrModule {
  const uw = widthOf(ucodeFields(c));
  const m = new ModuleBuilder('hw_seq', { doc: `microcoded sequencer: ${c.instrs} words of ${uw} bits`, params: { instrs: c.instrs, width: uw } });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const inValid = m.input('in_valid', 1);
  const inRestart = m.input('in_restart', 1);
  const inFeedback = m.input('in_feedback', 1);
  const inToken = m.input('in_token', c.tokBits);
  const outReady = m.input('out_ready', 1);
  const best = m.input('best', c.tokBits);
  const attnDone = m.input('attn_done', 1);
  const context = m.input('ctx_len', bitsFor(c.ctx));
  const ucode = m.input('ucode', c.instrs * uw);
  const pcBits = bitsFor(c.instrs - 1);
  const IDLE = 0, RUN = 1, DONE = 2;
  const reg = (name: string, width: number): ReturnType<typeof m.reg> => m.reg(name, { width, clock: clk, reset: rst, resetValue: 0n });
  const state = reg('state', 2);
  const pc = reg('pc', pcBits);
  const cnt = reg('cnt', 16);
  const pos = reg('pos', c.ctxBits + 1);
  const tok = reg('token', c.tokBits);
  const word = ucode.word(pc, uw).named('uword');
  const running = state.eq(RUN).named('running');
  const op = fieldOf(c, word, 'op');
  const is = (o: Op): Signal => running.and(op.eq(OPS.indexOf(o)));
  const fin = is('attn').select(attnDone, running.and(cnt.eq(fieldOf(c, word, 'lenm1')))).named('fin');
  const readyState = state.eq(IDLE).or(state.eq(DONE).and(outReady));
  // context 0: a program without a KV cache (an MLP) takes requests without a position limit.
  const posOk = context.eq(0).or(pos.lt(context.zext(c.ctxBits + 1)));
  const accept = readyState.and(inValid).and(posOk.or(inRestart)).named('accept');
  const endNow = is('end').and(fin);
  state.next(accept.select(m.const(RUN, 2), endNow.select(m.const(DONE, 2), state.eq(DONE).and(outReady).select(m.const(IDLE, 2), state))));
  pc.next(accept.select(m.const(0, pcBits), fin.select(pc.add(1), pc)));
  cnt.next(accept.or(fin).select(m.const(0, 16), running.select(cnt.add(1), cnt)));
  pos.next(accept.and(inRestart).select(m.const(0, c.ctxBits + 1), endNow.select(pos.add(1), pos)));
  tok.next(accept.select(inFeedback.select(best, inToken), tok));
  m.output('uword', running.select(word, m.const(0, uw)));
  m.output('cnt', cnt);
  m.output('fin', fin);
  m.output('accept', accept);
  m.output('pos', pos);
  m.output('token', tok);
  m.output('in_ready', readyState.and(posOk.or(inRestart)));
  m.output('out_valid', state.eq(DONE));
  return m.build();
}
