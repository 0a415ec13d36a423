// Package nim compiles an engine "nim" block into a Podman Quadlet running
// an NVIDIA NIM for LLMs container: the least operations of the three
// engines (seed §5.3), at the price of fewer knobs.
package nim

import (
	"strconv"
	"strings"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/internal/engine"
	"github.com/sovereign-collective/sovereign/units"
)

// Inside the container: NIM serves on 8000 and caches under /opt/nim/.cache.
const (
	containerPort = 8000
	cacheMount    = "/opt/nim/.cache"
)

// Compile returns the engine's contribution to the appliance tree.
func Compile(eng *spec.Engine, app *spec.Appliance) *units.Tree {
	n := eng.NIM
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
		env["NIM_MODEL_PATH"] = engine.ModelMount(eng)
	}
	fromImage := n.ModelFrom == "image"
	if fromImage && !n.AirGapped {
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
	opt := engine.Options{
		Display: "NVIDIA NIM",
		// NIM's listen address cannot be set to loopback, so it gets its
		// own network namespace with the port published on 127.0.0.1.
		ContainerPort: containerPort,
		HealthPath:    "/v1/health/ready",
		CacheMount:    cacheMount,
		Env:           env,
		NoModelStore:  fromImage,
	}
	if n.NGCAPIKey != nil {
		opt.SecretEnv = map[string]string{"NGC_API_KEY": n.NGCAPIKey.Value}
		opt.Secret = n.NGCAPIKey
	}
	t, u := engine.New(eng, app, opt)
	// NIM's documentation runs it as the invoking user so that the cache
	// folder is writable; the appliance's engines run from root's units.
	u.Set("Container", "User", "0:0")
	t.Units = append(t.Units, u)
	return t
}
