// npm run bench:scale: the streaming front half at 1e6, 1e7, 1e8 weights — a seeded synthetic Llama-shaped
// checkpoint (bf16, sharded) → read row blocks → quantize per output channel → packed weight images +
// manifest. Prints weights/s and peak RSS per size and the log-log slope of time against weights (1.0 is
// linear). Each size runs in its own process, so its peak RSS is its own. Arguments: sizes (default
// 1e6 1e7 1e8). Takes about a minute per 1e8 weights on one core, plus the checkpoint writing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWeights } from '../generators/load/sharded.ts';
import { llamaShaped, llamaShapeFor, writeSyntheticCheckpoint } from '../generators/load/synthetic.ts';
import { writeWeightImages } from '../generators/quantize/images.ts';

interface One { weights: number; parameters: number; shards: number; writeSeconds: number; seconds: number; peakRssMiB: number; largestRowBlockMiB: number }

function runOne(target: number): One {
  const dir = mkdtempSync(join(tmpdir(), 'hw-scale-'));
  try {
    const shape = llamaShapeFor(target);
    const model = llamaShaped(shape, 'BF16');
    const bytes = model.tensors.reduce((s, t) => s + t.shape.reduce((a, d) => a * d, 2), 0);
    let t = performance.now();
    const ck = writeSyntheticCheckpoint(join(dir, 'ckpt'), model, 1, Math.max(1e6, Math.ceil(bytes / 3))); // three shards or so
    const writeSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const f = openWeights(ck.model);
    let weights = 0;
    try {
      weights = writeWeightImages(f, join(dir, 'images'), 4).weights;
    } finally {
      f.close();
    }
    const seconds = (performance.now() - t) / 1000;
    const widest = Math.max(...model.tensors.map((x) => x.shape[1] ?? 1));
    return {
      weights, parameters: ck.parameters, shards: ck.files.length > 1 ? ck.files.length - 1 : 1, writeSeconds, seconds,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      largestRowBlockMiB: (Math.max(1, Math.floor((1 << 20) / widest)) * widest * 4) / 2 ** 20,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Least-squares slope of log(y) against log(x). */
function logLogSlope(xs: number[], ys: number[]): number {
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < lx.length; i++) {
    num += (lx[i] - mx) * (ly[i] - my);
    den += (lx[i] - mx) ** 2;
  }
  return num / den;
}

const one = process.argv.indexOf('--one');
if (one >= 0) {
  process.stdout.write(`${JSON.stringify(runOne(Number(process.argv[one + 1])))}\n`);
} else {
  const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
  const targets = sizes.length ? sizes : [1e6, 1e7, 1e8];
  const t0 = performance.now();
  const rows: One[] = [];
  console.log('streaming front half: synthetic Llama checkpoint (bf16, sharded) -> row blocks -> int4 per channel -> weight images');
  console.log(`${'weights'.padStart(13)} ${'shards'.padStart(6)} ${'write ckpt'.padStart(11)} ${'read+quant+image'.padStart(17)} ${'weights/s'.padStart(12)} ${'peak RSS'.padStart(9)}`);
  for (const target of targets) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--one', String(target)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const r = JSON.parse(out.trim().split('\n').pop()!) as One;
    rows.push(r);
    console.log(`${r.weights.toLocaleString('en-US').padStart(13)} ${String(r.shards).padStart(6)} ${`${r.writeSeconds.toFixed(2)} s`.padStart(11)} ${`${r.seconds.toFixed(2)} s`.padStart(17)} ${Math.round(r.weights / r.seconds).toLocaleString('en-US').padStart(12)} ${`${r.peakRssMiB.toFixed(0)} MiB`.padStart(9)}`);
  }
  if (rows.length >= 2) {
    const w = rows.map((r) => r.weights);
    console.log(`log-log slope of time vs weights: read+quantize+image ${logLogSlope(w, rows.map((r) => r.seconds)).toFixed(3)}, checkpoint writing ${logLogSlope(w, rows.map((r) => r.writeSeconds)).toFixed(3)}; of peak RSS ${logLogSlope(w, rows.map((r) => r.peakRssMiB)).toFixed(3)} (1.0 = linear, 0 = constant)`);
  }
  console.log(`(bench:scale took ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
