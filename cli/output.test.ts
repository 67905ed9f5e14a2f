// Tests for cli/output.ts: atomic replacement, the --force rule, hostile paths and signal cleanup.

import { spawn } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT, UserError } from '../core/errors.ts';
import { MARKER, OutputStaging, protectedReason, safeRelPath, writeOutputDir, type OutputFile } from './output.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

let root: string;
let out: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'hardwire-output-'));
  out = path.join(root, 'out');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Every file and folder under `dir`: relative path → mode and content (files) or 'dir'. */
function snapshot(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path.join(dir, r));
      const mode = (st.mode & 0o777).toString(8);
      if (st.isDirectory()) {
        result[r] = `dir ${mode}`;
        walk(r);
      } else if (r === MARKER) {
        // The run's identity (time, pid, command) differs per run: its kind and mode are what count.
        result[r] = `marker ${mode} ${JSON.parse(readFileSync(path.join(dir, r), 'utf8')).tool}`;
      } else {
        result[r] = `file ${mode} ${readFileSync(path.join(dir, r)).toString('hex')}`;
      }
    }
  };
  walk('');
  return result;
}

/** An earlier hardwire output in `out` (it has the marker, so --force may replace it). */
function makeOld(): Record<string, string> {
  mkdirSync(path.join(out, 'rtl'), { recursive: true });
  writeFileSync(path.join(out, MARKER), '{"tool": "hardwire gen-rtl"}\n');
  writeFileSync(path.join(out, 'old_only.v'), 'module old_only; endmodule\n');
  writeFileSync(path.join(out, 'rtl', 'top.v'), 'old top\n');
  return snapshot(out);
}

const NEW_FILES: OutputFile[] = [
  { path: 'rtl/top.v', data: 'module top; endmodule\n' },
  { path: 'rtl/cells/romMulCell_0.v', data: 'module romMulCell_0; endmodule\n' },
  { path: 'files.f', data: 'rtl/top.v\n' },
  { path: 'weights.bin', data: Buffer.from([0, 1, 2, 255]) },
];

/** The names in `root` other than the destination: staging and old folders must not linger. */
function leftovers(): string[] {
  return readdirSync(root).filter((n) => n !== 'out');
}

async function userError(p: Promise<unknown>): Promise<UserError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  return e as UserError;
}

describe('writeOutputDir', () => {
  it('writes a tree with fixed modes, whatever the umask', async () => {
    const mask = process.umask(0o077);
    try {
      await writeOutputDir(out, NEW_FILES, {});
    } finally {
      process.umask(mask);
    }
    expect(snapshot(out)).toEqual({
      [MARKER]: 'marker 644 hardwire gen-rtl',
      'files.f': `file 644 ${Buffer.from('rtl/top.v\n').toString('hex')}`,
      rtl: 'dir 755',
      'rtl/cells': 'dir 755',
      'rtl/cells/romMulCell_0.v': `file 644 ${Buffer.from('module romMulCell_0; endmodule\n').toString('hex')}`,
      'rtl/top.v': `file 644 ${Buffer.from('module top; endmodule\n').toString('hex')}`,
      'weights.bin': 'file 644 000102ff',
    });
    expect((lstatSync(out).mode & 0o777).toString(8)).toBe('755');
    expect(leftovers()).toEqual([]);
  });

  it('gives the same tree whatever the input order', async () => {
    await writeOutputDir(out, NEW_FILES, {});
    const other = path.join(root, 'other');
    await writeOutputDir(other, [...NEW_FILES].reverse(), {});
    expect(snapshot(other)).toEqual(snapshot(out));
  });

  it('creates missing parent folders and fills an existing empty folder without --force', async () => {
    const deep = path.join(root, 'a', 'b', 'out');
    await writeOutputDir(deep, NEW_FILES.slice(0, 1), {});
    expect(readFileSync(path.join(deep, 'rtl/top.v'), 'utf8')).toBe('module top; endmodule\n');
    mkdirSync(out);
    await writeOutputDir(out, NEW_FILES.slice(0, 1), {});
    expect(Object.keys(snapshot(out))).toEqual([MARKER, 'rtl', 'rtl/top.v']);
  });

  it('refuses an existing non-empty folder without --force and leaves it untouched', async () => {
    const before = makeOld();
    const e = await userError(writeOutputDir(out, NEW_FILES, {}));
    expect(e.code).toBe(EXIT.usage);
    expect(e.message).toContain(out);
    expect(e.message).toContain('--force');
    expect(e.message).not.toContain('\n');
    expect(snapshot(out)).toEqual(before);
    expect(leftovers()).toEqual([]);
  });

  it('refuses an output path that is a file or a symbolic link, even with --force', async () => {
    writeFileSync(out, 'not a folder');
    expect((await userError(writeOutputDir(out, NEW_FILES, { force: true }))).code).toBe(EXIT.usage);
    expect(readFileSync(out, 'utf8')).toBe('not a folder');
    rmSync(out);
    const target = path.join(root, 'target');
    mkdirSync(target);
    symlinkSync(target, out);
    expect((await userError(writeOutputDir(out, NEW_FILES, { force: true }))).message).toContain('symbolic link');
    expect(readdirSync(target)).toEqual([]);
    expect(leftovers().sort()).toEqual(['target']);
  });

  it('with --force replaces the old output completely', async () => {
    makeOld();
    const progress: string[] = [];
    await writeOutputDir(out, NEW_FILES, { force: true, onProgress: (m) => progress.push(m) });
    expect(Object.keys(snapshot(out))).toEqual([
      MARKER,
      'files.f',
      'rtl',
      'rtl/cells',
      'rtl/cells/romMulCell_0.v',
      'rtl/top.v',
      'weights.bin',
    ]);
    expect(readFileSync(path.join(out, 'rtl/top.v'), 'utf8')).toBe('module top; endmodule\n');
    expect(leftovers()).toEqual([]);
    expect(progress.length).toBeGreaterThan(0);
  });

  it('a write error midway leaves the old output byte-identical and no staging folder', async () => {
    const before = makeOld();
    const files = [...NEW_FILES, { path: 'zz_bad.v', data: 42 as unknown as string }];
    await expect(writeOutputDir(out, files, { force: true })).rejects.toThrow();
    expect(snapshot(out)).toEqual(before);
    expect(leftovers()).toEqual([]);
  });

  it('an input iterator that throws creates nothing', async () => {
    function* files(): Generator<OutputFile> {
      yield NEW_FILES[0];
      throw new Error('generator failed');
    }
    await expect(writeOutputDir(out, files(), {})).rejects.toThrow('generator failed');
    expect(readdirSync(root)).toEqual([]);
  });

  it('rejects duplicate paths, case-only differences and a path that is both file and folder', async () => {
    const cases: OutputFile[][] = [
      [{ path: 'a.v', data: '1' }, { path: 'a.v', data: '2' }],
      [{ path: 'Top.v', data: '1' }, { path: 'top.v', data: '2' }],
      [{ path: 'rtl/a.v', data: '1' }, { path: 'RTL/b.v', data: '2' }],
      [{ path: 'a', data: '1' }, { path: 'a/b.v', data: '2' }],
      [{ path: 'a/b.v', data: '1' }, { path: 'a', data: '2' }],
    ];
    for (const files of cases) {
      expect((await userError(writeOutputDir(out, files, {}))).code).toBe(EXIT.badInput);
    }
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('safeRelPath', () => {
  const hostile = [
    '../x',
    '/etc/passwd',
    'a/../../b',
    'a\\b',
    'con\u0000',
    '*/',
    'x'.repeat(300),
    'x'.repeat(129),
    `a/${'b'.repeat(300)}.v`,
    'mod\u00e9le.v',
    'a/\u202ecod.v',
    '\u{1F600}.v',
    '',
    '.',
    './a.v',
    'a//b.v',
    'a/',
    '.hidden',
    '-rf',
    'a\nb.v',
    'a b.v',
    'C:/x.v',
    `${'abcdefgh/'.repeat(114)}x.v`, // valid segments, 1029 characters
  ];

  it('accepts ordinary paths unchanged', () => {
    const longest = `${'x'.repeat(126)}.v`; // 128 characters
    for (const p of ['top.v', 'rtl/cells/romMulCell_3_17.v', '_gen/x.f', 'a.b-c_d/E.sv', longest]) {
      expect(safeRelPath(p)).toBe(p);
    }
  });

  it.each(hostile.map((p) => [JSON.stringify(p).slice(0, 40), p]))('rejects %s', (_name, p) => {
    let err: unknown;
    try {
      safeRelPath(p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    const e = err as UserError;
    expect(e.code).toBe(EXIT.badInput);
    expect(e.message).toMatch(/^unsafe output path "/);
    // The message names the path escaped: one line of printable ASCII.
    expect(e.message).toMatch(/^[\x20-\x7e]+$/);
    if (/^[\x20-\x7e]{0,200}$/.test(p)) expect(e.message).toContain(JSON.stringify(p));
  });

  it('a hostile path among good ones writes nothing, not even a staging folder', async () => {
    for (const bad of hostile) {
      const files = [NEW_FILES[0], { path: bad, data: 'pwned' }, NEW_FILES[1]];
      expect((await userError(writeOutputDir(out, files, { force: true }))).code).toBe(EXIT.badInput);
    }
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('OutputStaging', () => {
  it('fails fast on a non-empty folder without --force, before creating anything', async () => {
    const before = makeOld();
    expect((await userError(OutputStaging.open(out))).message).toContain('--force');
    expect(snapshot(out)).toEqual(before);
    expect(leftovers()).toEqual([]);
  });

  it('a throw in the caller midway leaves the old output byte-identical', async () => {
    const before = makeOld();
    const listeners = process.listenerCount('SIGINT');
    const staging = await OutputStaging.open(out, { force: true });
    expect(path.dirname(staging.dir)).toBe(root);
    expect(path.basename(staging.dir)).toMatch(new RegExp(`^\\.out\\.tmp-${process.pid}-[0-9a-f]+$`));
    expect(process.listenerCount('SIGINT')).toBe(listeners + 1);
    const work = async (): Promise<void> => {
      await staging.write('rtl/top.v', 'half done\n');
      writeFileSync(path.join(staging.dir, 'tool.log'), 'a tool ran here\n');
      throw new Error('verilator crashed');
    };
    try {
      await work();
      await staging.commit();
    } catch (e) {
      await staging.abort();
      expect((e as Error).message).toBe('verilator crashed');
    }
    expect(snapshot(out)).toEqual(before);
    expect(leftovers()).toEqual([]);
    expect(process.listenerCount('SIGINT')).toBe(listeners);
    await staging.abort(); // idempotent
    await expect(staging.write('a.v', 'x')).rejects.toThrow(/after commit or abort/);
  });

  it('keeps files a tool made in the staging folder and removes its handlers on commit', async () => {
    makeOld();
    const listeners = process.listenerCount('SIGTERM');
    const staging = await OutputStaging.open(out, { force: true });
    await staging.write('top.v', 'new\n');
    writeFileSync(path.join(staging.dir, 'lint.log'), 'clean\n');
    await staging.commit();
    expect(readdirSync(out).sort()).toEqual([MARKER, 'lint.log', 'top.v']);
    expect(leftovers()).toEqual([]);
    expect(process.listenerCount('SIGTERM')).toBe(listeners);
    await expect(staging.commit()).rejects.toThrow(/after commit or abort/);
  });

  it('re-checks the destination at commit: a folder filled meanwhile is not replaced without --force', async () => {
    const staging = await OutputStaging.open(out);
    await staging.write('top.v', 'new\n');
    const before = makeOld();
    expect((await userError(staging.commit())).message).toContain('--force');
    expect(snapshot(out)).toEqual(before);
    expect(leftovers()).toEqual([]);
  });

  it('write() never follows a symbolic link planted in the staging folder', async () => {
    const outside = path.join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret'), 'keep\n');
    const staging = await OutputStaging.open(out);
    try {
      symlinkSync(outside, path.join(staging.dir, 'sub'));
      symlinkSync(path.join(outside, 'secret'), path.join(staging.dir, 'file.v'));
      await expect(staging.write('sub/x.v', 'pwned')).rejects.toThrow(/not a folder/);
      await staging.write('file.v', 'replaced the link\n');
      expect(lstatSync(path.join(staging.dir, 'file.v')).isFile()).toBe(true);
      expect(readdirSync(outside)).toEqual(['secret']);
      expect(readFileSync(path.join(outside, 'secret'), 'utf8')).toBe('keep\n');
      await expect(staging.write('../escape.v', 'x')).rejects.toBeInstanceOf(UserError);
    } finally {
      await staging.abort();
    }
    expect(leftovers()).toEqual(['outside']);
  });
});

describe('--force safety and the lock', () => {
  it('--force refuses a non-empty folder without the marker, at open and at commit', async () => {
    mkdirSync(out);
    writeFileSync(path.join(out, 'mine.txt'), 'keep\n');
    const e = await userError(OutputStaging.open(out, { force: true }));
    expect(e.code).toBe(EXIT.usage);
    expect(e.message).toContain(MARKER);
    rmSync(out, { recursive: true });
    const staging = await OutputStaging.open(out, { force: true });
    mkdirSync(out);
    writeFileSync(path.join(out, 'mine.txt'), 'keep\n');
    expect((await userError(staging.commit())).message).toContain(MARKER);
    expect(readdirSync(out)).toEqual(['mine.txt']);
    expect(leftovers()).toEqual([]);
  });

  it('protectedReason: the folder of an input or above it, the current folder, home', () => {
    const model = path.join(root, 'a', 'b', 'model.safetensors');
    expect(protectedReason(path.join(root, 'a', 'b'), [model])).toMatch(/holds the input/);
    expect(protectedReason(path.join(root, 'a'), [undefined, model])).toMatch(/contains the input/);
    expect(protectedReason(path.join(root, 'a', 'b', 'out'), [model])).toBeUndefined();
    expect(protectedReason(path.join(root, 'a', 'c'), [model])).toBeUndefined();
    expect(protectedReason(process.cwd())).toBe('it is the current folder');
    expect(protectedReason(path.dirname(process.cwd()))).toBe('it contains the current folder');
    // Through a symbolic link: the real folder is compared.
    mkdirSync(path.join(root, 'a', 'b'), { recursive: true });
    symlinkSync(path.join(root, 'a', 'b'), path.join(root, 'link'));
    expect(protectedReason(path.join(root, 'link'), [model])).toMatch(/holds the input/);
  });

  it('a second open on the same folder while the first holds the lock is refused; released on commit', async () => {
    const first = await OutputStaging.open(out);
    expect(readFileSync(path.join(root, '.out.lock'), 'utf8')).toBe(`${process.pid}\n`);
    const e = await userError(OutputStaging.open(out, { force: true }));
    expect(e.code).toBe(EXIT.usage);
    expect(e.message).toContain(`in use by another gen-rtl run (pid ${process.pid}`);
    await first.write('top.v', 'x\n');
    await first.commit();
    expect(leftovers()).toEqual([]);
    const second = await OutputStaging.open(out, { force: true });
    await second.abort();
    expect(leftovers()).toEqual([]);
  });
});

describe('signals and exit while staging', () => {
  /** Runs a child that opens a staging over `out`, writes files, prints "ready <dir>", then waits. */
  async function runChild(
    then: 'wait' | 'exit',
    signal?: NodeJS.Signals,
  ): Promise<{ code: number | null; stagingDir: string; stderr: string }> {
    const script = path.join(root, 'child.mts');
    const moduleUrl = pathToFileURL(path.join(REPO_ROOT, 'cli', 'output.ts')).href;
    writeFileSync(
      script,
      [
        `import { OutputStaging } from ${JSON.stringify(moduleUrl)};`,
        `const staging = await OutputStaging.open(process.argv[2], { force: true });`,
        `await staging.write('rtl/top.v', 'new top\\n');`,
        `await staging.write('files.f', 'rtl/top.v\\n');`,
        `process.stdout.write('ready ' + staging.dir + '\\n');`,
        `if (process.argv[3] === 'exit') process.exit(7);`,
        `setInterval(() => {}, 1000);`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script, out, then], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close' comes after the child's stdout and stderr are fully read.
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('\n')) resolve();
      }),
    );
    await Promise.race([ready, closed]);
    const m = /^ready (.*)\n/.exec(stdout);
    if (!m) throw new Error(`child did not get ready: ${stderr}`);
    if (signal) {
      expect(lstatSync(m[1]).isDirectory()).toBe(true);
      child.kill(signal);
    }
    return { code: await closed, stagingDir: m[1], stderr };
  }

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s removes the staging folder and exits with %i', async (signal, code) => {
    const before = makeOld();
    const r = await runChild('wait', signal);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(`interrupted by ${signal}`);
    expect(path.dirname(r.stagingDir)).toBe(root);
    expect(snapshot(out)).toEqual(before);
    expect(leftovers().filter((n) => n !== 'child.mts')).toEqual([]);
  });

  it('process.exit removes the staging folder', async () => {
    const before = makeOld();
    const r = await runChild('exit');
    expect(r.code).toBe(7);
    expect(snapshot(out)).toEqual(before);
    expect(leftovers().filter((n) => n !== 'child.mts')).toEqual([]);
  });
});
