package decode_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/modules/engines"
)

// TestSecretFileMode: a secret file others can read builds with a warning
// that names the file and the chmod that fixes it; 0600 builds silently.
func TestSecretFileMode(t *testing.T) {
	for _, tc := range []struct {
		mode uint32
		warn bool
	}{{0o644, true}, {0o640, true}, {0o600, false}, {0o400, false}} {
		fsys := testFs(t, map[string]string{"bp.hcl": testAppliance + testModel + engineWith(`  api_key = secret_file("keys/engine.key")`)})
		if err := fsys.MkdirAll("keys", 0o700); err != nil {
			t.Fatal(err)
		}
		f, err := fsys.OpenFile("keys/engine.key", 0x41, 0) // O_WRONLY|O_CREATE
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString("sk-0123456789abcdef\n")
		_ = f.Close()
		if err := fsys.Chmod("keys/engine.key", osMode(tc.mode)); err != nil {
			t.Fatal(err)
		}
		_, diags := decode.NewLoader(fsys, engines.Kinds).Load("bp.hcl", lang.Inputs{})
		if diags.HasErrors() {
			t.Fatalf("mode %04o: %s", tc.mode, diags.Error())
		}
		var found []string
		for _, d := range diags {
			if d.Summary == "Secret file readable by others" {
				found = append(found, d.Detail)
				if d.Subject == nil || d.Subject.Start.Line != 19 {
					t.Errorf("mode %04o: the warning is not at the secret_file call: %v", tc.mode, d.Subject)
				}
			}
		}
		if tc.warn != (len(found) == 1) {
			t.Fatalf("mode %04o: warnings %q, want one: %v", tc.mode, found, tc.warn)
		}
		if tc.warn && !strings.Contains(found[0], "chmod 600 keys/engine.key") {
			t.Errorf("the warning does not give the chmod: %s", found[0])
		}
	}
}

// TestCPUKVOffloadOverHostMemory: a CPU KV tier the host cannot hold (with
// the OS's share) is an error at cpu_kv_offload, including when two
// engines' tiers only together go over.
func TestCPUKVOffloadOverHostMemory(t *testing.T) {
	one := testAppliance + testModel + engineWith(`  cpu_kv_offload = "450GB"`)
	if diff := cmp.Diff([]string{"bp.hcl:19,20: CPU KV tier larger than the host's memory"}, loadErrors(t, map[string]string{"bp.hcl": one}, "bp.hcl", lang.Inputs{})); diff != "" {
		t.Error(diff)
	}
	two := testAppliance + testModel + engineWith(`  cpu_kv_offload = "300GB"
  gpu_memory_utilization = 0.4`) + strings.NewReplacer(`"main"`, `"second"`, "}\n", "  port = 8001\n  cpu_kv_offload = \"200GB\"\n  gpu_memory_utilization = 0.4\n}\n").Replace(testEngine)
	errs := loadErrors(t, map[string]string{"bp.hcl": two}, "bp.hcl", lang.Inputs{})
	if len(errs) != 1 || !strings.HasSuffix(errs[0], ": CPU KV tier larger than the host's memory") {
		t.Errorf("two engines over together: %q", errs)
	}
	fits := testAppliance + testModel + engineWith(`  cpu_kv_offload = "256GiB"`)
	mustLoad(t, map[string]string{"bp.hcl": fits}, "bp.hcl", lang.Inputs{})
}

// TestInitPlaceholdersWarn: the example issuer and init's client secret
// placeholder build, with a warning each at the setting.
func TestInitPlaceholdersWarn(t *testing.T) {
	gateway := func(issuer, secret string) map[string]string {
		return map[string]string{
			"bp.hcl": testAppliance + testModel + testEngine + `
gateway {
  domain        = "llm.coop.org"
  cookie_secret = secret_env("COOKIE")
  tls {
    certificate = file("cert.pem")
    key         = secret_env("TLSKEY")
  }
  oidc {
    issuer        = "` + issuer + `"
    client_id     = "sovereign"
    client_secret = secret_file("oidc.secret")
  }
  member "alice" { email = "alice@coop.org" }
  route "/v1/" { engine = engine.vllm.main }
}
`,
			"oidc.secret": secret,
			"cert.pem":    testCert,
		}
	}
	in := lang.Inputs{Env: []string{"COOKIE=0123456789abcdef0123456789abcdef", "TLSKEY=" + testTLS}}
	load := func(files map[string]string) []string {
		_, diags := testParser(t, files).Load("bp.hcl", in)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		var out []string
		for _, d := range diags {
			if d.Severity == hcl.DiagWarning && d.Summary != "Secret file readable by others" && !strings.Contains(d.Summary, "ertificate") {
				out = append(out, d.Summary)
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{"Example identity provider", "Placeholder client secret"}, load(gateway("https://id.example.org", "REPLACE-with-the-client-secret-your-identity-provider-issued"))); diff != "" {
		t.Errorf("placeholders: %s", diff)
	}
	if got := load(gateway("https://login.coop.org/realms/coop", "s3cr3t-from-the-idp")); len(got) != 0 {
		t.Errorf("real values warn: %q", got)
	}
}

func osMode(m uint32) fs.FileMode { return fs.FileMode(m) }

// TestAPIKeyAlphabetMessage: a base64 key (openssl rand -base64 32) is
// refused with the characters allowed, why, and which one it has, never
// the key.
func TestAPIKeyAlphabetMessage(t *testing.T) {
	key := "q1Zp+R3/xYw9aB7cD0eF2gH4iJ6kL8mN0oP2qR4sT6u="
	files := map[string]string{"bp.hcl": testAppliance + testModel + testEngine + `
gateway {
  domain        = "llm.coop.org"
  cookie_secret = secret_env("COOKIE")
  tls {
    certificate = "-----BEGIN CERTIFICATE-----\n"
    key         = secret_env("TLSKEY")
  }
  oidc {
    issuer        = "https://id.coop.org"
    client_id     = "sovereign"
    client_secret = secret_env("COOKIE")
  }
  member "alice" {
    email   = "alice@coop.org"
    api_key = secret_env("KEY")
  }
  route "/v1/" { engine = engine.vllm.main }
}
`}
	p := testParser(t, files)
	_, diags := p.Load("bp.hcl", lang.Inputs{Env: []string{"COOKIE=0123456789abcdef0123456789abcdef", "TLSKEY=-----BEGIN PRIVATE KEY-----", "KEY=" + key}})
	var detail string
	for _, d := range diags {
		if d.Summary == "Invalid API key" {
			detail = d.Detail
		}
	}
	for _, want := range []string{"a letter A–Z or a–z, a digit, '-' or '_'", "regular expression", "44 characters and has '+'", "openssl rand -base64 32 | tr"} {
		if !strings.Contains(detail, want) {
			t.Errorf("the message does not say %q:\n%s", want, detail)
		}
	}
	if strings.Contains(formatDiags(p, diags), key) {
		t.Error("the message shows the key")
	}
}
