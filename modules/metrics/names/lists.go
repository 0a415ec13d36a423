package names

import "github.com/sovereign-collective/sovereign/modules/usage"

// vLLM's Prometheus metrics are registered in vllm/v1/metrics/loggers.py
// (PrometheusStatLogger) of each release. Between v0.11 and v0.14 the
// GPU-prefixed cache names (deprecated since v0.9, removed by
// vllm-project/vllm#29330) and vllm:time_per_output_token_seconds
// (deprecated in v0.11 for vllm:inter_token_latency_seconds) went away.
var vllmCommon = []Family{
	{Name: "vllm:num_requests_running", Type: Gauge},
	{Name: "vllm:num_requests_waiting", Type: Gauge},
	{Name: "vllm:kv_cache_usage_perc", Type: Gauge},
	{Name: "vllm:cache_config_info", Type: Gauge},
	{Name: "vllm:lora_requests_info", Type: Gauge},
	{Name: "vllm:prefix_cache_queries_total", Type: Counter},
	{Name: "vllm:prefix_cache_hits_total", Type: Counter},
	{Name: "vllm:num_preemptions_total", Type: Counter},
	{Name: "vllm:prompt_tokens_total", Type: Counter},
	{Name: "vllm:generation_tokens_total", Type: Counter},
	{Name: "vllm:request_success_total", Type: Counter},
	{Name: "vllm:spec_decode_num_draft_tokens_total", Type: Counter},
	{Name: "vllm:spec_decode_num_accepted_tokens_total", Type: Counter},
	{Name: "vllm:request_prompt_tokens", Type: Histogram},
	{Name: "vllm:request_generation_tokens", Type: Histogram},
	{Name: "vllm:iteration_tokens_total", Type: Histogram},
	{Name: "vllm:request_max_num_generation_tokens", Type: Histogram},
	{Name: "vllm:request_params_n", Type: Histogram},
	{Name: "vllm:request_params_max_tokens", Type: Histogram},
	{Name: "vllm:time_to_first_token_seconds", Type: Histogram},
	{Name: "vllm:inter_token_latency_seconds", Type: Histogram},
	{Name: "vllm:request_time_per_output_token_seconds", Type: Histogram},
	{Name: "vllm:e2e_request_latency_seconds", Type: Histogram},
	{Name: "vllm:request_queue_time_seconds", Type: Histogram},
	{Name: "vllm:request_inference_time_seconds", Type: Histogram},
	{Name: "vllm:request_prefill_time_seconds", Type: Histogram},
	{Name: "vllm:request_decode_time_seconds", Type: Histogram},
}

var vllmV0110 = &List{
	Name:   "vLLM v0.11.0",
	Source: "vllm-project/vllm v0.11.0, vllm/v1/metrics/loggers.py",
	Families: append([]Family{
		{Name: "vllm:gpu_cache_usage_perc", Type: Gauge, Deprecated: true, ReplacedBy: "vllm:kv_cache_usage_perc"},
		{Name: "vllm:gpu_prefix_cache_queries_total", Type: Counter, Deprecated: true, ReplacedBy: "vllm:prefix_cache_queries_total"},
		{Name: "vllm:gpu_prefix_cache_hits_total", Type: Counter, Deprecated: true, ReplacedBy: "vllm:prefix_cache_hits_total"},
		{Name: "vllm:time_per_output_token_seconds", Type: Histogram, Deprecated: true, ReplacedBy: "vllm:inter_token_latency_seconds"},
	}, vllmCommon...),
}

var vllmV0140 = &List{
	Name:     "vLLM v0.14.0",
	Source:   "vllm-project/vllm v0.14.0, vllm/v1/metrics/loggers.py",
	Families: vllmCommon,
}

// SGLang exports these only when started with --enable-metrics
// (python/sglang/srt/metrics/collector.py).
var sglangV059 = &List{
	Name:   "SGLang v0.5.9",
	Source: "sgl-project/sglang v0.5.9, python/sglang/srt/metrics/collector.py",
	Families: []Family{
		{Name: "sglang:num_running_reqs", Type: Gauge},
		{Name: "sglang:num_queue_reqs", Type: Gauge},
		{Name: "sglang:token_usage", Type: Gauge},
		{Name: "sglang:gen_throughput", Type: Gauge},
		{Name: "sglang:cache_hit_rate", Type: Gauge},
		{Name: "sglang:prompt_tokens_total", Type: Counter},
		{Name: "sglang:generation_tokens_total", Type: Counter},
		{Name: "sglang:num_requests_total", Type: Counter},
		{Name: "sglang:time_to_first_token_seconds", Type: Histogram},
		{Name: "sglang:inter_token_latency_seconds", Type: Histogram},
		{Name: "sglang:e2e_request_latency_seconds", Type: Histogram},
	},
}

// Prometheus is what Prometheus records about every scrape and every
// alerting rule, whatever the target.
var Prometheus = &List{
	Name:   "Prometheus",
	Source: "Prometheus documentation: jobs and instances (automatically generated labels and time series), alerting rules (inspecting alerts during runtime)",
	Families: []Family{
		{Name: "up", Type: Gauge},
		{Name: "scrape_duration_seconds", Type: Gauge},
		{Name: "scrape_samples_scraped", Type: Gauge},
		{Name: "ALERTS", Type: Gauge},
		{Name: "ALERTS_FOR_STATE", Type: Gauge},
	},
}

// NodeExporter is the part of node_exporter's default collectors (plus the
// network_route collector the module turns on) that the dashboards and
// rules use.
var NodeExporter = &List{
	Name:   "node_exporter",
	Source: "prometheus/node_exporter collector/*_linux.go (cpu, meminfo, filesystem, loadavg, netdev, network_route, stat)",
	Families: []Family{
		{Name: "node_cpu_seconds_total", Type: Counter},
		{Name: "node_load1", Type: Gauge},
		{Name: "node_load5", Type: Gauge},
		{Name: "node_load15", Type: Gauge},
		{Name: "node_memory_MemTotal_bytes", Type: Gauge},
		{Name: "node_memory_MemAvailable_bytes", Type: Gauge},
		{Name: "node_filesystem_size_bytes", Type: Gauge},
		{Name: "node_filesystem_avail_bytes", Type: Gauge},
		{Name: "node_filesystem_readonly", Type: Gauge},
		{Name: "node_network_receive_bytes_total", Type: Counter},
		{Name: "node_network_transmit_bytes_total", Type: Counter},
		{Name: "node_network_route_info", Type: Gauge},
		{Name: "node_network_routes", Type: Gauge},
		{Name: "node_boot_time_seconds", Type: Gauge},
	},
}

// DCGMExporter is dcgm-exporter's default counter set
// (etc/default-counters.csv) as far as the dashboards use it.
var DCGMExporter = &List{
	Name:   "dcgm-exporter",
	Source: "NVIDIA/dcgm-exporter etc/default-counters.csv",
	Families: []Family{
		{Name: "DCGM_FI_DEV_GPU_TEMP", Type: Gauge},
		{Name: "DCGM_FI_DEV_MEMORY_TEMP", Type: Gauge},
		{Name: "DCGM_FI_DEV_POWER_USAGE", Type: Gauge},
		{Name: "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", Type: Counter},
		{Name: "DCGM_FI_DEV_GPU_UTIL", Type: Gauge},
		{Name: "DCGM_FI_DEV_FB_USED", Type: Gauge},
		{Name: "DCGM_FI_DEV_FB_FREE", Type: Gauge},
		{Name: "DCGM_FI_DEV_XID_ERRORS", Type: Gauge},
		{Name: "DCGM_FI_PROF_GR_ENGINE_ACTIVE", Type: Gauge},
	},
}

// NUTExporter is DRuggeri/nut_exporter's view of the UPS: each enabled NUT
// variable as network_ups_tools_VARIABLE (dots become underscores) and
// ups.status as one series per status flag.
var NUTExporter = &List{
	Name:   "nut_exporter",
	Source: "DRuggeri/nut_exporter README (metrics, --nut.vars_enable)",
	Families: []Family{
		{Name: "network_ups_tools_ups_status", Type: Gauge},
		{Name: "network_ups_tools_battery_charge", Type: Gauge},
		{Name: "network_ups_tools_battery_runtime", Type: Gauge},
		{Name: "network_ups_tools_ups_load", Type: Gauge},
		{Name: "network_ups_tools_input_voltage", Type: Gauge},
	},
}

// BlackboxExporter is what one ICMP probe of blackbox_exporter reports.
var BlackboxExporter = &List{
	Name:   "blackbox_exporter",
	Source: "prometheus/blackbox_exporter prober/icmp.go, prober/handler.go",
	Families: []Family{
		{Name: "probe_success", Type: Gauge},
		{Name: "probe_duration_seconds", Type: Gauge},
		{Name: "probe_icmp_duration_seconds", Type: Gauge},
	},
}

// Usage is what mtail exports from the gateway's usage log: each member's
// tokens and answers, by model, counted by the program sovereign writes.
var Usage = &List{
	Name:   "usage (mtail)",
	Source: "sovereign's own mtail program (modules/usage)",
	Families: []Family{
		{Name: usage.PromptTokens, Type: Counter},
		{Name: usage.CompletionTokens, Type: Counter},
		{Name: usage.Requests, Type: Counter},
	},
}
