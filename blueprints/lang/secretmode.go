package lang

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// secretFileModes warns about every secret_file() in expr whose file other
// users of the build machine can read: a member key or TLS key left 0644
// is one `cat` away from anyone with a login there. It is a warning, not an
// error, because a checkout or an archive often resets modes and the
// build's own output is written 0600 either way.
func (a *Attrs) secretFileModes(expr hcl.Expression) {
	hclsyntax.VisitAll(exprNode(expr), func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok || call.Name != "secret_file" || len(call.Args) != 1 {
			return nil
		}
		arg, diags := call.Args[0].Value(a.Evaluator.Ctx)
		if diags.HasErrors() || !arg.IsWhollyKnown() || arg.IsNull() || arg.Type() != cty.String {
			return nil
		}
		p := CleanRel(a.Evaluator.BaseDir, arg.AsString())
		info, err := a.Evaluator.parser.fs.Stat(p)
		if err != nil || info.Mode().Perm()&0o077 == 0 {
			return nil
		}
		a.Diags = append(a.Diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Secret file readable by others",
			Detail:   fmt.Sprintf("`chmod 600 %s` makes this secret file readable by its owner only. Its mode is %04o now, so other users of this machine can read it.", p, info.Mode().Perm()),
			Subject:  call.Range().Ptr(),
		})
		return nil
	})
}

// exprNode is expr as a syntax node, or an empty literal for expressions
// from elsewhere (JSON), which hold no function calls to look at.
func exprNode(expr hcl.Expression) hclsyntax.Node {
	if n, ok := expr.(hclsyntax.Node); ok {
		return n
	}
	return &hclsyntax.LiteralValueExpr{Val: cty.NilVal}
}
