package capacity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// EnginePlan is the plan of one engine of a blueprint.
type EnginePlan struct {
	Engine string
	Plan   *Plan
}

// ForEngine returns the planner's input for one engine of a blueprint.
func ForEngine(app *spec.Appliance, eng *spec.Engine) Input {
	in := Input{
		Hardware:     app.Hardware,
		Model:        eng.Model.Architecture,
		Weights:      eng.Model.Weights,
		TariffPerKWh: app.Power.TariffPerKWh,
		Currency:     app.Power.Currency,
		DutyCycle:    app.Power.DutyCycle,
	}
	in.KVCacheDType = eng.KVCacheDType
	in.GPUMemoryUtilization = eng.MemoryFraction
	in.MaxModelLen = eng.MaxModelLen
	in.CPUKVOffloadBytes = eng.CPUKVOffloadBytes
	in.Engine = eng.Kind
	in.MaxNumSeqs = eng.MaxNumSeqs
	in.MaxNumBatchedTokens = eng.MaxNumBatchedTokens
	// A value an extra_args item gives is what the engine gets (it takes
	// the last one), so the plan prints it rather than derive another.
	l := launchOf(eng)
	for _, f := range []struct {
		flag string
		to   *int
	}{{"--max-num-seqs", &in.MaxNumSeqs}, {"--max-running-requests", &in.MaxNumSeqs}, {"--max-num-batched-tokens", &in.MaxNumBatchedTokens}} {
		if n, ok := l.IntValue(f.flag); ok && n > 0 {
			*f.to = n
		}
	}
	return in
}

// Blueprint plans every engine of bp and refuses what cannot work: weights
// that do not fit, a KV cache that cannot hold one max-length sequence, or
// fewer sessions than the engine's min_sessions. vLLM would find the first
// two out only at start-up, after minutes of loading; the collective would
// find the third out from its members. Plan warnings become warnings.
func Blueprint(bp *spec.Blueprint) ([]EnginePlan, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var plans []EnginePlan
	for _, eng := range bp.Engines {
		p, err := Compute(ForEngine(bp.Appliance, eng))
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot plan this engine",
				Detail:   fmt.Sprintf("The capacity planner cannot plan engine %q: %s.", eng.Name, err),
				Subject:  eng.DeclRange.Ptr(),
			})
			continue
		}
		p.Monitoring = monitoring(bp)
		plans = append(plans, EnginePlan{Engine: eng.Name, Plan: p})
		switch {
		case !p.Fits:
			subject := eng.RangeOf(spec.SettingMaxModelLen)
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "The engine does not fit on the GPU",
				Detail:   fmt.Sprintf("Engine %q on %s: %s.", eng.Name, bp.Appliance.Hardware.Name, p.Advice()),
				Subject:  subject.Ptr(),
			})
			continue
		case eng.MinSessions > 0 && p.SessionsAtMaxModelLen() < eng.MinSessions:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Fewer sessions than required",
				Detail: fmt.Sprintf("Engine %q holds %d concurrent sessions of %d tokens, but min_sessions is %d. Use smaller weights, an fp8 KV cache, a shorter max_model_len or a higher gpu_memory_utilization (sovereign plan shows the figures).",
					eng.Name, p.SessionsAtMaxModelLen(), p.MaxModelLen, eng.MinSessions),
				Subject: eng.RangeOf(spec.SettingMinSessions).Ptr(),
			})
			continue
		}
		for _, w := range p.Warnings {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Capacity plan warning",
				Detail:   fmt.Sprintf("Engine %q: %s", eng.Name, w),
				Subject:  eng.DeclRange.Ptr(),
			})
		}
	}
	return plans, append(diags, overcommit(bp)...)
}

// monitoring is the metrics block's share of the host, or nil.
func monitoring(bp *spec.Blueprint) *Monitoring {
	m := bp.Metrics
	if m == nil || bp.Appliance == nil {
		return nil
	}
	targets := 0
	if bp.WAN != nil {
		targets = len(bp.WAN.Check.Targets)
	}
	f := m.Footprint(bp.Appliance.Hardware.GPUs, len(bp.Engines), bp.UPS != nil, targets)
	return &Monitoring{MemoryBytes: f.MemoryBytes, CPUCores: f.CPUCores, Series: f.Series, DiskBytes: f.DiskBytes}
}

// overcommit checks that engines sharing the GPUs do not claim more than all
// of their memory together. Each engine's own plan already checks that its
// weights and KV cache fit in its share; this checks the shares.
func overcommit(bp *spec.Blueprint) hcl.Diagnostics {
	if len(bp.Engines) < 2 {
		return nil
	}
	total := 0.0
	var parts []string
	for _, eng := range bp.Engines {
		f := eng.MemoryFraction
		if f == 0 {
			f = defaultGPUMemoryUtilization
		}
		total += f
		parts = append(parts, fmt.Sprintf("%s %g", eng.Name, f))
	}
	if total <= 1+1e-9 {
		return nil
	}
	last := bp.Engines[len(bp.Engines)-1]
	subject := last.RangeOf(spec.SettingMemoryFraction)
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "GPU memory overcommitted",
		Detail: fmt.Sprintf("The engines share the GPU memory of %s but together claim %.0f%% of it (%s; an engine without a memory fraction counts as %g). Give each engine a fraction so that they add up to at most 1.",
			bp.Appliance.Hardware.Name, total*100, strings.Join(parts, ", "), defaultGPUMemoryUtilization),
		Subject: subject.Ptr(),
	}}
}

// JSON renders out/plan.json: the JSON object README documents for a blueprint with one
// engine, and an array of them, each with an "engine" key, otherwise.
func JSON(plans []EnginePlan) ([]byte, error) {
	var v any
	if len(plans) == 1 {
		v = plans[0].Plan
	} else {
		list := make([]json.RawMessage, 0, len(plans))
		for _, ep := range plans {
			b, err := json.Marshal(ep.Plan)
			if err != nil {
				return nil, err
			}
			name, _ := json.Marshal(ep.Engine)
			// {"engine": NAME, ...the plan's own keys in contract order}
			list = append(list, json.RawMessage(append(append([]byte(`{"engine":`), name...), append([]byte{','}, b[1:]...)...)))
		}
		v = list
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
