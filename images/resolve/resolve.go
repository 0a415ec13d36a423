// Package resolve talks to registries for `sovereign lock` and `sovereign
// bundle`: it resolves image tags to the digests the lock records, checking
// that each image exists for the platform its host needs, and fetches pinned
// images into an offline bundle, and fetches the appliance image's base and
// pushes the appliance image. Only the command line imports it; a build
// never does, so a build cannot touch the network.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/sovereign-collective/sovereign/images"
)

// Progress hears about each image while resolving or fetching, so that the
// command line can show what a slow registry is doing. Calls come from
// several goroutines at once.
type Progress interface {
	// Start: work on ref has begun.
	Start(ref string)
	// Retry: an attempt failed with err and attempt number next follows.
	Retry(ref string, next int, err error)
	// Done: ref is finished, with err nil or the final error.
	Done(ref string, err error)
}

// Resolver resolves and fetches images. The zero value is usable: it uses
// the user's registry credentials (the Docker/Podman config that `docker
// login` and `podman login` write) and the defaults below.
type Resolver struct {
	// Keychain gives registry credentials; nil is authn.DefaultKeychain.
	Keychain authn.Keychain
	// Transport is the HTTP transport; nil is remote.DefaultTransport.
	Transport http.RoundTripper
	// Parallel bounds how many images are worked on at once (default 8).
	Parallel int
	// Timeout bounds one attempt at one image's manifests (default 30s).
	// Fetching layers for a bundle can take far longer, so there it bounds
	// the wait for each response to begin instead.
	Timeout time.Duration
	// Attempts per image before giving up on a failure that may pass:
	// timeouts, 5xx, 429, refused connections (default 3).
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// further one (default 1s).
	Backoff time.Duration
	// Progress, if set, hears about every image.
	Progress Progress
}

const (
	defaultParallel = 8
	defaultTimeout  = 30 * time.Second
	defaultAttempts = 3
	defaultBackoff  = time.Second
)

func (r *Resolver) parallel() int {
	if r.Parallel > 0 {
		return r.Parallel
	}
	return defaultParallel
}

func (r *Resolver) options(ctx context.Context) []remote.Option {
	kc := r.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	tr := r.Transport
	if tr == nil {
		tr = remote.DefaultTransport
		if ht, ok := tr.(*http.Transport); ok {
			ht = ht.Clone()
			ht.ResponseHeaderTimeout = r.timeout()
			tr = ht
		}
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(tr),
		remote.WithUserAgent("sovereign"),
		// Retries are ours (attempt counts, backoff and progress the user
		// sees), so go-containerregistry's own are off.
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
	}
}

// Error is one image's failure, in words for the person running the command.
type Error struct {
	Ref string
	// Retryable failures (network, 5xx, timeouts) say the registry could
	// not be reached; the others (401, 404, a missing platform) say the
	// blueprint or the credentials need a change.
	Retryable bool
	// Blueprint failures (no such tag, no image for the platform) need a
	// change to the blueprint; the others are the registry's or the
	// credentials'.
	Blueprint bool
	Err       error
}

func (e *Error) Error() string { return e.Ref + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errors is every image that failed, sorted by reference.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unreachable reports whether any failure was the registry's (network,
// timeouts, 5xx) rather than the blueprint's or the credentials'.
func (es Errors) Unreachable() bool {
	for _, e := range es {
		if e.Retryable {
			return true
		}
	}
	return false
}

// External reports whether any failure was outside the blueprint: the
// registry, the network or the credentials.
func (es Errors) External() bool {
	for _, e := range es {
		if !e.Blueprint {
			return true
		}
	}
	return false
}

// Resolve resolves each reference to a lock entry for the given platforms:
// a tag to the digest it points to now, and for each platform the digest of
// that platform's image manifest. A reference with an inline digest is
// resolved by its digest (checking that it exists for the platforms).
// Images are resolved in parallel, at most Parallel at once. It returns
// every entry or, if any image failed, nil and Errors naming every failure:
// a lock is written whole or not at all.
func (r *Resolver) Resolve(ctx context.Context, refs []images.Ref, platforms []string) (map[string]*images.Entry, error) {
	want := make([]v1.Platform, len(platforms))
	for i, p := range platforms {
		pp, err := v1.ParsePlatform(p)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", p, err)
		}
		want[i] = *pp
	}
	refs = dedupe(refs)
	entries := make([]*images.Entry, len(refs))
	errs := make([]*Error, len(refs))
	var g errgroup.Group
	g.SetLimit(r.parallel())
	for i, ref := range refs {
		g.Go(func() error {
			entries[i], errs[i] = r.resolveOne(ctx, ref, platforms, want)
			return nil
		})
	}
	_ = g.Wait()
	var failed Errors
	out := map[string]*images.Entry{}
	for i, ref := range refs {
		if errs[i] != nil {
			failed = append(failed, errs[i])
			continue
		}
		out[ref.Key()] = entries[i]
	}
	if len(failed) > 0 {
		sort.Slice(failed, func(i, j int) bool { return failed[i].Ref < failed[j].Ref })
		return nil, failed
	}
	return out, nil
}

func dedupe(refs []images.Ref) []images.Ref {
	seen := map[string]bool{}
	var out []images.Ref
	for _, r := range refs {
		if !seen[r.String()] {
			seen[r.String()] = true
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func (r *Resolver) resolveOne(ctx context.Context, ref images.Ref, platforms []string, want []v1.Platform) (*images.Entry, *Error) {
	shown := ref.String()
	var entry *images.Entry
	err := r.attempt(ctx, shown, r.timeout(), func(ctx context.Context) error {
		var err error
		entry, err = r.lookup(ctx, ref, platforms, want)
		return err
	})
	if err != nil {
		return nil, err
	}
	return entry, nil
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return defaultTimeout
}

// attempt runs f up to Attempts times, each bounded by timeout (0: only by
// the transport's wait for a response), while its failures are ones that
// may pass; it tells Progress about each step.
func (r *Resolver) attempt(ctx context.Context, shown string, timeout time.Duration, f func(context.Context) error) *Error {
	attempts := r.Attempts
	if attempts <= 0 {
		attempts = defaultAttempts
	}
	wait := r.Backoff
	if wait <= 0 {
		wait = defaultBackoff
	}
	if r.Progress != nil {
		r.Progress.Start(shown)
	}
	var last *Error
	for n := 1; ; n++ {
		actx, cancel := context.WithCancel(ctx)
		if timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, timeout)
		}
		err := f(actx)
		timedOut := actx.Err() == context.DeadlineExceeded && ctx.Err() == nil
		cancel()
		if err == nil {
			last = nil
			break
		}
		last = explain(shown, err, timedOut, r.timeout())
		if !last.Retryable || n >= attempts || ctx.Err() != nil {
			if last.Retryable && n > 1 {
				last.Err = fmt.Errorf("%w (gave up after %d attempts)", last.Err, n)
			}
			break
		}
		if r.Progress != nil {
			r.Progress.Retry(shown, n+1, last.Err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait *= 2
	}
	if r.Progress != nil {
		var err error
		if last != nil {
			err = last.Err
		}
		r.Progress.Done(shown, err)
	}
	return last
}

// lookup is one attempt at resolving ref.
func (r *Resolver) lookup(ctx context.Context, ref images.Ref, platforms []string, want []v1.Platform) (*images.Entry, error) {
	nref, err := name.ParseReference(ref.String())
	if err != nil {
		return nil, err
	}
	if ref.Digest != "" {
		// Resolve repo@digest, not the tag: the inline digest is the pin.
		if nref, err = name.NewDigest(ref.Repository + "@" + ref.Digest); err != nil {
			return nil, err
		}
	}
	desc, err := remote.Get(nref, r.options(ctx)...)
	if err != nil {
		return nil, err
	}
	entry := &images.Entry{
		Ref:       ref.Key(),
		Tag:       ref.Tag,
		Digest:    desc.Digest.String(),
		Source:    images.SourceRegistry,
		Platforms: map[string]string{},
	}
	switch {
	case desc.MediaType.IsIndex():
		entry.Kind = images.KindIndex
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		var have []string
		for _, m := range im.Manifests {
			if m.Platform != nil && m.Platform.OS != "unknown" {
				have = append(have, m.Platform.String())
			}
		}
		for i, p := range want {
			child := childFor(im, p)
			if child == nil {
				return nil, &platformError{fmt.Errorf("its index has no %s image (it has %s); the host cannot run it. Choose an image or tag built for %s",
					platforms[i], listOr(have, "no platform at all"), platforms[i])}
			}
			entry.Platforms[platforms[i]] = child.Digest.String()
		}
	case desc.MediaType.IsImage():
		entry.Kind = images.KindManifest
		img, err := desc.Image()
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		got := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		if len(want) != 1 {
			return nil, &platformError{fmt.Errorf("it is a single-platform (%s) image, and the hosts need %s", got.String(), strings.Join(platforms, ", "))}
		}
		if !platformMatches(got, want[0]) {
			return nil, &platformError{fmt.Errorf("it is a single-platform image for %s, not %s (its config says so); the host cannot run it. Choose an image or tag built for %s",
				got.String(), platforms[0], platforms[0])}
		}
		entry.Platforms[platforms[0]] = desc.Digest.String()
	default:
		return nil, &platformError{fmt.Errorf("it is a %s, not an image or an index", desc.MediaType)}
	}
	return entry, nil
}

// childFor is the index entry for platform p. linux/arm64 matches a child
// that also says variant v8, as arm64 images commonly do.
func childFor(im *v1.IndexManifest, p v1.Platform) *v1.Descriptor {
	for i, m := range im.Manifests {
		if m.Platform != nil && platformMatches(*m.Platform, p) {
			return &im.Manifests[i]
		}
	}
	return nil
}

func platformMatches(have, want v1.Platform) bool {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return false
	}
	if want.Variant == "" || have.Variant == want.Variant {
		return true
	}
	return false
}

func listOr(xs []string, none string) string {
	if len(xs) == 0 {
		return none
	}
	sort.Strings(xs)
	return strings.Join(xs, ", ")
}

type platformError struct{ err error }

func (e *platformError) Error() string { return e.err.Error() }
func (e *platformError) Unwrap() error { return e.err }

// explain turns a registry client error into what the user should know and
// whether another attempt could help.
func explain(ref string, err error, timedOut bool, timeout time.Duration) *Error {
	var pe *platformError
	if errors.As(err, &pe) {
		return &Error{Ref: ref, Blueprint: true, Err: pe}
	}
	// The transport's header timeout is the attempt's deadline too, so
	// either may fire first; both mean the registry was too slow. (The
	// registry client joins the errors of its https and http tries, so the
	// transport's timeout is found by its text, not by errors.As, which
	// would stop at the first try's error.)
	if timedOut || strings.Contains(err.Error(), "timeout awaiting response headers") {
		return &Error{Ref: ref, Retryable: true, Err: fmt.Errorf("the registry did not answer within %s", timeout)}
	}
	var te *transport.Error
	if errors.As(err, &te) {
		host := registryOf(ref)
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			return &Error{Ref: ref, Err: fmt.Errorf("the registry refused access (%d %s). Log in with `podman login %s` or `docker login %s`: sovereign uses those credentials",
				te.StatusCode, http.StatusText(te.StatusCode), host, host)}
		case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return &Error{Ref: ref, Blueprint: true, Err: fmt.Errorf("no such image or tag in the registry (%d). Check the spelling of the repository and the tag", te.StatusCode)}
		case te.StatusCode == http.StatusTooManyRequests || te.StatusCode == http.StatusRequestTimeout || te.StatusCode >= 500:
			return &Error{Ref: ref, Retryable: true, Err: fmt.Errorf("the registry failed (%d %s)", te.StatusCode, http.StatusText(te.StatusCode))}
		}
		return &Error{Ref: ref, Err: fmt.Errorf("the registry answered %d: %v", te.StatusCode, te)}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "EOF") {
		return &Error{Ref: ref, Retryable: true, Err: fmt.Errorf("the registry could not be reached: %v", err)}
	}
	return &Error{Ref: ref, Err: err}
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

func registryOf(ref string) string {
	first, _, _ := strings.Cut(ref, "/")
	return first
}
