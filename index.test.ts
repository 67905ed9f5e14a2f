// The public API (index.ts) read from the code itself with the TypeScript compiler API: every exported
// function, class and interface carries a doc comment, and `hardwire` resolves to this entry point.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as api from 'hardwire';

const ROOT = import.meta.dirname;

/** The kinds of declaration that must be documented. */
const DOCUMENTED = new Set([ts.SyntaxKind.FunctionDeclaration, ts.SyntaxKind.ClassDeclaration, ts.SyntaxKind.InterfaceDeclaration]);

/** Exported names of `entry` whose function, class or interface declaration has no doc comment. */
function undocumented(entry: string): { exported: string[]; missing: string[] } {
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    allowImportingTsExtensions: true, noEmit: true,
    // Doc comments are syntax: no default library and no @types make the program a few times faster.
    noLib: true, types: [],
  });
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(entry);
  const moduleSymbol = file && checker.getSymbolAtLocation(file);
  if (!moduleSymbol) throw new Error(`${entry}: not a module`);
  const exported: string[] = [];
  const missing: string[] = [];
  for (const sym of checker.getExportsOfModule(moduleSymbol)) {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    const decls = (target.declarations ?? []).filter((d) => DOCUMENTED.has(d.kind));
    if (decls.length === 0) continue;
    exported.push(sym.name);
    const doc = ts.displayPartsToString(target.getDocumentationComment(checker)).trim();
    if (doc === '') missing.push(sym.name);
  }
  return { exported, missing };
}

describe('public API (index.ts)', () => {
  it('every exported function, class and interface has a doc comment', () => {
    const { exported, missing } = undocumented(resolve(ROOT, 'index.ts'));
    expect(exported.length).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });

  it('the check can fail: an undocumented function, class and interface are each reported', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-api-doc-'));
    writeFileSync(join(dir, 'lib.ts'), [
      '/** Documented. */', 'export function good(): number { return 1; }',
      'export function bad(): number { return 2; }',
      'export class Bare {}',
      'export interface Plain { readonly x: number }',
      '// A line comment is not a doc comment.', 'export function lineOnly(): void {}',
      'export const notChecked = 3;',
    ].join('\n'));
    writeFileSync(join(dir, 'index.ts'), "export { good, bad, Bare, type Plain, lineOnly, notChecked } from './lib.ts';\n");
    try {
      expect(undocumented(join(dir, 'index.ts')).missing.sort()).toEqual(['Bare', 'Plain', 'bad', 'lineOnly']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("`import ... from 'hardwire'` resolves to index.ts: every exported value is defined", () => {
    const values = Object.entries(api);
    expect(values.length).toBeGreaterThan(40);
    expect(values.filter(([, v]) => v === undefined).map(([k]) => k)).toEqual([]);
    expect(typeof api.ModuleBuilder).toBe('function');
  });
});
