// config.json as plain values, remembering how each number was written: JSON.parse reads
// `"hidden_size": 64.0` as the integer 64, and a field the format says is an integer must not be
// accepted from a float without anyone noticing. Duplicate keys are refused (parseStrictJson).

import { JsonUnsafeNumber, parseStrictJson, type JsonValue } from './strictJson.ts';

/** Object → its keys whose number was written with a fraction, an exponent or as -0, and that text. */
const nonIntegerText = new WeakMap<object, Map<string, string>>();

function plain(v: JsonValue): unknown {
  if (v instanceof JsonUnsafeNumber) return v.value;
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) {
    // No prototype: a key such as "__proto__" stays plain data.
    const o: Record<string, unknown> = Object.create(null);
    const written = new Map<string, string>();
    for (const [k, x] of v) {
      o[k] = plain(x);
      if (x instanceof JsonUnsafeNumber) written.set(k, x.text);
    }
    if (written.size > 0) nonIntegerText.set(o, written);
    return o;
  }
  return v;
}

/** Parses config.json text (duplicate keys refused: JsonSyntaxError); numbers come back as JS numbers. */
export function parseConfigJson(text: string): unknown {
  return plain(parseStrictJson(text));
}

/**
 * How `obj[key]` was written when it is a number written as anything but a plain integer (`64.0`,
 * `6.4e1`, `-0`); undefined otherwise, and for objects not from parseConfigJson.
 */
export function nonIntegerWriting(obj: unknown, key: string): string | undefined {
  return obj !== null && typeof obj === 'object' ? nonIntegerText.get(obj)?.get(key) : undefined;
}
