package decode

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // timezones are checked the same way on every build machine

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

var applianceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "hardware", Required: true},
		{Name: "hostname", Required: true},
		{Name: "timezone"},
		{Name: "cloud"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "admin", LabelNames: []string{"name"}},
		{Type: "storage"},
		{Type: "power"},
	},
}

var powerSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "tariff_per_kwh", Required: true},
		{Name: "currency"},
		{Name: "duty_cycle"},
	},
}

var adminSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "ssh_authorized_keys", Required: true},
		{Name: "groups"},
	},
}

var storageSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "models"},
		{Name: "state"},
		{Name: "device"},
		{Name: "filesystem"},
		{Name: "label"},
	},
}

// Defaults for where data lives. /var is the only writable place on Fedora
// CoreOS that survives updates and rollbacks.
const (
	DefaultStateDir  = "/var/lib/sovereign"
	DefaultModelsDir = "/var/lib/sovereign/models"
)

var (
	hostnameLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	userName      = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	sshKey        = regexp.MustCompile(`^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$`)
	// sshKeyType is how a public key line starts: such a line is public
	// and may be quoted back; any other line may be a secret (a file()
	// of the wrong file) and is not.
	sshKeyType = regexp.MustCompile(`^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)\s`)
)

func (e *evaluator) appliance(b *hcl.Block) (*spec.Appliance, hcl.Diagnostics) {
	content, diags := b.Body.Content(applianceSchema)
	a := e.Attrs(b, content, applianceSchema)
	app := &spec.Appliance{Name: b.Labels[0], DeclRange: b.DefRange}
	diags = append(diags, lang.CheckLabel("appliance", app.Name, b.LabelRanges[0])...)

	app.HardwareRange = a.Range("hardware", b.DefRange)
	if name := a.RequiredStr("hardware"); name != "" {
		hw, ok := catalog.LookupHardware(name)
		if !ok {
			a.Errorf("hardware", "Unknown hardware", "%q is not in the hardware catalog. Known hardware: %s.%s", name, lang.QuoteList(catalog.HardwareNames()), lang.Suggest(name, catalog.HardwareNames()))
		}
		app.Hardware = hw
	}

	app.Hostname = a.RequiredStr("hostname")
	if h := app.Hostname; h != "" && !validHostname(h) {
		a.Errorf("hostname", "Invalid hostname", "%q is not a valid hostname: use lowercase letters, digits and dashes, at most 63 characters per dot-separated label, not starting or ending with a dash.", h)
	}

	// The cloud the host is rented from, if any: its user-data limit
	// decides whether ignition.json fits or a pointer config is needed.
	app.Cloud = a.OneOf("cloud", "", "aws", "azure", "gcp")
	app.CloudRange = a.Range("cloud", b.DefRange)

	app.Timezone = a.Str("timezone", "UTC")
	if _, err := time.LoadLocation(app.Timezone); err != nil || app.Timezone == "Local" || app.Timezone == "" {
		a.Errorf("timezone", "Unknown timezone", "%q is not an IANA timezone name such as \"Australia/Sydney\" or \"UTC\".", app.Timezone)
	}

	admins := names{"admin", map[string]hcl.Range{}}
	var powerRange *hcl.Range
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "admin":
			adm, moreDiags := e.admin(blk)
			diags = append(diags, moreDiags...)
			if adm == nil {
				continue
			}
			if d := admins.taken(adm.Name, blk.LabelRanges[0], blk.LabelRanges[0]); d != nil {
				diags = append(diags, d)
				continue
			}
			app.Admins = append(app.Admins, adm)
		case "storage":
			if app.Storage.DeclRange != (hcl.Range{}) {
				diags = append(diags, lang.DuplicateDiag("storage block", "storage", blk.DefRange, app.Storage.DeclRange))
				continue
			}
			st, moreDiags := e.storage(blk)
			diags = append(diags, moreDiags...)
			app.Storage = st
		case "power":
			if powerRange != nil {
				diags = append(diags, lang.DuplicateDiag("power block", "power", blk.DefRange, *powerRange))
				continue
			}
			powerRange = blk.DefRange.Ptr()
			content, moreDiags := blk.Body.Content(powerSchema)
			diags = append(diags, moreDiags...)
			pc := e.Attrs(blk, content, powerSchema)
			app.Power = spec.Power{
				TariffPerKWh: pc.NonNegative("tariff_per_kwh"),
				Currency:     pc.Str("currency", ""),
				DutyCycle:    pc.Fraction("duty_cycle", 0),
			}
			diags = append(diags, pc.Diags...)
		}
	}
	if app.Storage.DeclRange == (hcl.Range{}) {
		app.Storage = spec.Storage{ModelsDir: DefaultModelsDir, StateDir: DefaultStateDir, DeclRange: b.DefRange}
	}
	if len(content.Blocks.OfType("admin")) == 0 { // an invalid admin block has its own error
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No admin",
			Detail:   `The appliance has no passwords, so at least one admin block with an SSH key is the only way to log in: admin "ops" { ssh_authorized_keys = [file("keys/ops.pub")] }.`,
			Subject:  b.DefRange.Ptr(),
		})
	}
	return app, append(diags, a.Diags...)
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if !hostnameLabel.MatchString(label) {
			return false
		}
	}
	return true
}

func (e *evaluator) admin(b *hcl.Block) (*spec.Admin, hcl.Diagnostics) {
	content, diags := b.Body.Content(adminSchema)
	name := b.Labels[0]
	switch {
	case !userName.MatchString(name):
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid user name",
			Detail:   fmt.Sprintf("%q is not a valid Linux user name: start with a lowercase letter or underscore, then up to 31 lowercase letters, digits, underscores or dashes.", name),
			Subject:  &b.LabelRanges[0],
		})
	case name == "root":
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Root cannot be an admin",
			Detail:   "Log in as a named admin and use sudo; SSH logins as root are refused on Fedora CoreOS.",
			Subject:  &b.LabelRanges[0],
		})
	}
	a := e.Attrs(b, content, adminSchema)
	adm := &spec.Admin{Name: name, DeclRange: b.DefRange}
	for _, entry := range a.Strings("ssh_authorized_keys") {
		if strings.Contains(entry, "PRIVATE KEY") { // once per key, and never quoting its lines
			a.Errorf("ssh_authorized_keys", "Private key instead of public key", "This is a private SSH key. Give the public key (the .pub file); a private key must never leave the admin's machine.")
			continue
		}
		// A file() of an authorized_keys file may hold several keys.
		var unknown []int // lines that do not even start like a key
		written := 0
		for i, line := range strings.Split(entry, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			written++
			switch {
			case sshKey.MatchString(line):
				adm.SSHAuthorizedKeys = append(adm.SSHAuthorizedKeys, line)
			case sshKeyType.MatchString(line):
				a.Errorf("ssh_authorized_keys", "Invalid SSH public key", "%q is not an OpenSSH public key (\"ssh-ed25519 AAAA… comment\").", abbreviate(line, 40))
			default:
				unknown = append(unknown, i+1)
			}
		}
		if len(unknown) > 0 {
			// Reported once, without quoting: a file() of the wrong file
			// (a token, /etc/shadow) must not end up in a build log.
			what := fmt.Sprintf("Line %d of this value is not an OpenSSH public key", unknown[0])
			switch {
			case written == 1:
				what = "This is not an OpenSSH public key"
			case len(unknown) == written:
				what = fmt.Sprintf("None of its %d lines is an OpenSSH public key", written)
			case len(unknown) > 1:
				what = fmt.Sprintf("%d of its %d lines (the first is line %d) are not OpenSSH public keys", len(unknown), written, unknown[0])
			}
			a.Errorf("ssh_authorized_keys", "Invalid SSH public key", "%s. A public key line starts with its type: \"ssh-ed25519 AAAA… comment\", as in the .pub file. The content is not shown: a file that is not a public key may hold secrets.", what)
		}
	}
	if len(adm.SSHAuthorizedKeys) == 0 && !a.Diags.HasErrors() && !diags.HasErrors() {
		a.Errorf("ssh_authorized_keys", "No SSH key", "The admin %q has no SSH public key, so could never log in.", name)
	}
	// On Fedora CoreOS, "sudo" grants passwordless sudo (the admins have no
	// password) and "wheel" is the usual admin group for polkit.
	adm.Groups = []string{"sudo", "wheel"}
	if a.Has("groups") {
		adm.Groups = a.Strings("groups")
		for _, g := range adm.Groups {
			if !userName.MatchString(g) {
				a.Errorf("groups", "Invalid group name", "%q is not a valid group name.", g)
			}
		}
	}
	return adm, append(diags, a.Diags...)
}

func (e *evaluator) storage(b *hcl.Block) (spec.Storage, hcl.Diagnostics) {
	content, diags := b.Body.Content(storageSchema)
	a := e.Attrs(b, content, storageSchema)
	st := spec.Storage{
		StateDir:   a.Str("state", DefaultStateDir),
		Device:     a.Str("device", ""),
		Filesystem: a.OneOf("filesystem", "xfs", "xfs", "ext4"),
		Label:      a.Str("label", "sovereign"),
		DeclRange:  b.DefRange,
	}
	st.ModelsDir = a.Str("models", path.Join(st.StateDir, "models"))
	for _, f := range []struct{ name, dir string }{{"state", st.StateDir}, {"models", st.ModelsDir}} {
		// An unset models folder follows state: a bad state is reported once.
		if a.Has(f.name) && (!path.IsAbs(f.dir) || path.Clean(f.dir) != f.dir || !strings.HasPrefix(f.dir, "/var/")) {
			a.Errorf(f.name, "Invalid data folder", "%q must be a clean absolute path under /var/: the rest of a Fedora CoreOS host is read-only or replaced by updates.", f.dir)
		}
	}
	if st.Device != "" && !strings.HasPrefix(st.Device, "/dev/") {
		a.Errorf("device", "Invalid device", "%q must be a block device path such as /dev/disk/by-id/nvme-…; by-id paths survive reordering of disks.", st.Device)
	}
	if len(st.Label) > 12 || !hostnameLabel.MatchString(st.Label) {
		a.Errorf("label", "Invalid filesystem label", "%q must be at most 12 lowercase letters, digits and dashes (the xfs limit).", st.Label)
	}
	return st, append(diags, a.Diags...)
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
