// Package nginxconf is a small typed model of an nginx configuration:
// directives, blocks, map entries, comments and blank lines, each argument
// typed as literal text, a variable, a concatenation of both, or a regular
// expression. Render writes the model in nginx's syntax, and one function
// (quote) writes every argument, so that no value can change the meaning of
// the file around it: a quote, `;`, `{`, `}`, `#`, a backslash or a line
// break in a value stays inside its argument, and a `$` in literal text,
// which nginx would read as a variable in most directives and cannot escape,
// is refused.
//
// The syntax rules followed are those of nginx's configuration parser
// (src/core/ngx_conf_file.c, ngx_conf_read_token): arguments are separated
// by whitespace; an argument may be enclosed in single or double quotes;
// inside any argument a backslash escapes `"`, `'` and `\`, and `\n`, `\r`,
// `\t` stand for line feed, carriage return and tab; `;` ends a directive,
// `{` and `}` open and close a block, and `#` at the start of a token begins
// a comment.
package nginxconf

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Node is one element of a configuration: *Directive, *Block, *MapEntry,
// Comment or Blank.
type Node interface {
	render(w *writer, depth int)
}

// Directive is `name arg…;`.
type Directive struct {
	Name string
	Args []Arg
}

// Block is `name arg… { body }`. A block named "if" puts its arguments
// in parentheses, as nginx's rewrite module reads them.
type Block struct {
	Name string
	Args []Arg
	Body []Node
}

// MapEntry is one `source value;` line of a map block: Key is compared
// with the map's input (as literal text, or as a regular expression when
// KeyIsRegex), Value is what the map's variable becomes.
type MapEntry struct {
	Key        string
	KeyIsRegex bool
	Value      Arg
}

// Comment is a `# …` line; it may not hold a line break.
type Comment string

// Blank is an empty line, between sections.
type Blank struct{}

// D is a directive.
func D(name string, args ...Arg) *Directive { return &Directive{Name: name, Args: args} }

// B is a block with arguments.
func B(name string, args []Arg, body ...Node) *Block {
	return &Block{Name: name, Args: args, Body: body}
}

// If is `if (cond…) { body }`.
func If(cond []Arg, body ...Node) *Block { return B("if", cond, body...) }

// Entry is a map entry matching key as literal text.
func Entry(key string, value Arg) *MapEntry { return &MapEntry{Key: key, Value: value} }

// RegexEntry is a map entry matching the regular expression re.
func RegexEntry(re string, value Arg) *MapEntry {
	return &MapEntry{Key: re, KeyIsRegex: true, Value: value}
}

// Arg is one argument. Its parts are literal text and variable
// references, concatenated.
type Arg struct {
	parts []part
	regex bool // a regular expression: `$` is an anchor, not a variable
}

type part struct {
	text  string
	isVar bool
}

// Lit is literal text: nginx reads exactly s.
func Lit(s string) Arg { return Arg{parts: []part{{text: s}}} }

// Int is a decimal number.
func Int(n int) Arg { return Lit(strconv.Itoa(n)) }

// Var is the value of nginx variable $name.
func Var(name string) Arg { return Arg{parts: []part{{text: name, isVar: true}}} }

// Expr is the concatenation of args (literals and variables).
func Expr(args ...Arg) Arg {
	var a Arg
	for _, x := range args {
		a.parts = append(a.parts, x.parts...)
	}
	return a
}

// Regex is a regular expression (PCRE) as nginx's rewrite and map read
// it: `$` in it is the end-of-subject anchor.
func Regex(re string) Arg { return Arg{parts: []part{{text: re}}, regex: true} }

// Args is a convenience for a directive's literal arguments.
func Args(ss ...string) []Arg {
	out := make([]Arg, len(ss))
	for i, s := range ss {
		out[i] = Lit(s)
	}
	return out
}

var (
	varName       = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	directiveName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	// mapKeywords are the map sources nginx reads as parameters; a literal
	// key equal to one of them, or starting with `~` or `\`, is prefixed
	// with `\` (nginx's map module removes one).
	mapKeywords = map[string]bool{"default": true, "hostnames": true, "include": true, "volatile": true}
)

// quote writes one argument so that nginx reads back exactly its value:
// bare when it has nothing nginx's tokenizer treats specially, else in
// single quotes when it holds a double quote and no single quote, else in
// double quotes; backslashes, the enclosing quote, line feeds, carriage
// returns and tabs are escaped. Literal text may not hold a `$` (nginx
// has no escape for it) nor other control characters.
func quote(a Arg) (string, error) {
	var text strings.Builder
	for i, p := range a.parts {
		if p.isVar {
			if !varName.MatchString(p.text) {
				return "", fmt.Errorf("%q is not an nginx variable name", p.text)
			}
			// ${name} when a name character follows, which would
			// otherwise be read as part of the name.
			if i+1 < len(a.parts) && !a.parts[i+1].isVar && a.parts[i+1].text != "" && isNameByte(a.parts[i+1].text[0]) {
				text.WriteString("${" + p.text + "}")
			} else {
				text.WriteString("$" + p.text)
			}
			continue
		}
		if strings.Contains(p.text, "$") && !a.regex {
			return "", fmt.Errorf("%q holds a `$`, which nginx would read as a variable", p.text)
		}
		for _, r := range p.text {
			if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
				return "", fmt.Errorf("%q holds the control character %U", p.text, r)
			}
		}
		text.WriteString(p.text)
	}
	s := text.String()
	if s != "" && !strings.ContainsAny(s, " \t\r\n\"';{}#\\") {
		return s, nil
	}
	q := byte('"')
	if strings.Contains(s, `"`) && !strings.Contains(s, "'") {
		q = '\''
	}
	var b strings.Builder
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', q:
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String(), nil
}

func isNameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// Quote is quote for one literal value, for callers that check a value
// before building with it.
func Quote(s string) (string, error) { return quote(Lit(s)) }

// Render writes nodes as a configuration file (or an included part of
// one), four spaces of indent per level. The first problem found (a value
// nginx could not read back as given) is the error, and nothing is
// returned with it.
func Render(nodes []Node) (string, error) {
	w := &writer{}
	for _, n := range nodes {
		n.render(w, 0)
	}
	if len(w.errs) > 0 {
		return "", errors.Join(w.errs...)
	}
	return w.b.String(), nil
}

type writer struct {
	b    strings.Builder
	errs []error
}

func (w *writer) line(depth int, s string) {
	w.b.WriteString(strings.Repeat("    ", depth))
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

func (w *writer) args(name string, args []Arg) string {
	if !directiveName.MatchString(name) {
		w.errs = append(w.errs, fmt.Errorf("%q is not a directive name", name))
	}
	out := name
	for _, a := range args {
		q, err := quote(a)
		if err != nil {
			w.errs = append(w.errs, fmt.Errorf("%s: %w", name, err))
		}
		out += " " + q
	}
	return out
}

func (d *Directive) render(w *writer, depth int) { w.line(depth, w.args(d.Name, d.Args)+";") }

func (b *Block) render(w *writer, depth int) {
	head := w.args(b.Name, b.Args)
	if b.Name == "if" {
		head = "if (" + strings.TrimPrefix(head, "if ") + ")"
	}
	w.line(depth, head+" {")
	for _, n := range b.Body {
		n.render(w, depth+1)
	}
	w.line(depth, "}")
}

func (e *MapEntry) render(w *writer, depth int) {
	key := e.Key
	switch {
	case e.KeyIsRegex:
		key = "~" + key
	case mapKeywords[key] || strings.HasPrefix(key, "~") || strings.HasPrefix(key, `\`):
		key = `\` + key
	}
	k, err := quote(Arg{parts: []part{{text: key}}, regex: e.KeyIsRegex})
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("map key: %w", err))
	}
	v, err := quote(e.Value)
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("map value: %w", err))
	}
	w.line(depth, k+" "+v+";")
}

func (c Comment) render(w *writer, depth int) {
	if strings.ContainsAny(string(c), "\r\n") {
		w.errs = append(w.errs, fmt.Errorf("comment %q holds a line break", string(c)))
	}
	w.line(depth, "# "+string(c))
}

func (Blank) render(w *writer, _ int) { w.b.WriteByte('\n') }
