// The mask rule has teeth: the masks of a real engine design have 0 cells in Yosys, and the same file
// with one gate (or one flop) injected fails the check the way a run fails: UserError, exit 4, naming
// the module and the cell kind. chipFacts is the step every engine run calls after lint.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, UserError } from '../core/errors.ts';
import { chipFacts } from '../cli/engineChecks.ts';
import { buildEngineDesign, mlpPersonalization } from '../generators/engine/design.ts';
import { TINY_LLAMA_GRID } from '../generators/grid/grid.ts';
import { randomQuantizedMlp } from '../generators/mlp/testing.ts';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkMaskPurity } from './maskPurity.ts';

const dir = mkdtempSync(join(tmpdir(), 'hw-mask-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const { q } = randomQuantizedMlp([24, 16, 10], 4, 3);
const design = buildEngineDesign(mlpPersonalization(q, TINY_LLAMA_GRID), TINY_LLAMA_GRID);
for (const [p, text] of design.files) {
  mkdirSync(dirname(join(dir, p)), { recursive: true });
  writeFileSync(join(dir, p), text);
}
const routing = join(dir, 'mask-routing', 'mask_routing.v');
const pristine = readFileSync(routing, 'utf8');

/** The mask file with `decl` added after the module's port list and `body` before endmodule. */
function inject(ports: string, body: string): void {
  const text = pristine.replace(/module mask_routing\s*\(/, `module mask_routing (\n  ${ports},`).replace(/\nendmodule\n/, `\n${body}\nendmodule\n`);
  expect(text).not.toBe(pristine);
  writeFileSync(routing, text);
}

/** The check chipFacts runs, on the routing mask alone (the weights mask takes ~8 s more in Yosys). */
async function refusal(): Promise<UserError> {
  try {
    await checkMaskPurity([{ file: routing, module: 'mask_routing' }]);
  } catch (e) {
    return e as UserError;
  }
  throw new Error('checkMaskPurity accepted a mask with logic in it');
}

describe('mask purity (each mask module alone in Yosys: 0 cells)', () => {
  it('the generated masks: 0 cells each; the report facts', async () => {
    writeFileSync(routing, pristine);
    const f = await chipFacts(design, dir);
    expect(f.maskCells).toEqual({ mask_weights: 0, mask_routing: 0 });
    expect(f.maskBits.weights).toBeGreaterThan(f.maskBits.routing);
    expect(f.baseSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('one injected gate: exit 4, naming the module and the cell', async () => {
    inject('input wire inj_a,\n  input wire inj_b,\n  output wire inj_y', 'assign inj_y = inj_a & inj_b;');
    const e = await refusal();
    expect(e).toBeInstanceOf(UserError);
    expect(e.code).toBe(EXIT.verifyFailed);
    expect(e.message).toMatch(/'mask_routing' has 1 cell \(1 \$and\)/);
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('one injected flop: exit 4', async () => {
    inject('input wire inj_clk,\n  input wire inj_d,\n  output reg inj_q', 'always @(posedge inj_clk) inj_q <= inj_d;');
    const e = await refusal();
    expect(e.code).toBe(EXIT.verifyFailed);
    expect(e.message).toMatch(/'mask_routing' has 1 cell \(1 \$dff\)/);
  });

  it('constants computed from constants stay constants (folded, 0 cells)', async () => {
    const f = join(dir, 'folded.v');
    writeFileSync(f, "module folded (output wire [7:0] y);\n  assign y = 8'h35 + 8'h0b;\nendmodule\n");
    expect((await checkMaskPurity([{ file: f, module: 'folded' }])).cells).toEqual({ folded: 0 });
    writeFileSync(routing, pristine);
  });
});
