package commands

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// Progress on stderr: retries as they happen, each image when done, and on
// each tick the images waited for longer than the threshold.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	p := newProgress(&buf, 5*time.Second)
	p.now = func() time.Time { return now }

	p.Start("docker.io/a/slow:1")
	p.Start("quay.io/b/fast:1")
	now = now.Add(2 * time.Second)
	p.tick() // nobody has waited 5s yet
	p.Done("quay.io/b/fast:1", nil)
	p.Retry("docker.io/a/slow:1", 2, errors.New("the registry failed (503 Service Unavailable)"))
	now = now.Add(5 * time.Second)
	p.tick()
	p.Done("docker.io/a/slow:1", errors.New("gave up"))
	p.tick() // nothing left to wait for

	want := `  quay.io/b/fast:1 done (2s)
  docker.io/a/slow:1: the registry failed (503 Service Unavailable); trying again (attempt 2)
  docker.io/a/slow:1: still waiting for the registry (7s)
`
	if got := buf.String(); got != want {
		t.Errorf("progress:\n%s\nwant:\n%s", got, want)
	}
}
