package lang

import (
	"errors"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// errSecretArgument replaces the error of a function called with a secret:
// cty strips the marks before the call, so the function's own message
// ("reading \"hunter2\"…", "cannot parse \"hunter2\"…") would print the
// secret in the diagnostic.
var errSecretArgument = errors.New("the reason is not shown, because an argument comes from a secret (secret_file, secret_env or a sensitive variable)")

// redacting wraps f so that a call with a secret argument fails without
// saying why, and its result stays a secret. Calls without secrets are f's.
func redacting(f function.Function) function.Function {
	params := f.Params()
	for i := range params {
		params[i].AllowMarked = true
	}
	var varParam *function.Parameter
	if vp := f.VarParam(); vp != nil {
		p := *vp
		p.AllowMarked = true
		varParam = &p
	}
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      params,
		VarParam:    varParam,
		Type: func(args []cty.Value) (cty.Type, error) {
			plain, secret := unmarkArgs(args)
			ty, err := f.ReturnTypeForValues(plain)
			if err != nil && secret {
				return cty.NilType, errSecretArgument
			}
			return ty, err
		},
		Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
			plain, secret := unmarkArgs(args)
			v, err := f.Call(plain)
			switch {
			case err != nil && secret:
				return cty.UnknownVal(retType), errSecretArgument
			case secret:
				v = v.Mark(sensitive)
			}
			return v, err
		},
	})
}

// unmarkArgs returns args without their marks, and whether any had one.
func unmarkArgs(args []cty.Value) ([]cty.Value, bool) {
	plain := make([]cty.Value, len(args))
	secret := false
	for i, a := range args {
		if a.ContainsMarked() {
			secret = true
		}
		plain[i], _ = a.UnmarkDeep()
	}
	return plain, secret
}
