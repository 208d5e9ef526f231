package planner

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/floatlb/floatlb/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the plans computed")

// goldenInput is a testdata/*.json file: a config (in JSON, which
// config.Parse reads as YAML), the nodes and the Services of a cluster.
type goldenInput struct {
	Comment  string          `json:"comment"`
	Config   json.RawMessage `json:"config"`
	Nodes    []Node          `json:"nodes"`
	Services []Service       `json:"services"`
}

// TestGolden computes the plan of every node of each testdata/*.json and
// compares them, as JSON keyed by node name, with testdata/*.golden. Run
// with -update to rewrite the golden files, then review their diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.json")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			in := readGoldenInput(t, file)
			plans := map[string]Plan{}
			for _, n := range in.Nodes {
				in.Node = n.Name
				plans[n.Name] = Compute(in)
			}
			got, err := json.MarshalIndent(plans, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')

			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("plans differ from %s (-want +got); if the change is intended, run go test -run TestGolden -update:\n%s", golden, diff)
			}
		})
	}
}

func readGoldenInput(t *testing.T, file string) Input {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var g goldenInput
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("decoding %s: %v", file, err)
	}
	cfg, err := config.Parse(g.Config)
	if err != nil {
		t.Fatalf("config of %s: %v", file, err)
	}
	return Input{Config: cfg, Nodes: g.Nodes, Services: g.Services}
}
