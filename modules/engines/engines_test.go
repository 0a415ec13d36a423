package engines_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines"
)

// TestEveryKindIsComplete enumerates the registry and fails for a kind that
// leaves out any part the loader, the planner or the engine module needs.
func TestEveryKindIsComplete(t *testing.T) {
	all := engines.All()
	if len(all) < 3 {
		t.Fatalf("the registry has %d kinds, want vllm, sglang and nim at least", len(all))
	}
	seen := map[string]bool{}
	for _, k := range all {
		t.Run(k.Name, func(t *testing.T) {
			if k.Name == "" || strings.ToLower(k.Name) != k.Name || seen[k.Name] {
				t.Errorf("name %q is empty, not lower case or taken twice", k.Name)
			}
			seen[k.Name] = true
			if k.Display == "" {
				t.Error("no display name")
			}
			if k.Settings[spec.SettingMaxModelLen] == "" || k.Settings[spec.SettingKVCacheDType] == "" {
				t.Errorf("settings %v: every engine has a context length and a KV cache type", k.Settings)
			}
			if len(k.Own) > 0 && k.Decode == nil {
				t.Error("no Decode for its own settings")
			}
			if len(k.KVCacheDTypes) == 0 || k.KVCacheDTypes[0].Name != "auto" {
				t.Errorf("KV cache types %v: want a list starting with the default, auto", k.KVCacheDTypeNames())
			}
			for _, d := range k.KVCacheDTypes {
				if d.Bytes < 1 || d.Why == "" {
					t.Errorf("KV cache type %q has no element size or no explanation", d.Name)
				}
			}
			if !strings.HasPrefix(k.HealthPath, "/") {
				t.Errorf("health path %q", k.HealthPath)
			}
			if (k.APIKey.Env == "") == (k.APIKey.Unsupported == "") {
				t.Errorf("API key %+v: want either the variable it is given in or why there is none", k.APIKey)
			}
			if k.APIKey.Flag != "" && k.APIKey.Env == "" {
				t.Error("an API key flag needs the variable systemd expands into it")
			}
			if len(k.Images) == 0 {
				t.Error("no image repositories")
			}
			for _, repo := range k.Images {
				if full := strings.TrimSuffix(repo, "/"); spec.ImageRepository(full) != full {
					t.Errorf("image repository %q is not in full (%q)", repo, spec.ImageRepository(full))
				}
			}
			if k.Container.Options == nil && k.Container.Env == nil {
				t.Error("the container is configured neither by arguments nor by environment")
			}
			names := slices.Concat(k.Own, slices.Collect(maps.Values(k.Settings)))
			for _, f := range k.Flags {
				if !slices.Contains(names, f.Setting) || f.Flag == "" || f.Since == (spec.Release{}) || f.Otherwise == "" {
					t.Errorf("flag %+v: its setting is not the kind's, or it lacks the flag, release or advice", f)
				}
			}
			for i, n := range names {
				if slices.Contains(names[i+1:], n) {
					t.Errorf("setting %q is declared twice", n)
				}
			}
		})
	}
	if got := engines.Kinds.Names(); !slices.IsSorted(got) || len(got) != len(all) {
		t.Errorf("Kinds.Names() = %v, want every kind, sorted", got)
	}
}

// TestImagesOfTheirKind: each kind's images are recognised as its own and
// as no other kind's, whatever the spelling of the reference.
func TestImagesOfTheirKind(t *testing.T) {
	refs := map[string][]string{
		"vllm":   {"docker.io/vllm/vllm-openai:v0.14.0", "vllm/vllm-openai:v0.11.0@sha256:" + strings.Repeat("a", 64), "index.docker.io/vllm/vllm-openai"},
		"sglang": {"docker.io/lmsysorg/sglang:v0.5.9", "lmsysorg/sglang:latest"},
		"nim":    {"nvcr.io/nim/meta/llama-3.3-70b-instruct:1.13.1", "nvcr.io/nim/nvidia/llm-nim:1.13.1"},
	}
	for _, k := range engines.All() {
		for name, rs := range refs {
			for _, ref := range rs {
				if got := k.ShipsIn(ref); got != (name == k.Name) {
					t.Errorf("%s.ShipsIn(%q) = %v", k.Name, ref, got)
				}
			}
		}
	}
}
