// Weight images by streaming: each matmul tensor read a row block at a time, quantized per output
// channel (a row), packed and written by positioned writes, then dropped. Peak memory: one row block,
// whatever the model's size. The images are the memory-image form of mask layer A at scale (one file
// per tensor, a manifest saying what each holds and its checksum, so a readback can be checked).
//
// Image format: row-major [out, in] signed two's-complement B-bit words, little-endian bit packing
// (word k at bits [k·B, k·B + B) of the tensor's bit stream; rows are not padded). Scales: one float64
// per output channel in <name>.scale.f64 (little-endian).

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { WeightBits } from '../model.ts';
import { readWeightRows, type SafetensorsFile, type TensorInfo } from '../load/safetensors.ts';
import { quantizeWeights } from './mlp.ts';

export interface ImageEntry {
  readonly tensor: string;
  readonly shape: readonly [number, number];
  readonly bits: WeightBits;
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly scaleFile: string;
  /** Weights that quantized to 0 (cost nothing in a D = 1 cell). */
  readonly zeros: number;
}

export interface ImageManifest {
  readonly format: 'hardwire-weight-images-1';
  readonly packing: string;
  readonly images: ImageEntry[];
  readonly weights: number;
}

/** A file name for a tensor name: characters outside [A-Za-z0-9_.-] become '_' (tensor names never reach a path unescaped). */
export function imageFileName(tensor: string): string {
  const safe = tensor.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
  return safe.length > 0 ? safe.slice(0, 180) : '_';
}

/** Elements per row block read at once (about 4 MiB of float32). */
export const IMAGE_BLOCK_ELEMENTS = 1 << 20;

/**
 * Quantizes every 2-D float tensor that `select` accepts into `outDir`: <name>.w<B>.bin, <name>.scale.f64,
 * and manifest.json. Streams: never holds more than one row block of one tensor.
 */
export function writeWeightImages(
  file: SafetensorsFile,
  outDir: string,
  bits: WeightBits,
  select: (t: TensorInfo) => boolean = (t) => t.shape.length === 2,
  blockElements = IMAGE_BLOCK_ELEMENTS,
): ImageManifest {
  fs.mkdirSync(outDir, { recursive: true });
  const images: ImageEntry[] = [];
  let weights = 0;
  const names = [...file.tensors.keys()].sort();
  for (const name of names) {
    const t = file.tensors.get(name)!;
    if (t.shape.length !== 2 || !select(t)) continue;
    const [rows, cols] = t.shape;
    const base = imageFileName(name);
    const fileName = `${base}.w${bits}.bin`;
    const scaleName = `${base}.scale.f64`;
    const totalBits = rows * cols * bits;
    const bytes = Math.ceil(totalBits / 8);
    const fd = fs.openSync(join(outDir, fileName), 'w');
    const sfd = fs.openSync(join(outDir, scaleName), 'w');
    const hash = createHash('sha256');
    let zeros = 0;
    try {
      const perBlock = Math.max(1, Math.floor(blockElements / cols));
      // The bit stream is written in whole bytes; a block that ends mid-byte carries its last partial
      // byte into the next block.
      let carry = 0;
      let carryBits = 0;
      let pos = 0;
      for (let r = 0; r < rows; r += perBlock) {
        const count = Math.min(perBlock, rows - r);
        const w = readWeightRows(file, t, r, count);
        const q = quantizeWeights(w, count, cols, bits);
        const out = Buffer.allocUnsafe(Math.ceil((carryBits + q.weight.length * bits) / 8));
        let n = 0;
        let acc = carry;
        let accBits = carryBits;
        const mask = (1 << bits) - 1;
        for (let i = 0; i < q.weight.length; i++) {
          const v = q.weight[i];
          if (v === 0) zeros++;
          acc |= (v & mask) << accBits;
          accBits += bits;
          while (accBits >= 8) {
            out[n++] = acc & 0xff;
            acc >>>= 8;
            accBits -= 8;
          }
        }
        carry = acc;
        carryBits = accBits;
        const chunk = out.subarray(0, n);
        writeAll(fd, chunk, pos);
        hash.update(chunk);
        pos += n;
        const s = Buffer.from(q.scale.buffer, q.scale.byteOffset, q.scale.byteLength);
        writeAll(sfd, s, r * 8);
      }
      if (carryBits > 0) {
        const last = Buffer.from([carry & 0xff]);
        writeAll(fd, last, pos);
        hash.update(last);
        pos += 1;
      }
      if (pos !== bytes) throw new Error(`writeWeightImages: ${name}: wrote ${pos} bytes, expected ${bytes}`);
    } finally {
      fs.closeSync(fd);
      fs.closeSync(sfd);
    }
    images.push({ tensor: name, shape: [rows, cols], bits, file: fileName, bytes, sha256: hash.digest('hex'), scaleFile: scaleName, zeros });
    weights += rows * cols;
  }
  const manifest: ImageManifest = {
    format: 'hardwire-weight-images-1',
    packing: `row-major [out, in], signed two's complement, ${bits} bits per weight, little-endian bit order, rows not padded; scales float64 LE per output channel`,
    images,
    weights,
  };
  fs.writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Word `k` (flat index) of a packed image, sign-extended: for readback checks and tests. */
export function imageWord(image: Uint8Array, bits: number, k: number): number {
  let v = 0;
  for (let b = 0; b < bits; b++) {
    const bit = k * bits + b;
    v |= ((image[bit >>> 3] >>> (bit & 7)) & 1) << b;
  }
  return v & (1 << (bits - 1)) ? v - (1 << bits) : v;
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length; ) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}
