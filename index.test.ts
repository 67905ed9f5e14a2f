// The public API (index.ts) read from the code itself with the TypeScript compiler API: every exported
// function, class, interface and public class method carries a doc comment, and `hardwire` resolves to this entry point.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as api from 'hardwire';

const ROOT = import.meta.dirname;

/** The kinds of declaration that must be documented. */
const DOCUMENTED = new Set([ts.SyntaxKind.FunctionDeclaration, ts.SyntaxKind.ClassDeclaration, ts.SyntaxKind.InterfaceDeclaration]);

/** Public methods and getters of a class (not private, protected or the constructor). */
function publicMembers(cls: ts.Symbol): ts.Symbol[] {
  const out: ts.Symbol[] = [];
  cls.members?.forEach((m) => {
    const d = m.declarations?.[0];
    if (!d || !(m.flags & (ts.SymbolFlags.Method | ts.SymbolFlags.GetAccessor))) return;
    if (ts.getCombinedModifierFlags(d as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return;
    out.push(m);
  });
  return out;
}

/**
 * Exported names of `entry` whose function, class or interface declaration has no doc comment, and
 * `Class.member` for each public method or getter of an exported class without one.
 */
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
    const hasDoc = (x: ts.Symbol): boolean => ts.displayPartsToString(x.getDocumentationComment(checker)).trim() !== '';
    if (!hasDoc(target)) missing.push(sym.name);
    if (target.flags & ts.SymbolFlags.Class) for (const m of publicMembers(target)) if (!hasDoc(m)) missing.push(`${sym.name}.${m.name}`);
  }
  return { exported, missing };
}

describe('public API (index.ts)', () => {
  it('every exported function, class, interface and public class method has a doc comment', () => {
    const { exported, missing } = undocumented(resolve(ROOT, 'index.ts'));
    expect(exported.length).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });

  it('the check can fail: an undocumented function, class, interface, method and getter are each reported', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-api-doc-'));
    writeFileSync(join(dir, 'lib.ts'), [
      '/** Documented. */', 'export function good(): number { return 1; }',
      'export function bad(): number { return 2; }',
      'export class Bare {}',
      '/** Documented. */', 'export class Half {', '  /** Documented. */', '  a(): number { return 1; }', '  b(): number { return 2; }', '  get c(): number { return 3; }', '  private d(): number { return 4; }', '}',
      'export interface Plain { readonly x: number }',
      '// A line comment is not a doc comment.', 'export function lineOnly(): void {}',
      'export const notChecked = 3;',
    ].join('\n'));
    writeFileSync(join(dir, 'index.ts'), "export { good, bad, Bare, Half, type Plain, lineOnly, notChecked } from './lib.ts';\n");
    try {
      expect(undocumented(join(dir, 'index.ts')).missing.sort()).toEqual(['Bare', 'Half.b', 'Half.c', 'Plain', 'bad', 'lineOnly']);
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
