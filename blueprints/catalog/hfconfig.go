package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// families are the architectures Model.Family may name.
var families = []string{"deepseek_v3", "llama", "llama4", "mixtral", "qwen2", "qwen3", "qwen3_moe"}

// modelTypes maps each config.json model_type ParseHFConfig reads to its
// family. Kimi-K2 ships model_type kimi_k2 on the DeepseekV3ForCausalLM
// architecture; llama4_text is Llama 4's language model without the vision
// wrapper.
var modelTypes = map[string]string{
	"deepseek_v3": "deepseek_v3",
	"kimi_k2":     "deepseek_v3",
	"llama":       "llama",
	"llama4":      "llama4",
	"llama4_text": "llama4",
	"mixtral":     "mixtral",
	"qwen2":       "qwen2",
	"qwen3":       "qwen3",
	"qwen3_moe":   "qwen3_moe",
}

// Limits on config.json dimensions. They are far above any published model
// and low enough that CountParams cannot overflow an int64.
const (
	maxHidden       = 1 << 16
	maxLayers       = 1 << 11
	maxHeads        = 1 << 10
	maxHeadDim      = 1 << 12
	maxIntermediate = 1 << 20
	maxExperts      = 1 << 12
	maxVocab        = 1 << 23
	maxRank         = 1 << 16
	maxPositions    = 1 << 30
)

// ParseHFConfig reads a Hugging Face config.json into a Model named name and
// counts its parameters from the dimensions (CountParams).
//
// It reads llama, qwen2, qwen3, qwen3_moe, mixtral, deepseek_v3 (and
// kimi_k2) and llama4 configurations. Any other model_type, a missing field
// the family needs, or a value out of range is an error naming the field.
// Defaults follow transformers where a field is optional:
// num_key_value_heads = num_attention_heads, head_dim =
// hidden_size/num_attention_heads (qwen3 needs head_dim: its default is not
// that), tie_word_embeddings = false.
func ParseHFConfig(name string, configJSON []byte) (Model, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(configJSON, &top); err != nil {
		return Model{}, fmt.Errorf("config.json: %w", err)
	}
	var modelType string
	if raw, ok := top["model_type"]; !ok || json.Unmarshal(raw, &modelType) != nil || modelType == "" {
		return Model{}, fmt.Errorf(`config.json: no "model_type" string (supported: %s)`, supportedModelTypes())
	}
	family, ok := modelTypes[modelType]
	if !ok {
		return Model{}, fmt.Errorf("config.json: model_type %q is not supported (supported: %s)", modelType, supportedModelTypes())
	}

	fields := top
	if modelType == "llama4" {
		// Llama 4 checkpoints are multimodal; the language model's
		// dimensions sit in text_config.
		var text map[string]json.RawMessage
		if err := json.Unmarshal(top["text_config"], &text); err != nil || text == nil {
			return Model{}, errors.New(`config.json: llama4 needs a "text_config" object`)
		}
		if tie, ok := top["tie_word_embeddings"]; ok && text["tie_word_embeddings"] == nil {
			text["tie_word_embeddings"] = tie
		}
		fields = text
	}

	r := &configReader{modelType: modelType, fields: fields}
	m := Model{Name: name, Family: family}
	switch family {
	case "llama", "qwen2", "qwen3":
		r.readDense(&m)
	case "qwen3_moe":
		r.readQwen3MoE(&m)
	case "mixtral":
		r.readMixtral(&m)
	case "llama4":
		r.readLlama4(&m)
	case "deepseek_v3":
		r.readDeepSeekV3(&m)
	}
	if err := r.err(); err != nil {
		return Model{}, err
	}
	m.ParamsTotal, m.ParamsActive = m.CountParams()
	m.Source = fmt.Sprintf("Hugging Face config.json (model_type %s); parameters counted from its dimensions", modelType)
	if err := m.validate(); err != nil {
		return Model{}, fmt.Errorf("config.json: %w", err)
	}
	return m, nil
}

func supportedModelTypes() string { return strings.Join(sortedKeys(modelTypes), ", ") }

// configReader reads config.json fields, collecting every missing field and
// bad value so that one error reports them all.
type configReader struct {
	modelType string
	fields    map[string]json.RawMessage
	missing   []string
	bad       []error
}

func (r *configReader) err() error {
	var errs []error
	if len(r.missing) > 0 {
		errs = append(errs, fmt.Errorf("config.json: %s needs %s", r.modelType, quotedList(r.missing)))
	}
	for _, err := range r.bad {
		errs = append(errs, fmt.Errorf("config.json: %w", err))
	}
	return errors.Join(errs...)
}

// quotedList spells keys as `"a"`, `"a" and "b"` or `"a", "b" and "c"`.
func quotedList(keys []string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
}

// present reports whether key is set to something other than null.
func (r *configReader) present(key string) bool {
	raw, ok := r.fields[key]
	return ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// int reads a required integer in lo..hi.
func (r *configReader) int(key string, lo, hi int) int {
	if !r.present(key) {
		r.missing = append(r.missing, key)
		return 0
	}
	return r.parseInt(key, r.fields[key], lo, hi)
}

// optInt reads an optional integer in lo..hi, def when absent or null.
func (r *configReader) optInt(key string, def, lo, hi int) int {
	if !r.present(key) {
		return def
	}
	return r.parseInt(key, r.fields[key], lo, hi)
}

func (r *configReader) parseInt(key string, raw json.RawMessage, lo, hi int) int {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		r.bad = append(r.bad, fmt.Errorf("%q must be an integer, not %s", key, raw))
		return 0
	}
	v, err := n.Int64()
	if err != nil {
		// 4096.0 is an integer too; anything else is not.
		f, ferr := n.Float64()
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > float64(hi) {
			r.bad = append(r.bad, fmt.Errorf("%q must be an integer in %d..%d, not %s", key, lo, hi, n))
			return 0
		}
		v = int64(f)
	}
	if v < int64(lo) || v > int64(hi) {
		r.bad = append(r.bad, fmt.Errorf("%q = %d is out of range %d..%d", key, v, lo, hi))
		return 0
	}
	return int(v)
}

// optBool reads an optional boolean, def when absent or null.
func (r *configReader) optBool(key string, def bool) bool {
	if !r.present(key) {
		return def
	}
	var b bool
	if err := json.Unmarshal(r.fields[key], &b); err != nil {
		r.bad = append(r.bad, fmt.Errorf("%q must be true or false, not %s", key, r.fields[key]))
		return def
	}
	return b
}

// layerSet reads an optional list of layer indexes in 0..layers-1.
func (r *configReader) layerSet(key string, layers int) map[int]bool {
	if !r.present(key) {
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(r.fields[key], &raw); err != nil {
		r.bad = append(r.bad, fmt.Errorf("%q must be a list of layer indexes", key))
		return nil
	}
	set := make(map[int]bool)
	for _, item := range raw {
		set[r.parseInt(key, item, 0, max(layers-1, 0))] = true
	}
	return set
}

// readAttention reads what every family shares: sizes, vocabulary, tying,
// context length, and the GQA heads unless the family uses MLA.
func (r *configReader) readAttention(m *Model, gqa bool) {
	m.Hidden = r.int("hidden_size", 1, maxHidden)
	m.Layers = r.int("num_hidden_layers", 1, maxLayers)
	m.AttentionHeads = r.int("num_attention_heads", 1, maxHeads)
	m.Vocab = r.int("vocab_size", 1, maxVocab)
	m.TiedEmbeddings = r.optBool("tie_word_embeddings", false)
	m.MaxPositionEmbeddings = r.optInt("max_position_embeddings", 0, 1, maxPositions)
	if !gqa {
		return
	}
	m.KVHeads = r.optInt("num_key_value_heads", m.AttentionHeads, 1, maxHeads)
	if m.AttentionHeads > 0 && m.KVHeads > 0 && m.AttentionHeads%m.KVHeads != 0 {
		r.bad = append(r.bad, fmt.Errorf("num_attention_heads %d is not a multiple of num_key_value_heads %d", m.AttentionHeads, m.KVHeads))
	}
	if m.Family == "qwen3" || m.Family == "qwen3_moe" {
		m.HeadDim = r.int("head_dim", 1, maxHeadDim)
		return
	}
	m.HeadDim = r.optInt("head_dim", 0, 1, maxHeadDim)
	if m.HeadDim == 0 && m.AttentionHeads > 0 && m.Hidden > 0 {
		if m.Hidden%m.AttentionHeads != 0 {
			r.bad = append(r.bad, fmt.Errorf("no \"head_dim\", and hidden_size %d is not a multiple of num_attention_heads %d", m.Hidden, m.AttentionHeads))
		}
		m.HeadDim = m.Hidden / m.AttentionHeads
	}
}

// readDense reads llama, qwen2 and qwen3: every layer has a dense MLP.
func (r *configReader) readDense(m *Model) {
	r.readAttention(m, true)
	m.Intermediate = r.int("intermediate_size", 1, maxIntermediate)
	switch m.Family {
	case "qwen2":
		m.QKVBias = true // Qwen2 always has q, k and v biases
	case "qwen3":
		m.QKNorm = true
		m.QKVBias = r.optBool("attention_bias", false)
	default:
		m.QKVBias = r.optBool("attention_bias", false)
	}
}

func (r *configReader) readQwen3MoE(m *Model) {
	r.readAttention(m, true)
	m.QKNorm = true
	m.QKVBias = r.optBool("attention_bias", false)
	m.Experts = r.int("num_experts", 1, maxExperts)
	m.ExpertsPerToken = r.int("num_experts_per_tok", 1, maxExperts)
	m.MoEIntermediate = r.int("moe_intermediate_size", 1, maxIntermediate)
	// Layer i has experts unless listed in mlp_only_layers, and only every
	// decoder_sparse_step-th layer (transformers' Qwen3MoeDecoderLayer).
	step := r.optInt("decoder_sparse_step", 1, 1, maxLayers)
	mlpOnly := r.layerSet("mlp_only_layers", m.Layers)
	for i := range m.Layers {
		if !mlpOnly[i] && (i+1)%step == 0 {
			m.MoELayers++
		}
	}
	r.readDenseWidth(m, "intermediate_size")
	r.checkExperts(m)
}

func (r *configReader) readMixtral(m *Model) {
	r.readAttention(m, true)
	m.Experts = r.int("num_local_experts", 1, maxExperts)
	m.ExpertsPerToken = r.int("num_experts_per_tok", 1, maxExperts)
	m.Intermediate = r.int("intermediate_size", 1, maxIntermediate) // each expert's width
	m.MoEIntermediate = m.Intermediate
	m.MoELayers = m.Layers
	r.checkExperts(m)
}

func (r *configReader) readLlama4(m *Model) {
	r.readAttention(m, true)
	m.Experts = r.int("num_local_experts", 1, maxExperts)
	m.ExpertsPerToken = r.int("num_experts_per_tok", 1, maxExperts)
	m.MoEIntermediate = r.int("intermediate_size", 1, maxIntermediate)
	m.SharedExperts = 1 // every Llama 4 MoE layer has one shared expert as wide as a routed one
	m.AttentionChunkSize = r.optInt("attention_chunk_size", 0, 1, maxPositions)
	// moe_layers lists the MoE layers; without it transformers takes every
	// interleave_moe_layer_step-th layer, starting at step-1.
	if moeLayers := r.layerSet("moe_layers", m.Layers); moeLayers != nil {
		m.MoELayers = len(moeLayers)
	} else {
		step := r.optInt("interleave_moe_layer_step", 1, 1, maxLayers)
		m.MoELayers = m.Layers / step
	}
	r.readDenseWidth(m, "intermediate_size_mlp")
	r.checkExperts(m)
}

func (r *configReader) readDeepSeekV3(m *Model) {
	r.readAttention(m, false)
	m.KVLoraRank = r.int("kv_lora_rank", 1, maxRank)
	m.QKRopeHeadDim = r.int("qk_rope_head_dim", 1, maxHeadDim)
	m.QKNopeHeadDim = r.int("qk_nope_head_dim", 1, maxHeadDim)
	m.VHeadDim = r.int("v_head_dim", 1, maxHeadDim)
	// q_lora_rank must be there; null means queries are not compressed.
	if _, ok := r.fields["q_lora_rank"]; !ok {
		r.missing = append(r.missing, "q_lora_rank")
	}
	m.QLoraRank = r.optInt("q_lora_rank", 0, 1, maxRank)

	m.Experts = r.int("n_routed_experts", 1, maxExperts)
	m.ExpertsPerToken = r.int("num_experts_per_tok", 1, maxExperts)
	m.SharedExperts = r.int("n_shared_experts", 0, maxExperts)
	m.MoEIntermediate = r.int("moe_intermediate_size", 1, maxIntermediate)
	firstDense := r.int("first_k_dense_replace", 0, maxLayers)
	if freq := r.optInt("moe_layer_freq", 1, 1, maxLayers); freq != 1 {
		r.bad = append(r.bad, fmt.Errorf("moe_layer_freq %d is not supported (only 1, as in DeepSeek-V3 and Kimi-K2)", freq))
	}
	if firstDense > m.Layers {
		r.bad = append(r.bad, fmt.Errorf("first_k_dense_replace %d is more than num_hidden_layers %d", firstDense, m.Layers))
	}
	m.MoELayers = max(m.Layers-firstDense, 0)
	r.readDenseWidth(m, "intermediate_size")
	r.checkExperts(m)
}

// readDenseWidth reads the dense MLP width, required only when some layers
// are dense.
func (r *configReader) readDenseWidth(m *Model, key string) {
	if m.MoELayers < m.Layers {
		m.Intermediate = r.int(key, 1, maxIntermediate)
	} else {
		m.Intermediate = r.optInt(key, 0, 1, maxIntermediate)
	}
}

func (r *configReader) checkExperts(m *Model) {
	if m.ExpertsPerToken > m.Experts && m.Experts > 0 {
		r.bad = append(r.bad, fmt.Errorf("num_experts_per_tok %d is more than the %d experts", m.ExpertsPerToken, m.Experts))
	}
	if m.MoELayers == 0 && m.Layers > 0 {
		r.bad = append(r.bad, errors.New("no layer has experts"))
	}
}
