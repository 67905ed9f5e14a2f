// Imports point down the pipeline: the library (core/, dsl/, generators/, verify/) never imports the
// command line (cli/); only cli/, bench/, examples and tests sit above it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('layering', () => {
  it('no library module imports from cli/', () => {
    const upward: string[] = [];
    for (const dir of ['core', 'dsl', 'generators', 'verify']) {
      for (const f of sources(dir)) {
        for (const m of readFileSync(f, 'utf8').matchAll(/from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
          const spec = m[1] ?? m[2];
          if (spec.startsWith('.') && relative(ROOT, resolve(f, '..', spec)).startsWith('cli/')) upward.push(`${relative(ROOT, f)} -> ${spec}`);
        }
      }
    }
    expect(upward).toEqual([]);
  });
});
