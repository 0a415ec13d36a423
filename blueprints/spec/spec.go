// Package spec is the evaluated, typed form of a blueprint: plain values that
// modules compile into the appliance tree. It does no parsing and no I/O; every
// node keeps the source range it came from so that later phases (modules, the
// planner, image pinning, Ignition) can report problems at the right line.
package spec

import (
	"net/netip"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
)

// Blueprint is one evaluated blueprint: exactly one appliance plus the models
// and engines it serves. Slices are sorted by name so that everything derived
// from them is deterministic.
type Blueprint struct {
	Appliance *Appliance
	Models    []*Model
	Engines   []*Engine
	// Gateway is nil when the blueprint has no gateway block.
	Gateway *Gateway
	// WAN and UPS are optional: nil when the blueprint has no such block.
	WAN *WAN
	UPS *UPS
	// Metrics is nil when the blueprint has no metrics block.
	Metrics *Metrics
	// OS is the host OS image; nil when the blueprint has no os block
	// (the appliance then runs on whatever OS it is installed on).
	OS *OS
	// Fleet is nil for a blueprint of one host; for a host of a fleet it
	// says which host this is and who its peers are.
	Fleet *FleetHost
}

// Appliance is the host: which machine it is and how it is reached.
type Appliance struct {
	Name     string
	Hardware catalog.Hardware
	Hostname string
	Timezone string
	// Cloud is "aws", "azure" or "gcp" when the host is a cloud instance
	// provisioned through its user-data; "" otherwise.
	Cloud   string
	Admins  []*Admin
	Storage Storage
	Power   Power

	DeclRange     hcl.Range
	HardwareRange hcl.Range
	CloudRange    hcl.Range
}

// Admin is a login user with SSH keys; there are no passwords on the
// appliance, so SSH keys are the only way in.
type Admin struct {
	Name              string
	SSHAuthorizedKeys []string
	Groups            []string
	DeclRange         hcl.Range
}

// Storage says where model weights and service state live on the host, and
// optionally which disk to format for them.
type Storage struct {
	ModelsDir string
	StateDir  string
	// Device, when set, is formatted (once: an existing filesystem with the
	// same label is kept) and mounted at StateDir.
	Device     string
	Filesystem string
	Label      string
	DeclRange  hcl.Range
}

// Power is what the appliance's electricity costs, for the capacity plan.
type Power struct {
	TariffPerKWh float64 // 0: not costed
	Currency     string
	// DutyCycle is the average fraction of TDP drawn; 0 means 1 (24/7 at TDP).
	DutyCycle float64
}

// Model is a set of weights: the architecture (from the catalog or a Hugging
// Face config.json) and the format they are stored in.
//
// Where the weights come from: with Source, Revision and Files the appliance
// fetches them at first boot and verifies every file; with Files alone they
// are pre-staged and verified at boot; without Files they are pre-staged and
// only checked to be there (Source then records where they came from).
type Model struct {
	Name         string
	Architecture catalog.Model
	Weights      string
	Source       string
	Revision     string
	// Files is the manifest of the model's folder: each file's path inside
	// it and its sha256 as 64 lowercase hex digits (no "sha256:" prefix).
	Files map[string]string
	// Mirror replaces https://huggingface.co/ORG/REPO/resolve/REVISION:
	// file F is fetched from Mirror/F.
	Mirror string
	// Token is sent as a bearer token with every fetch: a gated Hugging
	// Face repository needs one. Only for a fetched model.
	Token     *Secret
	DeclRange hcl.Range
}

// Engine is one inference server container serving one model. The fields
// below Kind..ExtraArgs mean the same for every engine kind; the blueprint
// spells them as the engine does (vLLM's max_model_len is SGLang's
// context_length), and each engine kind renders them as its own flags.
type Engine struct {
	Kind  string // a kind of the engines registry: "vllm", "sglang", "nim"
	Name  string
	Model *Model
	Image Image
	// CustomImage says the image is the engine's own build, from none of
	// the kind's known repositories.
	CustomImage bool
	// Port is the loopback port the engine listens on; only the gateway is
	// reachable from the network.
	Port int
	// Listen is the address the engine listens on instead of loopback: on
	// a fleet's hosts other than the gateway host, the private link's.
	Listen          netip.Addr
	ServedModelName string
	// StartTimeout is the blueprint's start_timeout, 0 when it leaves it
	// unset (the engine module's default applies).
	StartTimeout time.Duration
	APIKey       *Secret
	Environment  map[string]string
	// EnvironmentRange is where the blueprint wrote environment.
	EnvironmentRange hcl.Range
	ExtraArgs        []string
	// ExtraArgRanges are where the blueprint wrote each of ExtraArgs: the
	// list item when extra_args is a list literal, the whole attribute when
	// it is computed.
	ExtraArgRanges []hcl.Range
	// ReportsUsage says the gateway counts each member's tokens from the
	// usage this engine returns: it must return it in streams too, whether
	// the request asked or not.
	ReportsUsage bool
	// MinSessions is how many max-length sequences the engine must hold at
	// once; a plan below it fails the build. 0: no minimum.
	MinSessions int

	// MaxModelLen is the longest sequence; 0 means the model's maximum.
	MaxModelLen int
	// KVCacheDType is the KV cache element type in the engine's spelling.
	KVCacheDType string
	// MemoryFraction is the share of GPU memory the engine may take for
	// weights and KV cache; 0 means the engine decides (the planner then
	// assumes 0.9).
	MemoryFraction     float64
	Quantization       string
	TensorParallelSize int
	ToolCallParser     string
	ReasoningParser    string
	// CPUKVOffloadBytes is the KV cache's warm tier in CPU memory.
	CPUKVOffloadBytes int64
	// MaxNumSeqs is how many sequences the engine runs at once (vLLM's
	// max_num_seqs, SGLang's max_running_requests); 0 lets the capacity
	// plan derive it.
	MaxNumSeqs int
	// MaxNumBatchedTokens is the tokens one scheduler step may process
	// (vLLM's max_num_batched_tokens); 0 lets the plan derive it.
	MaxNumBatchedTokens int

	// Own holds the settings only this engine kind has, as the kind's
	// package decoded them (a *vllm.Settings for a vLLM engine).
	Own any

	DeclRange hcl.Range
	// Ranges are where the blueprint wrote each setting; a setting it did
	// not write is absent.
	Ranges map[Setting]hcl.Range
	// OwnRanges are where it wrote each of the kind's own settings, by the
	// kind's name for it.
	OwnRanges map[string]hcl.Range
}

// Setting is a meaning an engine setting has whatever the engine calls it:
// SettingMaxModelLen is vLLM's max_model_len and SGLang's context_length.
type Setting string

// The settings whose place in the blueprint later phases point at.
const (
	SettingModel           Setting = "model"
	SettingMinSessions     Setting = "min_sessions"
	SettingMaxModelLen     Setting = "max_model_len"
	SettingMemoryFraction  Setting = "memory_fraction"
	SettingKVCacheDType    Setting = "kv_cache_dtype"
	SettingQuantization    Setting = "quantization"
	SettingTensorParallel  Setting = "tensor_parallel_size"
	SettingToolCallParser  Setting = "tool_call_parser"
	SettingReasoningParser Setting = "reasoning_parser"
	SettingCPUKVOffload    Setting = "cpu_kv_offload"
	SettingMaxNumSeqs      Setting = "max_num_seqs"
	// SettingMaxNumBatchedTokens is vLLM's per-step token budget; SGLang's
	// nearest (--chunked-prefill-size) bounds prefill chunks only, so it is
	// not the same meaning.
	SettingMaxNumBatchedTokens Setting = "max_num_batched_tokens"
)

// RangeOf is where the blueprint wrote setting s, or the engine block when
// it did not.
func (e *Engine) RangeOf(s Setting) hcl.Range {
	if r, ok := e.Ranges[s]; ok {
		return r
	}
	return e.DeclRange
}

// RangeOfOwn is where the blueprint wrote the kind's own setting name, or
// the engine block when it did not.
func (e *Engine) RangeOfOwn(name string) hcl.Range {
	if r, ok := e.OwnRanges[name]; ok {
		return r
	}
	return e.DeclRange
}

// RangeOfExtraArg is where the blueprint wrote ExtraArgs[i].
func (e *Engine) RangeOfExtraArg(i int) hcl.Range {
	if i >= 0 && i < len(e.ExtraArgRanges) {
		return e.ExtraArgRanges[i]
	}
	return e.DeclRange
}

// Image is a container image reference as the blueprint wrote it.
type Image struct {
	Ref   string
	Range hcl.Range
}

// Secret is a value that entered through secret_file() or secret_env() (or a
// variable declared sensitive). Its String method never shows the value, so
// printing a spec by accident does not leak it.
type Secret struct {
	Value string
	Range hcl.Range
}

func (s *Secret) String() string { return "(sensitive)" }

// GoString keeps %#v from leaking the value too.
func (s *Secret) GoString() string { return "(sensitive)" }

// ListenHost is the address engine e listens on: 127.0.0.1 unless it
// listens on a fleet's private link.
func (e *Engine) ListenHost() string {
	if e.Listen.IsValid() {
		return e.Listen.String()
	}
	return "127.0.0.1"
}
