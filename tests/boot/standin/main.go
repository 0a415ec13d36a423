// Command standin plays, inside the boot test's guest, the parts of the
// appliance that cannot run there: the engine's image (no GPU, no weights),
// the engine image's python3 as the health check calls it, oauth2-proxy (its
// identity provider is not reachable offline), NVIDIA's nvidia-ctk, and any
// other container (the metrics stack) as a server that only listens where
// the appliance tells it to. It is
// one static binary that acts by the name it is called by (argv[0]), like
// busybox, so each stand-in image needs only a hard link.
//
// The engine stand-in loads slowly on purpose: like vLLM it does not listen
// at all until its model is "loaded" (until the file SOVEREIGN_STANDIN_RELEASE
// names exists, or SOVEREIGN_STANDIN_READY_AFTER has passed: a Go duration,
// or "never"), so the gateway has to answer for it meanwhile.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

func main() {
	var err error
	switch name := filepath.Base(os.Args[0]); name {
	case "vllm-openai", "engine":
		err = engine(os.Args[1:])
	case "python3":
		err = healthCheck(os.Args[1:])
	case "oauth2-proxy":
		err = oauth2Proxy(os.Args[1:])
	case "nvidia-ctk":
		err = nvidiaCTK(os.Args[1:])
	case "service":
		err = service(os.Args[1:])
	default:
		err = fmt.Errorf("called as %q: no stand-in by that name", name)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "standin %s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}

// engineFlags are the flags of vLLM's OpenAI server that the stand-in reads;
// the others the appliance passes are accepted and ignored.
type engineFlags struct {
	model, served, host, port string
}

func parseEngineFlags(args []string) (engineFlags, error) {
	var f engineFlags
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		if !strings.HasPrefix(name, "--") {
			continue
		}
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
			value = args[i+1]
			i++
		}
		switch name {
		case "--model":
			f.model = value
		case "--served-model-name":
			f.served = value
		case "--host":
			f.host = value
		case "--port":
			f.port = value
		}
	}
	if f.model == "" || f.port == "" {
		return f, errors.New("--model and --port are required")
	}
	if f.served == "" {
		f.served = f.model
	}
	return f, nil
}

// engine checks what the real engine would need (a non-empty model folder,
// a writable cache, its API key), "loads" for the configured time without
// listening, then serves an OpenAI-compatible /v1/models and chat
// completion behind the key, and /health.
func engine(args []string) error {
	f, err := parseEngineFlags(args)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(f.model)
	if err != nil || len(entries) == 0 {
		return fmt.Errorf("model folder %s unreadable or empty (%v)", f.model, err)
	}
	if cache := os.Getenv("VLLM_CACHE_ROOT"); cache != "" {
		if err := os.WriteFile(filepath.Join(cache, ".standin-write-test"), []byte("ok\n"), 0o644); err != nil {
			return fmt.Errorf("cache folder not writable: %w", err)
		}
	}
	key := os.Getenv("VLLM_API_KEY")
	readyAfter, release := os.Getenv("SOVEREIGN_STANDIN_READY_AFTER"), os.Getenv("SOVEREIGN_STANDIN_RELEASE")
	fmt.Fprintf(os.Stderr, "standin engine: model %s served as %q, loading (ready after %s or once %q exists), api key set: %v\n", f.model, f.served, readyAfter, release, key != "")
	if err := load(readyAfter, release); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "standin engine: loaded, listening on %s:%s\n", f.host, f.port)
	return http.ListenAndServe(f.host+":"+f.port, engineHandler(f.served, key))
}

// load plays the model's load: it ends after readyAfter (a Go duration;
// "never": it does not), or as soon as the file release exists when one is
// named. The boot test's probe writes that file once it has seen the
// gateway answer for the loading engine, so the load lasts exactly as long
// as proving that needs, however slow the emulated guest runs; readyAfter
// bounds it should the probe never get there (a gateway that waits for the
// engine).
func load(readyAfter, release string) error {
	var limit <-chan time.Time
	if readyAfter != "never" {
		d, err := time.ParseDuration(readyAfter)
		if err != nil {
			return fmt.Errorf("SOVEREIGN_STANDIN_READY_AFTER: %w", err)
		}
		limit = time.After(d)
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if release != "" {
			if _, err := os.Stat(release); err == nil {
				fmt.Fprintf(os.Stderr, "standin engine: released by %s\n", release)
				return nil
			}
		}
		select {
		case <-limit:
			return nil
		case <-tick.C:
		}
	}
}

func engineHandler(served, key string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {})
	authorized := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if key != "" && r.Header.Get("Authorization") != "Bearer "+key {
				writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"message": "standin engine: wrong or missing key", "code": "invalid_api_key"}})
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /v1/models", authorized(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{
			map[string]string{"id": served, "object": "model", "owned_by": "standin"},
		}})
	}))
	mux.HandleFunc("POST /v1/chat/completions", authorized(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"id": "chatcmpl-standin", "object": "chat.completion", "model": served,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]string{"role": "assistant", "content": "hello from the stand-in engine"}}}})
	}))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// healthURL finds the URL in the engine's HealthCmd (python3 -c '...urlopen("URL"...)'),
// so the stand-in checks exactly the port and path the appliance renders.
var healthURL = regexp.MustCompile(`https?://[^"' ]+`)

// healthCheck is python3 as the engine's health check runs it: it succeeds
// when the URL in its -c program answers 2xx within 5 s.
func healthCheck(args []string) error {
	if len(args) != 2 || args[0] != "-c" {
		return fmt.Errorf("only python3 -c PROGRAM is stood in for, got %q", args)
	}
	url := healthURL.FindString(args[1])
	if url == "" {
		return fmt.Errorf("no URL in %q", args[1])
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// oauth2Proxy stands in for oauth2-proxy, whose identity provider is not
// reachable from the guest (the real one exits when OIDC discovery fails).
// It reads the rendered config and the secrets from the environment as the
// real one does and refuses the same missing pieces, then answers nginx's
// auth subrequest with 401 (no session) and the sign-in page with a redirect.
func oauth2Proxy(args []string) error {
	fs := flag.NewFlagSet("oauth2-proxy", flag.ContinueOnError)
	config := fs.String("config", "", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addr, err := configValue(*config, "http_address")
	if err != nil {
		return err
	}
	if addr == "" {
		addr = "127.0.0.1:4180"
	}
	switch n := len(os.Getenv("OAUTH2_PROXY_COOKIE_SECRET")); n {
	case 16, 24, 32:
	default:
		return fmt.Errorf("cookie_secret must be 16, 24 or 32 bytes, got %d", n)
	}
	if os.Getenv("OAUTH2_PROXY_CLIENT_SECRET") == "" {
		return errors.New("missing client secret")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "OK") })
	mux.HandleFunc("/oauth2/auth", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	mux.HandleFunc("/oauth2/start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://id.example.org/authorize", http.StatusFound)
	})
	fmt.Fprintln(os.Stderr, "standin oauth2-proxy: listening on", addr)
	return http.ListenAndServe(addr, mux)
}

// configValue reads key = "value" from oauth2-proxy's TOML-like config.
func configValue(path, key string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.TrimSpace(k) == key {
			return strings.Trim(strings.TrimSpace(v), `"`), nil
		}
	}
	return "", sc.Err()
}

// cdiSpec is what the stand-in nvidia-ctk writes: the device name the
// appliance asks for (nvidia.com/gpu=all) with no device nodes, only an
// environment variable, so Podman's CDI resolution runs as on the appliance.
const cdiSpec = `cdiVersion: 0.5.0
kind: nvidia.com/gpu
devices:
  - name: all
    containerEdits:
      env:
        - NVIDIA_VISIBLE_DEVICES=void
containerEdits:
  env:
    - SOVEREIGN_STANDIN_CDI=1
`

// nvidiaCTK supports the one call the appliance makes:
// nvidia-ctk cdi generate --output=FILE.
func nvidiaCTK(args []string) error {
	if len(args) < 2 || args[0] != "cdi" || args[1] != "generate" {
		return fmt.Errorf("only 'cdi generate --output=FILE' is stood in for, got %q", args)
	}
	out := "/etc/cdi/nvidia.yaml"
	for _, a := range args[2:] {
		if v, ok := strings.CutPrefix(a, "--output="); ok {
			out = v
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(cdiSpec), 0o644)
}

// service stands in for a container whose own program the test does not run
// (Prometheus, Grafana, the exporters): it answers 200 at the address the
// appliance gives it (--web.listen-address, --address, or Grafana's
// GF_SERVER_HTTP_ADDR and _PORT), or just stays up when there is none.
func service(args []string) error {
	addr, port := "", ""
	for i, a := range args {
		name, value, hasValue := strings.Cut(a, "=")
		if !hasValue && i+1 < len(args) {
			value = args[i+1]
		}
		switch name {
		case "--web.listen-address", "--address":
			addr = value
		case "--port":
			port = value
		}
	}
	// mtail takes its host and port apart (--address 127.0.0.1 --port 3903);
	// the Prometheus tools take one host:port.
	if port != "" {
		addr = net.JoinHostPort(addr, port)
	}
	if host, port := os.Getenv("GF_SERVER_HTTP_ADDR"), os.Getenv("GF_SERVER_HTTP_PORT"); addr == "" && port != "" {
		addr = host + ":" + port
	}
	fmt.Fprintf(os.Stderr, "standin service: listening on %q\n", addr)
	if addr == "" {
		select {}
	}
	return http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "standin")
	}))
}
