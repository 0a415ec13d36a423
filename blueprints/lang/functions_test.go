package lang_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/spf13/afero"
	"github.com/zclconf/go-cty/cty"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// evalString evaluates expr as an expression of a blueprint in folder site/,
// with files on its filesystem, and returns the string it makes.
func evalString(t *testing.T, files map[string]string, expr string) string {
	t.Helper()
	fsys := afero.NewMemMapFs()
	for name, src := range files {
		if err := afero.WriteFile(fsys, name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ev := lang.NewEvaluator(lang.NewParser(fsys, nil), "site", lang.Inputs{})
	e, diags := hclsyntax.ParseExpression([]byte(expr), "site/bp.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	v, diags := e.Value(ev.Ctx)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", expr, diags.Error())
	}
	if v.Type() != cty.String {
		t.Fatalf("%s is a %s, not a string", expr, v.Type().FriendlyName())
	}
	return v.AsString()
}

// TestFunctions: the functions a blueprint's expressions may call, files
// read relative to the blueprint's folder.
func TestFunctions(t *testing.T) {
	tests := []struct {
		name  string
		expr  string
		files map[string]string // besides site/bp.hcl
		want  string
	}{
		{
			name:  "file is relative to the blueprint's folder",
			expr:  `file("notes.txt")`,
			files: map[string]string{"site/notes.txt": "beside the blueprint", "notes.txt": "in the working folder"},
			want:  "beside the blueprint",
		},
		{
			name:  "file may go up from the blueprint's folder",
			expr:  `file("../shared/notes.txt")`,
			files: map[string]string{"shared/notes.txt": "shared"},
			want:  "shared",
		},
		{
			name:  "file keeps the trailing newline",
			expr:  `jsonencode(file("notes.txt"))`,
			files: map[string]string{"site/notes.txt": "line\n"},
			want:  `"line\n"`,
		},
		{
			name:  "templatefile renders with the given variables and the blueprint's functions",
			expr:  `templatefile("tpl/hello.tpl", { greeting = "Hello", names = ["ada", "grace"] })`,
			files: map[string]string{"site/tpl/hello.tpl": `${greeting}, %{ for n in names }${upper(n)} %{ endfor }`},
			want:  "Hello, ADA GRACE ",
		},
		{
			name: "sha256 is lower-case hex",
			expr: `sha256("abc")`,
			want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		},
		{
			name: "base64encode",
			expr: `base64encode("sovereign")`,
			want: "c292ZXJlaWdu",
		},
		{
			name: "base64decode reverses it",
			expr: `base64decode(base64encode("ünïcode"))`,
			want: "ünïcode",
		},
		{
			name: "jsonencode",
			expr: `jsonencode({ b = [1, true], a = "x" })`,
			want: `{"a":"x","b":[1,true]}`,
		},
		{
			name: "standard library functions",
			expr: `format("%s-%03d", join(".", ["a", "b"]), max(3, 7))`,
			want: "a.b-007",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := evalString(t, tc.files, tc.expr)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", tc.expr, diff)
			}
		})
	}
}
