// Loads the Handlebars templates of this folder: always noEscape and strict, compiled once.
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const hb = Handlebars.create();
const cache = new Map<string, HandlebarsTemplateDelegate>();

/** Render templates/<name> with `data`; a missing field is an error (strict). */
export function render(name: string, data: object): string {
  let t = cache.get(name);
  if (!t) {
    t = hb.compile(readFileSync(join(here, name), 'utf8'), { noEscape: true, strict: true });
    cache.set(name, t);
  }
  return t(data);
}
