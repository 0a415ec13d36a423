package units

import (
	"os/exec"
	"strings"
	"testing"
)

// TestShellQuoteRoundTrip hands each quoted word to a real sh and checks
// that it comes back as the one word it was, whatever it holds.
func TestShellQuoteRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	words := []string{"plain", "", "two words", "it's", `a"b`, "$(touch /tmp/x)", "`id`", "a\nb", "tab\there", "*", "~root", "$HOME", `back\slash`, "x;y", "'", "''", "-n"}
	for _, w := range words {
		out, err := exec.Command(sh, "-c", `printf '[%s]' `+ShellQuote(w)).Output()
		if err != nil {
			t.Fatalf("sh -c with %q: %v", ShellQuote(w), err)
		}
		if got := string(out); got != "["+w+"]" {
			t.Errorf("ShellQuote(%q) = %s came back from sh as %s", w, ShellQuote(w), got)
		}
	}
	if got := ShellQuote("/run/sovereign/drain"); got != "/run/sovereign/drain" {
		t.Errorf("a plain path is quoted: %s", got)
	}
}

func TestRenderScript(t *testing.T) {
	got, err := RenderScript("t", "X={{sh .V}}\n", map[string]string{"V": "a b"})
	if err != nil || string(got) != "X='a b'\n" {
		t.Errorf("RenderScript = %q, %v", got, err)
	}
	if _, err := RenderScript("broken", "{{sh .V", nil); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("a broken template: err = %v, want an error naming the script", err)
	}
	if _, err := RenderScript("missing", "{{sh .W}}", map[string]string{"V": "x"}); err == nil {
		t.Error("a value the data lacks rendered without error")
	}
}
