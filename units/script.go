package units

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// ShellQuote quotes one word for a POSIX shell (sh(1), "Quoting"): words of
// plain characters stay bare, anything else goes inside single quotes, with
// each single quote in it closed, escaped with a backslash and reopened.
// It is the one quoting every value placed into a shell script goes through.
func ShellQuote(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=+@%", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// RenderScript fills a shell-script template. Values reach the script only
// through the template function "sh" (ShellQuote), so that no value, however
// odd, can end a word or start a command. A broken template is a bug, which
// comes back as an error naming the script, never as a panic.
func RenderScript(name, source string, data any) ([]byte, error) {
	tmpl, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{"sh": ShellQuote}).Parse(source)
	if err != nil {
		return nil, fmt.Errorf("script %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("script %s: %w", name, err)
	}
	return buf.Bytes(), nil
}
