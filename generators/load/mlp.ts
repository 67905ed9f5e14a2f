// Recognizes a sequential MLP (a chain of Linear layers) in a safetensors file, with optional config.json.
//
// A layer is `<prefix>.weight` [out, in] with an optional `<prefix>.bias` [out]. Layer order comes
// from config.json `"layers": [...]` or else from the natural order of the prefixes (fc1 < fc2 < fc10;
// net.0 < net.2 < net.4 as nn.Sequential names them). Every tensor must belong to a layer: a stray
// tensor means this is not the model we think it is, and guessing would hardwire the wrong thing.

import { UserError } from '../../core/errors.ts';
import type { Activation, FloatLinear, FloatMlp } from '../model.ts';
import { quoteName, readWeights, type SafetensorsFile, type TensorInfo } from './safetensors.ts';

const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  relu: 'relu',
  none: 'none',
  identity: 'none',
  linear: 'none',
};

const MAX_LISTED = 10;

/** `name [d0,d1]` for up to ten tensors, then how many more. */
function listTensors(tensors: readonly TensorInfo[]): string {
  const shown = tensors.slice(0, MAX_LISTED).map((t) => `${quoteName(t.name)} [${t.shape}]`);
  const more = tensors.length > MAX_LISTED ? `, and ${tensors.length - MAX_LISTED} more` : '';
  return shown.join(', ') + more;
}

/** Compares names chunk by chunk, digit runs as numbers: fc2 < fc10, net.4 < net.10. */
export function naturalCompare(a: string, b: string): number {
  const ca = a.match(/\d+|\D+/g) ?? [];
  const cb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i];
    const y = cb[i];
    if (x === y) continue;
    const xd = /^\d/.test(x);
    const yd = /^\d/.test(y);
    if (xd && yd) {
      const xs = x.replace(/^0+(?=\d)/, '');
      const ys = y.replace(/^0+(?=\d)/, '');
      if (xs.length !== ys.length) return xs.length - ys.length;
      if (xs !== ys) return xs < ys ? -1 : 1;
      return x.length - y.length; // "01" after "1": a fixed order, not a tie
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}

interface MlpConfig {
  readonly layers?: readonly string[];
  readonly activation?: Activation;
  readonly activations?: readonly Activation[];
}

/** Reads the fields of config.json that describe an MLP; other fields are ignored. */
function readConfig(config: unknown, where: string): MlpConfig {
  if (config === undefined) return {};
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new UserError(`${where}: must be a JSON object`);
  }
  const c = config as Record<string, unknown>;
  const activationOf = (v: unknown, field: string): Activation => {
    if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(ACTIVATIONS, v.toLowerCase())) {
      return ACTIVATIONS[v.toLowerCase()];
    }
    const got = typeof v === 'string' ? quoteName(v) : JSON.stringify(v);
    throw new UserError(`${where}: ${field}: unknown activation ${got} (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  };
  const out: { layers?: string[]; activation?: Activation; activations?: Activation[] } = {};
  if (c.layers !== undefined) {
    if (!Array.isArray(c.layers) || c.layers.length === 0 || !c.layers.every((s) => typeof s === 'string')) {
      throw new UserError(`${where}: "layers" must be a non-empty list of tensor-name prefixes`);
    }
    out.layers = c.layers as string[];
  }
  if (c.activation !== undefined && c.activations !== undefined) {
    throw new UserError(`${where}: give "activation" or "activations", not both`);
  }
  if (c.activation !== undefined) out.activation = activationOf(c.activation, '"activation"');
  if (c.activations !== undefined) {
    if (!Array.isArray(c.activations)) throw new UserError(`${where}: "activations" must be a list`);
    out.activations = c.activations.map((v, i) => activationOf(v, `"activations"[${i}]`));
  }
  return out;
}


/**
 * Builds a FloatMlp from `file`. `config` is the parsed config.json (or undefined); `configPath`
 * names it in messages. Throws UserError (one line, starting with a file path) if the tensors are not
 * a chain of Linear layers.
 */
export function recognizeMlp(file: SafetensorsFile, config?: unknown, configPath = 'config.json'): FloatMlp {
  const cfg = readConfig(config, configPath);
  const fail = (why: string): never => {
    throw new UserError(`${file.path}: ${why}`);
  };
  const all = [...file.tensors.values()];
  const found = all.filter((t) => t.name.endsWith('.weight')).map((t) => t.name.slice(0, -'.weight'.length));
  if (found.length === 0) {
    return fail(`no '<layer>.weight' tensors found; the file has ${all.length ? listTensors(all) : 'no tensors'}`);
  }

  let prefixes: string[];
  if (cfg.layers !== undefined) {
    for (const p of cfg.layers) {
      if (!file.tensors.has(`${p}.weight`)) {
        fail(`${configPath} lists layer ${quoteName(p)} but there is no tensor ${quoteName(`${p}.weight`)}`);
      }
    }
    if (new Set(cfg.layers).size !== cfg.layers.length) fail(`${configPath}: "layers" names a layer twice`);
    prefixes = [...cfg.layers];
  } else {
    prefixes = found.sort(naturalCompare);
  }

  const used = new Set(prefixes.flatMap((p) => [`${p}.weight`, `${p}.bias`]));
  const extra = all.filter((t) => !used.has(t.name));
  if (extra.length > 0) fail(`tensors that belong to no Linear layer: ${listTensors(extra)}`);

  const n = prefixes.length;
  if (cfg.activations !== undefined && cfg.activations.length !== n) {
    fail(`${configPath}: "activations" has ${cfg.activations.length} entries for ${n} layers`);
  }
  const hidden = cfg.activation ?? 'relu';

  const layers: FloatLinear[] = [];
  let prev: TensorInfo | undefined;
  for (let k = 0; k < n; k++) {
    const w = file.tensors.get(`${prefixes[k]}.weight`)!;
    const where = `tensor ${quoteName(w.name)}`;
    if (w.shape.length !== 2) fail(`${where}: a Linear weight must be 2-D [out, in], got [${w.shape}]`);
    const [outF, inF] = w.shape;
    if (outF === 0 || inF === 0) fail(`${where}: shape [${w.shape}] has a zero dimension`);
    if (prev !== undefined && prev.shape[0] !== inF) {
      fail(`${where} [${w.shape}] takes ${inF} inputs but ${quoteName(prev.name)} [${prev.shape}] gives ${prev.shape[0]} outputs`);
    }
    const b = file.tensors.get(`${prefixes[k]}.bias`);
    if (b !== undefined && (b.shape.length !== 1 || b.shape[0] !== outF)) {
      fail(`tensor ${quoteName(b.name)}: bias shape [${b.shape}] does not match ${where} [${w.shape}] (expected [${outF}])`);
    }
    const activation = cfg.activations?.[k] ?? (k === n - 1 ? 'none' : hidden);
    const layer: FloatLinear = {
      name: prefixes[k],
      inFeatures: inF,
      outFeatures: outF,
      weight: readWeights(file, w),
      activation,
      ...(b !== undefined ? { bias: readWeights(file, b) } : {}),
    };
    layers.push(layer);
    prev = w;
  }
  return { kind: 'mlp', layers };
}
