# sovereign's built-in model catalog.
#
# Dimensions are the Hugging Face config.json values; family is
# the architecture's config.json model_type. params_total and params_active
# are the published figures; catalog tests recount them from the dimensions
# (CountParams) and check the two agree.
#
# moe_layers counts the layers whose MLP is a mixture of experts; the others
# are dense with `intermediate`. Every expert is resident in memory, so the
# planner sizes weights from params_total; params_active sets decode speed.

model "qwen3-235b-a22b" {
  family          = "qwen3_moe"
  layers          = 94
  hidden          = 4096
  attention_heads = 64
  kv_heads        = 4
  head_dim        = 128
  qk_norm         = true
  intermediate    = 12288
  vocab           = 151936

  experts           = 128
  experts_per_token = 8
  moe_intermediate  = 1536
  moe_layers        = 94

  params_total            = 235e9
  params_active           = 22e9
  max_position_embeddings = 40960

  source = "Qwen/Qwen3-235B-A22B config.json (secondary: identical public copies, the Hugging Face Hub not reached); 235B/22B published by Qwen"
}

model "qwen3-235b-a22b-instruct-2507" {
  family          = "qwen3_moe"
  layers          = 94
  hidden          = 4096
  attention_heads = 64
  kv_heads        = 4
  head_dim        = 128
  qk_norm         = true
  intermediate    = 12288
  vocab           = 151936

  experts           = 128
  experts_per_token = 8
  moe_intermediate  = 1536
  moe_layers        = 94

  params_total            = 235e9
  params_active           = 22e9
  max_position_embeddings = 262144

  source = "Qwen/Qwen3-235B-A22B-Instruct-2507 (the AWQ weights' base): the Qwen3-235B-A22B architecture with max_position_embeddings 262144 (secondary copies); 235B/22B published by Qwen"
}

model "qwen3-30b-a3b" {
  family          = "qwen3_moe"
  layers          = 48
  hidden          = 2048
  attention_heads = 32
  kv_heads        = 4
  head_dim        = 128
  qk_norm         = true
  intermediate    = 6144
  vocab           = 151936

  experts           = 128
  experts_per_token = 8
  moe_intermediate  = 768
  moe_layers        = 48

  params_total            = 30.5e9
  params_active           = 3.3e9
  max_position_embeddings = 40960

  source = "Qwen/Qwen3-30B-A3B config.json (secondary copies); 30.5B/3.3B published by Qwen"
}

model "deepseek-r1-distill-qwen-32b" {
  family          = "qwen2"
  layers          = 64
  hidden          = 5120
  attention_heads = 40
  kv_heads        = 8
  head_dim        = 128
  qkv_bias        = true
  intermediate    = 27648
  vocab           = 152064

  params_total            = 32.5e9
  params_active           = 32.5e9
  max_position_embeddings = 131072

  source = "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B: Qwen2.5-32B architecture (base model from DeepSeek-R1's README; dimensions secondary); 32.5B is Qwen2.5-32B's published total; dense, so active = total"
}

model "llama-3.3-70b" {
  family          = "llama"
  layers          = 80
  hidden          = 8192
  attention_heads = 64
  kv_heads        = 8
  head_dim        = 128
  intermediate    = 28672
  vocab           = 128256

  params_total            = 70.6e9
  params_active           = 70.6e9
  max_position_embeddings = 131072

  source = "meta-llama/Llama-3.3-70B-Instruct config.json (secondary copies); 70.6B is the checkpoint's parameter count (Meta says 70B); dense, so active = total"
}

model "kimi-k2" {
  family          = "deepseek_v3"
  layers          = 61
  hidden          = 7168
  attention_heads = 64
  intermediate    = 18432
  vocab           = 163840

  # MLA: one compressed latent (kv_lora_rank) plus a shared RoPE key per token
  # and layer is cached, instead of per-head keys and values.
  q_lora_rank      = 1536
  kv_lora_rank     = 512
  qk_nope_head_dim = 128
  qk_rope_head_dim = 64
  v_head_dim       = 128

  experts           = 384
  experts_per_token = 8
  shared_experts    = 1
  moe_intermediate  = 2048
  moe_layers        = 60  # the first layer is dense (first_k_dense_replace = 1)

  params_total            = 1e12
  params_active           = 32e9
  max_position_embeddings = 131072

  source = "moonshotai/Kimi-K2 README (layers, experts, 1T/32B published, rounded); MLA dimensions from Kimi-K2.5 config copies (secondary); config.json model_type is kimi_k2 on the DeepseekV3ForCausalLM architecture"
}

model "llama-4-maverick" {
  family          = "llama4"
  layers          = 48
  hidden          = 5120
  attention_heads = 40
  kv_heads        = 8
  head_dim        = 128
  intermediate    = 16384  # intermediate_size_mlp of the dense layers
  vocab           = 202048

  experts           = 128
  experts_per_token = 1
  shared_experts    = 1
  moe_intermediate  = 8192
  moe_layers        = 24  # every second layer (interleave_moe_layer_step = 2)

  # Chunked-attention layers keep at most 8192 tokens of KV; which layers are
  # local is not verified, so KV per token counts every layer at full context.
  attention_chunk_size = 8192

  params_total            = 400e9
  params_active           = 17e9
  max_position_embeddings = 1048576

  source = "meta-llama/Llama-4-Maverick-17B-128E text_config (as copied in NVIDIA/TensorRT-LLM's test config); the shared expert and the 400B/17B published figures are unverified; vision encoder not counted"
}
