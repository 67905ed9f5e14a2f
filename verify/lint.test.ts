// Tests for verify/lint.ts: clean RTL passes, a width mismatch is a LintError, .f lists are read.

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, UserError } from '../core/errors.ts';
import { LintError, lintEach, lintVerilog, readFileList } from './lint.ts';

const FIXTURES: Record<string, string> = {
  hw_sub: `// Test fixture: submodule, registered increment.
module hw_sub (
    input  wire       clk,
    input  wire [7:0] d,
    output reg  [7:0] q
);
    always @(posedge clk) q <= d + 8'd1;
endmodule
`,
  hw_top: `// Test fixture: top that instantiates hw_sub and drops one bit through an _unused sink.
module hw_top (
    input  wire       clk,
    input  wire [8:0] d,
    output wire [7:0] q
);
    wire _unused = d[8];
    hw_sub u_sub (.clk(clk), .d(d[7:0]), .q(q));
endmodule
`,
  hw_width: `// Test fixture: a deliberate width mismatch.
module hw_width (
    input  wire [15:0] a,
    input  wire [15:0] b,
    output wire [7:0]  y
);
    assign y = a + b;
endmodule
`,
};

let dir: string;
const file = (name: string) => join(dir, `${name}.v`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hw-lint-test-'));
  for (const [name, text] of Object.entries(FIXTURES)) await writeFile(file(name), text);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('lintVerilog', () => {
  it('passes clean RTL', async () => {
    await lintVerilog([file('hw_top'), file('hw_sub')], 'hw_top');
  });

  it('throws LintError with every warning line for a width mismatch', async () => {
    const err = await lintVerilog([file('hw_width')], 'hw_width').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LintError);
    const lint = err as LintError;
    expect(lint).toBeInstanceOf(UserError);
    expect(lint.code).toBe(EXIT.verifyFailed);
    expect(lint.warnings.length).toBeGreaterThan(0);
    expect(lint.warnings.every((w) => w.startsWith('%Warning') || w.startsWith('%Error'))).toBe(true);
    expect(lint.warnings[0]).toMatch(/%Warning-WIDTH/);
    expect(lint.message).toMatch(/hw_width/);
  });
});

describe('lintEach', () => {
  it('lints each module as top with the others as library', async () => {
    await lintEach([file('hw_top'), file('hw_sub')]);
  });

  it('collects the warnings of every failing module', async () => {
    const err = await lintEach([file('hw_top'), file('hw_sub'), file('hw_width')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LintError);
    expect((err as LintError).top).toBe('hw_width');
  });
});

describe('readFileList', () => {
  it('resolves paths relative to the list and drops comments and blank lines', async () => {
    await mkdir(join(dir, 'lists'), { recursive: true });
    const f = join(dir, 'lists', 'design.f');
    await writeFile(f, '// design files\n../hw_sub.v\n\n  ../hw_top.v   // the top\n');
    expect(await readFileList(f)).toEqual([file('hw_sub'), file('hw_top')]);
    await lintVerilog(await readFileList(f), 'hw_top');
  });

  it('refuses options', async () => {
    const f = join(dir, 'opts.f');
    await writeFile(f, '+incdir+foo\n');
    await expect(readFileList(f)).rejects.toThrow(/options are not supported/);
  });
});
