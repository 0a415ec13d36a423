package catalog

import (
	"errors"
	"fmt"
	"slices"
)

// Model is a decoder-only transformer's architecture: what the planner needs
// to size its weights and its KV cache. The fields follow Hugging Face
// config.json; the hcl tags are the attribute names in data/models.hcl.
//
// Attention is either grouped-query (GQA: AttentionHeads, KVHeads, HeadDim)
// or multi-head latent (MLA: KVLoraRank > 0, with QLoraRank, QKNopeHeadDim,
// QKRopeHeadDim and VHeadDim; KVHeads and HeadDim are zero).
type Model struct {
	Name string `hcl:"name,label"`
	// Family is the architecture's config.json model_type: llama, qwen2,
	// qwen3, qwen3_moe, mixtral, deepseek_v3 or llama4.
	Family string `hcl:"family"`

	Layers         int `hcl:"layers"`
	AttentionHeads int `hcl:"attention_heads"`
	KVHeads        int `hcl:"kv_heads,optional"`
	HeadDim        int `hcl:"head_dim,optional"`
	Hidden         int `hcl:"hidden"`
	// Intermediate is the MLP width of the dense layers.
	Intermediate int `hcl:"intermediate"`
	Vocab        int `hcl:"vocab"`

	// Experts is the number of routed experts in each MoE layer, of which
	// ExpertsPerToken run per token, each MoEIntermediate wide. SharedExperts
	// run for every token. MoELayers counts the layers with experts; the
	// other Layers-MoELayers layers have a dense MLP.
	Experts         int `hcl:"experts,optional"`
	ExpertsPerToken int `hcl:"experts_per_token,optional"`
	MoEIntermediate int `hcl:"moe_intermediate,optional"`
	SharedExperts   int `hcl:"shared_experts,optional"`
	MoELayers       int `hcl:"moe_layers,optional"`

	// MLA dimensions; zero for GQA.
	KVLoraRank    int `hcl:"kv_lora_rank,optional"`
	QKRopeHeadDim int `hcl:"qk_rope_head_dim,optional"`
	QLoraRank     int `hcl:"q_lora_rank,optional"` // 0: queries are not compressed
	QKNopeHeadDim int `hcl:"qk_nope_head_dim,optional"`
	VHeadDim      int `hcl:"v_head_dim,optional"`

	QKVBias bool `hcl:"qkv_bias,optional"` // biases on q, k and v (qwen2)
	QKNorm  bool `hcl:"qk_norm,optional"`  // RMSNorm weights on q and k heads (qwen3)
	// TiedEmbeddings: the output head reuses the input embedding matrix.
	TiedEmbeddings bool `hcl:"tied_embeddings,optional"`
	// AttentionChunkSize > 0: some layers attend only within chunks of this
	// many tokens (llama4), so they need less KV than KVBytesPerToken says.
	AttentionChunkSize int `hcl:"attention_chunk_size,optional"`

	// ParamsTotal counts every parameter (all experts); ParamsActive those
	// used for one token. The catalog gives the published figures;
	// ParseHFConfig computes them with CountParams.
	ParamsTotal           int64 `hcl:"params_total"`
	ParamsActive          int64 `hcl:"params_active"`
	MaxPositionEmbeddings int   `hcl:"max_position_embeddings,optional"`

	// Source says where the figures come from and which are unverified.
	Source string `hcl:"source"`
}

// IsMLA reports whether the model caches one compressed latent per token
// and layer (multi-head latent attention) instead of per-head keys and values.
func (m Model) IsMLA() bool { return m.KVLoraRank > 0 }

// KVBytesPerToken is the KV cache one token takes across all layers, with
// bytesPerElement bytes per cached number (2 for bf16/fp16, 1 for fp8).
//
// GQA caches a key and a value per KV head: 2·L·kv_heads·head_dim·b.
// MLA caches one latent plus the shared RoPE key: L·(kv_lora_rank+qk_rope_head_dim)·b,
// as vLLM's MLAAttentionSpec allocates it.
func (m Model) KVBytesPerToken(bytesPerElement int) int64 {
	b := int64(bytesPerElement)
	if m.IsMLA() {
		return int64(m.Layers) * int64(m.KVLoraRank+m.QKRopeHeadDim) * b
	}
	return 2 * int64(m.Layers) * int64(m.KVHeads) * int64(m.HeadDim) * b
}

// EmbeddingParams counts the input embedding and output head parameters
// (one matrix when they are tied). Quantized checkpoints keep them in 16
// bits, so the planner sizes them apart from the rest.
func (m Model) EmbeddingParams() int64 {
	n := int64(m.Vocab) * int64(m.Hidden)
	if !m.TiedEmbeddings {
		n *= 2
	}
	return n
}

// CountParams counts the model's parameters from its dimensions: all of
// them (total, every expert) and those one token uses (active: attention,
// dense MLPs, the routed experts it picks, shared experts, routers,
// embeddings, norms). Biases other than qkv_bias, the DeepSeek router's
// correction bias, multi-token-prediction layers and vision encoders are
// left out; together they are well under 0.1% of the totals here.
//
// Every MLP is SwiGLU (gate, up and down projections: 3·hidden·width).
func (m Model) CountParams() (total, active int64) {
	h := int64(m.Hidden)
	perLayer := m.attentionParams() + 2*h // + input and post-attention norms
	mlp := func(width int) int64 { return 3 * h * int64(width) }

	total = int64(m.Layers)*perLayer + int64(m.Layers-m.MoELayers)*mlp(m.Intermediate)
	active = total
	if m.MoELayers > 0 {
		router := h * int64(m.Experts)
		expert := mlp(m.MoEIntermediate)
		shared := int64(m.SharedExperts) * expert
		total += int64(m.MoELayers) * (router + int64(m.Experts)*expert + shared)
		active += int64(m.MoELayers) * (router + int64(m.ExpertsPerToken)*expert + shared)
	}
	rest := m.EmbeddingParams() + h // + the final norm
	return total + rest, active + rest
}

func (m Model) attentionParams() int64 {
	h := int64(m.Hidden)
	heads := int64(m.AttentionHeads)
	if m.IsMLA() {
		qkHead := int64(m.QKNopeHeadDim + m.QKRopeHeadDim)
		var q int64
		if r := int64(m.QLoraRank); r > 0 {
			q = h*r + r + r*heads*qkHead // down-projection, its norm, up-projection
		} else {
			q = h * heads * qkHead
		}
		r := int64(m.KVLoraRank)
		kv := h*(r+int64(m.QKRopeHeadDim)) + r + r*heads*int64(m.QKNopeHeadDim+m.VHeadDim)
		o := heads * int64(m.VHeadDim) * h
		return q + kv + o
	}
	q := heads * int64(m.HeadDim)
	kv := int64(m.KVHeads) * int64(m.HeadDim)
	n := h*q + 2*h*kv + q*h // q, k, v and o projections
	if m.QKVBias {
		n += q + 2*kv
	}
	if m.QKNorm {
		n += 2 * int64(m.HeadDim)
	}
	return n
}

func (m Model) validate() error {
	var errs []error
	if !slices.Contains(families, m.Family) {
		errs = append(errs, fmt.Errorf("family %q is not one of %v", m.Family, families))
	}
	if m.Layers <= 0 || m.AttentionHeads <= 0 || m.Hidden <= 0 || m.Vocab <= 0 {
		errs = append(errs, errors.New("layers, attention_heads, hidden and vocab must be positive"))
	}
	if m.IsMLA() {
		if m.QKRopeHeadDim <= 0 || m.QKNopeHeadDim <= 0 || m.VHeadDim <= 0 {
			errs = append(errs, errors.New("MLA needs qk_rope_head_dim, qk_nope_head_dim and v_head_dim"))
		}
		if m.KVHeads != 0 || m.HeadDim != 0 {
			errs = append(errs, errors.New("MLA models leave kv_heads and head_dim unset"))
		}
	} else if m.KVHeads <= 0 || m.HeadDim <= 0 || m.AttentionHeads%m.KVHeads != 0 {
		errs = append(errs, errors.New("GQA needs kv_heads dividing attention_heads, and head_dim"))
	}
	if m.Experts > 0 {
		if m.ExpertsPerToken <= 0 || m.ExpertsPerToken > m.Experts || m.MoEIntermediate <= 0 ||
			m.MoELayers <= 0 || m.MoELayers > m.Layers {
			errs = append(errs, errors.New("MoE needs experts_per_token (1..experts), moe_intermediate and moe_layers (1..layers)"))
		}
	} else if m.MoELayers != 0 || m.SharedExperts != 0 {
		errs = append(errs, errors.New("moe_layers and shared_experts need experts"))
	}
	if m.MoELayers < m.Layers && m.Intermediate <= 0 {
		errs = append(errs, errors.New("dense layers need intermediate"))
	}
	if m.ParamsActive <= 0 || m.ParamsActive > m.ParamsTotal {
		errs = append(errs, errors.New("params_active must be positive and at most params_total"))
	}
	if m.Source == "" {
		errs = append(errs, errors.New("source must say where the figures come from"))
	}
	return errors.Join(errs...)
}
