// Package apply changes a running appliance to a new build over ssh, the
// least disruptive way the change allows: it writes exactly the files that
// differ from what the host has (package verify says which), restarts
// exactly the services that read them, drains the gateway while an engine
// restarts, and puts every file back when a restarted service is not
// healthy in time. The host side (apply.sh) is all or nothing: backups, a
// journal, one rename per file, and work that goes on when the connection
// drops.
package apply

import (
	"archive/tar"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/remote"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/verify"
	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/output"
)

//go:embed apply.sh
var script string

// Plan is what an apply does to the host.
type Plan struct {
	// Writes are the files to write, Deletes those to remove, Links the
	// symbolic links to make (path → target).
	Writes, Deletes []string
	Links           map[string]string
	// Stop are services whose unit files go away; Restart the services to
	// restart, in the order they start.
	Stop, Restart []string
	// Why says, for each service in Stop and Restart, what makes it.
	Why map[string][]string
	// Drain is set when an engine restarts: the gateway answers 503 with
	// Retry-After meanwhile instead of failing requests.
	Drain bool
	// Refuse lists what only a reprovision changes (admins, data disks):
	// apply does nothing while it is not empty.
	Refuse []string
}

// Empty says the host already runs the build.
func (p *Plan) Empty() bool {
	return len(p.Writes)+len(p.Deletes)+len(p.Links)+len(p.Stop)+len(p.Restart) == 0 && len(p.Refuse) == 0
}

// Make turns the host's drift from the build into the changes that undo it.
func Make(tree *units.Tree, drift []verify.Drift) *Plan {
	p := &Plan{Links: map[string]string{}, Why: map[string][]string{}}
	changed := map[string]string{} // path → why
	for _, d := range drift {
		switch d.Kind {
		case "file":
			if strings.HasPrefix(d.Problem, "not made by this build") {
				p.Deletes = append(p.Deletes, d.What)
				changed[d.What] = "removed"
			} else if !slices.Contains(p.Writes, d.What) {
				p.Writes = append(p.Writes, d.What)
				changed[d.What] = d.Problem
			}
		case "link":
			p.Links[d.What] = d.Want
			changed[d.What] = "link " + d.Problem
		case "user", "mount":
			p.Refuse = append(p.Refuse, d.What+": "+d.Problem)
		}
	}
	// A unit file that goes away stops its service first.
	for _, del := range p.Deletes {
		if svc, ok := output.ServiceOfPath(del); ok {
			p.Stop = append(p.Stop, svc)
			p.Why[svc] = append(p.Why[svc], path.Base(del)+" removed")
		}
	}
	byService := map[string]*units.Unit{}
	var records []output.UnitFile
	for _, u := range tree.Units {
		byService[u.ServiceName()] = u
		records = append(records, output.UnitFile{Path: u.Path(), Unit: u.Record()})
	}
	// The services whose file, or a path they read, changed restart, as
	// diff says an update restarts them.
	restart := output.NewRestarts()
	restart.FromChanges(records, changed)
	// A unit the host has failed or stopped, or a container on another
	// image, is restarted too: Quadlet recreates the container from the
	// pinned Image= of its file.
	for _, d := range drift {
		switch d.Kind {
		case "unit":
			if u := byService[d.What]; u != nil && d.Problem != "not enabled at boot" {
				restart.Add(d.What, d.Problem)
			}
		case "container":
			for svc, u := range byService {
				if u.Image != nil && u.ContainerName() == d.What {
					restart.Add(svc, "container "+d.Problem)
				}
			}
		}
	}
	// systemd restarts what Requires=, BindsTo= or is PartOf= a restarted
	// unit with it; restart it here too, so its health is checked.
	restart.FollowNeeds(records)
	for _, svc := range restart.Services() {
		p.Why[svc] = append(p.Why[svc], restart.Why(svc)...)
	}
	p.Restart = startOrder(byService, restart)
	for _, svc := range p.Restart {
		if u := byService[svc]; u != nil && len(u.Get("Container", "AddDevice")) > 0 {
			p.Drain = true // a GPU container: an engine
		}
	}
	sort.Strings(p.Writes)
	sort.Strings(p.Deletes)
	sort.Strings(p.Stop)
	return p
}

// startOrder lists the services to restart so that each comes after the
// ones it is ordered After= (a stable topological order, by name otherwise).
func startOrder(byService map[string]*units.Unit, restart *output.Restarts) []string {
	names := restart.Services()
	var out []string
	done := map[string]bool{}
	var visit func(svc string, depth int)
	visit = func(svc string, depth int) {
		if done[svc] || depth > len(names) {
			return
		}
		if u := byService[svc]; u != nil {
			for _, v := range u.Get("Unit", "After") {
				for _, dep := range strings.Fields(v) {
					if restart.Has(dep) {
						visit(dep, depth+1)
					}
				}
			}
		}
		if !done[svc] {
			done[svc] = true
			out = append(out, svc)
		}
	}
	for _, svc := range names {
		visit(svc, 0)
	}
	return out
}

// Payload is the tar that apply.sh reads: the script, the plan and every
// file to write, owned by root with the build's modes.
func (p *Plan) Payload(files []*units.File) ([]byte, error) {
	byPath := map[string]*units.File{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	var plan strings.Builder
	for _, w := range p.Writes {
		if byPath[w] == nil {
			return nil, fmt.Errorf("the plan writes %s, which the build does not make", w)
		}
		fmt.Fprintf(&plan, "W %s\n", w)
	}
	for _, d := range p.Deletes {
		fmt.Fprintf(&plan, "D %s\n", d)
	}
	for _, l := range slices.Sorted(maps.Keys(p.Links)) {
		fmt.Fprintf(&plan, "L %s %s\n", l, p.Links[l])
	}
	for _, s := range p.Stop {
		fmt.Fprintf(&plan, "T %s\n", s)
	}
	for _, s := range p.Restart {
		fmt.Fprintf(&plan, "R %s\n", s)
	}
	if p.Drain {
		plan.WriteString("N\n")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add(".apply.sh", 0o700, []byte(script)); err != nil {
		return nil, err
	}
	if err := add(".plan", 0o600, []byte(plan.String())); err != nil {
		return nil, err
	}
	for _, w := range p.Writes {
		f := byPath[w]
		if err := add(strings.TrimPrefix(w, "/"), int64(f.Mode), f.Contents); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Options are how long apply waits.
type Options struct {
	// HealthTimeout is how long a restarted service has to become active
	// (an engine: its model load) before everything is rolled back.
	HealthTimeout time.Duration
	// DrainGrace is how long the gateway drains before an engine restarts,
	// so that streams in flight can finish.
	DrainGrace time.Duration
}

// ErrRolledBack means a restarted service was not healthy in time and the
// host is back on its previous files.
var ErrRolledBack = errors.New("rolled back")

// Run sends the payload and runs the change on the host, copying the
// host's progress lines to progress as they come. id names this apply on
// the host (its backup and log folder).
func Run(ctx context.Context, host remote.Host, payload []byte, id string, opt Options, progress io.Writer) error {
	var out bytes.Buffer
	err := host.Stream(ctx, script, bytes.NewReader(payload), io.MultiWriter(&out, progress), "start", host.RootOrSlash(), id,
		strconv.Itoa(int(opt.HealthTimeout.Seconds())), strconv.Itoa(int(opt.DrainGrace.Seconds())))
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	switch lines[len(lines)-1] {
	case "APPLIED":
		return nil
	case "ROLLED-BACK":
		return ErrRolledBack
	}
	return fmt.Errorf("the host did not say how the apply ended:\n%s", out.String())
}
