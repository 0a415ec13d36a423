package lang

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// The text rules: which characters a string setting may hold, decided by
// where its value ends up on the appliance. Every string the decoders read
// (plain settings, list items, map keys and values, secrets) is checked
// here, at decode time, against the rule of its setting, so that a value
// can never add a line to a unit, a Quadlet, nginx's or oauth2-proxy's
// configuration, NUT's, NetworkManager's or a script, and a refused value
// gets an error at its attribute that says what is allowed and why.
//
// A renderer that quotes its values (systemd command lines, TOML, JSON)
// still quotes them: the rules are what it cannot quote, or what the file
// format has no quoting for.

// textRule is one set of allowed characters and the reason for it.
type textRule struct {
	// allowed says which characters are allowed, for the error message.
	allowed string
	// why says where the value is written.
	why string
	// ok reports whether r may appear anywhere in the value.
	ok func(r rune) bool
	// trimmed refuses spaces at either end, which the file format drops.
	trimmed bool
}

// controlRune reports characters that are never allowed on one line: C0
// and C1 control characters (line feed, carriage return, tab, escape…),
// DEL, and Unicode's line and paragraph separators, which some readers
// also take as line breaks. Format characters (zero-width, bidirectional
// overrides) would make a value read differently than it is written.
func controlRune(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar
}

func oneLine(r rune) bool { return !controlRune(r) }

func inSet(set string) func(rune) bool {
	return func(r rune) bool {
		return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(set, r))
	}
}

var (
	// ruleLine is every setting's rule unless it has its own: one line.
	ruleLine = &textRule{
		allowed: "printable characters on one line (no line breaks, tabs, other control characters or invisible formatting characters)",
		why:     "the value is written into a line of a unit, configuration or script file on the appliance, where a line break would start a new setting and control characters are invisible to whoever reviews the file",
		ok:      oneLine,
	}
	// ruleLines is for values written as whole files of their own.
	ruleLines = &textRule{
		allowed: "printable characters, tabs and line breaks (no other control characters)",
		why:     "the value is written as a text file of its own, where other control characters are invisible to whoever reviews it",
		ok:      func(r rune) bool { return r == '\n' || r == '\r' || r == '\t' || !controlRune(r) },
	}
	// ruleUnitText is for text written as it is into a unit setting such
	// as Description=, which has no quoting.
	ruleUnitText = &textRule{
		allowed: `printable characters on one line except '%' and '\'`,
		why:     `the value is also written unquoted into a systemd unit's Description=, where '%' starts a specifier and a final '\' joins the next line`,
		ok:      func(r rune) bool { return oneLine(r) && r != '%' && r != '\\' },
	}
	// rulePath is for host paths, which go unquoted into mount units,
	// unit names, Ignition and scripts.
	rulePath = &textRule{
		allowed: "letters, digits and . _ - + : @ /",
		why:     "the path is written unquoted into systemd mount units and settings, NUT's configuration and shell commands, where spaces, quotes, '%', '$', ';' and '\\' mean something",
		ok:      inSet("._-+:@/"),
	}
	// ruleURL is for URLs written unquoted into unit comments and
	// settings, NetworkManager's and oauth2-proxy's configuration.
	ruleURL = &textRule{
		allowed: "letters, digits and the URL characters - . _ ~ : / ? # [ ] @ ! & ' ( ) * + , ; = (percent-encode anything else)",
		why:     "the URL is written unquoted into configuration files, where spaces, quotes, '$', '%', '{' and '\\' would be read specially",
		ok:      inSet("-._~:/?#[]@!&'()*+,;="),
	}
	// ruleToken is for keys sent as HTTP headers by nginx and read from
	// environment files by the engines.
	ruleToken = &textRule{
		allowed: "printable ASCII characters except quotes, '`', '$' and '\\', without spaces at either end",
		why:     "the key is written into an environment file and into a quoted HTTP header in nginx's configuration, where quotes and '\\' end or escape the string and '$' starts a variable",
		ok:      func(r rune) bool { return r >= 0x20 && r < 0x7f && !strings.ContainsRune("\"'`$\\", r) },
		trimmed: true,
	}
	// ruleSecretLine is for secrets read from environment files
	// (oauth2-proxy's client and cookie secrets).
	ruleSecretLine = &textRule{
		allowed: "printable characters on one line, without spaces at either end",
		why:     "the secret is written into an environment file, which ends a value at the line break and drops the spaces around it",
		ok:      oneLine,
		trimmed: true,
	}
	// ruleKeyfile is for values of NetworkManager's keyfiles (GLib key
	// files), which have escapes but no quoting.
	ruleKeyfile = &textRule{
		allowed: `printable characters on one line except '\', without spaces at either end`,
		why:     "the value is written into NetworkManager's configuration, a key file that reads '\\' as the start of an escape and drops the spaces around a value",
		ok:      func(r rune) bool { return oneLine(r) && r != '\\' },
		trimmed: true,
	}
	// ruleWord is for arguments joined with spaces into one environment
	// variable (NIM_PASSTHROUGH_ARGS), which NIM splits at spaces again.
	ruleWord = &textRule{
		allowed: `printable characters except spaces, quotes and '\'`,
		why:     "NIM receives the arguments joined with spaces in NIM_PASSTHROUGH_ARGS and splits them at spaces again, so a space, quote or backslash would change the arguments",
		ok:      func(r rune) bool { return oneLine(r) && r != ' ' && r != '"' && r != '\'' && r != '\\' },
	}
)

// ruleKernelArgument is for one argument of the kernel command line, which
// the kernel splits at spaces and bootc's kargs.d reads from a TOML string.
var ruleKernelArgument = &textRule{
	allowed: "letters, digits and . _ - = , : / +",
	why:     "each item is one argument of the kernel command line, which the kernel splits at spaces; quotes and '\\' would be read by the kernel's own parser",
	ok:      inSet("._-=,:/+"),
}

// textRules are the settings with a rule of their own, by block type and
// attribute name. Everything else is ruleLine, or ruleSecretLine for a
// secret.
var textRules = map[string]*textRule{
	"admin.ssh_authorized_keys": ruleLines, // each key is then checked line by line
	"model.config":              ruleLines,
	"tls.certificate":           ruleLines,
	"tls.key":                   ruleLines,
	"storage.device":            rulePath,
	"storage.state":             rulePath,
	"storage.models":            rulePath,
	"ups.port":                  rulePath,
	"model.mirror":              ruleURL,
	"check.uri":                 ruleURL,
	"oidc.issuer":               ruleURL,
	"engine.served_model_name":  ruleUnitText,
	"engine.api_key":            ruleToken,
	"engine.ngc_api_key":        ruleToken,
	"check.response":            ruleKeyfile,
	"gateway.cookie_secret":     ruleSecretLine,
	"oidc.client_secret":        ruleSecretLine,
	"ups.description":           ruleUnitText,
	"nim.extra_args":            ruleWord,
	"os.kernel_arguments":       ruleKernelArgument,
}

// ruleFor is the rule of attribute name in the current block.
func (a *Attrs) ruleFor(name string, secret bool) *textRule {
	if r, ok := textRules[a.kind+"."+name]; ok && a.kind != "" {
		return r
	}
	if r, ok := textRules[a.block+"."+name]; ok {
		return r
	}
	if secret {
		return ruleSecretLine
	}
	return ruleLine
}

// checkText checks every string in v (a string, or a list, set, map or
// object of them, keys included) against the attribute's rule, and reports
// the first offending character of each string at the attribute, or at the
// list item or map entry when the attribute is written as a literal. A
// secret's characters are described, never shown.
func (a *Attrs) checkText(name string, v cty.Value, secret bool) bool {
	at := a.All[name]
	rule := a.ruleFor(name, secret)
	ok := true
	check := func(s string, rng hcl.Range) {
		if msg := rule.refuse(s); msg != "" {
			ok = false
			a.Diags = append(a.Diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Character not allowed",
				Detail:   fmt.Sprintf("%s %s. %s may hold only %s, because %s.", name, msg, name, rule.allowed, rule.why),
				Subject:  rng.Ptr(),
			})
		}
	}
	whole := at.Expr.Range()
	switch {
	case !v.IsKnown() || v.IsNull():
	case v.Type() == cty.String:
		check(v.AsString(), whole)
	case v.CanIterateElements():
		items, _ := hcl.ExprList(at.Expr)
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			k, elem := it.Element()
			rng := whole
			if k.Type() == cty.String {
				rng = ItemRange(at, k.AsString())
				check(k.AsString(), rng)
			} else if i < len(items) && isLiteralList(at.Expr) {
				rng = items[i].Range()
			}
			if elem.Type() == cty.String && elem.IsKnown() && !elem.IsNull() {
				check(elem.AsString(), rng)
			}
		}
	}
	return ok
}

func isLiteralList(e hcl.Expression) bool {
	_, ok := e.(*hclsyntax.TupleConsExpr)
	return ok
}

// refuse returns what is wrong with s under the rule ("holds a line break
// (U+000A) at character 12"), or "" when s is allowed.
func (r *textRule) refuse(s string) string {
	pos := 0
	for _, c := range s {
		pos++
		if !r.ok(c) {
			msg := fmt.Sprintf("holds %s at character %d", DescribeRune(c), pos)
			if c == '\n' && pos == len([]rune(s)) {
				msg += " (its last: a value read with file() keeps the file's final line break; trimspace(file(…)) drops it)"
			}
			return msg
		}
	}
	if r.trimmed && s != strings.TrimSpace(s) {
		return "starts or ends with a space"
	}
	return ""
}

// describeRune names a character so that an invisible one can be seen.
func DescribeRune(c rune) string {
	names := map[rune]string{
		'\n': "a line break", '\r': "a carriage return", '\t': "a tab", 0: "a NUL character",
		0x1b: "an escape character", 0x7f: "a delete character", '\u2028': "a line separator", '\u2029': "a paragraph separator",
		' ': "a space",
	}
	if n, ok := names[c]; ok {
		return fmt.Sprintf("%s (U+%04X)", n, c)
	}
	if unicode.Is(unicode.Cf, c) {
		return fmt.Sprintf("an invisible formatting character (U+%04X)", c)
	}
	if controlRune(c) {
		return fmt.Sprintf("a control character (U+%04X)", c)
	}
	return fmt.Sprintf("%q", c)
}

// checkLabel checks a block label that no stricter name rule covers (the
// appliance's name, printed by the build and written into image labels).
func CheckLabel(what, label string, rng hcl.Range) hcl.Diagnostics {
	msg := ruleLine.refuse(label)
	if msg == "" {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Character not allowed",
		Detail:   fmt.Sprintf("The %s name %s. It may hold only %s, because it is printed and written into image labels.", what, msg, ruleLine.allowed),
		Subject:  rng.Ptr(),
	}}
}

// blockName is what a block label that names something may be.
var blockName = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,46}[a-z0-9])?$`)

// ValidName reports whether name may name a block (a model, an engine, a
// member…): names end up in file and unit names, so they are lowercase
// letters, digits, dots and dashes, starting and ending with a letter or
// digit, at most 48 characters.
func ValidName(name string) bool { return blockName.MatchString(name) }
