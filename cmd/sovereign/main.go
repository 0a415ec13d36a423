// Command sovereign compiles HCL blueprints into self-hosted LLM appliances.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/commands"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := commands.MainWithInput(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, afero.NewOsFs(), os.Environ())
	stop()
	os.Exit(code)
}
