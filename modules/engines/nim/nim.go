// Package nim is the engine kind "nim": an NVIDIA NIM for LLMs container,
// the least operations of the three engines, at the price of fewer knobs.
// NIM picks its own parallelism and kernels from the profile; the rest
// reaches its vLLM through NIM_PASSTHROUGH_ARGS.
package nim

import (
	"strconv"
	"strings"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/internal/engine"
)

// Inside the container: NIM serves on 8000 and caches under /opt/nim/.cache.
const (
	containerPort = 8000
	cacheMount    = "/opt/nim/.cache"
)

// Settings are the options only NVIDIA NIM has.
type Settings struct {
	// ModelFrom is "store": serve the model folder (NIM 2.x model-free
	// images), or "image": the model the NIM image is built for, which it
	// downloads into its cache with NGCAPIKey unless AirGapped.
	ModelFrom    string
	ModelProfile string
	AirGapped    bool
	NGCAPIKey    *spec.Secret
}

// Kind is NVIDIA NIM.
var Kind = &engine.Kind{
	EngineKind: spec.EngineKind{
		Name:    "nim",
		Display: "NVIDIA NIM",
		Settings: map[spec.Setting]string{
			spec.SettingMaxModelLen: "max_model_len", spec.SettingMemoryFraction: "gpu_memory_utilization", spec.SettingKVCacheDType: "kv_cache_dtype",
		},
		Own:           []string{"model_from", "model_profile", "air_gapped", "ngc_api_key"},
		Decode:        decode,
		KVCacheDTypes: []spec.KVCacheDType{spec.KVAuto, spec.KVFP8},
		APIKey:        spec.EngineAPIKey{Unsupported: "NVIDIA NIM has no API key setting; it listens on 127.0.0.1 only, behind the gateway."},
		// NVIDIA publishes one repository per model, and llm-nim for any.
		Images: []string{"nvcr.io/nim/"},
	},
	HealthPath: "/v1/health/ready",
	// NIM's metric names are not listed per release, so its dashboards
	// would name metrics nobody checked.
	UnknownMetrics: "sovereign does not know which metrics an NVIDIA NIM image exports",
	// A NIM image's tag is the NIM release; NVIDIA's release notes name
	// the vLLM each NIM release runs (NIM 2.0.2: vLLM 0.18.0; NIM 2.0.9:
	// vLLM 0.25.1, docs.nvidia.com/nim/large-language-models/<release>/
	// about-nim-llm/release-notes), and sovereign has flag tables for
	// neither, so NIM_PASSTHROUGH_ARGS stay unchecked.
	UncheckedFlags: "NVIDIA NIM hands them to the inference engine inside its image (NIM_PASSTHROUGH_ARGS), and the image tag names the NIM release, not that engine's; NVIDIA's release notes for the NIM release say which vLLM it runs. Check them against that vLLM release's `vllm serve --help` before the first boot.",
	Container: engine.Container{
		Env:     env,
		Secrets: secrets,
		// NIM's listen address cannot be set to loopback, so it gets its
		// own network namespace with the port published on 127.0.0.1.
		Port:       containerPort,
		CacheMount: cacheMount,
		// NIM's documentation runs it as the invoking user so that the
		// cache folder is writable; the appliance's engines run from
		// root's units.
		User:        "0:0",
		BringsModel: func(eng *spec.Engine) bool { return Own(eng).ModelFrom == "image" },
	},
}

func decode(d spec.SettingsDecoder, eng *spec.Engine) {
	n := &Settings{
		ModelFrom:    d.OneOf("model_from", "store", "store", "image"),
		ModelProfile: d.String("model_profile", ""),
		AirGapped:    d.Bool("air_gapped", false),
		NGCAPIKey:    d.Secret("ngc_api_key"),
	}
	eng.Own = n
	if n.ModelFrom == "image" && !n.AirGapped && n.NGCAPIKey == nil {
		d.Errorf("model_from", "NIM needs an NGC API key", `A NIM that takes its model from the image downloads it from NGC on first start: give ngc_api_key = secret_file("ngc.key"), or pre-fill the cache and set air_gapped = true.`)
	}
}

// Own returns eng's NIM settings; the defaults when it has none.
func Own(eng *spec.Engine) *Settings {
	if s, ok := eng.Own.(*Settings); ok {
		return s
	}
	return &Settings{ModelFrom: "store"}
}

func secrets(eng *spec.Engine) (map[string]string, *spec.Secret) {
	if k := Own(eng).NGCAPIKey; k != nil {
		return map[string]string{"NGC_API_KEY": k.Value}, k
	}
	return nil, nil
}

// env configures NIM: it takes its settings from the environment.
func env(eng *spec.Engine, modelMount string) map[string]string {
	n := Own(eng)
	env := map[string]string{
		"NIM_SERVED_MODEL_NAME": eng.ServedModelName,
		"NIM_CACHE_PATH":        cacheMount,
	}
	if eng.MaxModelLen > 0 {
		env["NIM_MAX_MODEL_LEN"] = strconv.Itoa(eng.MaxModelLen)
	}
	if n.ModelProfile != "" {
		env["NIM_MODEL_PROFILE"] = n.ModelProfile
	}
	if n.ModelFrom == "store" {
		// NIM 2.x model-free images serve a local folder.
		env["NIM_MODEL_PATH"] = modelMount
	}
	if n.ModelFrom == "image" && !n.AirGapped {
		// This NIM downloads its model on first start.
		env["HF_HUB_OFFLINE"] = "0"
	}
	if n.AirGapped {
		// The cache was filled beforehand (download-to-cache); never
		// reach out to NGC or Hugging Face.
		env["NIM_DISABLE_MODEL_DOWNLOAD"] = "1"
	}
	var passthrough []string
	if eng.KVCacheDType != "auto" {
		passthrough = append(passthrough, "--kv-cache-dtype", eng.KVCacheDType)
	}
	if eng.MemoryFraction > 0 {
		passthrough = append(passthrough, "--gpu-memory-utilization", strconv.FormatFloat(eng.MemoryFraction, 'f', -1, 64))
	}
	passthrough = append(passthrough, eng.ExtraArgs...)
	if len(passthrough) > 0 {
		// NIM 2.x hands these to the vLLM it runs.
		env["NIM_PASSTHROUGH_ARGS"] = strings.Join(passthrough, " ")
	}
	return env
}
