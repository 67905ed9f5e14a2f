// Source locators: the line of generator code that made a module or an instance, as a path from the
// repository root (never absolute, so output stays byte-identical across machines and checkouts).
import { fileURLToPath } from 'node:url';
import { basename, relative, sep } from 'node:path';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The DSL's own files: a locator names their caller, not them. */
const DSL_FILES = new Set(['dsl/module.ts', 'dsl/signal.ts', 'dsl/ir/src.ts']);
const FRAME = /(?:\(|\s|^)((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):(\d+):\d+\)?$/;

/** `path/from/root.ts:line` of the first caller outside the DSL, or undefined when the stack has none. */
export function callerSite(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 16;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  for (const line of stack.split('\n').slice(1)) {
    const f = FRAME.exec(line.trim());
    if (!f) continue;
    const file = f[1].startsWith('file://') ? fileURLToPath(f[1]) : f[1];
    if (file.includes(`${sep}node_modules${sep}`)) continue;
    const rel = relative(ROOT, file).split(sep).join('/');
    if (DSL_FILES.has(rel)) continue;
    return `${rel.startsWith('..') ? basename(file) : rel}:${f[2]}`;
  }
  return undefined;
}
