// Every tool runs under a memory limit (HARDWIRE_TOOL_MEMORY, default three quarters of the machine's memory): a
// tool that runs out of it ends the run with exit 5 and one line naming the tool and the limit, never a
// lint warning (exit 4) or a stack trace, and nothing is left beside --out or in the temp folder.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../core/errors.ts';
import { expectOneLineError, genRtl, ROOT, scratch } from './testing.ts';

const { fresh, cleanup } = scratch('hw-toolmem-');
afterAll(cleanup);

describe('tool memory limit', () => {
  it('HARDWIRE_TOOL_MEMORY=16M: Verilator lint runs out of memory, exit 5, one line naming verilator and 16 MiB', async () => {
    const { dir, out } = fresh();
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    const r = await genRtl([join(ROOT, 'examples/digits-mlp/model.safetensors'), '--out', out, '--no-synth', '-q'], dir, { HARDWIRE_TOOL_MEMORY: '16M', TMPDIR: tmp });
    expectOneLineError(r, EXIT.toolFailed, 'verilator ran out of memory under the tool memory limit of 16 MiB', 'HARDWIRE_TOOL_MEMORY');
    expect(readdirSync(dir)).toEqual(['tmp']);
    expect(readdirSync(tmp).filter((n) => n.startsWith('hardwire-'))).toEqual([]); // (tsx keeps its own cache there)
  }, 120_000);

  it('a bad HARDWIRE_TOOL_MEMORY is a usage error before any work', async () => {
    const { dir, out } = fresh();
    const r = await genRtl([join(ROOT, 'examples/digits-mlp/model.safetensors'), '--out', out, '-q'], dir, { HARDWIRE_TOOL_MEMORY: 'lots' });
    expectOneLineError(r, EXIT.usage, 'HARDWIRE_TOOL_MEMORY="lots"', '8G, 512M, off');
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);
});
