package units

// Host conventions that more than one module relies on. They live here, in
// the package every module already imports, so that no module has to import
// another to agree on a name.
const (
	// CDIService generates the NVIDIA CDI spec at boot. Every GPU container
	// requires it: without the spec, AddDevice=nvidia.com/gpu=all fails.
	CDIService = "sovereign-nvidia-cdi.service"
	// CDISpec is where CDIService writes the spec. /var/run is cleared on
	// boot, so the spec always matches the driver that is loaded now.
	CDISpec = "/var/run/cdi/nvidia.yaml"
	// GPUDevice is the CDI name of every GPU on the host.
	GPUDevice = "nvidia.com/gpu=all"
	// ModelsMount is where the models folder appears inside engines.
	ModelsMount = "/models"
	// SecretsDir holds generated environment files with secrets (0600).
	SecretsDir = "/etc/sovereign/secrets"
	// DrainFlag, while it exists, makes the gateway answer new requests
	// with 503 and Retry-After while in-flight streams finish. The UPS
	// hooks raise it on battery; an operator may too. It lives in /run so
	// that a reboot always clears it.
	DrainFlag = "/run/sovereign/drain"
	// LinkFirewallService loads a fleet host's nftables table for the
	// private link. An engine listening on the link requires it, so its
	// port is never open before the firewall is.
	LinkFirewallService = "sovereign-link-firewall.service"
)

// ModelService is the oneshot that puts model NAME's weights in place and
// verifies them (fetching them on first boot, or checking a pre-staged
// folder). Every engine serving the model requires it, so an engine never
// starts on missing or corrupted weights.
func ModelService(name string) string { return "sovereign-model-" + name + ".service" }
