// Nothing outlives an interrupted gen-rtl: SIGINT and SIGTERM at every step of both flows (MLP: load and
// quantize, RTL generation, lint, Yosys, the Verilator build, simulation, Icarus; Llama: the same, with
// the mask check in Yosys instead of the gate count) end every process of the run with exit 130/143,
// and leave nothing in the output's parent or the temp folder; after SIGKILL the watchdog ends the
// tools and the next run removes the folders. The step is found by its progress line on stderr, and
// for a tool step by the tool's process in the run's tree.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** A step of a flow: the progress text that starts it and the tool process (if any) that shows we are in it. */
interface Step {
  name: string;
  after: string | RegExp;
  tool?: RegExp;
  /** The command line after `gen-rtl` (default: the digits MLP without Yosys). */
  args?: string[];
  /** An empty Verilator cache and no ccache, so that the C++ build takes long enough to interrupt. */
  coldBuild?: boolean;
}
const MLP = [DIGITS, '--no-synth', '--vectors', '100'];
const MLP_LOAD: Step = { name: 'MLP load and quantize', after: '[1/5] loading', args: MLP };
const MLP_RTL: Step = { name: 'MLP RTL generation', after: '[3/5] generating RTL', args: MLP };
const LINT: Step = { name: 'lint', after: '[4/5] linting', tool: /\b(verilator|verilator_bin|iverilog|ivl)\b/ };
const BUILD: Step = { name: 'Verilator build', after: 'verilator: compiling', tool: /\b(cc1plus|g\+\+|c\+\+)\b/, coldBuild: true };
/** The simulation: the cached binary `…/KEY/sim` running; enough random vectors to be caught at it. */
const SIM_TOOL = /[0-9a-f]{64}\/sim\b/;
const MLP_SIM: Step = { name: 'MLP simulation', after: /verilator: (cached|built in)/, tool: SIM_TOOL, args: [DIGITS, '--no-synth', '--vectors', '100000'] };
const ICARUS: Step = { name: 'Icarus cross-check', after: 'random vectors with random stalls', tool: /\b(vvp|iverilog|ivl)\b/ };
// Yosys beside the co-simulation (the MLP's gate count), and the Llama flow's mask check.
const YOSYS: Step = { name: 'Yosys', after: 'synthesizing in Yosys', tool: /\byosys\b/, args: [DIGITS, '--vectors', '100'] };

/** The tiny Llama copied without its held-out text (quantizing stays short); the original for the quantizing step. */
const LLAMA_DIR = mkdtempSync(join(tmpdir(), 'hw-interrupt-llama-'));
for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'calib.safetensors']) copyFileSync(join(ROOT, 'examples/tiny-llama', f), join(LLAMA_DIR, f));
afterAll(() => rmSync(LLAMA_DIR, { recursive: true, force: true }));
const LLAMA = [join(LLAMA_DIR, 'model.safetensors'), '--prompt', 'The ', '--tokens', '1'];
const LLAMA_QUANT: Step = { name: 'Llama load and quantize', after: 'quantizing to int', args: [join(ROOT, 'examples/tiny-llama/model.safetensors'), '--prompt', 'The ', '--tokens', '1'] };
const LLAMA_RTL: Step = { name: 'Llama RTL generation', after: 'generating RTL on grid', args: LLAMA };
const LLAMA_LINT: Step = { ...LINT, name: 'Llama lint', after: 'linting: verilator', args: LLAMA };
const LLAMA_MASKS: Step = { name: 'Llama mask check', after: 'checking the masks', tool: /\byosys\b/, args: LLAMA };
const LLAMA_BUILD: Step = { ...BUILD, name: 'Llama Verilator build', args: LLAMA };
const LLAMA_SIM: Step = { name: 'Llama simulation', after: /verilator: (cached|built in)/, tool: SIM_TOOL, args: LLAMA };
const LLAMA_ICARUS: Step = { name: 'Llama Icarus cross-check', after: / cycles in [\d.]+ s/, tool: /\b(vvp|iverilog|ivl)\b/, args: LLAMA };

const seen = (text: string, after: string | RegExp): boolean => (typeof after === 'string' ? text.includes(after) : after.test(text));

describe('gen-rtl interrupted during a tool step', () => {
  const both = (step: Step): [string, 'SIGINT' | 'SIGTERM' | 'SIGKILL', number | null, Step][] => [
    [step.name, 'SIGINT', 130, step],
    [step.name, 'SIGTERM', 143, step],
  ];
  it.each([
    ...[MLP_LOAD, MLP_RTL, LINT, YOSYS, BUILD, MLP_SIM, ICARUS].flatMap(both),
    ['Verilator build', 'SIGKILL', null, BUILD] as [string, 'SIGKILL', null, Step],
    ...[LLAMA_QUANT, LLAMA_RTL, LLAMA_LINT, LLAMA_MASKS, LLAMA_BUILD, LLAMA_SIM, LLAMA_ICARUS].flatMap(both),
  ])('%s, %s: exit %s, no process of the run left, no staging or temp folder (SIGKILL: after the next run)', async (_name, signal, code, step) => {
    const { dir, out } = fresh();
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    // For the build: an empty Verilator cache and no ccache, so that it takes seconds, long enough to
    // interrupt. The other steps use the usual cache, so that they come quickly.
    const env = { ...process.env, TMPDIR: tmp, ...(step.coldBuild ? { HARDWIRE_CACHE: join(dir, 'cache'), CCACHE_DISABLE: '1' } : {}) };
    const child = spawn('node', [CLI, ...(step.args ?? MLP), '--out', out], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const closed = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    const started = new Promise<void>((res) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (seen(stderr, step.after)) res();
      }),
    );
    await Promise.race([started, closed]);
    expect(seen(stderr, step.after), stderr).toBe(true);
    // Wait for the step's tool to run, then look at the whole tree of the run. A step without a tool
    // (loading, quantizing, generating RTL) is interrupted as soon as its progress line shows.
    let tree: Proc[] = descendants(child.pid!);
    if (step.tool) {
      const tool = step.tool;
      for (let i = 0; i < 800 && !tree.some((p) => tool.test(p.args)); i++) {
        await new Promise((r) => setTimeout(r, 25));
        tree = descendants(child.pid!);
      }
      expect(tree.map((p) => p.args).join('\n')).toMatch(tool);
      expect(tree.some((p) => p.pgid !== tree[0].pgid), 'tools run in their own process group').toBe(true);
    }
    const t0 = performance.now();
    child.kill(signal);
    expect(await closed, stderr).toBe(code);
    if (signal !== 'SIGKILL') expect(stderr).toContain(`interrupted by ${signal}`);
    // A tool step ends at once; a compute step (quantizing, generating RTL: synchronous JavaScript)
    // takes the signal when it returns to the event loop, at the end of the step.
    expect(performance.now() - t0).toBeLessThan(step.tool ? 5000 : 120_000);
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
  }, 600_000);
});
