# The metrics block as the end-to-end test runs it (tests/metrics_test.go):
# a one-second scrape so that a rule fires within seconds, the engine and
# the alert webhook on ports the test picks.

variable "engine_port" {
  description = "Where the test's fake vLLM engine listens."
  type        = number
  default     = 8000
}

variable "webhook" {
  description = "The test's alert sink."
  type        = string
  default     = "http://127.0.0.1:9099/alerts"
}

appliance "lab" {
  hardware = "h100-80gb-sxm"
  hostname = "metrics"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

model "qwen3-30b" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}

engine "vllm" "main" {
  model             = model.qwen3-30b
  served_model_name = "coop"
  image             = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  port              = var.engine_port
}

metrics {
  scrape_interval = "1s"

  receiver "ops" {
    webhook = var.webhook
  }

  rule "EngineBusy" {
    expr     = "vllm:num_requests_waiting > 3"
    for      = "1s"
    severity = "critical"
    summary  = "Requests are waiting on the engine."
  }
}
