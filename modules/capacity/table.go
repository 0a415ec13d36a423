package capacity

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// WriteTable prints the plan for people: the memory
// split, tokens and sessions, the decode ceiling and power in human units,
// then the warnings and every assumption. It prints a plan made by Compute;
// a Plan read back from JSON lacks the details it needs.
func (p *Plan) WriteTable(w io.Writer) error {
	d := p.details
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }

	fits := "fits"
	if !p.Fits {
		fits = "DOES NOT FIT"
	}
	row("%s on %s (linux/%s): %s", p.Model.Name, p.Hardware.Name, p.Hardware.Arch, fits)
	row("")
	row("GPU memory\t%s\t%d × %s × %g utilization, %s", humanBytes(d.usableBytes), d.gpus, humanBytes(p.Hardware.GPUMemoryBytes), d.utilization, humanRate(d.bandwidth))
	row("Weights\t%s\t%s, %s params (%s active)", humanBytes(p.WeightsBytes), d.weights.name, humanParams(p.Model.ParamsTotal), humanParams(p.Model.ParamsActive))
	row("Activation reserve\t%s\tfor activations, CUDA graphs and buffers beside the weights", humanBytes(d.reserveBytes))
	row("KV cache\t%s\t%s tokens at %s B/token (%s)", humanBytes(p.KVBudgetBytes), humanCount(p.KVTokens), humanCount(p.Model.KVBytesPerToken), d.kv.Name)
	if d.cpuKVOffloadBytes > 0 {
		row("CPU KV tier\t%s\t%s tokens", humanBytes(d.cpuKVOffloadBytes), humanCount(p.CPUKVTokens))
	}
	row("Decode ceiling\t%.0f tokens/s\t%s ÷ %s of active weights per token", p.DecodeTokensPerSCeiling, humanRate(d.bandwidth), humanBytes(int64(d.decodeBytesPerToken)))
	power := fmt.Sprintf("%s kWh/month", humanCount(int64(p.Power.KWhPerMonth+0.5)))
	if p.Power.CostPerMonth != nil {
		power += fmt.Sprintf(", %s a month at %g/kWh", money(*p.Power.CostPerMonth, d.currency), d.tariff)
	}
	row("Power\t%g W\t%s", p.Power.Watts, power)
	if m := p.Monitoring; m != nil {
		row("Monitoring\t%s, %g cores\tat most, beside the engines; Prometheus keeps ~%s of disk (%s series)",
			humanBytes(m.MemoryBytes), m.CPUCores, humanBytes(m.DiskBytes), humanCount(int64(m.Series)))
	}
	row("")
	row("Context\tSessions")
	for _, c := range p.Sessions {
		switch {
		case c.ContextTokens == p.MaxModelLen:
			row("%s\t%d (max_model_len)", humanCount(int64(c.ContextTokens)), c.Sessions)
		case c.ContextTokens > p.MaxModelLen:
			// The KV cache could hold it, but the engine refuses a request
			// longer than max_model_len.
			row("%s\t- (above max_model_len: the engine refuses it)", humanCount(int64(c.ContextTokens)))
		default:
			row("%s\t%d", humanCount(int64(c.ContextTokens)), c.Sessions)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := p.writeThroughput(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nEngine tuning\n%s%s",
		tuned("max_num_seqs", p.Tuning.MaxNumSeqs, p.Tuning.MaxNumSeqsSource, p.Tuning.maxNumSeqsWhy),
		tuned("max_num_batched_tokens", p.Tuning.MaxNumBatchedTokens, p.Tuning.MaxNumBatchedTokensSource, p.Tuning.batchedTokensWhy))

	if len(p.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		for _, warning := range p.Warnings {
			fmt.Fprintf(w, "  - %s\n", warning)
		}
	}
	fmt.Fprintln(w, "\nAssumptions:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, a := range p.Assumptions {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", a.Name, a.Value, a.Why)
	}
	return tw.Flush()
}

// writeThroughput prints the throughput table: per scenario the estimate
// and what each decode step reads.
func (p *Plan) writeThroughput(w io.Writer) error {
	t := p.Throughput
	fmt.Fprintf(w, "\nThroughput at %s tokens of context (estimates: %s achievable of the %s datasheet bandwidth)\n",
		humanCount(int64(t.ContextTokens)), humanRate(t.BandwidthBytesPerS), humanRate(t.BandwidthDatasheetBytesPerS))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "Scenario\tPer person\tTotal\tRead per decode step")
	for _, d := range t.Decode {
		name := "1 stream"
		if d.Users > 1 {
			name = fmt.Sprintf("%d people", d.Users)
		}
		read := fmt.Sprintf("%s weights + %s KV", humanBytes(d.WeightBytesPerStep), humanBytes(d.KVBytesPerStep))
		if !d.Fits {
			read += fmt.Sprintf(" (the KV cache holds fewer than %d such sessions)", d.Users)
		}
		fmt.Fprintf(tw, "%s\t%s tokens/s\t%s tokens/s\t%s\n", name, humanCount(int64(math.Round(d.TokensPerSPerUser))), humanCount(int64(math.Round(d.TokensPerSTotal))), read)
	}
	if t.PrefillTokensPerS > 0 {
		fmt.Fprintf(tw, "Prefill\t\t%s tokens/s\tcompute bound: %s %s ÷ %.1f GFLOP per token\n",
			humanCount(int64(t.PrefillTokensPerS)), humanFLOPS(t.PrefillFLOPS), t.PrefillPrecision, t.PrefillFLOPPerToken/1e9)
	} else {
		fmt.Fprintf(tw, "Prefill\t\tunknown\tno %s compute figure for this GPU\n", t.PrefillPrecision)
	}
	return tw.Flush()
}

// tuned is one line of the engine tuning: the value the engine gets and
// why, or why the engine picks its own.
func tuned(name string, n int, source, why string) string {
	if source == TuningEngine {
		return fmt.Sprintf("  %s left to the engine: %s\n", name, why)
	}
	return fmt.Sprintf("  %s %d (%s): %s\n", name, n, source, why)
}
