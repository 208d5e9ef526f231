package controlplane

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestManifestGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"vrrp", []string{"--control-plane-vip=198.51.100.5,2001:db8::5"}},
		{"l2", []string{"--control-plane-vip=198.51.100.5", "--control-plane-mode=l2", "--kubeconfig=/etc/kubernetes/admin.conf"}},
		{"bgp", []string{"--control-plane-vip=198.51.100.5", "--control-plane-mode=bgp", "--control-plane-bgp-peers=192.0.2.1:64500"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := parse(t, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ManifestYAML(opts, DefaultImage, DefaultMetricsAddress)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "manifest-"+tc.name+".yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestManifestRefusesRelativeKubeconfig(t *testing.T) {
	opts, err := parse(t, []string{"--control-plane-vip=198.51.100.5", "--control-plane-mode=l2", "--kubeconfig=admin.conf"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ManifestYAML(opts, DefaultImage, DefaultMetricsAddress); err == nil {
		t.Error("ManifestYAML took a relative kubeconfig path")
	}
}
