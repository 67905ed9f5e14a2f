// A Verilator crash is a tool failure (exit 5, naming how it died and the command to reproduce), never a
// lint warning of the design (exit 4). A fake verilator first on PATH crashes in the two ways seen.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, ToolError } from '../core/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'hw-fakeverilator-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const mode = join(dir, 'mode');
writeFileSync(join(dir, 'verilator'), `#!/bin/sh
case "$(cat ${JSON.stringify(mode)})" in
  message) echo "%Error: Internal Error: V3Const.cpp:123: deep recursion" >&2; echo "Verilator threw signal -1. Suggest trying --debug --gdbbt" >&2; exit 1;;
  signal) kill -SEGV $$;;
esac
`);
chmodSync(join(dir, 'verilator'), 0o755);
process.env.PATH = `${dir}:${process.env.PATH}`; // before verify/tools.ts first looks verilator up
const { lintVerilog } = await import('./lint.ts');
const v = join(dir, 'top.v');
writeFileSync(v, 'module top; endmodule\n');

async function failure(): Promise<ToolError> {
  try {
    await lintVerilog([v], 'top');
  } catch (e) {
    return e as ToolError;
  }
  throw new Error('lint passed');
}

describe('lintVerilog when Verilator crashes', () => {
  it.each([
    ['message', /verilator --lint-only crashed: exit 1, "%Error: Internal Error: V3Const.cpp:123: deep recursion"/],
    ['signal', /verilator --lint-only crashed: signal 11 \(exit 139\)/],
  ])('%s: exit 5 with the command to reproduce', async (how, pattern) => {
    writeFileSync(mode, how);
    const e = await failure();
    expect(e).toBeInstanceOf(ToolError);
    expect(e.code).toBe(EXIT.toolFailed);
    expect(e.message).toMatch(pattern);
    expect(e.message).toContain(`to reproduce: cd "${dir}" && ${join(dir, 'verilator')} --lint-only -Wall --top-module top top.v`);
  });
});
