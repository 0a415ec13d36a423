package nginxconf_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	nc "github.com/sovereign-collective/sovereign/modules/gateway/nginxconf"
	"github.com/sovereign-collective/sovereign/tests/peers"
)

// hostile are values that would change a config's meaning if written as
// they are: they end a directive, open or close a block, start a comment,
// close a quote or escape the next character.
var hostile = []string{
	"plain", "two words", "semi;colon", "brace{", "}", "{}", `"dq"`, `'sq'`,
	`both "double" and 'single'`, `back\slash`, `\"`, `trail\`, `\\n`, "#hash", "a#b",
	"line\nbreak", "\r\n", "tab\there", "unicode → é", "; return 500 x;", `"; return 500 "x`,
	`'; } location / { return 500; } #`, "}}}{{{", "include /etc/passwd;", " leading and trailing ",
}

func TestQuoteTable(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"", `""`},
		{"two words", `"two words"`},
		{"semi;colon", `"semi;colon"`},
		{`say "hi"`, `'say "hi"'`},
		{`it's`, `"it's"`},
		{`both " and '`, `"both \" and '"`},
		{`back\slash`, `"back\\slash"`},
		{"line\nbreak", `"line\nbreak"`},
		{"cr\rtab\t", `"cr\rtab\t"`},
		{"a#b", `"a#b"`},
		{"{", `"{"`},
	} {
		got, err := nc.Quote(c.in)
		if err != nil || got != c.want {
			t.Errorf("Quote(%q) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}

// TestQuoteRefuses: what nginx cannot read back as literal text is an
// error, never a silently different config.
func TestQuoteRefuses(t *testing.T) {
	for _, s := range []string{"$host", "cost $5", "a\x00b", "\x1b[31m", "del\x7f"} {
		if got, err := nc.Quote(s); err == nil {
			t.Errorf("Quote(%q) = %s, want an error", s, got)
		}
	}
	for name, nodes := range map[string][]nc.Node{
		"comment with a line break": {nc.Comment("a\nworker_processes 1;")},
		"directive name":            {nc.D("return 200 x; listen", nc.Lit("1"))},
		"variable name":             {nc.D("return", nc.Lit("200"), nc.Var("a b"))},
		"dollar in an expression":   {nc.D("return", nc.Lit("200"), nc.Expr(nc.Var("uri"), nc.Lit("$x")))},
		"dollar in a map value":     {nc.B("map", []nc.Arg{nc.Var("a"), nc.Var("b")}, nc.Entry("k", nc.Lit("$c")))},
	} {
		if out, err := nc.Render(nodes); err == nil {
			t.Errorf("%s: rendered %q, want an error", name, out)
		}
	}
}

func TestRender(t *testing.T) {
	got, err := nc.Render([]nc.Node{
		nc.Comment("top"),
		nc.B("http", nil,
			nc.B("map", []nc.Arg{nc.Var("a"), nc.Var("b")},
				nc.D("default", nc.Lit("")),
				nc.Entry("default", nc.Lit("1")),
				nc.Entry("~x", nc.Lit("2")),
				nc.RegexEntry(`^Bearer k\.y$`, nc.Lit("3"))),
			nc.Blank{},
			nc.If([]nc.Arg{nc.Var("b"), nc.Lit("="), nc.Lit("")}, nc.D("return", nc.Lit("403"))),
			nc.D("return", nc.Lit("200"), nc.Expr(nc.Lit("a"), nc.Var("uri"), nc.Lit("b."), nc.Var("host"))),
		),
	})
	want := `# top
http {
    map $a $b {
        default "";
        "\\default" 1;
        "\\~x" 2;
        "~^Bearer k\\.y$" 3;
    }

    if ($b = "") {
        return 403;
    }
    return 200 "a${uri}b.$host";
}
`
	if err != nil || got != want {
		t.Errorf("Render = %v\n%s\nwant\n%s", err, got, want)
	}
}

// TestHostileValuesThroughNginx renders every hostile value as a literal
// answer body and as a map key, runs the real nginx on the result, and
// requires each to come back exactly: the quoting kept its meaning.
func TestHostileValuesThroughNginx(t *testing.T) {
	nginx := peers.Tool(t, "nginx")
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	mapKeys := []string{"default", "include", "hostnames", "volatile", "~tilde", `\backslash`, "plain", "two words", `q"uote`, "semi;colon", "{brace}"}
	var entries []nc.Node
	entries = append(entries, nc.D("default", nc.Lit("miss")))
	for i, k := range mapKeys {
		entries = append(entries, nc.Entry(k, nc.Lit(fmt.Sprintf("hit %d", i))))
	}
	server := []nc.Node{
		nc.D("listen", nc.Lit("127.0.0.1:"+fmt.Sprint(port))),
		nc.D("default_type", nc.Lit("text/plain")),
		nc.B("location", nc.Args("=", "/map"), nc.D("return", nc.Lit("200"), nc.Var("sovereign_test_hit"))),
		nc.B("location", nc.Args("=", "/expr"), nc.D("return", nc.Lit("200"), nc.Expr(nc.Lit("a"), nc.Var("uri"), nc.Lit("b;{'\""), nc.Var("request_method")))),
	}
	for i, v := range hostile {
		server = append(server, nc.B("location", nc.Args("=", fmt.Sprintf("/v%d", i)), nc.D("return", nc.Lit("200"), nc.Lit(v))))
	}
	conf, err := nc.Render([]nc.Node{
		nc.D("worker_processes", nc.Lit("1")),
		nc.D("pid", nc.Lit(filepath.Join(dir, "nginx.pid"))),
		nc.D("error_log", nc.Lit(filepath.Join(dir, "error.log"))),
		nc.B("events", nil),
		nc.B("http", nil,
			nc.D("access_log", nc.Lit("off")),
			nc.D("client_body_temp_path", nc.Lit(filepath.Join(dir, "body"))),
			nc.D("proxy_temp_path", nc.Lit(filepath.Join(dir, "proxy"))),
			nc.D("fastcgi_temp_path", nc.Lit(filepath.Join(dir, "fastcgi"))),
			nc.D("uwsgi_temp_path", nc.Lit(filepath.Join(dir, "uwsgi"))),
			nc.D("scgi_temp_path", nc.Lit(filepath.Join(dir, "scgi"))),
			nc.B("map", []nc.Arg{nc.Var("http_x_key"), nc.Var("sovereign_test_hit")}, entries...),
			nc.B("server", nil, server...)),
	})
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath}
	out, err := exec.Command(nginx, append(args, "-t")...).CombinedOutput()
	t.Logf("peer check: nginx -t on hostile values")
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
	}
	cmd := exec.Command(nginx, append(args, "-g", "daemon off;")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	get := func(path string, header map[string]string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		var resp *http.Response
		for i := 0; i < 100; i++ {
			if resp, err = http.DefaultClient.Do(req); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, b)
		}
		return string(b)
	}
	for i, v := range hostile {
		if got := get(fmt.Sprintf("/v%d", i), nil); got != v {
			t.Errorf("value %q came back as %q", v, got)
		}
	}
	for i, k := range mapKeys {
		if got, want := get("/map", map[string]string{"X-Key": k}), fmt.Sprintf("hit %d", i); got != want {
			t.Errorf("map key %q: got %q, want %q", k, got, want)
		}
	}
	if got := get("/map", map[string]string{"X-Key": "nothing"}); got != "miss" {
		t.Errorf("map default: %q", got)
	}
	if got, want := get("/expr", nil), "a/exprb;{'\"GET"; got != want {
		t.Errorf("expression: %q, want %q", got, want)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// BenchmarkRender measures rendering a config of a few hundred lines.
func BenchmarkRender(b *testing.B) {
	var body []nc.Node
	for i := 0; i < 200; i++ {
		body = append(body, nc.D("add_header", nc.Lit("X-Test"), nc.Lit(strings.Repeat("v ", i%5))))
	}
	nodes := []nc.Node{nc.B("http", nil, body...)}
	for i := 0; i < b.N; i++ {
		if _, err := nc.Render(nodes); err != nil {
			b.Fatal(err)
		}
	}
}
