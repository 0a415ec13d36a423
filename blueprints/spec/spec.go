// Package spec is the evaluated, typed form of a blueprint: plain values that
// modules compile into the appliance tree. It does no parsing and no I/O; every
// node keeps the source range it came from so that later phases (modules, the
// planner, image pinning, Ignition) can report problems at the right line.
package spec

import (
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
}

// Appliance is the host: which machine it is and how it is reached.
type Appliance struct {
	Name     string
	Hardware catalog.Hardware
	Hostname string
	Timezone string
	Admins   []*Admin
	Storage  Storage
	Power    Power

	DeclRange     hcl.Range
	HardwareRange hcl.Range
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
type Model struct {
	Name         string
	Architecture catalog.Model
	Weights      string
	Source       string
	Revision     string
	DeclRange    hcl.Range
}

// Engine is one inference server container serving one model.
type Engine struct {
	Kind  string // "vllm"
	Name  string
	Model *Model
	Image Image
	// Port is the loopback port the engine listens on; only the gateway is
	// reachable from the network.
	Port            int
	ServedModelName string
	StartTimeout    time.Duration
	APIKey          *Secret
	Environment     map[string]string
	ExtraArgs       []string
	// MinSessions is how many max-length sequences the engine must hold at
	// once; a plan below it fails the build. 0: no minimum.
	MinSessions      int
	MinSessionsRange hcl.Range

	VLLM *VLLM

	DeclRange  hcl.Range
	ModelRange hcl.Range
}

// VLLM holds the options only vLLM has; their names follow vLLM's flags.
type VLLM struct {
	MaxModelLen          int
	KVCacheDType         string
	GPUMemoryUtilization float64
	Quantization         string
	TensorParallelSize   int
	EnablePrefixCaching  bool
	ToolCallParser       string
	ReasoningParser      string
	MaxNumSeqs           int
	CPUKVOffloadBytes    int64

	MaxModelLenRange hcl.Range
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
