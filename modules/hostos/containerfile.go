package hostos

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

//go:embed install.sh
var installScript []byte

//go:embed check-nvidia.sh
var checkScript []byte

// The files of out/os/: the build context of the host OS image.
const (
	ContainerfileName = "Containerfile"
	InstallScript     = "install.sh"
	CheckScript       = "check-nvidia.sh"
	KargsFile         = "kargs.toml"
	// InfoFile is the image's provenance as JSON: what the lock file's OS
	// entry records once the image is built.
	InfoFile = "os.json"
)

// Where the scripts live inside the image; the check stays there so that it
// can be run again on the host (`/usr/libexec/sovereign-os/check-nvidia.sh`).
const (
	ScriptDir = "/usr/libexec/sovereign-os"
	KargsPath = "/usr/lib/bootc/kargs.d/90-sovereign.toml"
)

// Labels of the built image, so that `skopeo inspect` tells what it is.
const (
	LabelBaseName = "org.opencontainers.image.base.name"
	LabelDriver   = "org.sovereign-collective.os.nvidia-driver"
	LabelPackages = "org.sovereign-collective.os.packages"
)

// File is one file of the build context.
type File struct {
	Name     string
	Mode     int
	Contents []byte
}

// Render returns the build context of img: the Containerfile and what it
// copies, then the provenance. Same image, same bytes.
func Render(img *Image) ([]File, error) {
	info, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return nil, err
	}
	files := []File{
		{Name: ContainerfileName, Mode: 0o644, Contents: containerfile(img)},
		{Name: InstallScript, Mode: 0o755, Contents: installScript},
		{Name: InfoFile, Mode: 0o644, Contents: append(info, '\n')},
	}
	if img.Driver != "" {
		files = append(files, File{Name: CheckScript, Mode: 0o755, Contents: checkScript})
	}
	if len(img.KernelArgs) > 0 {
		files = append(files, File{Name: KargsFile, Mode: 0o644, Contents: kargs(img.KernelArgs)})
	}
	return files, nil
}

func containerfile(img *Image) []byte {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# The host OS image of appliance %q (%s, %s), written by sovereign build.", img.Appliance, img.Hardware, img.Platform)
	line("# Build it, push it and pin it in the lock file with:")
	line("#   sovereign os build BLUEPRINT --push REGISTRY/REPOSITORY:TAG")
	line("# Base: %s:%s, pinned by digest.", repoOf(img.Base), img.BaseTag)
	line("FROM %s", img.Base)
	line("")
	copies := []string{InstallScript}
	if img.Driver != "" {
		copies = append(copies, CheckScript)
	}
	line("COPY %s %s/", strings.Join(copies, " "), ScriptDir)
	if len(img.KernelArgs) > 0 {
		line("COPY %s %s", KargsFile, KargsPath)
	}
	line("")
	line("# The base's own package tool installs every package; the reason for each:")
	for _, p := range img.Packages {
		line("#   %s: %s", p.Name, p.Why)
	}
	driver, flavour, k64 := orDash(img.Driver), orDash(img.DriverFlavour), orDash(img.Kernel64K)
	if flavour == "lts" {
		flavour = "proprietary"
	}
	args := []string{ScriptDir + "/" + InstallScript, img.Family, img.NVIDIARepo, k64, driver, flavour}
	args = append(args, img.PackageNames()...)
	line("RUN %s", shellWords(args))
	if img.Driver != "" {
		line("")
		line("# Fail the build unless the module is the %s flavour and matches the userspace driver.", flavour)
		line("RUN %s/%s %s %s", ScriptDir, CheckScript, flavour, img.Driver)
		line("")
		line("# The toolkit rewrites /var/run/cdi/nvidia.yaml whenever the driver changes.")
		line("RUN systemctl enable nvidia-cdi-refresh.path nvidia-cdi-refresh.service")
	}
	line("")
	line("LABEL %s=%s \\", LabelBaseName, strconv.Quote(repoOf(img.Base)+":"+img.BaseTag))
	line("      %s=%s \\", LabelDriver, strconv.Quote(strings.TrimSpace(img.Driver+" "+img.DriverFlavour)))
	line("      %s=%s", LabelPackages, strconv.Quote(strings.Join(img.PackageNames(), " ")))
	line("")
	line("RUN bootc container lint")
	return []byte(b.String())
}

// kargs is bootc's kargs.d format: a TOML list of kernel arguments.
func kargs(args []string) []byte {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return []byte("# Kernel arguments of the appliance's os block.\nkargs = [" + strings.Join(q, ", ") + "]\n")
}

// shellWords joins words for a RUN step's shell. The blueprint's checks
// already limit package names to characters no shell reads as syntax; any
// other word is single-quoted all the same.
func shellWords(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if !plainWord.MatchString(w) {
			w = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		out[i] = w
	}
	return strings.Join(out, " ")
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9._+/=:,-]+$`)

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func repoOf(ref string) string {
	r, _, _ := strings.Cut(ref, "@")
	return r
}
