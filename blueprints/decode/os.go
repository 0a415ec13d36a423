package decode

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

var osSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "base", Required: true},
		{Name: "nvidia_driver"},
		{Name: "driver_flavour"},
		{Name: "packages"},
		{Name: "kernel_arguments"},
	},
}

var (
	// driverVersion is a branch ("580") or a release ("580.126.20",
	// "580.95"), as NVIDIA numbers them.
	driverVersion = regexp.MustCompile(`^[1-9][0-9]{2}(\.[0-9]{1,3}){0,2}$`)
	// packageName is what RPM allows in a name, nothing a shell would read
	// as syntax: names reach the package tool inside a RUN step.
	packageName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)
	// kernelArgument is one key or key=value of the kernel command line.
	kernelArgument = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(=[A-Za-z0-9_.,:/+-]+)?$`)
)

// os decodes the os block: the host OS image. Every rule that depends on the
// machine reads the hardware catalog, so a new GPU brings its own rules.
func (e *evaluator) os(blocks []*hcl.Block, app *spec.Appliance) (*spec.OS, hcl.Diagnostics) {
	if len(blocks) == 0 {
		return nil, nil
	}
	var diags hcl.Diagnostics
	for _, extra := range blocks[1:] {
		diags = append(diags, lang.DuplicateDiag("os block", "os", extra.DefRange, blocks[0].DefRange))
	}
	b := blocks[0]
	content, moreDiags := b.Body.Content(osSchema)
	diags = append(diags, moreDiags...)
	a := e.Attrs(b, content, osSchema)
	o := &spec.OS{
		Base:                 spec.Image{Ref: a.RequiredStr("base"), Range: a.Range("base", b.DefRange)},
		KernelArguments:      a.Strings("kernel_arguments"),
		DeclRange:            b.DefRange,
		KernelArgumentsRange: a.Range("kernel_arguments", b.DefRange),
		Driver: spec.NVIDIADriver{
			Version:      a.Str("nvidia_driver", ""),
			Flavour:      a.OneOf("driver_flavour", spec.FlavourOpen, spec.FlavourOpen, spec.FlavourProprietary, spec.FlavourLTS),
			VersionRange: a.Range("nvidia_driver", b.DefRange),
			FlavourRange: a.Range("driver_flavour", b.DefRange),
		},
	}
	o.Packages = osPackages(a, "packages", b.DefRange)
	for _, arg := range o.KernelArguments {
		if !kernelArgument.MatchString(arg) {
			a.Errorf("kernel_arguments", "Invalid kernel argument", "%q is not a kernel argument such as \"nvidia-drm.modeset=1\": one KEY or KEY=VALUE of letters, digits and _ . - (the value may also hold , : / +), with no spaces or quotes.", arg)
		}
	}
	var hw catalog.Hardware
	if app != nil {
		hw = app.Hardware
	}
	checkDriver(a, &o.Driver, hw, b)
	if base, ok := catalog.LookupOSBase(o.Base.Ref); ok {
		if hw.Arch == "arm64" && hw.PageSizeBytes > base.Arm64PageSize && base.Kernel64K == "" {
			a.Diags = append(a.Diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "4 KB pages on a 64 KB machine",
				Detail: fmt.Sprintf("%s configures its Linux with %d KB pages and does not support 4 KB kernels yet, but %s's aarch64 kernel has %d KB pages. The 64 KB alternative is base = \"quay.io/centos-bootc/centos-bootc:stream10\": the Containerfile sovereign renders for it replaces the kernel with CentOS Stream's kernel-64k (built by `sovereign os build`; not yet booted on this machine). That base runs no Ignition, so the host is installed from the built image (bootc install) rather than with ignition.json.",
					hw.Name, hw.PageSizeBytes/1024, base.Repository, base.Arm64PageSize/1024),
				Subject: o.Base.Range.Ptr(),
			})
		}
	} else if o.Base.Ref != "" {
		a.Errorf("base", "Unknown OS base", "%q is not a base sovereign can build the OS image on: the Containerfile must know its package tool and NVIDIA repository. Known bases: %s.", catalog.Repository(o.Base.Ref), lang.QuoteList(catalog.OSBaseRepositories()))
	}
	return o, append(diags, a.Diags...)
}

// checkDriver checks the NVIDIA driver against what the machine's GPU needs.
func checkDriver(a *lang.Attrs, d *spec.NVIDIADriver, hw catalog.Hardware, b *hcl.Block) {
	if d.Version == "" {
		if hw.GPUs > 0 && !a.Has("nvidia_driver") {
			a.Required("nvidia_driver", b, fmt.Sprintf(": %s has NVIDIA GPUs, so the OS image needs their driver, a branch (\"580\") or an exact release (\"580.126.20\")", hw.Name))
		}
		return
	}
	if !driverVersion.MatchString(d.Version) {
		a.Errorf("nvidia_driver", "Invalid driver version", "%q is not an NVIDIA driver branch such as \"580\" or a release such as \"580.126.20\".", d.Version)
		return
	}
	major, _, _ := strings.Cut(d.Version, ".")
	d.Branch, _ = strconv.Atoi(major)
	gpu := hw.GPUArchitecture
	if gpu == "" {
		gpu = "this"
	} else {
		gpu = strings.ToUpper(gpu[:1]) + gpu[1:]
	}
	if hw.OpenKernelModulesOnly && d.Flavour != spec.FlavourOpen {
		what := "proprietary kernel modules"
		if d.Flavour == spec.FlavourLTS {
			what = "lts flavour (the proprietary kernel modules of a long-term branch)"
		}
		a.Errorf("driver_flavour", "GPU needs the open kernel modules",
			"%s has a %s GPU, which NVIDIA's %s cannot initialise (on a GB10 the driver fails with \"RmInitAdapter failed\"): NVIDIA supports Grace Hopper and Blackwell with the open kernel modules only. Set driver_flavour = \"open\".", hw.Name, gpu, what)
	}
	if hw.MinDriverBranch > 0 && d.Branch < hw.MinDriverBranch {
		a.Errorf("nvidia_driver", "Driver too old for this GPU",
			"%s is supported from NVIDIA driver branch %d on; branch %d does not drive its %s GPU. Use nvidia_driver = \"%d\" or a newer release.", hw.Name, hw.MinDriverBranch, d.Branch, gpu, hw.MinDriverBranch)
	}
}

// osPackages reads a list of package names, each checked where it is written
// when the list is a literal (its own range), at the attribute otherwise.
func osPackages(a *lang.Attrs, name string, def hcl.Range) []spec.Package {
	at, ok := a.All[name]
	if !ok {
		return nil
	}
	elems, diags := hcl.ExprList(at.Expr)
	if diags.HasErrors() {
		var out []spec.Package
		for _, n := range a.Strings(name) {
			out = append(out, osPackage(a, n, at.Expr.Range()))
		}
		return out
	}
	var out []spec.Package
	for _, el := range elems {
		v, d := el.Value(a.Evaluator.Ctx)
		a.Diags = append(a.Diags, d...)
		if d.HasErrors() {
			continue
		}
		if v.IsNull() || !v.IsKnown() || !v.Type().Equals(cty.String) {
			a.Diags = append(a.Diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid package", Detail: "Each package is a name as a string, such as \"tmux\".", Subject: el.Range().Ptr()})
			continue
		}
		out = append(out, osPackage(a, v.AsString(), el.Range()))
	}
	return out
}

func osPackage(a *lang.Attrs, n string, at hcl.Range) spec.Package {
	if !packageName.MatchString(n) {
		bad := ""
		for _, r := range n {
			if !(r == '.' || r == '_' || r == '+' || r == '-' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
				bad = string(r)
				break
			}
		}
		detail := fmt.Sprintf("%q is not a package name: names are letters, digits and . _ + - (starting with a letter or digit), as the package tool spells them.", n)
		if bad != "" {
			detail = fmt.Sprintf("%q is not a package name: it contains %q, which the shell that runs the package tool would read as syntax. Names are letters, digits and . _ + -.", n, bad)
		}
		a.Diags = append(a.Diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid package name", Detail: detail, Subject: at.Ptr()})
	}
	return spec.Package{Name: n, Range: at}
}
