package tests

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units/ignition"
)

// The audition's config goes to EC2 through a pointer config: ignition.json
// is compact, too large for EC2's user-data all the same (the build warns at
// the blueprint's cloud), and pointer.ign is a config ignition-validate
// accepts, small enough for every cloud, that replaces itself with exactly
// ignition.json (its SHA-512).
func TestIgnitionPointerForTheAudition(t *testing.T) {
	c := referenceCases[1]
	const src = "https://provisioning.example.org/audition/ignition.json"
	out, res := build(t, c, pipeline.WithIgnitionURL(src))
	if bytes.Count(bytes.TrimSuffix(res.Ignition, []byte("\n")), []byte("\n")) != 0 {
		t.Error("ignition.json is not compact: it has line breaks")
	}
	if fits, size := ignition.UserDataLimits["aws"].Fits(res.Ignition); fits {
		t.Errorf("the audition's ignition.json fits EC2's user-data (%s): the pointer is not needed, and the warning never shows", size)
	}
	pointerPath := filepath.Join(out, "pointer.ign")
	pointer, err := os.ReadFile(pointerPath)
	if err != nil {
		t.Fatal(err)
	}
	peers.IgnitionValidate(t, pointerPath)
	for cloud, limit := range ignition.UserDataLimits {
		if fits, size := limit.Fits(pointer); !fits {
			t.Errorf("pointer.ign does not fit %s: %s", cloud, size)
		}
	}
	var cfg struct {
		Ignition struct {
			Version string
			Config  struct {
				Replace struct {
					Source       string
					Verification struct{ Hash string }
				}
			}
		}
	}
	if err := json.Unmarshal(pointer, &cfg); err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(res.Ignition)
	r := cfg.Ignition.Config.Replace
	if r.Source != src || r.Verification.Hash != "sha512-"+hex.EncodeToString(sum[:]) || cfg.Ignition.Version != ignition.IgnitionSpec {
		t.Errorf("pointer.ign replaces with %q (hash %s), want %s at the SHA-512 of ignition.json:\n%s", r.Source, r.Verification.Hash, src, pointer)
	}
}
