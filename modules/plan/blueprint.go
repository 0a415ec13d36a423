package plan

import (
	"bytes"
	"encoding/json"
	"fmt"

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
	if v := eng.VLLM; v != nil {
		in.KVCacheDType = v.KVCacheDType
		in.GPUMemoryUtilization = v.GPUMemoryUtilization
		in.MaxModelLen = v.MaxModelLen
		in.CPUKVOffloadBytes = v.CPUKVOffloadBytes
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
		plans = append(plans, EnginePlan{Engine: eng.Name, Plan: p})
		switch {
		case !p.Fits:
			subject := eng.DeclRange
			if eng.VLLM != nil && eng.VLLM.MaxModelLenRange != (hcl.Range{}) {
				subject = eng.VLLM.MaxModelLenRange
			}
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
				Subject: eng.MinSessionsRange.Ptr(),
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
	return plans, diags
}

// JSON renders out/plan.json: DESIGN §6's object for a blueprint with one
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
