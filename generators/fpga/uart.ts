// The board wrapper: a UART (8N1) in front of the byte-stream wrapper, so a board with a USB-serial bridge
// (iCE40-HX8K breakout, iCEBreaker, most Xilinx boards) talks to the model over two pins.
//   uart_rx → uart_rx_cN → fpga_stream (bytes → the design → bytes) → uart_tx_cN → uart_tx
// N is the clocks per bit (the baud divider): round(clock / baud), e.g. 104 for 115200 baud at 12 MHz.
// The co-simulation builds the same generator with a small N (4) so a vector takes thousands of cycles,
// not hundreds of thousands; the board build uses the divider of its clock.
import { ModuleBuilder } from '../../dsl/module.ts';
import type { IrModule } from '../../dsl/ir/types.ts';

/** Unsigned bits that count 0 .. n. */
function bitsFor(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n + 1)));
}

/** The baud divider for a clock: clocks per bit, rounded (12 MHz, 115200 baud → 104, 0.16% fast). */
export function clocksPerBit(clockHz: number, baud: number): number {
  const n = Math.round(clockHz / baud);
  if (n < 4) throw new Error(`clocksPerBit: ${clockHz} Hz is too slow for ${baud} baud (needs at least 4 clocks per bit)`);
  return n;
}

function checkDivider(n: number): void {
  if (!Number.isInteger(n) || n < 4) throw new Error(`uart: clocks per bit must be an integer >= 4, got ${n}`);
}

/**
 * UART receiver, 8N1: a two-flop synchronizer, a start bit confirmed at its middle, data sampled at the
 * middle of each bit (LSB first), `valid` pulsed for one cycle with `data` when the stop bit is high
 * (a byte with a low stop bit, a framing error, is dropped).
 */
export function uartRx(cpb: number): IrModule {
  checkDivider(cpb);
  const m = new ModuleBuilder(`uart_rx_c${cpb}`, { doc: `UART receiver 8N1, ${cpb} clocks per bit`, params: { clocks_per_bit: cpb } });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const rx = m.input('rx', 1);
  const s1 = m.delay('rx_s1', rx, { clock: clk, reset: rst, resetValue: 1n });
  const line = m.delay('rx_s2', s1, { clock: clk, reset: rst, resetValue: 1n });
  const cw = bitsFor(cpb - 1);
  const busy = m.reg('busy', { width: 1, clock: clk, reset: rst });
  const cnt = m.reg('cnt', { width: cw, clock: clk, reset: rst });
  const bit = m.reg('bit_idx', { width: 4, clock: clk, reset: rst });
  const shift = m.reg('shift', { width: 8, clock: clk, reset: rst });
  const tick = busy.and(cnt.eq(0));
  const start = busy.not().and(line.not());
  const isStart = bit.eq(0), isStop = bit.eq(9);
  const falseStart = tick.and(isStart).and(line);
  const done = tick.and(isStop);
  busy.next(start.select(m.const(1, 1), falseStart.or(done).select(m.const(0, 1), busy)));
  cnt.next(start.select(m.const(Math.floor(cpb / 2) - 1, cw), tick.select(m.const(cpb - 1, cw), busy.select(cnt.sub(1), cnt))));
  bit.next(start.select(m.const(0, 4), tick.select(bit.add(1), bit)));
  const dataBit = tick.and(isStart.not()).and(isStop.not());
  shift.next(dataBit.select(m.cat(line, shift.slice(7, 1)), shift));
  const valid = m.reg('valid_q', { width: 1, clock: clk, reset: rst });
  valid.next(done.and(line));
  m.output('valid', valid);
  m.output('data', shift);
  return m.build();
}

/** UART transmitter, 8N1: takes a byte when `ready` and `valid`, sends start, 8 data bits LSB first, stop. */
export function uartTx(cpb: number): IrModule {
  checkDivider(cpb);
  const m = new ModuleBuilder(`uart_tx_c${cpb}`, { doc: `UART transmitter 8N1, ${cpb} clocks per bit`, params: { clocks_per_bit: cpb } });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const valid = m.input('valid', 1);
  const data = m.input('data', 8);
  const cw = bitsFor(cpb - 1);
  const busy = m.reg('busy', { width: 1, clock: clk, reset: rst });
  const cnt = m.reg('cnt', { width: cw, clock: clk, reset: rst });
  const bit = m.reg('bit_idx', { width: 4, clock: clk, reset: rst });
  // Frame, sent from bit 0: start (0), data LSB first, stop (1); shifted down with 1s behind.
  const frame = m.reg('frame', { width: 10, clock: clk, reset: rst, resetValue: 0x3ffn });
  const load = busy.not().and(valid);
  const tick = busy.and(cnt.eq(0));
  const last = tick.and(bit.eq(9));
  busy.next(load.select(m.const(1, 1), last.select(m.const(0, 1), busy)));
  cnt.next(load.or(tick).select(m.const(cpb - 1, cw), busy.select(cnt.sub(1), cnt)));
  bit.next(load.select(m.const(0, 4), tick.select(bit.add(1), bit)));
  frame.next(load.select(m.cat(m.const(1, 1), data, m.const(0, 1)), tick.select(m.cat(m.const(1, 1), frame.slice(9, 1)), frame)));
  m.output('ready', busy.not());
  m.output('tx', busy.not().or(frame.bit(0)));
  return m.build();
}

/**
 * `fpga_top` for a board: clk, uart_rx in, uart_tx out. A power-on reset holds everything for 16 clocks
 * (FPGA flops start at 0 after configuration). Bytes that arrive while the stream wrapper is computing or
 * answering are dropped: the host sends one vector and waits for its answer (bin/board.mjs does).
 */
export function uartTop(stream: IrModule, cpb: number, name = 'fpga_top'): IrModule {
  const m = new ModuleBuilder(name, { doc: `UART board wrapper (8N1, ${cpb} clocks per bit) around ${stream.name}`, params: { clocks_per_bit: cpb, stream: stream.name } });
  const clk = m.clock('clk');
  const rxPin = m.input('uart_rx', 1);
  const por = m.reg('por_count', { width: 4, clock: clk });
  const porDone = por.eq(15);
  por.next(porDone.select(por, por.add(1)));
  const rst = porDone.not().named('por_rst');
  const rx = m.instance('u_rx', uartRx(cpb), { clk, rst, rx: rxPin });
  const txReady = m.wire('tx_ready', 1);
  const s = m.instance('u_stream', stream, { clk, rst, rx_valid: rx.valid, rx_data: rx.data, tx_ready: txReady });
  const tx = m.instance('u_tx', uartTx(cpb), { clk, rst, valid: s.tx_valid, data: s.tx_data });
  txReady.drive(tx.ready);
  m.output('uart_tx', tx.tx);
  return m.build();
}
