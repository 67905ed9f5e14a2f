// Tests for verify/tools.ts: tool discovery, versions, and subprocess I/O without deadlock.

import { describe, expect, it } from 'vitest';
import { ToolError } from '../cli/errors.ts';
import { findTool, runTool, runToolRaw, toolVersion } from './tools.ts';

describe('findTool / toolVersion', () => {
  it('finds the installed tools and reads their versions', async () => {
    expect(findTool('verilator')).toMatch(/verilator$/);
    expect(await toolVersion('verilator')).toMatch(/^Verilator 5\./);
    expect(await toolVersion('yosys')).toMatch(/^Yosys /);
    expect(await toolVersion('iverilog')).toMatch(/^Icarus Verilog version/);
  });

  it('names the apt package of a missing tool', () => {
    expect(() => findTool('hardwire-no-such-tool')).toThrow(ToolError);
    expect(() => findTool('hardwire-no-such-tool')).toThrow(/apt-get install -y hardwire-no-such-tool/);
  });
});

describe('runTool', () => {
  it('returns stdout, stderr and the exit code', async () => {
    const r = await runTool('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3 });
  });

  it('streams 32 MB through a pipe both ways without deadlock', async () => {
    const input = Buffer.alloc(32 << 20);
    for (let i = 0; i < input.length; i += 4096) input[i] = i & 0xff;
    const r = await runToolRaw('cat', [], { input });
    expect(r.code).toBe(0);
    expect(r.stdout.equals(input)).toBe(true);
  });

  it('reports a tool that exits without reading its input through its exit code', async () => {
    const r = await runToolRaw('sh', ['-c', 'exit 7'], { input: Buffer.alloc(8 << 20) });
    expect(r.code).toBe(7);
  });

  it('kills a tool that runs past its timeout', async () => {
    await expect(runTool('sleep', ['10'], { timeoutMs: 200 })).rejects.toThrow(/timed out/);
  });

  it('throws a ToolError for a command that cannot start', async () => {
    await expect(runTool('/nonexistent/tool', [])).rejects.toThrow(ToolError);
  });
});
