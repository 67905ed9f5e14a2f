// Source locators: the line of generator code that made a module or an instance, as a path from the
// repository root (never absolute, so output stays byte-identical across machines and checkouts).
import { fileURLToPath } from 'node:url';
import { basename, relative, sep } from 'node:path';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The DSL's own files: a locator names their caller, not them. */
const DSL_FILES = new Set(['dsl/module.ts', 'dsl/signal.ts', 'dsl/ir/src.ts']);
const DEPTH = 8;
/** Raw (transpiled) position → locator: the formatted, source-mapped stack is costly, so once per site. */
const cache = new Map<string, string>();

/** `path/from/root.ts:line` of the first caller outside the DSL, or undefined when the stack has none. */
export function callerSite(): string | undefined {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = DEPTH;
  try {
    // Raw call sites first (no formatting, no source maps): cheap, and enough to find the frame.
    Error.prepareStackTrace = (_e, s) => s;
    const raw: { stack?: unknown } = {};
    Error.captureStackTrace(raw, callerSite);
    const stack = raw.stack; // formatted lazily, on first read: read it before restoring the formatter
    Error.prepareStackTrace = prepare;
    const sites = Array.isArray(stack) ? (stack as NodeJS.CallSite[]) : [];
    for (const [i, s] of sites.entries()) {
      const name = s.getFileName();
      if (!name || name.startsWith('node:')) continue;
      const file = name.startsWith('file://') ? fileURLToPath(name) : name;
      if (file.includes(`${sep}node_modules${sep}`)) continue;
      const rel = relative(ROOT, file).split(sep).join('/');
      if (DSL_FILES.has(rel)) continue;
      const key = `${name}:${s.getLineNumber()}:${s.getColumnNumber()}`;
      let site = cache.get(key);
      if (site === undefined) {
        // The same frames formatted by the runtime (Node with tsx, or vitest), which maps them to the .ts line.
        const fmt: { stack?: string } = {};
        Error.captureStackTrace(fmt, callerSite);
        const line = (fmt.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l))[i] ?? '';
        const mapped = /:(\d+):\d+\)?$/.exec(line.trim());
        site = `${rel.startsWith('..') ? basename(file) : rel}:${mapped ? mapped[1] : s.getLineNumber()}`;
        cache.set(key, site);
      }
      return site;
    }
    return undefined;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}
