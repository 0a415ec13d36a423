package engine

import "github.com/sovereign-collective/sovereign/blueprints/spec"

// Kind is one engine kind: what the loader and the planner read
// (spec.EngineKind) and how its container runs. Each kind is a package
// below modules/engines; the registry there lists them.
type Kind struct {
	spec.EngineKind
	// HealthPath answers 200 once the model is loaded and serving.
	HealthPath string
	// Container is how the engine's container differs from the others'.
	Container Container
}

// Container is an engine's part of its Quadlet, besides what every engine
// shares (GPU, model folder, loopback port, health check, restarts).
type Container struct {
	// Entrypoint, when set, replaces the image's.
	Entrypoint string
	// Args are the arguments after the entrypoint; nil for an engine that
	// is configured by its environment alone.
	Args func(eng *spec.Engine, modelMount string) []string
	// Env is the engine's environment, besides the blueprint's own; nil
	// for none.
	Env func(eng *spec.Engine, modelMount string) map[string]string
	// Secrets go to a 0600 environment file besides the API key; Origin is
	// where they came from. Nil or empty for none.
	Secrets func(eng *spec.Engine) (env map[string]string, origin *spec.Secret)
	// Port, when set, is the port the engine listens on inside its own
	// network namespace, published on 127.0.0.1 only: for engines whose
	// listen address cannot be set. Otherwise the container shares the
	// host's network and the engine binds 127.0.0.1 itself.
	Port int
	// CacheMount is where the engine's persistent cache folder appears in
	// the container; empty for none.
	CacheMount string
	// User, when set, is the container's user.
	User string
	// BringsModel says that the engine serves a model from its image, so
	// no model folder is mounted or required.
	BringsModel func(eng *spec.Engine) bool
}
