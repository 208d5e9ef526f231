package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ccmBinary is the floatlb-ccm built once for the whole run (TestMain).
// Set once before any test runs and only read after: not mutable state.
var ccmBinary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "floatlb-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ccmBinary = os.Getenv("FLOATLB_CCM_BIN")
	if ccmBinary == "" {
		ccmBinary = filepath.Join(dir, "floatlb-ccm")
		build := exec.Command("go", "build", "-race", "-o", ccmBinary, "github.com/floatlb/floatlb/cmd/ccm")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building floatlb-ccm: %v\n", err)
			return 1
		}
	}
	return m.Run()
}
