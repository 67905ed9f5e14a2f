#!/usr/bin/env node
// board: send vectors to an FPGA running gen-rtl's UART wrapper (--fpga) over a serial port, and compare
// the answers with the golden model's (written by gen-rtl into OUT/fpga/board.json). No npm dependency:
// the port is configured with `stty -F DEV BAUD raw -echo` and then read and written with fs.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { register } from 'tsx/esm/api';

register();
const { runSession } = await import('../verify/boardProtocol.ts');

const HELP = `Usage: node bin/board.mjs --board OUT/fpga/board.json --device /dev/ttyUSB1 [options]

Sends vectors to a board running the bitstream of \`gen-rtl MODEL --fpga TARGET\` (fpga/fpga_top.bin: the
model behind a UART, 8N1) and compares every answer, class and logits, with the golden model's answer
that gen-rtl wrote beside the bitstream (fpga/board.json). Prints "N/N equal"; exit 0 when all are equal,
1 when one differs or does not come back, 2 on a usage error.

Protocol: one vector at a time; the host sends the vector's bytes (activations, feature 0 first), the
board answers with the class byte and then the logits (least significant byte first).

Options:
  --board FILE     fpga/board.json of a gen-rtl --fpga output (or the output folder itself)
  --device DEV     the board's serial port, e.g. /dev/ttyUSB1 (iCE40-HX8K breakout and iCEBreaker: the
                   FTDI's second port). Configured with: stty -F DEV BAUD raw -echo
  --baud N         line rate (default: the one the bitstream was built for, board.json's baud)
  --set NAME       vectors to send: held-out (default when the model has a test set) or random
  --count N        send only the first N vectors of the set
  --timeout MS     how long to wait for an answer (default 2000)
  --help           this text
`;

function usage(msg) {
  process.stderr.write(`board: ${msg}\n(see node bin/board.mjs --help)\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { timeout: 2000 };
  const known = ['board', 'device', 'baud', 'set', 'count', 'timeout'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { process.stdout.write(HELP); process.exit(0); }
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(a);
    if (!m || !known.includes(m[1])) usage(`unknown argument ${a}`);
    const v = m[2] ?? argv[++i];
    if (v === undefined) usage(`--${m[1]} needs a value`);
    o[m[1]] = v;
  }
  return o;
}

/** A serial port as a Transport: write the request, read the answer until it is complete or the timeout. */
function serialTransport(device, baud, timeoutMs) {
  try {
    // min 0 time 1: a read returns after 0.1 s without data, so the loop below can keep a deadline.
    execFileSync('stty', ['-F', device, String(baud), 'raw', '-echo', 'min', '0', 'time', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    usage(`${device}: stty failed: ${String(e.stderr ?? e.message).trim().split('\n')[0]}`);
  }
  const fd = openSync(device, 'r+');
  const buf = Buffer.alloc(4096);
  const drain = () => { while (readSync(fd, buf, 0, buf.length, null) > 0); };
  drain(); // bytes left from an earlier session
  const readAnswer = (n, deadline) => {
    const got = [];
    while (got.length < n && Date.now() < deadline) {
      const k = readSync(fd, buf, 0, n - got.length, null);
      for (let i = 0; i < k; i++) got.push(buf[i]);
    }
    return got;
  };
  return {
    close: () => closeSync(fd),
    async exchange(request, answerBytes) {
      writeSync(fd, request);
      const got = readAnswer(answerBytes, Date.now() + timeoutMs);
      if (got.length === 0) {
        // The board may have lost a byte and still wait for the rest of a vector: send filler bytes one at
        // a time until it answers, and throw that answer away, so the next vector starts in step.
        for (let i = 0; i < request.length; i++) {
          writeSync(fd, Uint8Array.of(0));
          if (readAnswer(answerBytes, Date.now() + 200).length > 0) { drain(); break; }
        }
      }
      return Uint8Array.from(got);
    },
  };
}

const o = parseArgs(process.argv.slice(2));
if (!o.board) usage('--board FILE is required (OUT/fpga/board.json of a gen-rtl --fpga run)');
if (!o.device) usage('--device DEV is required (the board\'s serial port, e.g. /dev/ttyUSB1)');
let boardPath = o.board;
if (existsSync(boardPath) && statSync(boardPath).isDirectory()) boardPath = existsSync(join(boardPath, 'fpga', 'board.json')) ? join(boardPath, 'fpga', 'board.json') : join(boardPath, 'board.json');
if (!existsSync(boardPath)) usage(`${boardPath}: not found (gen-rtl MODEL --fpga TARGET writes OUT/fpga/board.json)`);
let board;
try {
  board = JSON.parse(readFileSync(boardPath, 'utf8'));
} catch (e) {
  usage(`${boardPath}: not valid JSON (${e.message})`);
}
if (board.format !== 'hardwire-board-1') usage(`${boardPath}: not a gen-rtl board file (format ${JSON.stringify(board.format)})`);
const setName = o.set ?? (board.sets['held-out'] ? 'held-out' : 'random');
const set = board.sets[setName];
if (!set) usage(`--set ${setName}: ${boardPath} has ${Object.keys(board.sets).join(', ')}`);
const count = o.count === undefined ? set.length : Number(o.count);
if (!Number.isInteger(count) || count < 1) usage(`--count ${o.count}: expected a positive integer`);
const baud = o.baud === undefined ? board.baud : Number(o.baud);
if (!Number.isInteger(baud) || baud < 1) usage(`--baud ${o.baud}: expected a positive integer`);
const timeout = Number(o.timeout);
if (!(timeout > 0)) usage(`--timeout ${o.timeout}: expected milliseconds`);
if (!existsSync(o.device)) usage(`${o.device}: no such device`);

const vectors = set.slice(0, count);
process.stderr.write(`board: ${vectors.length} ${setName} vectors to ${o.device} at ${baud} baud (${board.target}, ${board.inBytes} bytes in, ${board.outBytes} bytes back each)\n`);
const t = serialTransport(o.device, baud, timeout);
let last = Date.now();
const r = await runSession(t, board, vectors, (k) => {
  if (Date.now() - last > 2000) { last = Date.now(); process.stderr.write(`board: ${k + 1}/${vectors.length}\n`); }
});
t.close();
process.stdout.write(`${setName}: ${r.equal}/${r.total} equal to the golden model (${r.seconds.toFixed(1)} s, ${(r.total / r.seconds).toFixed(1)} vectors/s)\n`);
if (r.firstMismatch) process.stdout.write(`first mismatch: ${r.firstMismatch}\n`);
process.exitCode = r.equal === r.total ? 0 : 1;
