package models_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/models"
	"github.com/sovereign-collective/sovereign/units"
)

// The tests below run model-weights for real, with bash, coreutils and curl,
// against a fake model folder served by an httptest server on 127.0.0.1.

// scriptTimeout bounds one run of the script; the server answers at once,
// so a run that takes longer is hung.
const scriptTimeout = 60 * time.Second

// fakeModel is a small model folder: two shards, configs, and a file in a
// subfolder, as Hugging Face repositories have (original/).
func fakeModel() map[string][]byte {
	shard := func(seed string, n int) []byte {
		var b bytes.Buffer
		sum := sha256.Sum256([]byte(seed))
		for b.Len() < n {
			b.Write(sum[:])
			sum = sha256.Sum256(sum[:])
		}
		return b.Bytes()[:n]
	}
	return map[string][]byte{
		"config.json":                       []byte(`{"model_type": "qwen3_moe"}` + "\n"),
		"tokenizer.json":                    []byte(`{"version": "1.0"}` + "\n"),
		"model-00001-of-00002.safetensors":  shard("one", 300_000),
		"model-00002-of-00002.safetensors":  shard("two", 200_000),
		"original/params.json":              []byte(`{"dim": 4096}` + "\n"),
		"generation_config.json":            []byte("{}\n"),
		"model.safetensors.index.json":      []byte(`{"weight_map": {}}` + "\n"),
		"special_tokens_map.json":           []byte("{}\n"),
		"tokenizer_config.json":             []byte("{}\n"),
		"merges.txt":                        []byte("a b\n"),
		"vocab.json":                        []byte("{}\n"),
		"LICENSE":                           []byte("Apache-2.0\n"),
		"README.md":                         []byte("# fake\n"),
		"original/consolidated.safetensors": shard("orig", 50_000),
	}
}

func digests(files map[string][]byte) map[string]string {
	out := map[string]string{}
	for p, b := range files {
		sum := sha256.Sum256(b)
		out[p] = hex.EncodeToString(sum[:])
	}
	return out
}

// modelServer serves a model folder with Range support (http.ServeContent),
// records every request, and misbehaves on request.
type modelServer struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	// drop sends only the first N bytes of a file (announcing all of it),
	// then closes the connection: once per file.
	drop map[string]int
	// status answers a file with an HTTP error, every time.
	status map[string]int
	// noRange serves whole files only, as a server without Range support.
	noRange bool
	// token, when set, is the bearer token every request must carry.
	token string
	// redirect sends a file's requests to another URL.
	redirect map[string]string
	requests []string // "PATH RANGE"
	auth     []string // each request's Authorization header
}

func newModelServer(t *testing.T, files map[string][]byte) *modelServer {
	s := &modelServer{files: map[string][]byte{}, drop: map[string]int{}, status: map[string]int{}, redirect: map[string]string{}}
	for p, b := range files {
		s.files[p] = b
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve)) // 127.0.0.1
	t.Cleanup(s.Close)
	return s
}

func (s *modelServer) serve(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	s.mu.Lock()
	s.requests = append(s.requests, strings.TrimSpace(p+" "+r.Header.Get("Range")))
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	data, ok := s.files[p]
	token := s.token
	redirect := s.redirect[p]
	status := s.status[p]
	drop, dropping := s.drop[p]
	noRange := s.noRange
	delete(s.drop, p)
	s.mu.Unlock()
	switch {
	case token != "" && r.Header.Get("Authorization") != "Bearer "+token:
		http.Error(w, "gated", http.StatusUnauthorized)
	case redirect != "":
		http.Redirect(w, r, redirect, http.StatusFound)
	case status != 0:
		http.Error(w, http.StatusText(status), status)
	case !ok:
		http.NotFound(w, r)
	case dropping:
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n", len(data))
		buf.Write(data[:drop])
		buf.Flush()
	case noRange:
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data)
	default:
		http.ServeContent(w, r, p, time.Time{}, bytes.NewReader(data))
	}
}

// took returns the requests made since the last call.
func (s *modelServer) took() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests
	s.requests = nil
	sort.Strings(out)
	return out
}

// appliance is a scratch models folder with one model's manifest.
type appliance struct {
	root, models, dir, manifest string
}

func newAppliance(t *testing.T, files map[string][]byte) appliance {
	root := t.TempDir()
	a := appliance{
		root:     root,
		models:   filepath.Join(root, "var", "lib", "sovereign", "models"),
		dir:      filepath.Join(root, "var", "lib", "sovereign", "models", "qwen3"),
		manifest: filepath.Join(root, "etc", "sovereign", "models", "qwen3.sha256"),
	}
	if err := os.MkdirAll(a.models, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(a.manifest), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.manifest, models.ManifestText(digests(files)), 0o644); err != nil {
		t.Fatal(err)
	}
	return a
}

const revision = "0123456789abcdef0123456789abcdef01234567"

// run runs the script with args and returns its exit code and log.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv is run with more environment variables.
func runEnv(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	bash := lookPath(t, "bash")
	for _, tool := range []string{"curl", "sha256sum", "comm", "stat", "sync"} {
		lookPath(t, tool)
	}
	script := filepath.Join(t.TempDir(), "model-weights")
	if err := os.WriteFile(script, models.Script, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, append([]string{script}, args...)...)
	// A clean environment: no proxy variables, so curl talks to 127.0.0.1
	// directly; retries without waiting.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"SOVEREIGN_FETCH_RETRY_DELAY=0",
		"SOVEREIGN_FETCH_ATTEMPTS=3",
	}
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("model-weights %s did not finish in %s:\n%s", strings.Join(args, " "), scriptTimeout, out.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	t.Logf("model-weights %s: exit %d\n%s", args[0], code, out.String())
	return code, out.String()
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (CI=true: the script test never skips)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

func (a appliance) fetch(t *testing.T, s *modelServer) (int, string) {
	t.Helper()
	return run(t, "fetch", "qwen3", a.dir, a.manifest, revision, s.URL+"/")
}

func (a appliance) verify(t *testing.T) (int, string) {
	t.Helper()
	return run(t, "verify", "qwen3", a.dir, a.manifest, revision)
}

// readDir returns every file below dir by relative path; nil when dir does
// not exist.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil
	}
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// names lists the entries of the models folder, hidden ones included.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func allRequests(files map[string][]byte) []string {
	var out []string
	for p := range files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func wantLog(t *testing.T, log string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(log, w) {
			t.Errorf("log does not say %q:\n%s", w, log)
		}
	}
}

// sameModel checks that the folder holds exactly the model.
func sameModel(t *testing.T, dir string, want map[string][]byte) {
	t.Helper()
	got := readDir(t, dir)
	if len(got) != len(want) {
		t.Errorf("%s holds %d files, want %d", dir, len(got), len(want))
	}
	for p, b := range want {
		if !bytes.Equal(got[p], b) {
			t.Errorf("%s/%s differs from the served file", dir, p)
		}
	}
}

func TestFetch(t *testing.T) {
	model := fakeModel()
	s := newModelServer(t, model)
	a := newAppliance(t, model)

	code, log := a.fetch(t, s)
	if code != 0 {
		t.Fatalf("first fetch: exit %d", code)
	}
	sameModel(t, a.dir, model)
	if diff := cmp.Diff(allRequests(model), s.took()); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	// The staging folder is gone; the record of the verification stays.
	if diff := cmp.Diff([]string{".qwen3.verified", "qwen3"}, names(t, a.models)); diff != "" {
		t.Errorf("models folder mismatch (-want +got):\n%s", diff)
	}
	wantLog(t, log, "fetched and verified", "revision "+revision)
	marker, err := os.ReadFile(filepath.Join(a.models, ".qwen3.verified"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "revision " + revision + "\n"; !strings.HasPrefix(string(marker), want) {
		t.Errorf("record starts %q, want %q", marker, want)
	}
	if info, err := os.Stat(filepath.Join(a.dir, "config.json")); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("config.json: %v, mode %v; engines in containers must be able to read it (0644)", err, info.Mode().Perm())
	}

	t.Run("a reboot fetches and hashes nothing", func(t *testing.T) {
		code, log := a.fetch(t, s)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		if got := s.took(); len(got) != 0 {
			t.Errorf("requests on reboot: %q", got)
		}
		wantLog(t, log, "verified before")
		sameModel(t, a.dir, model)
	})

	t.Run("a download left for another revision is removed", func(t *testing.T) {
		stale := filepath.Join(a.models, ".qwen3.partial", "model-00001-of-00002.safetensors.part")
		if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(stale, []byte("other revision"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, log := a.fetch(t, s)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		if got := s.took(); len(got) != 0 {
			t.Errorf("requests: %q", got)
		}
		wantLog(t, log, "left by an earlier fetch")
		if diff := cmp.Diff([]string{".qwen3.verified", "qwen3"}, names(t, a.models)); diff != "" {
			t.Errorf("models folder mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("a truncated file is noticed at boot and fetched again", func(t *testing.T) {
		shard := filepath.Join(a.dir, "model-00001-of-00002.safetensors")
		if err := os.Truncate(shard, 1000); err != nil {
			t.Fatal(err)
		}
		code, log := a.fetch(t, s)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		// The other files are hard-linked from the old folder, not fetched.
		if diff := cmp.Diff([]string{"model-00001-of-00002.safetensors"}, s.took()); diff != "" {
			t.Errorf("requests mismatch (-want +got):\n%s", diff)
		}
		wantLog(t, log, "corrupted: model-00001-of-00002.safetensors")
		sameModel(t, a.dir, model)
		if diff := cmp.Diff([]string{".qwen3.verified", "qwen3"}, names(t, a.models)); diff != "" {
			t.Errorf("models folder mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("an extra file in the folder is dropped", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(a.dir, "pytorch_model.bin"), []byte("stale"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, log := a.fetch(t, s)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		if got := s.took(); len(got) != 0 {
			t.Errorf("requests: %q", got)
		}
		wantLog(t, log, "unexpected: pytorch_model.bin")
		sameModel(t, a.dir, model)
	})
}

func TestFetchRejectsCorruptedFile(t *testing.T) {
	model := fakeModel()
	s := newModelServer(t, model)
	a := newAppliance(t, model)
	served := bytes.Clone(model["model-00002-of-00002.safetensors"])
	served[1234] ^= 0xff
	s.files["model-00002-of-00002.safetensors"] = served

	code, log := a.fetch(t, s)
	if code == 0 {
		t.Fatal("a corrupted file was accepted")
	}
	wantLog(t, log,
		"corrupted: model-00002-of-00002.safetensors from "+s.URL+"/model-00002-of-00002.safetensors has sha256 "+digests(map[string][]byte{"x": served})["x"],
		"rejected model-00002-of-00002.safetensors (see above); nothing was moved into "+a.dir)
	if _, err := os.Stat(a.dir); !os.IsNotExist(err) {
		t.Errorf("the model folder exists after a rejected fetch: %v", err)
	}
	if _, err := os.Stat(filepath.Join(a.models, ".qwen3.verified")); !os.IsNotExist(err) {
		t.Errorf("a rejected fetch is recorded as verified: %v", err)
	}
	staged := readDir(t, filepath.Join(a.models, ".qwen3.partial"))
	for p, b := range staged {
		if bytes.Equal(b, served) || strings.HasPrefix(p, "model-00002-of-00002.safetensors") {
			t.Errorf("the corrupted download is kept as %s", p)
		}
	}

	t.Run("once the server is fixed, only that file is fetched", func(t *testing.T) {
		s.took()
		s.files["model-00002-of-00002.safetensors"] = model["model-00002-of-00002.safetensors"]
		code, _ := a.fetch(t, s)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		if diff := cmp.Diff([]string{"model-00002-of-00002.safetensors"}, s.took()); diff != "" {
			t.Errorf("requests mismatch (-want +got):\n%s", diff)
		}
		sameModel(t, a.dir, model)
	})
}

func TestFetchMissingFile(t *testing.T) {
	model := fakeModel()
	s := newModelServer(t, model)
	a := newAppliance(t, model)
	delete(s.files, "tokenizer.json")

	code, log := a.fetch(t, s)
	if code == 0 {
		t.Fatal("fetch succeeded without tokenizer.json")
	}
	wantLog(t, log, s.URL+"/tokenizer.json: HTTP 404: check source, revision and the file name", "rejected tokenizer.json (see above); nothing was moved into "+a.dir)
	if _, err := os.Stat(a.dir); !os.IsNotExist(err) {
		t.Errorf("the model folder exists after a failed fetch: %v", err)
	}
	// A missing file is not a network failure: it is asked for once.
	n := 0
	for _, r := range s.took() {
		if r == "tokenizer.json" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("tokenizer.json requested %d times, want 1", n)
	}
}

func TestFetchResumesDroppedConnection(t *testing.T) {
	model := fakeModel()
	s := newModelServer(t, model)
	a := newAppliance(t, model)
	s.drop["model-00001-of-00002.safetensors"] = 100_000

	code, log := a.fetch(t, s)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	sameModel(t, a.dir, model)
	var got []string
	for _, r := range s.took() {
		if strings.HasPrefix(r, "model-00001-of-00002.safetensors") {
			got = append(got, r)
		}
	}
	// The second request asks for the rest only.
	want := []string{"model-00001-of-00002.safetensors", "model-00001-of-00002.safetensors bytes=100000-"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	wantLog(t, log, "stopped at 100000 bytes")
}

func TestFetchResumesAfterReboot(t *testing.T) {
	model := fakeModel()
	s := newModelServer(t, model)
	a := newAppliance(t, model)
	staging := filepath.Join(a.models, ".qwen3.partial")
	write := func(p string, b []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(staging, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(staging, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// What a power cut leaves: a verified file, a partial download, a
	// complete download not yet renamed, a corrupted file and one that the
	// manifest no longer lists.
	write("config.json", model["config.json"])
	write("model-00001-of-00002.safetensors.part", model["model-00001-of-00002.safetensors"][:70_000])
	write("model-00002-of-00002.safetensors.part", model["model-00002-of-00002.safetensors"])
	write("tokenizer.json", []byte("garbage"))
	write("pytorch_model.bin", []byte("old"))

	code, log := a.fetch(t, s)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	sameModel(t, a.dir, model)
	var want []string
	for p := range model {
		switch p {
		case "config.json":
		case "model-00001-of-00002.safetensors":
			want = append(want, p+" bytes=70000-")
		case "model-00002-of-00002.safetensors":
			want = append(want, p+" bytes=200000-") // 416: already complete
		default:
			want = append(want, p)
		}
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, s.took()); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	wantLog(t, log, "removing "+staging+"/tokenizer.json", "removing "+staging+"/pytorch_model.bin")
}

func TestFetchWithoutRangeSupport(t *testing.T) {
	model := fakeModel()
	s := newModelServer(t, model)
	a := newAppliance(t, model)
	s.noRange = true
	s.drop["model-00001-of-00002.safetensors"] = 100_000

	code, log := a.fetch(t, s)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	sameModel(t, a.dir, model)
	wantLog(t, log, "the server cannot resume a download; fetching model-00001-of-00002.safetensors from the start")
}

func TestFetchStopsWhenItCannotWrite(t *testing.T) {
	model := fakeModel()
	s := newModelServer(t, model)
	a := newAppliance(t, model)
	// A folder where the download goes makes every write fail, as a full
	// disk does (permissions would not stop root, who runs the tests here).
	part := filepath.Join(a.models, ".qwen3.partial", "config.json.part")
	if err := os.MkdirAll(part, 0o755); err != nil {
		t.Fatal(err)
	}
	code, log := a.fetch(t, s)
	if code == 0 {
		t.Fatal("fetch succeeded")
	}
	wantLog(t, log, "cannot write "+part+" (curl exit 23): is the disk full?", "nothing was moved into "+a.dir)
	n := 0
	for _, r := range s.took() {
		if r == "config.json" {
			n++
		}
	}
	if n > 1 {
		t.Errorf("config.json requested %d times: a write error is not retried", n)
	}
}

func TestFetchWithToken(t *testing.T) {
	model := fakeModel()
	s := newModelServer(t, model)
	s.token = "hf_test_token"
	// Hugging Face answers a large file with a redirect to its CDN, which
	// must not get the token.
	cdn := newModelServer(t, model)
	s.redirect["model-00001-of-00002.safetensors"] = cdn.URL + "/model-00001-of-00002.safetensors"
	a := newAppliance(t, model)

	code, log := a.fetch(t, s)
	if code == 0 {
		t.Fatal("a gated repository was fetched without a token")
	}
	wantLog(t, log, "HTTP 401: the server wants a token; a gated repository needs token = secret_file", "Nothing was moved into "+a.dir)
	if n := len(s.took()); n != 1 {
		t.Errorf("%d requests; want the first refusal to end the run", n)
	}
	code, log = runEnv(t, []string{"HF_TOKEN=hf_wrong"}, "fetch", "qwen3", a.dir, a.manifest, revision, s.URL)
	if code == 0 {
		t.Fatal("a gated repository was fetched with a wrong token")
	}
	wantLog(t, log, "HTTP 401: the server refuses the token")
	if strings.Contains(log, s.token) {
		t.Error("the log shows the token")
	}

	s.took()
	s.auth, cdn.auth = nil, nil
	code, log = runEnv(t, []string{"HF_TOKEN=" + s.token}, "fetch", "qwen3", a.dir, a.manifest, revision, s.URL)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	sameModel(t, a.dir, model)
	if strings.Contains(log, s.token) {
		t.Error("the log shows the token")
	}
	for _, h := range s.auth {
		if h != "Bearer "+s.token {
			t.Errorf("a request to the repository had Authorization %q", h)
		}
	}
	if diff := cmp.Diff([]string{""}, cdn.auth); diff != "" {
		t.Errorf("the redirected request's Authorization headers (-want +got):\n%s", diff)
	}
}

func TestFetchRestartsResumeOfOtherBytes(t *testing.T) {
	model := fakeModel()
	s := newModelServer(t, model)
	a := newAppliance(t, model)
	staging := filepath.Join(a.models, ".qwen3.partial")
	if err := os.MkdirAll(staging, 0o755); err != nil {
		t.Fatal(err)
	}
	// A partial download of a different file under the same name.
	if err := os.WriteFile(filepath.Join(staging, "model-00002-of-00002.safetensors.part"), bytes.Repeat([]byte{7}, 50_000), 0o644); err != nil {
		t.Fatal(err)
	}
	code, log := a.fetch(t, s)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	sameModel(t, a.dir, model)
	wantLog(t, log, "does not match its sha256 after resuming; fetching it again from the start")
}

func TestFetchGivesUpWithoutProgress(t *testing.T) {
	model := fakeModel()
	s := newModelServer(t, model)
	a := newAppliance(t, model)
	s.status["config.json"] = http.StatusServiceUnavailable

	code, log := a.fetch(t, s)
	if code == 0 {
		t.Fatal("fetch succeeded while the server fails")
	}
	wantLog(t, log, "giving up on config.json after 3 attempts in a row without progress", "nothing was moved into "+a.dir)
	n := 0
	for _, r := range s.took() {
		if r == "config.json" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("config.json requested %d times, want 3 (SOVEREIGN_FETCH_ATTEMPTS)", n)
	}
}

func TestVerify(t *testing.T) {
	model := fakeModel()
	stage := func(t *testing.T, a appliance) {
		t.Helper()
		for p, b := range model {
			f := filepath.Join(a.dir, p)
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name    string
		break_  func(t *testing.T, dir string)
		wantLog string
	}{
		{
			name:    "a corrupted file",
			break_:  func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644) },
			wantLog: "corrupted: config.json has sha256 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a, the manifest says",
		},
		{
			name:    "a missing file",
			break_:  func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "original", "params.json")) },
			wantLog: "missing: original/params.json",
		},
		{
			name:    "an extra file",
			break_:  func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, ".cache"), nil, 0o644) },
			wantLog: "unexpected: .cache is not in",
		},
		{
			name: "a file replaced by a link",
			break_: func(t *testing.T, dir string) {
				os.Remove(filepath.Join(dir, "LICENSE"))
				os.Symlink("README.md", filepath.Join(dir, "LICENSE"))
			},
			wantLog: "missing: LICENSE",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAppliance(t, model)
			stage(t, a)
			tc.break_(t, a.dir)
			before := readDir(t, a.dir)
			code, log := a.verify(t)
			if code == 0 {
				t.Fatal("verify accepted a broken folder")
			}
			wantLog(t, log, tc.wantLog, "does not match "+a.manifest)
			if diff := cmp.Diff(before, readDir(t, a.dir)); diff != "" {
				t.Errorf("verify changed the folder (-before +after):\n%s", diff)
			}
			if _, err := os.Stat(filepath.Join(a.models, ".qwen3.verified")); !os.IsNotExist(err) {
				t.Errorf("a broken folder is recorded as verified: %v", err)
			}
		})
	}

	t.Run("a complete folder, then a reboot", func(t *testing.T) {
		a := newAppliance(t, model)
		stage(t, a)
		code, log := a.verify(t)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		wantLog(t, log, "verified "+a.dir)
		code, log = a.verify(t)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		wantLog(t, log, "verified before")
		// A file of another size after the record: checked in full again.
		if err := os.WriteFile(filepath.Join(a.dir, "README.md"), []byte("# changed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, log = a.verify(t); code == 0 {
			t.Fatal("verify accepted a changed file")
		}
		wantLog(t, log, "corrupted: README.md")
	})

	t.Run("no folder", func(t *testing.T) {
		a := newAppliance(t, model)
		code, log := a.verify(t)
		if code == 0 {
			t.Fatal("verify accepted a missing folder")
		}
		wantLog(t, log, a.dir+" does not exist")
	})
}

func TestCheck(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qwen3")
	code, log := run(t, "check", "qwen3", dir)
	if code == 0 {
		t.Fatal("check accepted a missing folder")
	}
	wantLog(t, log, dir+" does not exist")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, log = run(t, "check", "qwen3", dir); code == 0 {
		t.Fatal("check accepted an empty folder")
	}
	wantLog(t, log, dir+" is empty")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, log = run(t, "check", "qwen3", dir); code != 0 {
		t.Fatalf("exit %d", code)
	}
	wantLog(t, log, "UNVERIFIED: "+dir+" holds 1 files")
}

// TestScriptUsesOnlyHostTools keeps the script to what Fedora CoreOS has:
// bash, coreutils and curl; no Python, no jq.
func TestScriptUsesOnlyHostTools(t *testing.T) {
	sc := bufio.NewScanner(bytes.NewReader(models.Script))
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			if line != "#!/bin/bash" {
				t.Errorf("first line %q, want #!/bin/bash", line)
			}
			first = false
		}
		code, _, _ := strings.Cut(line, "#")
		for _, tool := range []string{"python", "jq", "wget", "find ", "awk", "perl"} {
			if strings.Contains(code, tool) {
				t.Errorf("the script uses %s: %q", strings.TrimSpace(tool), line)
			}
		}
	}
	if !bytes.Contains(models.Script, []byte("set -euo pipefail\n")) {
		t.Error("the script does not set -euo pipefail")
	}
}

// TestUnitRunsScript runs what each compiled unit's ExecStart says, with
// the appliance's folders moved into a scratch root, so the arguments the
// Go side renders are the ones the script reads.
func TestUnitRunsScript(t *testing.T) {
	model := fakeModel()
	s := newModelServer(t, model)
	root := t.TempDir()
	app := &spec.Appliance{Storage: spec.Storage{StateDir: root, ModelsDir: filepath.Join(root, "models")}}
	fetched := &spec.Model{Name: "fetched", Source: "hf://Qwen/Qwen3-30B-A3B", Revision: revision, Files: digests(model), Mirror: s.URL}
	staged := &spec.Model{Name: "staged", Files: digests(model)}
	bare := &spec.Model{Name: "bare"}
	tree, diags := units.Merge(models.Compile([]*spec.Model{fetched, staged, bare}, app))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	// Install the manifests under the scratch root.
	for _, f := range tree.Files {
		if f.Path == models.ScriptPath {
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Contents, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	execStart := func(name string) []string {
		t.Helper()
		for _, u := range tree.Units {
			if u.Name == units.ModelService(name) {
				args := strings.Fields(u.Get("Service", "ExecStart")[0])
				if args[0] != models.ScriptPath {
					t.Fatalf("%s runs %s, not the script", u.Name, args[0])
				}
				for i, a := range args {
					if strings.HasPrefix(a, models.ManifestDir+"/") {
						args[i] = filepath.Join(root, a)
					}
				}
				return args[1:]
			}
		}
		t.Fatalf("no unit for model %s", name)
		return nil
	}
	stage := func(dir string) {
		for p, b := range model {
			f := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	if code, _ := run(t, execStart("fetched")...); code != 0 {
		t.Fatalf("fetched: exit %d", code)
	}
	sameModel(t, filepath.Join(app.Storage.ModelsDir, "fetched"), model)

	if code, _ := run(t, execStart("staged")...); code == 0 {
		t.Error("staged: the unit passes without the weights")
	}
	stage(filepath.Join(app.Storage.ModelsDir, "staged"))
	if code, log := run(t, execStart("staged")...); code != 0 || !strings.Contains(log, "verified") {
		t.Errorf("staged: exit %d", code)
	}

	if code, _ := run(t, execStart("bare")...); code == 0 {
		t.Error("bare: the unit passes without the weights")
	}
	stage(filepath.Join(app.Storage.ModelsDir, "bare"))
	if code, _ := run(t, execStart("bare")...); code != 0 {
		t.Errorf("bare: exit %d", code)
	}
}
