// The model types that flow between stages: a float model (from load) and its quantized form (from quantize).

/** Activation applied after a linear layer. */
export type Activation = 'relu' | 'none';

/** One float Linear layer, PyTorch layout: weight is row-major [outFeatures, inFeatures]. */
export interface FloatLinear {
  /** Tensor-name prefix in the checkpoint, e.g. "fc1" (never printed into Verilog unescaped). */
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Float32Array;
  readonly bias?: Float32Array;
  readonly activation: Activation;
}

/** A sequential MLP as read from a checkpoint. */
export interface FloatMlp {
  readonly kind: 'mlp';
  readonly layers: readonly FloatLinear[];
}

/** Weight bit widths supported for integer weights. */
export type WeightBits = 3 | 4 | 6 | 8;

/**
 * One integer layer (docs/ARCHITECTURE.md, "Numerics"). For output channel c:
 *   acc[c] = bias[c] + sum_i weight[c*in + i] * x[i]          (exact, x signed actBits)
 *   hidden layer:  y[c] = sat_act((acc[c] * M[c] + 2^(S[c]-1)) >> S[c])  (arith shift, round half up), then ReLU
 *   last layer:    the accumulators are the logits; the class is argmax (lowest index wins a tie)
 */
export interface QuantizedLinear {
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weightBits: WeightBits;
  /** Integer weights, row-major [out, in], each in [-(2^(B-1)-1), 2^(B-1)-1] (symmetric). */
  readonly weight: Int32Array;
  /** Integer bias per output channel in accumulator units (scale = inScale * weightScale[c]). */
  readonly bias: readonly bigint[];
  /** Float scale of each output channel's weights. */
  readonly weightScale: Float64Array;
  /** Scale of this layer's input activations. */
  readonly inScale: number;
  /** Scale of this layer's output activations (hidden layers) or NaN (last layer). */
  readonly outScale: number;
  /** Requant multiplier per channel, 0 < M < 2^15 (unused on the last layer: empty). */
  readonly M: readonly number[];
  /** Requant shift per channel, 1 <= S <= 62 (unused on the last layer: empty). */
  readonly S: readonly number[];
  readonly relu: boolean;
}

export interface QuantizedMlp {
  readonly kind: 'mlp';
  /** Activation bits (8): inputs and hidden activations are signed actBits-bit integers. */
  readonly actBits: number;
  /** Scale of the integer input: x_int = sat(round_half_away(x / inputScale)). */
  readonly inputScale: number;
  readonly layers: readonly QuantizedLinear[];
}
