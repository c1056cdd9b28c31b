// Command hello stands in for the manager in the image tests: any static
// Go binary will do.
package main

import "fmt"

func main() { fmt.Println("hello") }
