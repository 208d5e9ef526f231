package bench

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ccmBinary and announcerBinary are built once, without -race, before any
// benchmark, and only read after.
var ccmBinary, announcerBinary string

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
	announcerBinary = filepath.Join(dir, "floatlb-announcer")
	for bin, pkg := range map[string]string{ccmBinary: "cmd/ccm", announcerBinary: "cmd/announcer"} {
		build := exec.Command("go", "build", "-o", bin, "github.com/floatlb/floatlb/"+pkg)
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
