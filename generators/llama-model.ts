// The float Llama model that load hands to the later stages: the config numbers and every weight.

/**
 * The numbers of a Llama config.json that the computation depends on. `LlamaConfig` in
 * generators/grid/llamaPlan.ts is a Pick of it, so a loaded model's dims can be planned directly.
 */
/** Llama 3.1's RoPE frequency scaling (transformers' _compute_llama3_parameters). */
export interface RopeScaling {
  readonly factor: number;
  readonly lowFreqFactor: number;
  readonly highFreqFactor: number;
  readonly originalMaxPositions: number;
}

export interface LlamaDims {
  /** hidden_size */
  readonly hidden: number;
  /** intermediate_size (SwiGLU width) */
  readonly intermediate: number;
  /** num_hidden_layers */
  readonly layers: number;
  /** num_attention_heads */
  readonly heads: number;
  /** num_key_value_heads; query head h reads KV head floor(h / (heads / kvHeads)), as HF's repeat_kv. */
  readonly kvHeads: number;
  /** head_dim; heads × headDim = hidden, and it is even (RoPE rotates pairs). */
  readonly headDim: number;
  /** vocab_size */
  readonly vocab: number;
  /** tie_word_embeddings: lm_head is model.embed_tokens.weight. */
  readonly tied: boolean;
  /** rms_norm_eps */
  readonly rmsNormEps: number;
  /** rope_theta (default RoPE only: no rope_scaling). */
  readonly ropeTheta: number;
  /** max_position_embeddings: the context the model was made for; the KV cache is this long. */
  readonly maxPositions: number;
  /** rope_scaling of type "llama3" (Llama 3.1): inverse frequencies scaled as transformers does. */
  readonly ropeScaling?: RopeScaling;
  /** bos_token_id: prefixed to every prompt (as HF's Llama tokenizers add it); absent when null. */
  readonly bos?: number;
  /** eos_token_id (one or a list): generation stops after the first of them; absent when null. */
  readonly eos?: readonly number[];
}

/** One decoder layer. Matrices are PyTorch Linear weights: row-major [out, in], no biases. */
export interface FloatLlamaLayer {
  /** input_layernorm.weight [hidden] */
  readonly inputNorm: Float32Array;
  /** self_attn.q_proj.weight [heads·headDim, hidden] */
  readonly qProj: Float32Array;
  /** self_attn.k_proj.weight [kvHeads·headDim, hidden] */
  readonly kProj: Float32Array;
  /** self_attn.v_proj.weight [kvHeads·headDim, hidden] */
  readonly vProj: Float32Array;
  /** self_attn.o_proj.weight [hidden, heads·headDim] */
  readonly oProj: Float32Array;
  /** post_attention_layernorm.weight [hidden] */
  readonly postAttentionNorm: Float32Array;
  /** mlp.gate_proj.weight [intermediate, hidden] */
  readonly gateProj: Float32Array;
  /** mlp.up_proj.weight [intermediate, hidden] */
  readonly upProj: Float32Array;
  /** mlp.down_proj.weight [hidden, intermediate] */
  readonly downProj: Float32Array;
}

/**
 * A Llama (LlamaForCausalLM) as read from a checkpoint:
 *   x = embed[token]; per layer: x += o(attn(rope(q(n1(x))), rope(k(n1(x))), v(n1(x))));
 *   x += down(silu(gate(n2(x))) · up(n2(x))); logits = lmHead · norm(x).
 */
export interface FloatLlama {
  readonly kind: 'llama';
  readonly dims: LlamaDims;
  /** model.embed_tokens.weight [vocab, hidden] */
  readonly embedTokens: Float32Array;
  readonly layers: readonly FloatLlamaLayer[];
  /** model.norm.weight [hidden] */
  readonly norm: Float32Array;
  /** lm_head.weight [vocab, hidden]; the same array as embedTokens when dims.tied. */
  readonly lmHead: Float32Array;
}
