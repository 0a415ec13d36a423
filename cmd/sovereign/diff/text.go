package diff

import (
	"fmt"
	"io"
	"strings"
)

// Empty reports whether nothing changes.
func (r *Report) Empty() bool {
	return r.ApplianceImage == nil && len(r.Files) == 0 && len(r.Images) == 0 && len(r.Services) == 0 && len(r.Users) == 0 && len(r.Plan) == 0
}

// Text writes the report for people: a section per kind of change, unified
// diffs indented under their file.
func (r *Report) Text(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "sovereign diff %s → %s\n", r.Old, r.New)
	if r.Empty() {
		b.WriteString("\nNo changes.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	if c := r.ApplianceImage; c != nil {
		fmt.Fprintf(&b, "\nAppliance image:\n  %s\n  → %s\n", orNone(c.Old), orNone(c.New))
	}
	if len(r.Images) > 0 {
		b.WriteString("\nContainer images:\n")
		for _, i := range r.Images {
			fmt.Fprintf(&b, "  %s\n    %s\n    → %s\n", i.Unit, orNone(i.Old), orNone(i.New))
		}
	}
	if len(r.Services) > 0 {
		b.WriteString("\nServices:\n")
		for _, s := range r.Services {
			fmt.Fprintf(&b, "  %-7s %s (%s)\n", s.Action, s.Name, strings.Join(s.Why, "; "))
		}
	}
	if len(r.Users) > 0 {
		b.WriteString("\nAdmins:\n")
		for _, u := range r.Users {
			if u.Change == "removed" {
				fmt.Fprintf(&b, "  - %s\n", u.Name)
				continue
			}
			sign := "+"
			if u.Change != "added" {
				sign = "~"
			}
			fmt.Fprintf(&b, "  %s %s (%s, %d SSH key(s))\n", sign, u.Name, u.Change, u.Keys)
		}
	}
	if len(r.Plan) > 0 {
		b.WriteString("\nCapacity plan:\n")
		for _, p := range r.Plan {
			fmt.Fprintf(&b, "  %s: %s → %s\n", p.Path, orNone(p.Old), orNone(p.New))
		}
	}
	if len(r.Files) > 0 {
		fmt.Fprintf(&b, "\nFiles (%d):\n", len(r.Files))
		for _, f := range r.Files {
			sign := map[string]string{"added": "+", "removed": "-", "changed": "~", "mode": "~"}[f.Change]
			line := fmt.Sprintf("  %s %s", sign, f.Path)
			if f.Mode != nil {
				switch f.Change {
				case "added":
					line += " (" + f.Mode.New + ")"
				case "removed":
				default:
					line += fmt.Sprintf(" (mode %s → %s)", f.Mode.Old, f.Mode.New)
				}
			}
			if f.Secret && f.Change != "mode" {
				line += " [secret: " + f.Change + ", contents not shown]"
			}
			b.WriteString(line + "\n")
			if f.Diff != "" {
				for _, l := range strings.SplitAfter(strings.TrimRight(f.Diff, "\n"), "\n") {
					b.WriteString("      " + strings.TrimRight(l, "\n") + "\n")
				}
			}
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range r.Notes {
			b.WriteString("  - " + n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
