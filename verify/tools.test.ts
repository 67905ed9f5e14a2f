// Tests for verify/tools.ts: tool discovery, versions, and subprocess I/O without deadlock.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, ToolError, UserError } from '../core/errors.ts';
import { findTool, makeTempDir, runTool, runToolRaw, sweepStaleTemp, toolMemoryLimit, toolVersion } from './tools.ts';

/** Command lines of the running processes that contain `text`. */
function running(text: string): string[] {
  return execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(text));
}

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

  it('a timeout kills the whole process group: the children a tool started go too, and nothing hangs', async () => {
    // A unique sleep, started in the background by the tool: it holds the tool's stdout open.
    const tag = `${31 + Math.random()}`.slice(0, 8);
    const t0 = performance.now();
    await expect(runTool('sh', ['-c', `sleep ${tag} & sleep ${tag}; wait`], { timeoutMs: 300 })).rejects.toThrow(/timed out/);
    expect(performance.now() - t0).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 100));
    expect(running(`sleep ${tag}`)).toEqual([]);
  });

  it('runs each tool in its own process group', async () => {
    const r = await runTool('sh', ['-c', 'echo $$ $(ps -o pgid= -p $$)']);
    const [pid, pgid] = r.stdout.trim().split(/\s+/).map(Number);
    expect(pgid).toBe(pid);
    expect(pgid).not.toBe(Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(process.pid)], { encoding: 'utf8' }).trim()));
  });

  it('throws a ToolError for a command that cannot start', async () => {
    await expect(runTool('/nonexistent/tool', [])).rejects.toThrow(ToolError);
  });
});

describe('temporary folders', () => {
  it('makeTempDir names the folder with our pid and remove() deletes it', async () => {
    const tmp = await makeTempDir('test');
    expect(tmp.dir.startsWith(join(tmpdir(), `hardwire-test-${process.pid}-`))).toBe(true);
    await tmp.remove();
    expect(existsSync(tmp.dir)).toBe(false);
  });

  it("sweepStaleTemp removes the folders of dead runs only (not live runs', not other names)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-sweep-'));
    try {
      const dead = Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());
      for (const n of [`hardwire-verilate-${dead}-abc123`, `hardwire-icarus-${dead}-XyZ789`, `hardwire-verilate-${process.pid}-abc123`, 'hardwire-verilate-abc123', 'other-1-abc123']) {
        mkdirSync(join(dir, n, 'obj'), { recursive: true });
      }
      expect(sweepStaleTemp(dir).sort()).toEqual([`hardwire-icarus-${dead}-XyZ789`, `hardwire-verilate-${dead}-abc123`]);
      expect(readdirSync(dir).sort()).toEqual(['hardwire-verilate-abc123', `hardwire-verilate-${process.pid}-abc123`, 'other-1-abc123'].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tool memory limit', () => {
  it('HARDWIRE_TOOL_MEMORY: sizes with a unit, off, the default of three quarters of the memory; anything else is a usage error', () => {
    expect(toolMemoryLimit({})).toBe(Math.floor((totalmem() * 3) / 4));
    expect(toolMemoryLimit({ HARDWIRE_TOOL_MEMORY: '8G' })).toBe(8 * 2 ** 30);
    expect(toolMemoryLimit({ HARDWIRE_TOOL_MEMORY: '512m' })).toBe(512 * 2 ** 20);
    expect(toolMemoryLimit({ HARDWIRE_TOOL_MEMORY: '1.5GiB' })).toBe(1.5 * 2 ** 30);
    expect(toolMemoryLimit({ HARDWIRE_TOOL_MEMORY: String(2 ** 31) })).toBe(2 ** 31);
    expect(toolMemoryLimit({ HARDWIRE_TOOL_MEMORY: 'off' })).toBeNull();
    for (const bad of ['lots', '-1G', '12X', '100k']) {
      expect(() => toolMemoryLimit({ HARDWIRE_TOOL_MEMORY: bad })).toThrow(UserError);
      try {
        toolMemoryLimit({ HARDWIRE_TOOL_MEMORY: bad });
      } catch (e) {
        expect((e as UserError).code).toBe(EXIT.usage);
      }
    }
  });

  it('every tool and what it starts runs under the limit; a tool out of memory is a ToolError naming it and the limit', async () => {
    const saved = process.env.HARDWIRE_TOOL_MEMORY;
    process.env.HARDWIRE_TOOL_MEMORY = '16M';
    try {
      // The limit reaches the children of the tool (here: a shell's child).
      const r = await runTool('sh', ['-c', 'sh -c "ulimit -v"']);
      expect(r.stdout.trim()).toBe(String(16 * 1024));
      const dir = mkdtempSync(join(tmpdir(), 'hw-mem-'));
      try {
        // 3,000 chained adders: a few MiB more than verilator_bin has under 16 MiB.
        const body = Array.from({ length: 3000 }, (_, i) => `  wire [7:0] w${i};\n  assign w${i} = ${i ? `w${i - 1}` : 'a'} + 8'd${i % 256};`).join('\n');
        writeFileSync(join(dir, 't.v'), `module t(input wire [7:0] a, output wire [7:0] b);\n${body}\n  assign b = w2999;\nendmodule\n`);
        const err = await runTool(findTool('verilator'), ['--lint-only', '-Wall', 't.v'], { cwd: dir }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ToolError);
        expect((err as ToolError).code).toBe(EXIT.toolFailed);
        expect((err as Error).message).toMatch(/^verilator ran out of memory under the tool memory limit of 16 MiB \(.*bad_alloc.*\); raise it with HARDWIRE_TOOL_MEMORY/);
        expect((err as Error).message).not.toContain('\n');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      process.env.HARDWIRE_TOOL_MEMORY = 'off';
      expect((await runTool('sh', ['-c', 'ulimit -v'])).stdout.trim()).toBe('unlimited');
    } finally {
      if (saved === undefined) delete process.env.HARDWIRE_TOOL_MEMORY;
      else process.env.HARDWIRE_TOOL_MEMORY = saved;
    }
  });

  it('a command that cannot start under the limit wrapper is still a ToolError', async () => {
    await expect(runTool('/nonexistent/tool', [])).rejects.toThrow(/could not start/);
  });
});
