package commands

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// memberFixture is a copy of the reference blueprints to change.
type memberFixture struct {
	dir, blueprint, membersFile, keys string
	original                          []byte
}

func newMemberFixture(t *testing.T) *memberFixture {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "blueprints"), os.DirFS("../../../blueprints")); err != nil {
		t.Fatal(err)
	}
	f := &memberFixture{
		dir:         dir,
		blueprint:   filepath.Join(dir, "blueprints", "dgx-station-gb300.hcl"),
		membersFile: filepath.Join(dir, "blueprints", "collective", "gateway", "members.hcl"),
		keys:        filepath.Join(dir, "blueprints", "collective", "gateway", "keys"),
	}
	f.original = f.read(t, f.membersFile)
	return f
}

func (f *memberFixture) read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *memberFixture) run(t *testing.T, want int, args ...string) cli {
	t.Helper()
	r := runCLI(t, append(args, "-b", f.blueprint)...)
	if r.code != want {
		t.Fatalf("sovereign %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// apiKeyMap builds the appliance and returns the gateway's key → member map.
func (f *memberFixture) apiKeyMap(t *testing.T) string {
	t.Helper()
	out := filepath.Join(f.dir, "out")
	if r := runCLI(t, "build", f.blueprint, "-o", out); r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	return string(f.read(t, filepath.Join(out, "rootfs", "etc", "sovereign", "gateway", "nginx", "apikeys.map")))
}

type addedMember struct {
	Name    string `json:"name"`
	APIKey  string `json:"api_key"`
	BaseURL string `json:"base_url"`
	Model   string `json:"model"`
}

var freshKey = regexp.MustCompile(`^sk-[0-9a-f]{48}$`)

func TestMemberAddRotateRemove(t *testing.T) {
	f := newMemberFixture(t)

	var added addedMember
	r := f.run(t, 0, "member", "add", "dave", "--email", "dave@example.org", "--rpm", "60", "--burst", "5", "--models", "coop", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &added); err != nil {
		t.Fatalf("add --json: %v\n%s", err, r.stdout)
	}
	if !freshKey.MatchString(added.APIKey) || added.BaseURL != "https://sovereign.example.org/v1" || added.Model != "coop" {
		t.Fatalf("add printed %+v", added)
	}
	keyFile := filepath.Join(f.keys, "dave.key")
	if info, err := os.Stat(keyFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, info)
	}
	if got := string(f.read(t, keyFile)); got != added.APIKey+"\n" {
		t.Fatalf("key file holds %q, printed %q", got, added.APIKey)
	}
	// The file gains exactly the new block; every other byte stays.
	wantFile := string(f.original) + `
member "dave" {
  email               = "dave@example.org"
  api_key             = secret_file("gateway/keys/dave.key")
  requests_per_minute = 60
  burst               = 5
  models              = ["coop"]
}
`
	if got := string(f.read(t, f.membersFile)); got != wantFile {
		t.Fatalf("members file after add:\n%s\nwant:\n%s", got, wantFile)
	}
	if m := f.apiKeyMap(t); !regexp.MustCompile(`(?m)^".*` + regexp.QuoteMeta(added.APIKey) + `\$" dave;$`).MatchString(m) {
		t.Fatalf("the built gateway does not let dave's key in:\n%s", m)
	}

	var rotated addedMember
	r = f.run(t, 0, "member", "rotate", "dave", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &rotated); err != nil {
		t.Fatal(err)
	}
	if !freshKey.MatchString(rotated.APIKey) || rotated.APIKey == added.APIKey {
		t.Fatalf("rotate printed %q after %q", rotated.APIKey, added.APIKey)
	}
	if got := string(f.read(t, f.membersFile)); got != wantFile {
		t.Fatalf("rotating a key file changed the members file:\n%s", got)
	}
	m := f.apiKeyMap(t)
	if !strings.Contains(m, rotated.APIKey) || strings.Contains(m, added.APIKey) {
		t.Fatalf("after rotate the gateway should take only the new key:\n%s", m)
	}

	f.run(t, 0, "member", "remove", "dave")
	if got := f.read(t, f.membersFile); string(got) != string(f.original) {
		t.Fatalf("add then remove should give the original file back byte for byte:\n%s", got)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("remove left the key file: %v", err)
	}
	if m := f.apiKeyMap(t); strings.Contains(m, "dave") {
		t.Fatalf("a removed member is still in the gateway:\n%s", m)
	}
}

func TestMemberRemoveTakesItsComments(t *testing.T) {
	f := newMemberFixture(t)
	f.run(t, 0, "member", "remove", "carol")
	got := string(f.read(t, f.membersFile))
	want := strings.Replace(string(f.original), "\n# Browser only: no API key.\nmember \"carol\" {\n  email               = \"carol@example.org\"\n  requests_per_minute = 30\n}\n", "", 1)
	if got != want || strings.Contains(got, "carol") {
		t.Fatalf("members file after removing carol:\n%s", got)
	}
}

// A change the blueprint does not accept is undone whole: no file changes,
// no key file stays behind.
func TestMemberRefusedChangesLeaveNothing(t *testing.T) {
	f := newMemberFixture(t)
	before := f.read(t, filepath.Join(f.keys, "alice.key"))
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"member", "add", "dave", "--email", "dave@example.org", "--models", "nope"}, 1, `No route serves a model named "nope"`},
		{[]string{"member", "add", "alice", "--email", "alice2@example.org"}, 1, `a member named "alice" already exists`},
		{[]string{"member", "add", "erin", "--email", "bob@example.org"}, 1, "bob@example.org"},
		{[]string{"member", "add", "Erin", "--email", "erin@example.org"}, 2, "cannot name a member"},
		{[]string{"member", "add", "erin"}, 2, "needs --email"},
		{[]string{"member", "remove", "zed"}, 1, `no member named "zed"; the members are alice, bob, carol`},
		{[]string{"member", "rotate", "carol"}, 1, "browser only"},
	} {
		r := f.run(t, tc.code, tc.args...)
		if !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, r.stderr, tc.stderr)
		}
		if got := f.read(t, f.membersFile); string(got) != string(f.original) {
			t.Fatalf("%v changed the members file:\n%s", tc.args, got)
		}
		entries, _ := os.ReadDir(f.keys)
		if len(entries) != 2 {
			t.Fatalf("%v left files in keys/: %v", tc.args, entries)
		}
	}
	if string(f.read(t, filepath.Join(f.keys, "alice.key"))) != string(before) {
		t.Fatal("a refused change touched alice's key")
	}
}

// Members in the gateway block itself are edited there, at its indentation,
// and a key held as a SHA-256 is rotated by writing the new key's hash.
func TestMemberInlineAndHashedKey(t *testing.T) {
	f := newMemberFixture(t)
	service := filepath.Join(f.dir, "blueprints", "collective", "service.hcl")
	src := string(f.read(t, service))
	if !strings.Contains(src, `members_file = "gateway/members.hcl"`) {
		t.Fatalf("the collective module no longer names its members file:\n%s", src)
	}
	oldHash := strings.Repeat("ab", 32)
	src = strings.Replace(src, `members_file = "gateway/members.hcl"`, `member "zoe" {
    email          = "zoe@example.org"
    api_key_sha256 = "`+oldHash+`"
  }`, 1)
	if err := os.WriteFile(service, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// Alice, the reference's Grafana admin, went with the members file.
	bp := strings.Replace(string(f.read(t, f.blueprint)), `admins          = ["alice"]`, `admins          = ["zoe"]`, 1)
	if err := os.WriteFile(f.blueprint, []byte(bp), 0o644); err != nil {
		t.Fatal(err)
	}
	f.run(t, 0, "member", "add", "yan", "--email", "yan@example.org")
	got := string(f.read(t, service))
	if !strings.Contains(got, "\n\n  member \"yan\" {\n    email   = \"yan@example.org\"\n    api_key = secret_file(\"keys/yan.key\")\n  }\n\n  route") {
		t.Fatalf("the new member is not inside the gateway block at its indentation, after the last member:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "blueprints", "collective", "keys", "yan.key")); err != nil {
		t.Fatalf("the key goes to keys/ beside the file: %v", err)
	}
	if r := runCLI(t, "fmt", "--check", service); r.code != 0 {
		t.Fatalf("the edited file is not in canonical layout:\n%s%s", r.stdout, r.stderr)
	}

	var rotated addedMember
	r := f.run(t, 0, "member", "rotate", "zoe", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &rotated); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(rotated.APIKey))
	got = string(f.read(t, service))
	if strings.Contains(got, oldHash) || !strings.Contains(got, `api_key_sha256 = "`+hex.EncodeToString(sum[:])+`"`) {
		t.Fatalf("rotate did not replace zoe's hash with the new key's:\n%s", got)
	}
}

func TestMemberListShowsNoSecret(t *testing.T) {
	f := newMemberFixture(t)
	alice := strings.TrimSpace(string(f.read(t, filepath.Join(f.keys, "alice.key"))))
	r := f.run(t, 0, "member", "list")
	want := "NAME   EMAIL              RPM  BURST  MODELS  KEY\n" +
		"alice  alice@example.org  120  40     all     key\n" +
		"bob    bob@example.org    60   20     all     key\n" +
		"carol  carol@example.org  30   10     all     none\n"
	if r.stdout != want {
		t.Fatalf("member list:\n%s\nwant:\n%s", r.stdout, want)
	}
	r = f.run(t, 0, "member", "list", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("member list --json: %v\n%s", err, r.stdout)
	}
	if strings.Contains(r.stdout, alice) {
		t.Fatal("member list printed a key")
	}
}

// TestMemberFleet: on a fleet blueprint the members are the shared ones
// (the gateway host's, from the collective module): member add, list,
// rotate and remove edit the same members file, the fleet's build gives
// the gateway host the new key, and a change the fleet does not accept is
// undone.
func TestMemberFleet(t *testing.T) {
	f := newMemberFixture(t)
	f.blueprint = filepath.Join(f.dir, "blueprints", "fleet-two-gb300.hcl")
	out := filepath.Join(f.dir, "out")
	build := func() string {
		t.Helper()
		if r := runCLI(t, "build", f.blueprint, "-o", out); r.code != 0 {
			t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
		}
		return string(f.read(t, filepath.Join(out, "station", "rootfs", "etc", "sovereign", "gateway", "nginx", "apikeys.map")))
	}

	var added addedMember
	r := f.run(t, 0, "member", "add", "dave", "--email", "dave@example.org", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &added); err != nil || !freshKey.MatchString(added.APIKey) {
		t.Fatalf("add --json on the fleet: %v\n%s", err, r.stdout)
	}
	if got := string(f.read(t, f.membersFile)); !strings.HasPrefix(got, string(f.original)) || !strings.Contains(got, `member "dave"`) {
		t.Fatalf("the shared members file after add:\n%s", got)
	}
	if list := f.run(t, 0, "member", "list").stdout; !strings.Contains(list, "dave") || !strings.Contains(list, "alice") {
		t.Errorf("member list on the fleet:\n%s", list)
	}
	if m := build(); !strings.Contains(m, added.APIKey) {
		t.Errorf("the gateway host's key map does not hold dave's key:\n%s", m)
	}

	r = f.run(t, 0, "member", "rotate", "dave", "--json")
	var rotated addedMember
	if err := json.Unmarshal([]byte(r.stdout), &rotated); err != nil || rotated.APIKey == added.APIKey {
		t.Fatalf("rotate on the fleet: %v %q", err, r.stdout)
	}
	if m := build(); !strings.Contains(m, rotated.APIKey) || strings.Contains(m, added.APIKey) {
		t.Errorf("after rotate the key map should hold only the new key:\n%s", m)
	}

	r = f.run(t, 1, "member", "add", "erin", "--email", "erin@example.org", "--models", "nope")
	if !strings.Contains(r.stderr, `No route serves a model named "nope"`) {
		t.Errorf("a refused add on the fleet: %s", r.stderr)
	}
	f.run(t, 0, "member", "remove", "dave")
	if got := string(f.read(t, f.membersFile)); got != string(f.original) {
		t.Errorf("after removing dave the members file is not as it was:\n%s", got)
	}
}
