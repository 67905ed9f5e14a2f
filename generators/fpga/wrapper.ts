// The FPGA pin wrapper: the model's wide ports (hundreds of bits) behind a byte-wide valid/ready stream,
// so the design fits the pins of a small part. Bytes in: the input vector, element 0 first. Bytes out:
// the class, then the result bits (logits), least significant byte first.
import { ModuleBuilder } from '../../dsl/module.ts';
import type { IrModule } from '../../dsl/ir/types.ts';

export interface WrapperShape {
  /** Bytes of one input vector (the core's in_data width / 8). */
  readonly inBytes: number;
  /** Bytes sent back per inference: 1 (class) + the result bits rounded up to bytes. */
  readonly outBytes: number;
  /** Core port holding the result, and how many of its low bits are sent. */
  readonly resultPort: string;
  readonly resultBits: number;
}

/** Unsigned bits that count 0 .. n. */
function bitsFor(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n + 1)));
}

/**
 * `fpga_top`: clk, rst, rx_valid/rx_ready/rx_data[7:0] in, tx_valid/tx_ready/tx_data[7:0] out (21 pins).
 * Phases: RX (collect inBytes bytes) → ISSUE (in_valid until the core's in_ready) → WAIT (out_ready
 * until out_valid; capture class and result) → TX (send outBytes bytes) → RX. One inference at a time:
 * the pins, not the core, bound the throughput of a prototype on a small part.
 */
export function fpgaWrapper(core: IrModule, resultPort: 'out_logits' | 'out_data', resultBits: number, name = 'fpga_top'): { top: IrModule; shape: WrapperShape } {
  const port = (n: string) => {
    const p = core.ports.find((q) => q.name === n);
    if (!p) throw new Error(`fpgaWrapper: core '${core.name}' has no port '${n}'`);
    return p;
  };
  const inW = port('in_data').width;
  const clsW = port('out_class').width;
  const resW = port(resultPort).width;
  if (inW % 8 !== 0) throw new Error(`fpgaWrapper: in_data is ${inW} bits, not whole bytes`);
  if (clsW > 8 || resultBits > resW) throw new Error(`fpgaWrapper: class ${clsW} bits or result ${resultBits} > ${resW} bits`);
  const inBytes = inW / 8;
  const resBytes = Math.ceil(resultBits / 8);
  const outBytes = 1 + resBytes;

  const m = new ModuleBuilder(name, { doc: `byte-stream pin wrapper around ${core.name}: ${inBytes} bytes in, ${outBytes} bytes out per inference`, params: { core: core.name } });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const rxValid = m.input('rx_valid', 1);
  const rxData = m.input('rx_data', 8);
  const txReady = m.input('tx_ready', 1);

  const RX = 0, ISSUE = 1, WAIT = 2, TX = 3;
  const phase = m.reg('phase', { width: 2, clock: clk, reset: rst, resetValue: BigInt(RX) });
  const inRx = phase.eq(RX), inIssue = phase.eq(ISSUE), inWait = phase.eq(WAIT), inTx = phase.eq(TX);
  const cw = bitsFor(Math.max(inBytes, outBytes));
  const count = m.reg('count', { width: cw, clock: clk, reset: rst });

  // Input shift register: a new byte enters at the top, so after inBytes bytes byte 0 is at the bottom.
  const take = inRx.and(rxValid);
  const inBuf = m.reg('in_buf', { width: inW, clock: clk, enable: take });
  inBuf.next(inBytes === 1 ? rxData : m.cat(rxData, inBuf.slice(inW - 1, 8)));

  const c = m.instance('u_core', core, { clk, rst, in_valid: inIssue, in_data: inBuf, out_ready: inWait });
  const got = inWait.and(c.out_valid);
  const send = inTx.and(txReady);

  // Output shift register: class byte at the bottom, then the result bits; shifted down one byte per send.
  const outW = 8 * outBytes;
  const result = c[resultPort].slice(resultBits - 1, 0).zext(8 * resBytes);
  const captured = m.cat(result, c.out_class.zext(8));
  const outBuf = m.reg('out_buf', { width: outW, clock: clk, enable: got.or(send) });
  outBuf.next(got.select(captured, m.cat(m.const(0, 8), outBuf.slice(outW - 1, 8))));

  const lastIn = count.eq(inBytes - 1);
  const lastOut = count.eq(outBytes - 1);
  phase.next(
    take.and(lastIn).select(m.const(ISSUE, 2),
      inIssue.and(c.in_ready).select(m.const(WAIT, 2),
        got.select(m.const(TX, 2),
          send.and(lastOut).select(m.const(RX, 2), phase)))),
  );
  count.next(
    take.select(lastIn.select(m.const(0, cw), count.add(1)),
      send.select(lastOut.select(m.const(0, cw), count.add(1)), count)),
  );

  m.output('rx_ready', inRx);
  m.output('tx_valid', inTx);
  m.output('tx_data', outBuf.slice(7, 0));
  return { top: m.build(), shape: { inBytes, outBytes, resultPort, resultBits } };
}
