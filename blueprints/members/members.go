// Package members edits a blueprint's member blocks in place with HCL's own
// writer (hclwrite): a member is added, removed or given a new key by
// changing only its own block, so the comments, order and layout of
// everything else in the file stay byte for byte. It edits bytes and leaves
// reading and writing files, and checking the result, to its caller.
package members

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Book is the file that holds a gateway's member blocks, open for editing.
type Book struct {
	file *hclwrite.File
	// body is where member blocks live: the file's top level (a
	// members_file) or the body of its gateway block.
	body *hclwrite.Body
	// indent is what the member blocks in body are indented by.
	indent string
	// defaultKeyDir is where a new key file goes when no member has one to
	// follow, relative to the folder secret_file reads from.
	defaultKeyDir string
}

// Open parses src, the file named filename. When inGateway is set the
// members sit in its gateway block, otherwise at its top level (a
// members_file). keyDir is the folder, relative to the one secret_file()
// reads from, that a new member's key file goes to when no member's key
// file shows where keys live.
func Open(src []byte, filename string, inGateway bool, keyDir string) (*Book, error) {
	f, diags := hclwrite.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %s", filename, diags.Error())
	}
	b := &Book{file: f, body: f.Body(), defaultKeyDir: keyDir}
	if inGateway {
		gw := f.Body().FirstMatchingBlock("gateway", nil)
		if gw == nil {
			return nil, fmt.Errorf("%s has no gateway block", filename)
		}
		b.body, b.indent = gw.Body(), "  "
	}
	return b, nil
}

// Bytes is the edited file.
func (b *Book) Bytes() []byte { return b.file.Bytes() }

// Member is what `sovereign member add` writes.
type Member struct {
	Name, Email string
	// KeyFile is the secret_file() path of the member's API key, relative
	// to the folder secret_file reads from; "" for a browser-only member.
	KeyFile string
	// RequestsPerMinute and Burst are written when set (> 0; Burst ≥ 0
	// when BurstSet).
	RequestsPerMinute, Burst int
	BurstSet                 bool
	Models                   []string
}

// KeyFileFor is the secret_file() path a new member's key gets: beside the
// other members' key files, or in the book's default key folder.
func (b *Book) KeyFileFor(name string) string {
	for _, blk := range b.members() {
		if p, ok := secretFilePath(blk.Body().GetAttribute("api_key")); ok {
			return path.Join(path.Dir(p), name+".key")
		}
	}
	return path.Join(b.defaultKeyDir, name+".key")
}

// Names are the members in file order.
func (b *Book) Names() []string {
	var names []string
	for _, blk := range b.members() {
		names = append(names, blk.Labels()[0])
	}
	return names
}

// Add appends m's block after the last member.
func (b *Book) Add(m Member) error {
	if b.find(m.Name) != nil {
		return fmt.Errorf("a member named %q already exists", m.Name)
	}
	blk := hclwrite.NewEmptyFile()
	mb := blk.Body().AppendNewBlock("member", []string{m.Name}).Body()
	if m.Email != "" {
		mb.SetAttributeValue("email", cty.StringVal(m.Email))
	}
	if m.KeyFile != "" {
		mb.SetAttributeRaw("api_key", hclwrite.TokensForFunctionCall("secret_file", hclwrite.TokensForValue(cty.StringVal(m.KeyFile))))
	}
	if m.RequestsPerMinute > 0 {
		mb.SetAttributeValue("requests_per_minute", cty.NumberIntVal(int64(m.RequestsPerMinute)))
	}
	if m.BurstSet {
		mb.SetAttributeValue("burst", cty.NumberIntVal(int64(m.Burst)))
	}
	if len(m.Models) > 0 {
		vals := make([]cty.Value, len(m.Models))
		for i, name := range m.Models {
			vals[i] = cty.StringVal(name)
		}
		mb.SetAttributeValue("models", cty.ListVal(vals))
	}
	// Lay the new block out as `sovereign fmt` would, at the members'
	// indentation, and put it right after the last member (or at the end
	// of the body), set apart by one blank line.
	var text strings.Builder
	text.WriteString("\n")
	for _, line := range strings.SplitAfter(string(hclwrite.Format(blk.Bytes())), "\n") {
		if strings.TrimSpace(line) != "" {
			text.WriteString(b.indent)
		}
		text.WriteString(line)
	}
	src := b.file.Bytes()
	lines := strings.SplitAfter(string(src), "\n")
	at, err := b.insertLine(src)
	if err != nil {
		return err
	}
	if at > 0 && !strings.HasSuffix(lines[at-1], "\n") {
		lines[at-1] += "\n"
	}
	if at > 0 && strings.TrimSpace(lines[at-1]) == "" {
		// Already set apart by a blank line: add the block's own after it.
		return b.reparse([]byte(strings.Join(lines[:at], "") + strings.TrimPrefix(text.String(), "\n") + "\n" + strings.Join(lines[at:], "")))
	}
	return b.reparse([]byte(strings.Join(lines[:at], "") + text.String() + strings.Join(lines[at:], "")))
}

// insertLine is the 0-based line a new member block goes before: after the
// last member's closing brace, or at the end of the body.
func (b *Book) insertLine(src []byte) (int, error) {
	body, err := b.syntaxBody(src)
	if err != nil {
		return 0, err
	}
	at := -1
	for _, blk := range body.Blocks {
		if blk.Type == "member" {
			at = blk.CloseBraceRange.End.Line
		}
	}
	if at >= 0 {
		return at, nil
	}
	if b.indent != "" {
		// Before the gateway block's closing brace.
		return body.SrcRange.End.Line - 1, nil
	}
	return len(strings.SplitAfter(string(src), "\n")), nil
}

// syntaxBody parses src and returns the body that holds the members.
func (b *Book) syntaxBody(src []byte) (*hclsyntax.Body, error) {
	f, diags := hclsyntax.ParseConfig(src, "members", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s", diags.Error())
	}
	body := f.Body.(*hclsyntax.Body)
	if b.indent != "" {
		for _, blk := range body.Blocks {
			if blk.Type == "gateway" {
				return blk.Body, nil
			}
		}
		return nil, fmt.Errorf("no gateway block")
	}
	return body, nil
}

// Remove deletes a member's block, with the comments right above it and
// the blank line that set it apart, and returns its key file's
// secret_file() path ("" when it has none, or when another member shares
// it).
func (b *Book) Remove(name string) (string, error) {
	blk := b.find(name)
	if blk == nil {
		return "", b.unknown(name)
	}
	keyFile, _ := secretFilePath(blk.Body().GetAttribute("api_key"))
	// hclwrite's RemoveBlock would leave the blank lines around the block
	// behind; cut the block's lines out of the text instead.
	src := b.file.Bytes()
	start, end, err := b.blockLines(src, name)
	if err != nil {
		return "", err
	}
	lines := strings.SplitAfter(string(src), "\n")
	blank := func(i int) bool { return i >= 0 && i < len(lines) && strings.TrimSpace(lines[i]) == "" }
	switch {
	case blank(start-1) && (blank(end) || end >= len(lines) || strings.TrimSpace(lines[end]) == "}"):
		start--
	case blank(end) && !blank(start-1):
		end++
	}
	out := strings.Join(lines[:start], "") + strings.Join(lines[end:], "")
	if err := b.reparse([]byte(out)); err != nil {
		return "", err
	}
	for _, other := range b.members() {
		if p, ok := secretFilePath(other.Body().GetAttribute("api_key")); ok && p == keyFile {
			keyFile = ""
		}
	}
	return keyFile, nil
}

// blockLines returns the 0-based line span [start, end) of member name's
// block in src, from its first lead comment line to its closing brace.
func (b *Book) blockLines(src []byte, name string) (int, int, error) {
	body, err := b.syntaxBody(src)
	if err != nil {
		return 0, 0, err
	}
	for _, blk := range body.Blocks {
		if blk.Type != "member" || len(blk.Labels) != 1 || blk.Labels[0] != name {
			continue
		}
		lines := strings.SplitAfter(string(src), "\n")
		start := blk.TypeRange.Start.Line - 1
		for start > 0 {
			l := strings.TrimSpace(lines[start-1])
			if !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "//") {
				break
			}
			start--
		}
		return start, blk.CloseBraceRange.End.Line, nil
	}
	return 0, 0, b.unknown(name)
}

func (b *Book) reparse(src []byte) error {
	f, diags := hclwrite.ParseConfig(src, "members", hcl.InitialPos)
	if diags.HasErrors() {
		return fmt.Errorf("%s", diags.Error())
	}
	b.file, b.body = f, f.Body()
	if b.indent != "" {
		b.body = f.Body().FirstMatchingBlock("gateway", nil).Body()
	}
	return nil
}

// KeyHolding says how a member's key is held, for Rotate.
type KeyHolding int

const (
	// KeyInFile: api_key = secret_file(PATH); the caller writes the new key to PATH.
	KeyInFile KeyHolding = iota
	// KeyAsHash: api_key_sha256; Rotate wrote the new key's hash into the block.
	KeyAsHash
)

// Rotate prepares a new key for a member: for a key file it returns the
// file's secret_file() path for the caller to overwrite; for a key held as
// a SHA-256 it writes newKey's hash in place of the old one. A member whose
// key comes from elsewhere (secret_env, an expression) or who has none is
// an error that says what to do.
func (b *Book) Rotate(name, newKey string) (KeyHolding, string, error) {
	blk := b.find(name)
	if blk == nil {
		return 0, "", b.unknown(name)
	}
	body := blk.Body()
	if p, ok := secretFilePath(body.GetAttribute("api_key")); ok {
		return KeyInFile, p, nil
	}
	if body.GetAttribute("api_key") != nil {
		return 0, "", fmt.Errorf("member %q takes its api_key from an expression other than secret_file(\"PATH\"); change the key where that expression reads it", name)
	}
	if body.GetAttribute("api_key_sha256") != nil {
		sum := sha256.Sum256([]byte(newKey))
		body.SetAttributeValue("api_key_sha256", cty.StringVal(hex.EncodeToString(sum[:])))
		return KeyAsHash, "", nil
	}
	return 0, "", fmt.Errorf("member %q has no API key (they sign in with a browser only); remove and add them again to give them one", name)
}

func (b *Book) members() []*hclwrite.Block {
	var out []*hclwrite.Block
	for _, blk := range b.body.Blocks() {
		if blk.Type() == "member" && len(blk.Labels()) == 1 {
			out = append(out, blk)
		}
	}
	return out
}

func (b *Book) find(name string) *hclwrite.Block {
	for _, blk := range b.members() {
		if blk.Labels()[0] == name {
			return blk
		}
	}
	return nil
}

func (b *Book) unknown(name string) error {
	names := b.Names()
	slices.Sort(names)
	return fmt.Errorf("no member named %q; the members are %s", name, strings.Join(names, ", "))
}

// secretFilePath returns PATH when attr is exactly secret_file("PATH").
func secretFilePath(attr *hclwrite.Attribute) (string, bool) {
	if attr == nil {
		return "", false
	}
	src := attr.Expr().BuildTokens(nil).Bytes()
	expr, diags := hclsyntax.ParseExpression(src, "", hcl.InitialPos)
	if diags.HasErrors() {
		return "", false
	}
	call, ok := expr.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "secret_file" || len(call.Args) != 1 {
		return "", false
	}
	v, diags := call.Args[0].Value(nil)
	if diags.HasErrors() || v.Type() != cty.String || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}
