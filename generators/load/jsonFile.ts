// A JSON file read for a loader: a missing or unreadable file and bad JSON are one-line UserErrors that
// start with the path (Node's own messages repeat the path; it is dropped).
import { readFileSync } from 'node:fs';
import { UserError } from '../../core/errors.ts';

export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`${path}: cannot read: ${(e as Error).message.replace(/, open '.*$/s, '')}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}
