// Nothing outlives an interrupted gen-rtl: SIGINT/SIGTERM during lint, the Verilator build (make, g++
// in the tool's own process group) or the Icarus cross-check ends every process of the run, and leaves
// no staging or temp folder; after SIGKILL the watchdog ends the tools and the next run removes the folders.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../core/errors.ts';
import { CLI, genRtl, ROOT, scratch } from './testing.ts';

const { fresh, cleanup } = scratch('hw-interrupt-');
afterAll(cleanup);

const DIGITS = join(ROOT, 'examples/digits-mlp/model.safetensors');

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  args: string;
}

function processes(): Proc[] {
  return execFileSync('ps', ['-eo', 'pid=,ppid=,pgid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(l)!;
      return { pid: Number(m[1]), ppid: Number(m[2]), pgid: Number(m[3]), args: m[4] };
    });
}

/** `root` and every process below it. */
function descendants(root: number): Proc[] {
  const all = processes();
  const found = all.filter((p) => p.pid === root);
  for (let i = 0; i < found.length; i++) found.push(...all.filter((p) => p.ppid === found[i].pid));
  return found;
}

/** A step of the MLP flow: the progress text that starts it and the tool process that shows we are in it. */
interface Step {
  name: string;
  after: string;
  tool: RegExp;
  /** The command line after `gen-rtl` (default: the digits MLP without Yosys). */
  args?: string[];
}
const LINT: Step = { name: 'lint', after: '[4/5] linting', tool: /\b(verilator|verilator_bin|iverilog|ivl)\b/ };
const BUILD: Step = { name: 'Verilator build', after: 'verilator: compiling', tool: /\b(cc1plus|g\+\+|c\+\+)\b/ };
const ICARUS: Step = { name: 'Icarus cross-check', after: 'random vectors with random stalls', tool: /\b(vvp|iverilog|ivl)\b/ };
// Yosys beside the co-simulation (the MLP's gate count), and the Llama flow's mask check.
const YOSYS: Step = { name: 'Yosys', after: 'synthesizing in Yosys', tool: /\byosys\b/, args: [DIGITS, '--vectors', '100'] };
const LLAMA_MASKS: Step = { name: 'Llama mask check', after: 'checking the masks', tool: /\byosys\b/, args: [join(ROOT, 'examples/tiny-llama/model.safetensors'), '--prompt', 'The ', '--tokens', '2'] };

describe('gen-rtl interrupted during a tool step', () => {
  it.each([
    ['Verilator build', 'SIGTERM', 143, BUILD],
    ['Verilator build', 'SIGINT', 130, BUILD],
    ['Verilator build', 'SIGKILL', null, BUILD],
    ['lint', 'SIGINT', 130, LINT],
    ['Icarus cross-check', 'SIGTERM', 143, ICARUS],
    ['Yosys (MLP gate count)', 'SIGTERM', 143, YOSYS],
    ['Llama mask check (Yosys)', 'SIGINT', 130, LLAMA_MASKS],
  ] as const)('%s, %s: exit %s, no process of the run left, no staging or temp folder (SIGKILL: after the next run)', async (_name, signal, code, step) => {
    const { dir, out } = fresh();
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    // For the build: an empty Verilator cache and no ccache, so that it takes seconds, long enough to
    // interrupt. The other steps use the usual cache, so that they come quickly.
    const env = { ...process.env, TMPDIR: tmp, ...(step === BUILD ? { HARDWIRE_CACHE: join(dir, 'cache'), CCACHE_DISABLE: '1' } : {}) };
    const child = spawn('node', [CLI, ...(step.args ?? [DIGITS, '--no-synth', '--vectors', '100']), '--out', out], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const closed = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    const started = new Promise<void>((res) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes(step.after)) res();
      }),
    );
    await Promise.race([started, closed]);
    expect(stderr).toContain(step.after);
    // Wait for the step's tool to run, then look at the whole tree of the run.
    let tree: Proc[] = [];
    for (let i = 0; i < 200 && !tree.some((p) => step.tool.test(p.args)); i++) {
      await new Promise((r) => setTimeout(r, 25));
      tree = descendants(child.pid!);
    }
    expect(tree.map((p) => p.args).join('\n')).toMatch(step.tool);
    expect(tree.some((p) => p.pgid !== tree[0].pgid), 'tools run in their own process group').toBe(true);
    const t0 = performance.now();
    child.kill(signal);
    expect(await closed, stderr).toBe(code);
    if (signal !== 'SIGKILL') expect(stderr).toContain(`interrupted by ${signal}`);
    expect(performance.now() - t0).toBeLessThan(5000);
    // Every process and process group of the run is gone (the groups include any reparented g++).
    const pids = new Set(tree.map((p) => p.pid));
    const groups = new Set(tree.map((p) => p.pgid).filter((g) => g !== tree[0].pgid)); // not the test's own group
    for (let i = 0; i < 20; i++) {
      if (!processes().some((p) => pids.has(p.pid) || groups.has(p.pgid))) break;
      await new Promise((r) => setTimeout(r, 100)); // SIGKILLed processes take a moment to be reaped
    }
    const left = processes().filter((p) => pids.has(p.pid) || groups.has(p.pgid));
    expect(left.map((p) => `${p.pid} ${p.pgid} ${p.args}`)).toEqual([]);
    if (signal === 'SIGKILL') {
      // No handler ran: the watchdog ended the tools; the next run takes over the lock and removes the
      // staging and temp folders the killed run left.
      expect(readdirSync(dir).filter((n) => n.startsWith('.out.')).length).toBeGreaterThan(0);
      expect(readdirSync(tmp).filter((n) => n.startsWith(`hardwire-verilate-${child.pid}-`))).toHaveLength(1);
      const next = await genRtl([DIGITS, '--out', out, '--no-synth', '--no-verify', '-q'], dir, { TMPDIR: tmp });
      expect(next.code, next.stderr).toBe(EXIT.ok);
      rmSync(out, { recursive: true });
    }
    expect(readdirSync(tmp).filter((n) => n.startsWith('hardwire-'))).toEqual([]);
    expect(readdirSync(dir).filter((n) => n !== 'cache').sort()).toEqual(['tmp']);
  }, 120_000);
});
