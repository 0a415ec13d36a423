package commands

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/images/resolve"
)

// registryFlags tune how sovereign talks to registries (lock, bundle).
type registryFlags struct {
	parallel int
	timeout  time.Duration
	attempts int
}

func addRegistryFlags(cmd *cobra.Command, f *registryFlags) {
	cmd.Flags().IntVar(&f.parallel, "parallel", 8, "images to work on at once")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "give up on one attempt at one image after this long")
	cmd.Flags().IntVar(&f.attempts, "attempts", 3, "attempts per image when the registry fails or times out")
}

func (f *registryFlags) resolver(e *env) (*resolve.Resolver, *progress, error) {
	if f.parallel < 1 || f.attempts < 1 || f.timeout <= 0 {
		return nil, nil, usageErrorf("--parallel and --attempts must be at least 1 and --timeout positive")
	}
	p := newProgress(e.stderr, 5*time.Second)
	return &resolve.Resolver{Parallel: f.parallel, Timeout: f.timeout, Attempts: f.attempts, Progress: p}, p, nil
}

func newLock(e *env) *cobra.Command {
	var in inputFlags
	var rf registryFlags
	var updates []string
	var check bool
	cmd := &cobra.Command{
		Use:   "lock BLUEPRINT [--update REF]... [--check]",
		Short: "Pin every image of the blueprint to a digest in its lock file (needs the registry)",
		Long: `Lock resolves every container image the blueprint runs to the digest its tag
points to now, for the platform of the blueprint's host (a GB300 is
linux/arm64, an H100 cloud host linux/amd64), and writes the lock file beside
the blueprint: NAME.lock.hcl for NAME.hcl, sovereign.lock.hcl in a folder
blueprint. Build reads only the lock, never the network.

An image whose index has no image for the host's platform, or a
single-platform image built for another, is an error here, not at first boot.
Credentials are those of 'podman login' or 'docker login'.

  --update REF   re-resolve only REF (repo:tag as the lock names it); the
                 other pins stay as they are
  --check        resolve and compare without writing: exit 1 when a tag has
                 moved or an image is not locked, 0 when the lock still holds

Exit codes: 0 ok, 1 the blueprint names an image that cannot be locked or
(--check) the lock is out of date, 2 usage, 3 the registry could not be
reached or refused the credentials. Nothing is written unless every image
resolved.`,
		Example: "  sovereign lock blueprints/dgx-station-gb300.hcl\n  sovereign lock blueprints/dgx-station-gb300.hcl --check\n  sovereign lock ./coop --update docker.io/vllm/vllm-openai:v0.14.0",
		Args:    exactArgs(1, "one BLUEPRINT (a .hcl file or a folder)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if check && len(updates) > 0 {
				return usageErrorf("--check verifies every pin; it takes no --update")
			}
			inputs, err := in.inputs(e.environ)
			if err != nil {
				return err
			}
			r, prog, err := rf.resolver(e)
			if err != nil {
				return err
			}
			return e.lock(args[0], inputs, r, prog, updates, check)
		},
	}
	cmd.Flags().StringArrayVar(&updates, "update", nil, "re-resolve only this image, repo:tag as the lock names it (repeatable)")
	cmd.Flags().BoolVar(&check, "check", false, "verify the lock against the registry without writing it; exit 1 if a tag moved")
	addRegistryFlags(cmd, &rf)
	addInputFlags(cmd, &in)
	return cmd
}

func (e *env) lock(target string, in lang.Inputs, r *resolve.Resolver, prog *progress, updates []string, check bool) error {
	p := pipeline.NewLoader(e.fs)
	bp, wanted, diags := pipeline.Images(p, target, in)
	files := p.Files()
	if err := e.printDiagnostics(diags, files); err != nil {
		return err
	}
	platform := bp.Appliance.Hardware.Platform()
	old, lockFile, diags := images.ReadLock(e.fs, target)
	if lockFile != nil {
		files[lockFile.Body.MissingItemRange().Filename] = lockFile
	}
	if err := e.printDiagnostics(diags, files); err != nil {
		return err
	}
	keys, err := images.UpdateKeys(wanted, updates)
	if err != nil {
		if unknown := (*images.UnknownUpdateError)(nil); errors.As(err, &unknown) {
			return usageErrorf("--update %s: %v", unknown.Update, err)
		}
		return err
	}
	req := images.LockRequest{Updates: keys, Check: check}
	todo := images.ToResolve(old, wanted, platform, req)
	fmt.Fprintf(e.stderr, "Resolving %d image(s) for %s...\n", len(todo), platform)
	prog.run()
	resolved, err := r.Resolve(e.ctx, todo, []string{platform})
	prog.stop()
	if err != nil {
		return e.resolveFailed(err, wanted, files, "nothing was written")
	}
	if check {
		return e.checkLock(old, images.CheckLock(old, wanted, resolved, platform), platform)
	}
	if images.NothingToLock(old, wanted) {
		fmt.Fprintf(e.stdout, "Nothing to lock: every image carries its digest inline, and each exists for %s.\n", platform)
		return nil
	}
	next := images.MergeLock(old, wanted, resolved)
	b := next.Bytes()
	if old.Exists && string(b) == string(old.Bytes()) {
		fmt.Fprintf(e.stdout, "%s is up to date: %d image(s) pinned for %s.\n", old.Path, len(next.Images), platform)
		return nil
	}
	if err := writeFileAtomic(e.fs, old.Path, b); err != nil {
		return externalError(fmt.Errorf("writing %s: %w", old.Path, err))
	}
	for _, c := range images.LockChanges(old, next) {
		switch c.Kind {
		case images.Added:
			fmt.Fprintf(e.stdout, "  + %s  %s\n", c.Key, c.Now.Digest)
		case images.Moved:
			fmt.Fprintf(e.stdout, "  ~ %s  %s -> %s\n", c.Key, orUnpinned(c.Was.Digest), c.Now.Digest)
		case images.Dropped:
			fmt.Fprintf(e.stdout, "  - %s  (no longer in the blueprint)\n", c.Key)
		}
	}
	fmt.Fprintf(e.stdout, "Wrote %s: %d image(s) pinned for %s.\n", old.Path, len(next.Images), platform)
	return nil
}

// checkLock prints how each image stands against the registry.
func (e *env) checkLock(old *images.Lock, checks []images.LockCheck, platform string) error {
	var stale int
	for _, c := range checks {
		if c.Status.Stale() {
			stale++
		}
		switch c.Status {
		case images.CheckInline:
			fmt.Fprintf(e.stdout, "  ok          %s (inline digest; exists for %s)\n", c.Ref, platform)
		case images.CheckNotLocked:
			fmt.Fprintf(e.stdout, "  not locked  %s (the registry has %s)\n", c.Key, c.Now.Digest)
		case images.CheckUnpinned:
			fmt.Fprintf(e.stdout, "  UNPINNED    %s (opted out: %s)\n", c.Key, c.Was.Unpinned)
		case images.CheckMoved:
			fmt.Fprintf(e.stdout, "  MOVED       %s %s -> %s\n", c.Key, c.Was.Digest, c.Now.Digest)
		case images.CheckNoPlatform:
			fmt.Fprintf(e.stdout, "  no %s  %s\n", platform, c.Key)
		case images.CheckUnresolvedPlatform:
			fmt.Fprintf(e.stdout, "  ok          %s (%s %s, unresolved in the lock; `sovereign lock` records it)\n", c.Key, platform, c.Now.Platforms[platform])
		case images.CheckPlatformMoved:
			fmt.Fprintf(e.stdout, "  MOVED       %s %s %s -> %s\n", c.Key, platform, c.Was.Platforms[platform], c.Now.Platforms[platform])
		case images.CheckOtherSource:
			fmt.Fprintf(e.stdout, "  ok          %s (pinned from %s; the registry agrees)\n", c.Key, c.Was.Source)
		case images.CheckUnused:
			fmt.Fprintf(e.stdout, "  unused      %s (the blueprint no longer runs it; `sovereign lock` drops it)\n", c.Key)
		default:
			fmt.Fprintf(e.stdout, "  ok          %s\n", c.Key)
		}
	}
	if stale > 0 {
		fmt.Fprintf(e.stdout, "%s is out of date: %d image(s) moved or not locked. Run `sovereign lock` to update it, and review the change.\n", old.Path, stale)
		return &exitError{ExitInvalid, fmt.Errorf("the lock file is out of date")}
	}
	fmt.Fprintf(e.stdout, "%s holds: every image is pinned for %s as the registry says.\n", old.Path, platform)
	return nil
}

// resolveFailed prints each failing image as a diagnostic at the place the
// blueprint names it, and picks the exit code: 1 when only the blueprint
// is to blame (no such tag, no image for the platform), 3 otherwise.
func (e *env) resolveFailed(err error, imgs []images.Wanted, files map[string]*hcl.File, what string) error {
	var es resolve.Errors
	if !errors.As(err, &es) {
		return externalError(err)
	}
	var diags hcl.Diagnostics
	for _, fe := range es {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot resolve image", Detail: fe.Error() + "."}
		for _, img := range imgs {
			if img.Ref.String() == fe.Ref || img.Ref.Key() == fe.Ref {
				d.Subject = img.Origin.Ptr()
				break
			}
		}
		diags = append(diags, d)
	}
	wr := hcl.NewDiagnosticTextWriter(e.stderr, files, 100, false)
	_ = wr.WriteDiagnostics(diags)
	if es.External() {
		return externalError(fmt.Errorf("%d image(s) could not be resolved; %s", len(es), what))
	}
	fmt.Fprintf(e.stderr, "%d error(s); %s.\n", len(es), what)
	return errDiagnostics
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func orUnpinned(d string) string {
	if d == "" {
		return "unpinned"
	}
	return d
}

// progress reports on stderr what a slow registry is doing: each retry,
// each image done, and every few seconds the images still waited for.
type progress struct {
	w     io.Writer
	after time.Duration
	mu    sync.Mutex
	start map[string]time.Time
	done  chan struct{}
	wg    sync.WaitGroup
	now   func() time.Time
}

var _ resolve.Progress = (*progress)(nil)

func newProgress(w io.Writer, after time.Duration) *progress {
	return &progress{w: w, after: after, start: map[string]time.Time{}, now: time.Now}
}

func (p *progress) Start(ref string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start[ref] = p.now()
}

func (p *progress) Retry(ref string, next int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "  %s: %v; trying again (attempt %d)\n", ref, err, next)
}

func (p *progress) Done(ref string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	took := p.now().Sub(p.start[ref]).Round(100 * time.Millisecond)
	delete(p.start, ref)
	if err == nil {
		fmt.Fprintf(p.w, "  %s done (%s)\n", ref, took)
	}
}

// tick reports every image that has been waited for longer than after.
func (p *progress) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for _, ref := range sortedKeys(p.start) {
		if waited := now.Sub(p.start[ref]); waited >= p.after {
			fmt.Fprintf(p.w, "  %s: still waiting for the registry (%s)\n", ref, waited.Round(time.Second))
		}
	}
}

func (p *progress) run() {
	p.done = make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.after)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.tick()
			case <-p.done:
				return
			}
		}
	}()
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}
