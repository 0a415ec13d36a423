package commands

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/afero"
	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/capacity"
)

// planFlags answer "what fits?" without a blueprint.
type planFlags struct {
	hardware, model, modelConfig, weights, kvDType string
	gpuMemoryUtilization                           float64
	maxModelLen                                    int
	cpuKVOffload                                   string
	tariff                                         float64
	currency                                       string
	json                                           bool
}

func newPlan(e *env) *cobra.Command {
	var in inputFlags
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan [BLUEPRINT [TARGET]]",
		Short: "Show what fits on the GPU: weights, KV cache, concurrent sessions, speed and power cost",
		Long: `Plan computes the capacity plan of each engine of a blueprint — weight
memory, the KV cache budget, how many concurrent sessions fit at 8K, 32K,
128K tokens and at max_model_len, the bandwidth-bound decode ceiling, and the
power cost — and prints every assumption with the number it produced.

Without a BLUEPRINT, the flags describe one engine for a quick "what fits?":

  sovereign plan --hardware dgx-station-gb300 --model qwen3-235b-a22b \
    --weights awq-int4 --kv-cache-dtype fp8 --gpu-memory-utilization 0.95 \
    --max-model-len 32768

With two blueprints — a cloud audition and the machine it auditions for —
plan shows them side by side (platform, memory, weights, sessions, speed) and
warns where the audition would not test what will run: a different engine
release, KV cache type, context length or parser.

  sovereign plan blueprints/cloud-audition-h100.hcl blueprints/dgx-station-gb300.hcl

Plan exits 1 when something does not fit (or a blueprint's min_sessions is not
met), saying what would. --json prints the plan as out/plan.json holds it.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 2 {
				return usageErrorf("plan takes at most two blueprints: an audition and its target")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.model != "" && f.modelConfig != "" {
				return usageErrorf("--model and --model-config both name the model; give one of them")
			}
			if len(args) > 0 {
				// A blueprint says all of this itself; a flag that would
				// be silently ignored is refused instead.
				for _, name := range planOnlyFlags {
					if cmd.Flags().Changed(name) {
						return usageErrorf("--%s plans without a blueprint; a blueprint sets it itself (edit the blueprint, or plan with --hardware, --model and --weights alone)", name)
					}
				}
			}
			switch len(args) {
			case 1:
				return e.planBlueprint(args[0], in, f.json)
			case 2:
				if f.json {
					return usageErrorf("--json prints one blueprint's plan; compare two without it")
				}
				return e.planComparison(args[0], args[1], in)
			}
			if f.hardware == "" || (f.model == "" && f.modelConfig == "") || f.weights == "" {
				return usageErrorf("plan needs a BLUEPRINT, or --hardware, --model (or --model-config) and --weights")
			}
			return e.planFlags(f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.hardware, "hardware", "", "hardware from the catalog, e.g. dgx-station-gb300")
	fl.StringVar(&f.model, "model", "", "model from the catalog, e.g. qwen3-235b-a22b")
	fl.StringVar(&f.modelConfig, "model-config", "", "a Hugging Face config.json instead of --model")
	fl.StringVar(&f.weights, "weights", "", "weight format: bf16, fp8, awq-int4, gptq-int4 or nvfp4")
	fl.StringVar(&f.kvDType, "kv-cache-dtype", "auto", "KV cache element type: auto, bfloat16, fp8, fp8_e4m3, fp8_e5m2")
	fl.Float64Var(&f.gpuMemoryUtilization, "gpu-memory-utilization", 0.9, "fraction of GPU memory the engine may use")
	fl.IntVar(&f.maxModelLen, "max-model-len", 0, "longest sequence in tokens (default: the model's maximum)")
	fl.StringVar(&f.cpuKVOffload, "cpu-kv-offload", "", "KV cache tier in CPU memory, e.g. 256GiB")
	fl.Float64Var(&f.tariff, "tariff", 0, "electricity price per kWh, to cost the power")
	fl.StringVar(&f.currency, "currency", "", "currency of --tariff, e.g. AUD")
	fl.BoolVar(&f.json, "json", false, "print the plan as JSON (the out/plan.json shape)")
	addInputFlags(cmd, &in)
	return cmd
}

func (e *env) planBlueprint(target string, in inputFlags, asJSON bool) error {
	inputs, err := in.inputs(e.environ)
	if err != nil {
		return err
	}
	if pipeline.IsFleet(e.fs, target) {
		return e.planFleet(target, inputs, asJSON)
	}
	p := pipeline.NewLoader(e.fs)
	planned, diags := pipeline.Plan(p, target, inputs)
	if err := e.printDiagnostics(diags, p.Files()); err != nil {
		return err
	}
	// The figures help most when something does not fit, so print them
	// before the diagnostics that refuse the plan.
	if err := e.printPlans(planned.Plans, asJSON); err != nil {
		return err
	}
	if !asJSON {
		e.printResilience(planned)
	}
	return e.printDiagnostics(planned.Refused, p.Files())
}

// planComparison plans an audition and its target side by side. Both
// blueprints are evaluated with the same -var settings.
func (e *env) planComparison(audition, target string, in inputFlags) error {
	inputs, err := in.inputs(e.environ)
	if err != nil {
		return err
	}
	var sides []capacity.Side
	var failed error
	for _, path := range []string{audition, target} {
		p := pipeline.NewLoader(e.fs)
		planned, diags := pipeline.Plan(p, path, inputs)
		if err := e.printDiagnostics(diags, p.Files()); err != nil {
			return err
		}
		if err := e.printDiagnostics(planned.Refused, p.Files()); err != nil {
			failed = err
		}
		sides = append(sides, capacity.Side{Label: path, Blueprint: planned.Blueprint, Plans: planned.Plans})
	}
	if err := capacity.WriteComparison(e.stdout, sides[0], sides[1]); err != nil {
		return err
	}
	return failed
}

// planOnlyFlags describe a plan without a blueprint.
var planOnlyFlags = []string{"hardware", "model", "model-config", "weights", "kv-cache-dtype", "gpu-memory-utilization", "max-model-len", "cpu-kv-offload", "tariff", "currency"}

// unwrapErr drops the operation and path an *fs.PathError repeats.
func unwrapErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (e *env) planFlags(f planFlags) error {
	if err := catalog.Check(); err != nil {
		// A bug in sovereign, reported as build reports its internal
		// errors (exit 1), not as a mistake in the flags.
		return &exitError{ExitInvalid, err}
	}
	hw, ok := catalog.LookupHardware(f.hardware)
	if !ok {
		return &exitError{ExitInvalid, fmt.Errorf("--hardware %q is not in the catalog (known: %s).%s", f.hardware, strings.Join(catalog.HardwareNames(), ", "), lang.Suggest(f.hardware, catalog.HardwareNames()))}
	}
	var model catalog.Model
	switch {
	case f.modelConfig != "":
		b, err := afero.ReadFile(e.fs, f.modelConfig)
		if err != nil {
			// The file named is an input like a blueprint: exit 1.
			return &exitError{ExitInvalid, fmt.Errorf("--model-config %s: %s", f.modelConfig, unwrapErr(err))}
		}
		if model, err = catalog.ParseHFConfig(f.modelConfig, b); err != nil {
			return &exitError{ExitInvalid, err}
		}
	default:
		if model, ok = catalog.LookupModel(f.model); !ok {
			return &exitError{ExitInvalid, fmt.Errorf("--model %q is not in the catalog (known: %s).%s Use --model-config config.json for others", f.model, strings.Join(catalog.ModelNames(), ", "), lang.Suggest(f.model, catalog.ModelNames()))}
		}
	}
	in := capacity.Input{
		Hardware: hw, Model: model, Weights: f.weights, KVCacheDType: f.kvDType,
		GPUMemoryUtilization: f.gpuMemoryUtilization, MaxModelLen: f.maxModelLen,
		TariffPerKWh: f.tariff, Currency: f.currency,
	}
	if f.cpuKVOffload != "" {
		n, err := lang.ParseSize(f.cpuKVOffload)
		if err != nil {
			return usageErrorf("--cpu-kv-offload: %v", err)
		}
		in.CPUKVOffloadBytes = n
	}
	p, err := capacity.Compute(in)
	if err != nil {
		return &exitError{ExitInvalid, err}
	}
	if err := e.printPlans([]capacity.EnginePlan{{Engine: "", Plan: p}}, f.json); err != nil {
		return err
	}
	if !p.Fits {
		return &exitError{ExitInvalid, fmt.Errorf("it does not fit: %s", p.Advice())}
	}
	return nil
}

func (e *env) printPlans(plans []capacity.EnginePlan, asJSON bool) error {
	if asJSON {
		b, err := capacity.JSON(plans)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(b)
		return err
	}
	for i, ep := range plans {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		if ep.Engine != "" {
			fmt.Fprintf(e.stdout, "Engine %q\n", ep.Engine)
		}
		if err := ep.Plan.WriteTable(e.stdout); err != nil {
			return err
		}
	}
	return nil
}
