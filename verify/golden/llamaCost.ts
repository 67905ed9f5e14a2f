// What quantization costs a language model: per-token loss of the float and the integer model on
// held-out text, and how often their greedy next tokens agree.
import type { FloatLlama } from '../../generators/llama-model.ts';
import type { QuantizedLlama } from '../../generators/quantize/llama.ts';
import { FloatLlamaRunner } from './float-llama.ts';
import { IntLlamaRunner } from './llama.ts';

export interface QuantCost {
  /** Tokens scored (every token but the first of each window). */
  readonly n: number;
  readonly window: number;
  /** Mean next-token loss, nats per token (per character for a char model). */
  readonly floatLoss: number;
  readonly intLoss: number;
  /** Positions where the integer model's argmax equals the float model's. */
  readonly agree: number;
}

function nll(logits: ArrayLike<number>, scale: number, target: number): { loss: number; argmax: number } {
  let max = -Infinity;
  let argmax = 0;
  for (let j = 0; j < logits.length; j++) if (logits[j] > max) { max = logits[j]; argmax = j; }
  let sum = 0;
  for (let j = 0; j < logits.length; j++) sum += Math.exp((logits[j] - max) * scale);
  return { loss: Math.log(sum) - (logits[target] - max) * scale, argmax };
}

/**
 * train.py's protocol: `tokens` cut into windows of `window`, each run from position 0, tokens 1.. of
 * each window scored. The integer logits are dequantized with the logit scale.
 */
export function quantCost(model: FloatLlama, q: QuantizedLlama, tokens: ArrayLike<number>, window: number, onWindow?: (done: number, total: number) => void): QuantCost {
  const fr = new FloatLlamaRunner(model, window);
  const ir = new IntLlamaRunner(q, window);
  let fl = 0, il = 0, agree = 0, n = 0;
  const windows = Math.ceil((tokens.length - 1) / window);
  for (let start = 0, w = 0; start + 1 < tokens.length; start += window, w++) {
    const end = Math.min(start + window, tokens.length);
    fr.reset();
    ir.reset();
    for (let i = start; i + 1 < end; i++) {
      const f = nll(fr.step(tokens[i]), 1, tokens[i + 1]);
      const s = ir.step(tokens[i]);
      const g = nll(s.logits, q.scales.logits, tokens[i + 1]);
      fl += f.loss;
      il += g.loss;
      if (f.argmax === s.next) agree++;
      n++;
    }
    onWindow?.(w + 1, windows);
  }
  return { n, window, floatLoss: fl / n, intLoss: il / n, agree };
}
