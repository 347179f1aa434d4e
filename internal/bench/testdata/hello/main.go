// Command hello is the cold-start floor: a Go "hello world" that the
// benchmark builds the way keyadm is built.
package main

import "fmt"

func main() { fmt.Println("hello, world") }
