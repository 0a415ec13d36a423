# The wan and ups blocks with the timings the end-to-end tests run for real
# (tests/ups_test.go, tests/wan_test.go): two static ethernet uplinks in
# RFC 5737 documentation ranges (the WAN test builds them in network
# namespaces) and a UPS whose on-battery timeline takes seconds, not minutes.

variable "engine_port" {
  description = "Where the UPS test's fake engine listens."
  type        = number
  default     = 8000
}

appliance "lab" {
  hardware = "h100-80gb-sxm"
  hostname = "resilience"

  admin "ops" {
    ssh_authorized_keys = [file("keys/ops.pub")]
  }
}

model "qwen3-30b" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}

engine "vllm" "main" {
  model = model.qwen3-30b
  image = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  port  = var.engine_port
}

wan {
  # One target and a 1 s probe period: 3 failed rounds + 1 s timeout + 1 s
  # to move the route.
  failover_time = "6s"

  uplink "primary" {
    interface = "wan1"
    priority  = 1
    address   = "203.0.113.2/30"
    gateway   = "203.0.113.1"
    dns       = ["192.0.2.53"]
  }

  uplink "backup" {
    interface = "wan2"
    priority  = 2
    address   = "203.0.113.6/30"
    gateway   = "203.0.113.5"
  }

  check {
    uri      = "http://192.0.2.80/ok"
    response = "ok"
    targets  = ["198.51.100.100"]
  }
}

ups "lab" {
  description = "Simulated in tests"
  watts       = 1000
  runtime     = "5m"
  password    = secret_env("SOVEREIGN_TEST_UPS_PASSWORD")

  on_battery {
    drain_after         = "2s"
    stop_engines_within = "6s"
    shutdown_after      = "15s"
    os_shutdown         = "30s"
  }
}
