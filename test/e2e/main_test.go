package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binaries are floatlb-ccm and floatlb-announcer, built once for the run by
// TestMain and only read after.
var binaries struct{ ccm, announcer string }

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "floatlb-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binaries.ccm = filepath.Join(dir, "floatlb-ccm")
	binaries.announcer = filepath.Join(dir, "floatlb-announcer")
	for bin, pkg := range map[string]string{binaries.ccm: "./cmd/ccm", binaries.announcer: "./cmd/announcer"} {
		build := exec.Command("go", "build", "-o", bin, "github.com/floatlb/floatlb/"+pkg[2:])
		// Static, as the image ships them (and sharing the build cache
		// with hack/check-image.sh and make build).
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", pkg, err)
			return 1
		}
	}
	return m.Run()
}
