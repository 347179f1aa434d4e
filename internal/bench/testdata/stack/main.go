// Command stack is hello world linked with the libraries the design card
// fixes (cobra, viper, modernc.org/sqlite, tablewriter, x/term, pgx):
// what any keyadm would pay to start before it does anything of its own.
// BenchmarkColdStart reports it beside keyadm and the plain hello world.
package main

import (
	"fmt"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
	_ "golang.org/x/term"
	_ "modernc.org/sqlite"
)

func main() { fmt.Println("hello, world") }
