// Translates the Oniguruma patterns of tokenizer.json pre-tokenizers into JavaScript regular expressions
// that match exactly what the reference library (Hugging Face tokenizers, Oniguruma in Ruby syntax)
// matches, or says why it cannot.
//
// Where the two engines differ and what is done about it:
// - \p{L}, \p{N}, \w, \d, \s: JavaScript follows Node's Unicode version and ASCII-only \w \d, Oniguruma
//   its own (older) Unicode tables; both are replaced by the reference's own code point sets
//   (onigClasses.ts, probed from the library).
// - (?i:...): Node 20 has no inline flag groups; each cased character inside becomes the class of the
//   characters that fold to it ('s' -> [sSſ], 'k' -> [kKK]), as Oniguruma's case folding does.
// - ^ and $ are line anchors in Ruby syntax (after / before "\n" only); . excludes "\n" only.
// Anything else that JavaScript would read differently (nested classes, possessive quantifiers, \h, \A,
// \b, octal escapes) is refused rather than guessed.

import { ONIG_CLASS } from './onigClasses.ts';

type ClassName = keyof typeof ONIG_CLASS;

/** JavaScript syntax characters: the only ones that may be escaped with a backslash in u mode. */
const SYNTAX = new Set('^$\\.*+?()[]{}|/-'.split(''));

const foldCache = new Map<string, string[]>();

/** The code points that match `ch` case-insensitively (Unicode simple case folding), `ch` first. */
function caseFoldSet(ch: string): string[] {
  let set = foldCache.get(ch);
  if (set) return set;
  set = [ch];
  if (ch.toLowerCase() !== ch.toUpperCase() || /\p{L}/u.test(ch)) {
    const re = new RegExp(`^${SYNTAX.has(ch) ? '\\' + ch : ch}$`, 'iu');
    for (let cp = 0; cp < 0x20000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      if (c !== ch && re.test(c)) set.push(c);
    }
  }
  foldCache.set(ch, set);
  return set;
}

function literal(ch: string, inClass: boolean): string {
  if (SYNTAX.has(ch) && (inClass || ch !== '-')) return '\\' + ch;
  return ch;
}

/** Translates an Oniguruma pattern; throws Error(reason) for a construct it does not translate. */
export function onigToJs(pattern: string): RegExp {
  const cs = [...pattern];
  let out = '';
  let i = 0;
  let inClass = false;
  let classStart = false;
  const caseStack: boolean[] = [false];
  const ci = () => caseStack[caseStack.length - 1];
  const unsupported = (what: string): never => {
    throw new Error(`${what} at character ${i} is not supported`);
  };
  const klass = (name: ClassName, negated: boolean): string => {
    if (!negated) return inClass ? ONIG_CLASS[name] : `[${ONIG_CLASS[name]}]`;
    if (inClass) unsupported(`a negated class escape inside [...]`);
    return `[^${ONIG_CLASS[name]}]`;
  };
  while (i < cs.length) {
    const c = cs[i];
    const wasClassStart = classStart;
    classStart = false;
    if (c === '\\') {
      const e = cs[i + 1];
      if (e === undefined) unsupported('a trailing backslash');
      i += 2;
      switch (e) {
        case 's': case 'S': out += klass('s', e === 'S'); continue;
        case 'd': case 'D': out += klass('d', e === 'D'); continue;
        case 'w': case 'W': out += klass('w', e === 'W'); continue;
        case 'p': case 'P': {
          if (cs[i] !== '{') unsupported(`\\${e} without {name}`);
          const end = cs.indexOf('}', i);
          if (end < 0) unsupported(`an unclosed \\${e}{`);
          let name = cs.slice(i + 1, end).join('');
          i = end + 1;
          let negated = e === 'P';
          if (name.startsWith('^')) { negated = !negated; name = name.slice(1); }
          const table: Record<string, ClassName> = { L: 'L', Letter: 'L', N: 'N', Number: 'N' };
          if (table[name] !== undefined) out += klass(table[name], negated);
          else out += `\\${negated ? 'P' : 'p'}{${name}}`;
          continue;
        }
        case 'x': {
          if (cs[i] === '{') {
            const end = cs.indexOf('}', i);
            if (end < 0) unsupported('an unclosed \\x{');
            out += `\\u{${cs.slice(i + 1, end).join('')}}`;
            i = end + 1;
          } else {
            out += `\\x${cs.slice(i, i + 2).join('')}`;
            i += 2;
          }
          continue;
        }
        case 'u': out += `\\u${cs.slice(i, i + 4).join('')}`; i += 4; continue;
        case 't': case 'n': case 'r': case 'f': case 'v': out += '\\' + e; continue;
        case 'a': out += '\\x07'; continue;
        case 'e': out += '\\x1b'; continue;
        default:
          if (/[\p{L}\p{N}]/u.test(e)) unsupported(`the escape \\${e}`);
          out += literal(e, inClass);
          continue;
      }
    }
    if (inClass) {
      if (c === ']' && !wasClassStart) {
        inClass = false;
        out += ']';
      } else if (c === '[') unsupported('a nested character class');
      else if (c === '&' && cs[i + 1] === '&') unsupported('class intersection &&');
      else if (c === '^' && wasClassStart) {
        out += '^';
        classStart = true; // "]" right after "[^" is still a literal
      } else if (c === '-' && !wasClassStart && cs[i + 1] !== ']') {
        if (ci()) unsupported('a range inside (?i:...)');
        out += '-';
      } else out += ci() ? caseFoldSet(c).map((x) => literal(x, true)).join('') : literal(c, true);
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      classStart = true;
      out += '[';
      i++;
    } else if (c === '(') {
      const rest = cs.slice(i, i + 5).join('');
      const groups: [string, boolean | undefined][] = [
        ['(?i:', true], ['(?-i:', false], ['(?:', undefined], ['(?=', undefined], ['(?!', undefined],
        ['(?<=', undefined], ['(?<!', undefined],
      ];
      const g = groups.find(([open]) => rest.startsWith(open));
      if (g) {
        out += g[1] === undefined ? g[0] : '(?:';
        caseStack.push(g[1] ?? ci());
        i += g[0].length;
      } else if (cs[i + 1] === '?') {
        unsupported(`the group "(?${cs[i + 2] ?? ''}"`);
      } else {
        out += '(';
        caseStack.push(ci());
        i++;
      }
    } else if (c === ')') {
      if (caseStack.length === 1) unsupported('an unmatched )');
      caseStack.pop();
      out += ')';
      i++;
    } else if (c === '^') {
      out += '(?<![^\\n])';
      i++;
    } else if (c === '$') {
      out += '(?![^\\n])';
      i++;
    } else if (c === '.') {
      out += '[^\\n]';
      i++;
    } else if ((c === '+' || c === '?' || c === '*' || c === '}') && cs[i + 1] === '+') {
      unsupported('a possessive quantifier');
    } else if (ci() && caseFoldSet(c).length > 1) {
      out += `[${caseFoldSet(c).map((x) => literal(x, true)).join('')}]`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  if (inClass) unsupported('an unclosed [');
  if (caseStack.length !== 1) unsupported('an unclosed (');
  try {
    return new RegExp(out, 'gu');
  } catch (e) {
    throw new Error(`JavaScript cannot compile it (${(e as Error).message})`);
  }
}
