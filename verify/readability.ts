// Readability of emitted Verilog, measured on the text (issue 11's must-shows): generated `_t…` names,
// alias-only assigns, mask words without a comment saying what they hold, modules and instances
// without a source locator. Tests assert on these facts; a reader can run it on any output folder.

export interface Readability {
  /** wire/reg declarations (the `_unused_ok` sink excluded) and how many are named `_t…`. */
  readonly decls: number;
  readonly tNamed: number;
  /** `assign a = b;` with a bare net name on the right. */
  readonly aliases: readonly string[];
  /** Constant words and ROM words of a mask module without a `// comment`, and constant ports not fully covered. */
  readonly bareMaskWords: readonly string[];
  /** Modules and instances without a `// src: path:line` locator, and locators that are absolute paths. */
  readonly missingSrc: readonly string[];
  readonly modules: number;
  readonly instances: number;
}

const DECL = /^\s*(?:wire|reg)\s+(?:\[[^\]]*\]\s*)?([A-Za-z_][A-Za-z0-9_$]*)/;
const ALIAS = /^\s*assign\s+[A-Za-z_][A-Za-z0-9_$]*\s*=\s*[A-Za-z_][A-Za-z0-9_$]*\s*;/;
const INSTANCE = /^ {2}([A-Za-z_][A-Za-z0-9_$]*) ([A-Za-z_][A-Za-z0-9_$]*) \($/;
/** A locator relative to the repository root: no leading `/`, no drive letter, no `..`. */
const SRC = /^\s*\/\/ src: ((?!\.\.)[A-Za-z0-9_\-][A-Za-z0-9_.\-/]*\.[a-z]+):\d+$/;
const PORT = /^\s*output\s+(?:wire|reg)\s+(?:\[(\d+):0\]\s*)?([A-Za-z_]\w*)/;
/** A constant word of a mask: `assign port[hi:lo] = N'h…;` (the whole port when no range). */
const WORD = /^\s*assign\s+([A-Za-z_]\w*)(?:\[(\d+)(?::(\d+))?\])?\s*=\s*\d+'[bh][0-9a-f]+;(.*)$/;
/** A word of a mask ROM: `N'hA: q = N'hV;` inside its case statement. */
const ROM_WORD = /^\s*\d+'[bh][0-9a-f]+:\s*[A-Za-z_]\w*\s*<?=\s*\d+'[bh][0-9a-f]+;(.*)$/;

/** Facts about Verilog files (path → text); files under a folder starting with `mask` are mask modules. */
export function readability(files: ReadonlyMap<string, string>): Readability {
  let decls = 0, tNamed = 0, modules = 0, instances = 0;
  const aliases: string[] = [];
  const bareMaskWords: string[] = [];
  const missingSrc: string[] = [];
  for (const [path, text] of files) {
    if (!path.endsWith('.v')) continue;
    const lines = text.split('\n');
    const isMask = /(^|\/)mask[^/]*\//.test(path);
    const covered = new Map<string, { width: number; bits: number }>();
    lines.forEach((line, i) => {
      const d = DECL.exec(line);
      if (d && d[1] !== '_unused_ok') { decls++; if (d[1].startsWith('_t')) tNamed++; }
      if (ALIAS.test(line)) aliases.push(`${path}:${i + 1}: ${line.trim()}`);
      if (/^module /.test(line)) {
        modules++;
        if (!lines.slice(0, i).some((l) => SRC.test(l))) missingSrc.push(`${path}: module ${line.slice(7).split(/[\s(]/)[0]}`);
      }
      const inst = INSTANCE.exec(line);
      if (inst && inst[1] !== 'module') {
        instances++;
        if (!SRC.test(lines[i - 1] ?? '')) missingSrc.push(`${path}:${i + 1}: instance ${inst[2]}`);
      }
      if (/\/\/ src: /.test(line) && !SRC.test(line)) missingSrc.push(`${path}:${i + 1}: not a relative locator: ${line.trim()}`);
      if (!isMask) return;
      const p = PORT.exec(line);
      if (p) covered.set(p[2], { width: p[1] === undefined ? 1 : Number(p[1]) + 1, bits: 0 });
      const w = WORD.exec(line);
      if (w && covered.has(w[1])) {
        const c = covered.get(w[1])!;
        const hi = w[2] === undefined ? c.width - 1 : Number(w[2]);
        const lo = w[3] === undefined ? hi : Number(w[3]);
        c.bits += w[2] === undefined ? c.width : hi - lo + 1;
        if (!/^\s*\/\/ \S/.test(w[4])) bareMaskWords.push(`${path}:${i + 1}: ${line.trim().slice(0, 60)}`);
      }
      const r = ROM_WORD.exec(line);
      if (r && !/^\s*\/\/ \S/.test(r[1])) bareMaskWords.push(`${path}:${i + 1}: ${line.trim().slice(0, 60)}`);
    });
    for (const [name, c] of covered) if (c.bits > 0 && c.bits !== c.width) bareMaskWords.push(`${path}: output ${name}: ${c.bits} of ${c.width} bits assigned word by word`);
  }
  return { decls, tNamed, aliases, bareMaskWords, missingSrc, modules, instances };
}
