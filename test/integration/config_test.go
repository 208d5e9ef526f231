package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const smallConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: main
  addresses: [192.0.2.8/29]
`

// TestConfigLifecycle: Services wait for a config that does not exist yet,
// then get addresses within seconds of it appearing; an invalid and a
// destructive config are each refused with a Warning Event, and the last
// good config stays in force.
func TestConfigLifecycle(t *testing.T) {
	env, client := newCluster(t)
	ccm := startCCM(t, env, configNamespace, "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics")
	createNamespace(t, client, "apps")
	const wait = 60 * time.Second

	create(t, client, service("apps", "early"))
	waitForEvent(t, client, "apps", "Service", "early", "SyncLoadBalancerFailed", "no floatlb config yet", wait)
	waitForMetric(t, ccm, "floatlb_config_valid 0", wait)

	cm := setConfig(t, client, smallConfig)
	appeared := time.Now()
	svc := waitForIPs(t, client, "apps", "early", 1, 15*time.Second)
	t.Logf("the Service got %s %s after the config appeared", ingressIPs(svc)[0], time.Since(appeared).Round(time.Millisecond))
	waitForMetric(t, ccm, "floatlb_config_valid 1", wait)
	held := ingressIPs(svc)[0]

	t.Run("invalid config is refused and the last good one stays", func(t *testing.T) {
		setConfig(t, client, strings.Replace(smallConfig, "192.0.2.8/29", "192.0.2.300-192.0.2.310", 1))
		msg := waitForEvent(t, client, configNamespace, "ConfigMap", cm.Name, "floatlb.io/InvalidConfig", `pools[0].addresses[0]: "192.0.2.300-192.0.2.310"`, wait)
		if !strings.Contains(msg, "the last good config stays in force") {
			t.Errorf("Event %q does not say that the last good config stays", msg)
		}
		waitForMetric(t, ccm, "floatlb_config_valid 0", wait)
		create(t, client, service("apps", "during-invalid"))
		if ip := ingressIPs(waitForIPs(t, client, "apps", "during-invalid", 1, wait))[0]; !inPrefix(ip, "192.0.2.8/29") {
			t.Errorf("during-invalid got %s, want one of the last good pool 192.0.2.8/29", ip)
		}
	})

	t.Run("config that takes held addresses away is refused, naming the Services", func(t *testing.T) {
		setConfig(t, client, strings.Replace(smallConfig, "192.0.2.8/29", "198.51.100.0/29", 1))
		msg := waitForEvent(t, client, configNamespace, "ConfigMap", cm.Name, "floatlb.io/InvalidConfig", "would take away addresses", wait)
		if !strings.Contains(msg, held+" (apps/early)") {
			t.Errorf("Event %q does not name %s held by apps/early", msg, held)
		}
		create(t, client, service("apps", "during-destructive"))
		if ip := ingressIPs(waitForIPs(t, client, "apps", "during-destructive", 1, wait))[0]; !inPrefix(ip, "192.0.2.8/29") {
			t.Errorf("during-destructive got %s, want one of the last good pool 192.0.2.8/29", ip)
		}
	})

	t.Run("a good config that keeps held addresses applies live", func(t *testing.T) {
		setConfig(t, client, strings.Replace(smallConfig, "192.0.2.8/29", "192.0.2.8/29, 198.51.100.0/29", 1))
		waitForMetric(t, ccm, "floatlb_config_valid 1", wait)
		waitForMetric(t, ccm, `floatlb_ipam_pool_addresses{family="IPv4",pool="main"} 16`, wait)
		got, err := client.CoreV1().Services("apps").Get(context.Background(), "early", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ip := ingressIPs(got)[0]; ip != held {
			t.Errorf("early moved from %s to %s", held, ip)
		}
	})
}

// waitForMetric waits until the CCM's /metrics has a line starting with line.
func waitForMetric(t testing.TB, c *ccm, line string, timeout time.Duration) {
	t.Helper()
	var port string
	for _, a := range c.args {
		if p, ok := strings.CutPrefix(a, "--secure-port="); ok {
			port = p
		}
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	eventually(t, timeout, "metric "+line, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://127.0.0.1:"+port+"/metrics", nil)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, line) {
				return nil
			}
		}
		return fmt.Errorf("status %s, no line %q", resp.Status, line)
	})
}
