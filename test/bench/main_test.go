package bench

import (
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
