package lang

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/spf13/afero"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// sensitive is the cty mark carried by every secret value. cty propagates
// marks through operators and function calls, so anything computed from a
// secret is a secret too.
const sensitive = "sensitive"

// functions returns the functions a blueprint can call: cty's standard
// library under Terraform's familiar names, plus the file and secret
// functions, which read relative to the blueprint's folder through fsys.
func functions(fsys afero.Fs, baseDir string, env map[string]string) map[string]function.Function {
	fns := make(map[string]function.Function, len(standardFunctions)+5)
	for k, v := range standardFunctions {
		fns[k] = v
	}
	read := func(p string) (string, error) {
		full := CleanRel(baseDir, p)
		b, err := afero.ReadFile(fsys, full)
		if err != nil {
			return "", fmt.Errorf("reading %q (relative to the blueprint folder %q): %s", p, baseDir, unwrapPathError(err))
		}
		if !utf8.Valid(b) {
			return "", fmt.Errorf("the file %q is not valid UTF-8 text", p)
		}
		return string(b), nil
	}
	fns["file"] = fileFunc(read)
	fns["secret_file"] = secretFileFunc(read)
	fns["secret_env"] = secretEnvFunc(env)
	// No function's error may print a secret it was given.
	for k, v := range fns {
		fns[k] = redacting(v)
	}
	// templatefile renders with the blueprint's own functions, less itself:
	// a template that calls templatefile could recurse without end.
	inner := make(map[string]function.Function, len(fns))
	for k, v := range fns {
		inner[k] = v
	}
	fns["templatefile"] = redacting(templateFileFunc(read, baseDir, inner))
	return fns
}

// standardFunctions are cty's standard library under Terraform's names.
var standardFunctions = map[string]function.Function{
	"abs":             stdlib.AbsoluteFunc,
	"ceil":            stdlib.CeilFunc,
	"chomp":           stdlib.ChompFunc,
	"coalesce":        stdlib.CoalesceFunc,
	"compact":         stdlib.CompactFunc,
	"concat":          stdlib.ConcatFunc,
	"contains":        stdlib.ContainsFunc,
	"distinct":        stdlib.DistinctFunc,
	"element":         stdlib.ElementFunc,
	"flatten":         stdlib.FlattenFunc,
	"floor":           stdlib.FloorFunc,
	"format":          stdlib.FormatFunc,
	"formatlist":      stdlib.FormatListFunc,
	"indent":          stdlib.IndentFunc,
	"join":            stdlib.JoinFunc,
	"jsondecode":      stdlib.JSONDecodeFunc,
	"jsonencode":      stdlib.JSONEncodeFunc,
	"keys":            stdlib.KeysFunc,
	"length":          lengthFunc,
	"lookup":          stdlib.LookupFunc,
	"lower":           stdlib.LowerFunc,
	"max":             stdlib.MaxFunc,
	"merge":           stdlib.MergeFunc,
	"min":             stdlib.MinFunc,
	"parseint":        stdlib.ParseIntFunc,
	"range":           stdlib.RangeFunc,
	"regex":           stdlib.RegexFunc,
	"regexall":        stdlib.RegexAllFunc,
	"replace":         stdlib.ReplaceFunc,
	"reverse":         stdlib.ReverseListFunc,
	"setintersection": stdlib.SetIntersectionFunc,
	"setunion":        stdlib.SetUnionFunc,
	"slice":           stdlib.SliceFunc,
	"sort":            stdlib.SortFunc,
	"split":           stdlib.SplitFunc,
	"strlen":          stdlib.StrlenFunc,
	"strrev":          stdlib.ReverseFunc,
	"substr":          stdlib.SubstrFunc,
	"title":           stdlib.TitleFunc,
	"trim":            stdlib.TrimFunc,
	"trimprefix":      stdlib.TrimPrefixFunc,
	"trimspace":       stdlib.TrimSpaceFunc,
	"trimsuffix":      stdlib.TrimSuffixFunc,
	"upper":           stdlib.UpperFunc,
	"values":          stdlib.ValuesFunc,
	"zipmap":          stdlib.ZipmapFunc,

	"base64encode": base64EncodeFunc,
	"base64decode": base64DecodeFunc,
	"sha256":       sha256Func,
}

// readFunc reads a file relative to the blueprint's folder.
type readFunc func(path string) (string, error)

func fileFunc(read readFunc) function.Function {
	return function.New(&function.Spec{
		Description: "The contents of a text file, relative to the blueprint's folder.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder {
			return b.NotNull()
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := read(args[0].AsString())
			return cty.StringVal(s), err
		},
	})
}

func secretFileFunc(read readFunc) function.Function {
	return function.New(&function.Spec{
		Description: "The contents of a secret file without its trailing newline, marked sensitive.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := read(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			s = strings.TrimRight(s, "\r\n")
			if s == "" {
				return cty.UnknownVal(cty.String), fmt.Errorf("the secret file %q is empty", args[0].AsString())
			}
			return cty.StringVal(s).Mark(sensitive), nil
		},
	})
}

func secretEnvFunc(env map[string]string) function.Function {
	return function.New(&function.Spec{
		Description: "The value of an environment variable, marked sensitive.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			v, ok := env[name]
			if !ok || v == "" {
				return cty.UnknownVal(cty.String), fmt.Errorf("the environment variable %s is not set (or empty)", name)
			}
			return cty.StringVal(v).Mark(sensitive), nil
		},
	})
}

// templateFileFunc renders a template with the functions inner.
func templateFileFunc(read readFunc, baseDir string, inner map[string]function.Function) function.Function {
	return function.New(&function.Spec{
		Description: "Renders a template file, relative to the blueprint's folder, with the given variables.",
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			text, err := read(name)
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			vars := args[1]
			if !vars.Type().IsObjectType() && !vars.Type().IsMapType() {
				return cty.UnknownVal(cty.String), fmt.Errorf("the template variables must be an object or a map")
			}
			expr, diags := hclsyntax.ParseTemplate([]byte(text), CleanRel(baseDir, name), hcl.InitialPos)
			if diags.HasErrors() {
				return cty.UnknownVal(cty.String), fmt.Errorf("%s", diags.Error())
			}
			ctx := &hcl.EvalContext{Variables: vars.AsValueMap(), Functions: inner}
			val, diags := expr.Value(ctx)
			if diags.HasErrors() {
				return cty.UnknownVal(cty.String), fmt.Errorf("%s", diags.Error())
			}
			return val, nil
		},
	})
}

var base64EncodeFunc = function.New(&function.Spec{
	Description: "Base64 (standard alphabet, padded) of a string's UTF-8 bytes.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(args[0].AsString()))), nil
	},
})

var base64DecodeFunc = function.New(&function.Spec{
	Description: "Decodes standard padded base64 into a UTF-8 string.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		b, err := base64.StdEncoding.DecodeString(args[0].AsString())
		if err != nil {
			return cty.UnknownVal(cty.String), fmt.Errorf("invalid base64: %w", err)
		}
		if !utf8.Valid(b) {
			return cty.UnknownVal(cty.String), fmt.Errorf("the decoded bytes are not valid UTF-8")
		}
		return cty.StringVal(string(b)), nil
	},
})

var sha256Func = function.New(&function.Spec{
	Description: "Hex SHA-256 of a string's UTF-8 bytes.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		sum := sha256.Sum256([]byte(args[0].AsString()))
		return cty.StringVal(hex.EncodeToString(sum[:])), nil
	},
})

// lengthFunc is cty's length, which counts only collections, extended to
// strings (counting characters) as Terraform users expect.
var lengthFunc = function.New(&function.Spec{
	Description: "The number of elements of a collection, or of characters in a string.",
	Params: []function.Parameter{{
		Name:             "value",
		Type:             cty.DynamicPseudoType,
		AllowDynamicType: true,
		AllowUnknown:     true,
	}},
	Type: function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if args[0].Type() == cty.String {
			return stdlib.Strlen(args[0])
		}
		return stdlib.Length(args[0])
	},
})
