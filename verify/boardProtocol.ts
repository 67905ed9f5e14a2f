// The serial-line protocol between a host and the UART board wrapper (generators/fpga/uart.ts), shared by
// the host program (bin/board.mjs, over a real serial port) and the co-simulation (verify/cosimUart.ts,
// over a simulated line in Verilator).
//
// One exchange per vector: the host sends inBytes bytes (the core's in_data, least significant byte
// first: feature 0 first when activations are 8 bits), then reads outBytes bytes back: the class, then the
// result (classes logits of logitBits each, two's complement, packed from bit 0, least significant byte
// first). The host waits for the answer before it sends the next vector.

/** fpga/board.json: what the host program needs to talk to the board and check its answers. */
export interface BoardFile {
  readonly format: 'hardwire-board-1';
  readonly top: string;
  readonly target: string;
  readonly clockMHz: number;
  readonly baud: number;
  /** The baud divider built into the bitstream (clocks per bit at clockMHz). */
  readonly clocksPerBit: number;
  readonly inBytes: number;
  readonly outBytes: number;
  readonly actBits: number;
  readonly classes: number;
  readonly logitBits: number;
  /** Vectors with the golden model's answers: the held-out set (when the model has one) and random ones. */
  readonly sets: Record<string, readonly BoardVector[]>;
}

export interface BoardVector {
  /** Activations (signed ints of actBits). */
  readonly x: readonly number[];
  readonly cls: number;
  readonly logits: readonly number[];
}

export interface BoardAnswer {
  readonly cls: number;
  readonly logits: number[];
}

/** The request bytes for one vector: activations packed from bit 0, actBits each, padded to inBytes. */
export function requestBytes(x: ArrayLike<number>, actBits: number, inBytes: number): Uint8Array {
  if (x.length * actBits > inBytes * 8) throw new Error(`requestBytes: ${x.length} activations of ${actBits} bits do not fit ${inBytes} bytes`);
  let v = 0n;
  const m = (1n << BigInt(actBits)) - 1n;
  for (let i = x.length - 1; i >= 0; i--) v = (v << BigInt(actBits)) | (BigInt(x[i]) & m);
  const out = new Uint8Array(inBytes);
  for (let i = 0; i < inBytes; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** Decode an answer: class byte, then the logits (signed, logitBits each). */
export function parseAnswer(bytes: ArrayLike<number>, classes: number, logitBits: number): BoardAnswer {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 1; i--) v = (v << 8n) | BigInt(bytes[i]);
  const logits: number[] = [];
  const m = (1n << BigInt(logitBits)) - 1n;
  for (let j = 0; j < classes; j++) logits.push(Number(BigInt.asIntN(logitBits, (v >> BigInt(j * logitBits)) & m)));
  return { cls: bytes[0], logits };
}

/** True when an answer equals the golden one, class and every logit. */
export function sameAnswer(a: BoardAnswer, g: BoardVector): boolean {
  return a.cls === g.cls && a.logits.length === g.logits.length && a.logits.every((l, j) => l === g.logits[j]);
}

export function describeMismatch(k: number, a: BoardAnswer | undefined, g: BoardVector): string {
  return `vector ${k}: board class ${a?.cls ?? 'none'} logits [${a?.logits.join(',') ?? ''}], golden class ${g.cls} logits [${g.logits.join(',')}]`;
}

/** A way to reach the board: send one request, get its answer's bytes (fewer on a timeout). */
export interface Transport {
  exchange(request: Uint8Array, answerBytes: number): Promise<Uint8Array>;
}

export interface SessionResult {
  readonly equal: number;
  readonly total: number;
  readonly firstMismatch?: string;
  readonly seconds: number;
}

/** Send every vector through the transport, one exchange each, and compare with the golden answers. */
export async function runSession(t: Transport, b: BoardFile, vectors: readonly BoardVector[], onAnswer?: (k: number, ok: boolean) => void): Promise<SessionResult> {
  const t0 = performance.now();
  let equal = 0;
  let firstMismatch: string | undefined;
  for (const [k, g] of vectors.entries()) {
    const got = await t.exchange(requestBytes(g.x, b.actBits, b.inBytes), b.outBytes);
    if (got.length !== b.outBytes) {
      firstMismatch ??= `vector ${k}: ${got.length} of ${b.outBytes} answer bytes came back`;
      onAnswer?.(k, false);
      continue;
    }
    const a = parseAnswer(got, b.classes, b.logitBits);
    const ok = sameAnswer(a, g);
    if (ok) equal++;
    else firstMismatch ??= describeMismatch(k, a, g);
    onAnswer?.(k, ok);
  }
  return { equal, total: vectors.length, firstMismatch, seconds: (performance.now() - t0) / 1000 };
}

// ---- the line itself (8N1), for simulation ----

/** Line levels, one per clock, sending `bytes` back to back as 8N1 frames of cpb clocks per bit. */
export function serialize(bytes: ArrayLike<number>, cpb: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const frame = [0, ...Array.from({ length: 8 }, (_, k) => (bytes[i] >> k) & 1), 1];
    for (const b of frame) for (let c = 0; c < cpb; c++) out.push(b);
  }
  return out;
}

/** Bytes found on a line sampled once per clock: each falling edge starts a frame, bits read at their middle; a frame with a low stop bit is a framing error. */
export function deserialize(levels: ArrayLike<number>, cpb: number): { bytes: number[]; framingErrors: number } {
  const bytes: number[] = [];
  let framingErrors = 0;
  let prev = 1;
  for (let c = 0; c < levels.length; c++) {
    const l = levels[c] & 1;
    if (prev === 1 && l === 0) {
      const mid = (k: number) => c + Math.floor(cpb / 2) + k * cpb;
      if (mid(9) >= levels.length) break;
      let v = 0;
      for (let k = 0; k < 8; k++) v |= (levels[mid(k + 1)] & 1) << k;
      if ((levels[mid(9)] & 1) === 1) bytes.push(v);
      else framingErrors++;
      c = mid(9);
      prev = 1;
      continue;
    }
    prev = l;
  }
  return { bytes, framingErrors };
}
