package boot

import (
	"strings"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/tests/boot/report"
)

// checkReadiness: the engine's unit turns active as soon as the start-up
// health check sees the engine answer, not at the next steady-state check.
func checkReadiness(t *testing.T, h healthTiming, rep *report.Report) {
	t.Helper()
	if rep.EngineHealthy == 0 || rep.EngineActive == 0 {
		t.Fatalf("engine healthy at %.1fs, active at %.1fs: want both", rep.EngineHealthy, rep.EngineActive)
	}
	problem, note := readinessProblem(h, rep)
	t.Log(note)
	if problem != "" {
		t.Error(problem)
	}
}

// readinessProblem judges the lag between the engine answering and its
// unit turning active. A start-up check every h.startup keeps it within
// that interval plus the time one check takes (the guest timed one:
// HealthCheckSeconds), once to run and once for Podman to act on it, plus a
// few seconds of the probe's own polling; waiting for the steady-state
// check lets it reach h.steady. On a guest so slow that the first bound
// reaches the second, the lag cannot tell the two apart, and only a lag
// beyond both is a problem. note says what was measured.
func readinessProblem(h healthTiming, rep *report.Report) (problem, note string) {
	lag := time.Duration((rep.EngineActive - rep.EngineHealthy) * float64(time.Second)).Round(100 * time.Millisecond)
	check := time.Duration(rep.HealthCheckSeconds * float64(time.Second)).Round(100 * time.Millisecond)
	startupBound := h.startup + 2*check + 5*time.Second
	note = "readiness lag: " + lag.String() + " (engine answering → unit active); one health check took the guest " + check.String() +
		"; start-up checks every " + h.startup.String() + ", steady ones every " + h.steady.String()
	switch {
	case rep.HealthCheckSeconds == 0:
		return "the probe did not time the engine's health check", note
	case startupBound < h.steady && lag >= h.steady:
		return "the engine's unit became active " + lag.String() + " after the engine answered /health, at least the steady-state health interval (" +
			h.steady.String() + "), though a start-up check would have seen it within " + startupBound.String() + ": readiness waits for the steady-state check", note
	case startupBound >= h.steady && lag >= h.steady+startupBound:
		return "the engine's unit became active " + lag.String() + " after the engine answered /health, beyond even a steady-state check (" +
			h.steady.String() + ") on a guest this slow (" + check.String() + " a check)", note
	case startupBound >= h.steady:
		note += "; the guest is too slow to tell a start-up check from a steady-state one by the lag"
	}
	return "", note
}

// TestReadinessProblem: the lag is judged against the steady-state
// interval while one health check is quick, and only a lag beyond both
// bounds fails once a check is so slow that the two overlap (the boot that
// went red on a loaded machine: 32.9 s, with checks that slow).
func TestReadinessProblem(t *testing.T) {
	h := healthTiming{startup: 2 * time.Second, steady: 30 * time.Second}
	for _, tc := range []struct {
		name        string
		lag, check  float64
		wantProblem string
	}{
		{name: "quiet guest, start-up check", lag: 3.5, check: 1.5},
		{name: "quiet guest, steady check", lag: 31, check: 1.5, wantProblem: "readiness waits for the steady-state check"},
		{name: "loaded guest, start-up check", lag: 32.9, check: 16},
		{name: "loaded guest, far too late", lag: 90, check: 16, wantProblem: "beyond even a steady-state check"},
		{name: "check never timed", lag: 3, check: 0, wantProblem: "did not time"},
	} {
		rep := &report.Report{EngineHealthy: 100, EngineActive: 100 + tc.lag, HealthCheckSeconds: tc.check}
		problem, note := readinessProblem(h, rep)
		if tc.wantProblem == "" && problem != "" || !strings.Contains(problem, tc.wantProblem) {
			t.Errorf("%s: problem %q, want one containing %q (%s)", tc.name, problem, tc.wantProblem, note)
		}
	}
}
