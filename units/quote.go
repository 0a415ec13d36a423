package units

import "strings"

// QuoteWord quotes one argument for a systemd command line (ExecStart=, and
// Quadlet's Exec= and Environment=, which follow the same rules): words
// with anything but plain characters are double-quoted with C-style
// escapes, and "%" and "$" are doubled so that systemd's specifier and
// variable expansion leave them alone.
func QuoteWord(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=+@", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '%':
			b.WriteString("%%")
		case '$':
			b.WriteString("$$")
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// QuoteCommand joins arguments into one systemd command line.
func QuoteCommand(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = QuoteWord(a)
	}
	return strings.Join(q, " ")
}
