package units

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/units/output"
)

// Where units live on the appliance (package output's contract).
const (
	SystemdDir = output.SystemdDir
	QuadletDir = output.QuadletDir
)

// Unit is a systemd unit or Podman Quadlet file, kept as ordered sections
// until rendering so that modules build it from values, not text.
type Unit struct {
	// Name is the file name: "sovereign-nvidia-cdi.service", "vllm-main.container".
	Name string
	// Comment lines are written at the top of the file, each after "# ".
	Comment  []string
	Sections []*Section
	// Image is the image a .container runs. Its Image= line is rendered
	// from Image.Pinned, first in the [Container] section.
	Image *Image
	// Enabled plain units are enabled at first boot through a preset.
	// Quadlets are enabled by their [Install] section instead.
	Enabled bool
	// Requires are the units this one requires and starts after, as
	// Require added them; later phases (the update's health gate) read
	// them here, never from the rendered file.
	Requires []string
	// StartTimeout is what SetStartTimeout set TimeoutStartSec= to; 0 when
	// unset (systemd's default), NoStartTimeout for none.
	StartTimeout time.Duration
	Origin       hcl.Range
}

// NoStartTimeout is a start that may take forever: TimeoutStartSec=infinity.
const NoStartTimeout time.Duration = math.MaxInt64

// Require makes u require name and start after it (Requires= and After=).
func (u *Unit) Require(name string) *Unit {
	u.Requires = append(u.Requires, name)
	u.Set("Unit", "Requires", name)
	return u.Set("Unit", "After", name)
}

// SetStartTimeout sets how long the unit's start may take (TimeoutStartSec=).
func (u *Unit) SetStartTimeout(d time.Duration) *Unit {
	u.StartTimeout = d
	return u.Set("Service", "TimeoutStartSec", Timespan(d))
}

// Timespan spells d as systemd reads a time span: in whole days or hours
// when it is some, else in seconds; "infinity" for NoStartTimeout.
func Timespan(d time.Duration) string {
	day := 24 * time.Hour
	switch {
	case d == NoStartTimeout:
		return "infinity"
	case d%day == 0 && d > 0:
		return fmt.Sprintf("%dd", d/day)
	case d%time.Hour == 0 && d > 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// ServiceName is the systemd service unit u becomes.
func (u *Unit) ServiceName() string { return ServiceOf(u.Name) }

// ContainerName is the name of the container a .container unit runs:
// its ContainerName= when set, otherwise Quadlet's default, systemd-NAME.
func (u *Unit) ContainerName() string {
	if n := u.Get("Container", "ContainerName"); len(n) > 0 {
		return n[len(n)-1]
	}
	return "systemd-" + strings.TrimSuffix(u.Name, path.Ext(u.Name))
}

// Record is what the output's manifest records about u, for readers of
// out/ (diff) and for apply, which never parse a unit file back.
func (u *Unit) Record() output.Unit {
	r := output.Unit{Service: u.ServiceName(), Reads: u.reads()}
	if u.Image != nil {
		r.Image = u.Image.Pinned
	}
	for _, key := range []string{"Requires", "BindsTo", "PartOf"} {
		for _, v := range u.Get("Unit", key) {
			r.Needs = append(r.Needs, strings.Fields(v)...)
		}
	}
	return r
}

// reads are the host paths u's settings name: its scripts, environment
// files (also "-/path"), configuration, and the host side of its volumes.
// A container's other settings name paths inside the container, and a
// URL's "//host" is no path.
func (u *Unit) reads() []string {
	var out []string
	add := func(value string) {
		for _, tok := range strings.FieldsFunc(value, func(r rune) bool {
			return r == ' ' || r == '\t' || r == '=' || r == ':' || r == '"' || r == '\'' || r == ','
		}) {
			tok = strings.TrimLeft(tok, "-@+!")
			if strings.HasPrefix(tok, "/") && !strings.HasPrefix(tok, "//") && !slices.Contains(out, tok) {
				out = append(out, tok)
			}
		}
	}
	for _, s := range u.Sections {
		for _, e := range s.Entries {
			switch {
			case s.Name != "Container":
				add(e.Value)
			case e.Key == "Volume":
				host, _, _ := strings.Cut(e.Value, ":")
				add(host)
			case e.Key == "EnvironmentFile":
				add(e.Value)
			}
		}
	}
	return out
}

// ServiceOf is the systemd service that unit file name becomes
// (output.ServiceOf).
func ServiceOf(name string) string { return output.ServiceOf(name) }

// Section is one [Section] of a unit, entries in order.
type Section struct {
	Name    string
	Entries []Entry
}

// Entry is one Key=Value line.
type Entry struct {
	Key, Value string
}

// Set appends Key=Value to the named section, creating the section after the
// existing ones if needed. Repeated keys (Environment=, After=) are kept in the
// order they are set.
func (u *Unit) Set(section, key, value string) *Unit {
	s := u.Section(section)
	s.Entries = append(s.Entries, Entry{Key: key, Value: value})
	return u
}

// Section returns the named section, creating it at the end if needed.
func (u *Unit) Section(name string) *Section {
	for _, s := range u.Sections {
		if s.Name == name {
			return s
		}
	}
	s := &Section{Name: name}
	u.Sections = append(u.Sections, s)
	return s
}

// Get returns the values of key in section, in order.
func (u *Unit) Get(section, key string) []string {
	var out []string
	for _, s := range u.Sections {
		if s.Name != section {
			continue
		}
		for _, e := range s.Entries {
			if e.Key == key {
				out = append(out, e.Value)
			}
		}
	}
	return out
}

// IsQuadlet reports whether the unit is a Podman Quadlet file.
func (u *Unit) IsQuadlet() bool { return output.IsQuadlet(u.Name) }

// Path is where the unit file is written on the appliance.
func (u *Unit) Path() string { return output.UnitPath(u.Name) }

// Render writes the unit file. Values with a newline are refused: systemd
// would read the rest as a new line, which is how a value could smuggle in a
// directive.
func (u *Unit) Render() ([]byte, error) {
	var sections []*unit.UnitSection
	for _, s := range u.Sections {
		us := &unit.UnitSection{Section: s.Name}
		if s.Name == "Container" && u.Image != nil {
			if u.Image.Pinned == "" {
				return nil, fmt.Errorf("bug: %s: image %s was not pinned before rendering", u.Name, u.Image.Ref)
			}
			us.Entries = append(us.Entries, &unit.UnitEntry{Name: "Image", Value: u.Image.Pinned})
		}
		for _, e := range s.Entries {
			if strings.ContainsAny(e.Value, "\n\r") || strings.ContainsAny(e.Key, "\n\r= ") {
				return nil, fmt.Errorf("%s: [%s] %s has a line break or an invalid key", u.Name, s.Name, e.Key)
			}
			us.Entries = append(us.Entries, &unit.UnitEntry{Name: e.Key, Value: e.Value})
		}
		sections = append(sections, us)
	}
	var buf bytes.Buffer
	for _, c := range u.Comment {
		buf.WriteString("# " + c + "\n")
	}
	if len(u.Comment) > 0 {
		buf.WriteString("\n")
	}
	if _, err := io.Copy(&buf, unit.SerializeSections(sections)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
