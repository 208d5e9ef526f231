package kubeenv

import (
	"os"
	"strings"
	"testing"
)

// TestVersionsMatchTools keeps the cache directory that DefaultBinDir names
// in step with what hack/build-tools.sh builds from hack/tools/go.mod;
// otherwise a version bump would quietly skip every integration test.
func TestVersionsMatchTools(t *testing.T) {
	data, err := os.ReadFile("../../hack/tools/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"k8s.io/kubernetes":         KubernetesVersion,
		"go.etcd.io/etcd/server/v3": EtcdVersion,
	}
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(fields) < 2 {
			continue
		}
		if v, ok := want[fields[0]]; ok {
			if fields[1] != v {
				t.Errorf("hack/tools/go.mod requires %s %s, but kubeenv expects %s; update the constants in kubeenv.go", fields[0], fields[1], v)
			}
			delete(want, fields[0])
		}
	}
	for mod := range want {
		t.Errorf("hack/tools/go.mod does not require %s", mod)
	}
}
