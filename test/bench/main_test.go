package bench

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ccmBinary is floatlb-ccm built once, without -race, before any benchmark.
var ccmBinary string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		return m.Run() // no benchmark asked for: nothing to build
	}
	dir, err := os.MkdirTemp("", "floatlb-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ccmBinary = filepath.Join(dir, "floatlb-ccm")
	build := exec.Command("go", "build", "-o", ccmBinary, "github.com/floatlb/floatlb/cmd/ccm")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building floatlb-ccm: %v\n", err)
		return 1
	}
	return m.Run()
}
