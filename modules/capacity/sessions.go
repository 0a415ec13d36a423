package capacity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Sessions counts the concurrent sequences that fit at each context length,
// shortest context first. In JSON it is an object keyed by the context
// length as a string, in that order: {"8192": 140, "32768": 35, …}.
type Sessions []ContextSessions

// ContextSessions is how many sequences of ContextTokens fit at once.
type ContextSessions struct {
	ContextTokens int
	Sessions      int
}

// At returns the sessions at a context length, and whether the plan has it.
func (s Sessions) At(contextTokens int) (int, bool) {
	for _, c := range s {
		if c.ContextTokens == contextTokens {
			return c.Sessions, true
		}
	}
	return 0, false
}

// MarshalJSON writes the object in context order; a Go map would sort the
// keys as strings ("131072" before "32768").
func (s Sessions) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", strconv.Itoa(c.ContextTokens), c.Sessions)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads the object back, ordering it by context length.
func (s *Sessions) UnmarshalJSON(data []byte) error {
	var byContext map[string]int
	if err := json.Unmarshal(data, &byContext); err != nil {
		return err
	}
	*s = (*s)[:0]
	for key, n := range byContext {
		ctx, err := strconv.Atoi(key)
		if err != nil || ctx <= 0 {
			return fmt.Errorf("sessions: %q is not a context length", key)
		}
		*s = append(*s, ContextSessions{ContextTokens: ctx, Sessions: n})
	}
	slices.SortFunc(*s, func(a, b ContextSessions) int { return a.ContextTokens - b.ContextTokens })
	return nil
}
