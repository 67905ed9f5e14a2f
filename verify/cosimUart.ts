// Co-simulation of the UART board wrapper in Verilator with a simulated serial line: every request is
// serialized into RX bit periods (8N1, cpb clocks per bit), the TX pin is sampled every clock and decoded
// back into bytes, and the answers are compared with the golden model's, class and logits.
import type { VerilatedSim } from './verilator.ts';
import { describeMismatch, deserialize, parseAnswer, requestBytes, sameAnswer, serialize, type BoardFile, type BoardVector, type Transport } from './boardProtocol.ts';

/** Idle line at the start: the wrapper's power-on reset (16 clocks) and the RX synchronizer. */
const LEAD = 32;

/** Clocks to leave after a request for the answer: RX of the last byte, the core, TX of the answer. */
export function answerGap(b: BoardFile, cpb: number, latency: number): number {
  return 2 * 10 * cpb + latency + 16 + b.outBytes * (10 * cpb + 2);
}

function checkSim(sim: VerilatedSim): void {
  if (sim.inputs.length !== 1 || sim.inputs[0].name !== 'uart_rx' || sim.outputs.length !== 1 || sim.outputs[0].name !== 'uart_tx') {
    throw new Error(`cosimUart: expected a design with uart_rx in and uart_tx out, got ${sim.inputs.map((p) => p.name).join(',')} -> ${sim.outputs.map((p) => p.name).join(',')}`);
  }
}

/** Drive a line (one level per clock, after LEAD idle clocks) and return the TX levels, one per clock. */
async function runLine(sim: VerilatedSim, line: number[], tail: number): Promise<Buffer> {
  const levels = Buffer.alloc(LEAD + line.length + tail, 1);
  for (let i = 0; i < line.length; i++) levels[LEAD + i] = line[i];
  // One 1-byte record per clock (uart_rx), one 1-byte record back (uart_tx).
  return sim.runRaw(levels);
}

export interface UartRun {
  readonly equal: number;
  readonly total: number;
  readonly firstMismatch?: string;
  readonly cycles: number;
  readonly simSeconds: number;
  readonly framingErrors: number;
}

/** All vectors in one run: request, a gap long enough for the answer, next request. */
export async function cosimUart(sim: VerilatedSim, b: BoardFile, cpb: number, latency: number, vectors: readonly BoardVector[]): Promise<UartRun> {
  checkSim(sim);
  const gap = answerGap(b, cpb, latency);
  const line: number[] = [];
  for (const g of vectors) {
    for (const l of serialize(requestBytes(g.x, b.actBits, b.inBytes), cpb)) line.push(l);
    for (let i = 0; i < gap; i++) line.push(1);
  }
  const t0 = performance.now();
  const tx = await runLine(sim, line, 0);
  const simSeconds = (performance.now() - t0) / 1000;
  const { bytes, framingErrors } = deserialize(tx, cpb);
  let equal = 0;
  let firstMismatch: string | undefined;
  vectors.forEach((g, k) => {
    const chunk = bytes.slice(k * b.outBytes, (k + 1) * b.outBytes);
    const a = chunk.length === b.outBytes ? parseAnswer(chunk, b.classes, b.logitBits) : undefined;
    if (a && sameAnswer(a, g)) equal++;
    else firstMismatch ??= describeMismatch(k, a, g);
  });
  if (bytes.length !== vectors.length * b.outBytes) firstMismatch ??= `${bytes.length} bytes came back on TX, expected ${vectors.length * b.outBytes}`;
  return { equal, total: vectors.length, firstMismatch, cycles: tx.length, simSeconds, framingErrors };
}

/**
 * The simulated board as a Transport (what bin/board.mjs uses a serial port for): each exchange powers the
 * simulated board up, sends the request on RX and decodes what TX sends back.
 */
export function simTransport(sim: VerilatedSim, b: BoardFile, cpb: number, latency: number): Transport {
  checkSim(sim);
  return {
    async exchange(request: Uint8Array, answerBytes: number): Promise<Uint8Array> {
      const tx = await runLine(sim, serialize(request, cpb), answerGap(b, cpb, latency));
      return Uint8Array.from(deserialize(tx, cpb).bytes.slice(0, answerBytes));
    },
  };
}
