// Command keyadm manages API keys in SQLite or PostgreSQL.
package main

import (
	"os"

	"github.com/keyadm/keyadm/internal/cli"
)

func main() {
	os.Exit(cli.Main(&cli.Factory{}, os.Args[1:]))
}
