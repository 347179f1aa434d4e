// Command gendocs writes keyadm's markdown command reference and man pages:
//
//	go run ./internal/tools/gendocs -md docs/cli -man dist/man
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	md := flag.String("md", "", "folder for the markdown reference")
	man := flag.String("man", "", "folder for man pages")
	flag.Parse()
	if err := genDocs(*md, *man); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
