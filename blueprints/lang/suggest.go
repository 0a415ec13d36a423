package lang

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
)

// maxSuggestions is how many equally likely names a hint lists before it is
// no longer a hint.
const maxSuggestions = 3

// Closest returns the options that s most likely meant, best first, or none.
// In order of preference:
//   - options spelled like s but for case ("Hermes" → "hermes");
//   - options of which s is a whole part between separators ("gb300" →
//     "dgx-station-gb300", "fp8" → "fp8_e4m3" and "fp8_e5m2"), a name the
//     writer shortened, which edit distance would rank below any short name;
//   - the options nearest by edit distance, within a third of s's length
//     (at least 2), a misspelling ("--kv-cahce-dtype").
//
// Several options tie only when equally likely; more than maxSuggestions is
// no suggestion.
func Closest(s string, options []string) []string {
	if s == "" {
		return nil
	}
	options = slices.Sorted(slices.Values(options))
	options = slices.Compact(options)
	lower := strings.ToLower(s)
	if m := matching(options, func(o string) bool { return o != s && strings.ToLower(o) == lower }); m != nil {
		return m
	}
	if m := matching(options, func(o string) bool { return o != s && containsPart(strings.ToLower(o), lower) }); m != nil {
		return m
	}
	var best []string
	bestDist := max(2, len(s)/3)
	for _, o := range options {
		if o == s {
			continue
		}
		switch d := levenshtein.Distance(lower, strings.ToLower(o), nil); {
		case d < bestDist || best == nil && d == bestDist:
			best, bestDist = []string{o}, d
		case d == bestDist:
			best = append(best, o)
		}
	}
	if len(best) > maxSuggestions {
		return nil
	}
	return best
}

// matching returns the options that ok accepts, or nil when there are none
// or too many to be a hint.
func matching(options []string, ok func(string) bool) []string {
	var m []string
	for _, o := range options {
		if ok(o) {
			m = append(m, o)
		}
	}
	if len(m) > maxSuggestions {
		return nil
	}
	return m
}

// containsPart reports whether part occurs in name with a separator or an
// end of name on each side.
func containsPart(name, part string) bool {
	for i := 0; ; {
		j := strings.Index(name[i:], part)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(part)
		if (start == 0 || isSeparator(name[start-1])) && (end == len(name) || isSeparator(name[end])) {
			return true
		}
		i = start + 1
	}
}

func isSeparator(b byte) bool { return strings.IndexByte("-_./: ", b) >= 0 }

// Suggest returns ` Did you mean "x"?` (or `"x" or "y"`) when Closest finds
// what s most likely meant, and "" when it finds nothing.
func Suggest(s string, options []string) string {
	return didYouMean(Closest(s, options), strconv.Quote)
}

// SuggestBare is Suggest for names printed without quotes: flags, metric
// names and choices (` Did you mean --kv-cache-dtype?`).
func SuggestBare(s string, options []string) string {
	return didYouMean(Closest(s, options), func(o string) string { return o })
}

func didYouMean(names []string, show func(string) string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(" Did you mean %s?", show(names[0]))
	}
	shown := make([]string, len(names))
	for i, n := range names {
		shown[i] = show(n)
	}
	return fmt.Sprintf(" Did you mean %s or %s?", strings.Join(shown[:len(shown)-1], ", "), shown[len(shown)-1])
}
