package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/fixture"
)

const md5Config = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: public
  addresses: [198.19.20.0/24]
bgp:
  asn: 64512
  peers:
  - name: router
    address: 192.0.2.1
    asn: 64500
    holdTime: 9s
    passwordSecret: {name: floatlb-bgp, key: router}
`

// TestBGPPassword: the announcers read the TCP MD5 password from the
// Secret; node1's session, whose password the router shares, comes up and
// carries the route; node2's, where the router has another password, stays
// down, and node2's log and metric name the peer and an MD5 mismatch as the
// likely cause. Deleting the Secret keeps the sessions and the route (with
// the password read last), said by a metric and a Warning Event.
func TestBGPPassword(t *testing.T) {
	lab.Require(t, "bird", "birdc")
	c := newCluster(t, md5Config)
	ctx := context.Background()
	if _, err := c.client.CoreV1().Secrets(configNamespace).Create(ctx, &v1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: configNamespace, Name: "floatlb-bgp"},
		Data:       map[string][]byte{"router": []byte("s3cret-pw")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	peers := c.lab.NodePeers(64512, lab.IPv4)
	peers[0].Password = "s3cret-pw"
	peers[1].Password = "not-the-same"
	peers[2].Password = "s3cret-pw"
	bird, err := c.lab.StartBIRD(ctx, lab.BIRDConfig{ASN: 64500, Peers: peers})
	if err != nil {
		t.Fatal(err)
	}
	c.startCCM()
	c.startAnnouncers()
	if err := bird.WaitEstablished(ctx, "node1"); err != nil {
		t.Fatal(err)
	}
	ips := c.loadBalancer("web", func(s *v1.Service) {
		single := v1.IPFamilyPolicySingleStack
		s.Spec.IPFamilyPolicy, s.Spec.IPFamilies = &single, []v1.IPFamily{v1.IPv4Protocol}
	})
	c.routeVia(ips[0], 30*time.Second, "node1", "node3")

	node2 := c.lab.Nodes()[1]
	eventually(t, 90*time.Second, "node2 names the peer and a likely MD5 mismatch", func(ctx context.Context) error {
		metrics, err := scrape(ctx, node2)
		if err != nil {
			return err
		}
		if !strings.Contains(metrics, `floatlb_bgp_session_md5_suspected{peer="router"} 1`) {
			return fmt.Errorf("no floatlb_bgp_session_md5_suspected{peer=\"router\"} 1 yet")
		}
		log := c.announcers["node2"].Tail(400)
		if !strings.Contains(log, "a password mismatch is the likely cause") || !strings.Contains(log, `peer="router"`) {
			return fmt.Errorf("the log does not name the peer and the likely cause")
		}
		return nil
	})
	if out, _ := bird.Show(ctx, "protocols"); strings.Contains(out, "node2") && strings.Contains(strings.SplitN(out[strings.Index(out, "node2"):], "\n", 2)[0], "Established") {
		t.Errorf("node2's session is up despite the wrong password:\n%s", out)
	}

	t.Run("the Secret deleted: sessions and route stay, a metric and a Warning say so", func(t *testing.T) {
		if err := c.client.CoreV1().Secrets(configNamespace).Delete(ctx, "floatlb-bgp", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poke(t, c, "web") // a plan now, not at the next resync
		const missing = `floatlb_bgp_password_unavailable{key="router",peer="router",reason="missing",secret="floatlb-bgp"} 1`
		for _, n := range []*lab.Host{c.lab.Nodes()[0], c.lab.Nodes()[2]} {
			eventually(t, 30*time.Second, n.Name+" says the password Secret is missing", func(ctx context.Context) error {
				metrics, err := scrape(ctx, n)
				if err != nil {
					return err
				}
				if !strings.Contains(metrics, missing) {
					return fmt.Errorf("no %s yet", missing)
				}
				return nil
			})
		}
		waitConfigEvent(t, c, "floatlb.io/BGPPasswordMissing", "node1 cannot read the TCP MD5 password of BGP peer router: Secret floatlb-system/floatlb-bgp does not exist", 30*time.Second)
		// The plans that found the Secret gone have run: the sessions and
		// the route would be gone by now if the Secret were still needed.
		time.Sleep(2 * time.Second)
		c.routeVia(ips[0], time.Second, "node1", "node3")
		for _, n := range []string{"node1", "node3"} {
			if err := bird.WaitEstablished(ctx, n); err != nil {
				t.Error(err)
			}
		}

		if _, err := c.client.CoreV1().Secrets(configNamespace).Create(ctx, &v1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: configNamespace, Name: "floatlb-bgp"},
			Data:       map[string][]byte{"router": []byte("s3cret-pw")},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		poke(t, c, "web")
		eventually(t, 30*time.Second, "node1's metric clears", func(ctx context.Context) error {
			metrics, err := scrape(ctx, c.lab.Nodes()[0])
			if err != nil {
				return err
			}
			if strings.Contains(metrics, "floatlb_bgp_password_unavailable{") {
				return fmt.Errorf("floatlb_bgp_password_unavailable still set")
			}
			return nil
		})
		c.routeVia(ips[0], time.Second, "node1", "node3")
	})
}

// poke changes an annotation of the Service default/name, so that every
// announcer plans at once.
func poke(t *testing.T, c *cluster, name string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"e2e.floatlb.io/poke":%q}}}`, time.Now().Format(time.RFC3339Nano))
	if _, err := c.client.CoreV1().Services("default").Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitConfigEvent waits until the floatlb ConfigMap has an Event of reason
// whose message contains text.
func waitConfigEvent(t *testing.T, c *cluster, reason, text string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("Event %s on the ConfigMap saying %q", reason, text), func(ctx context.Context) error {
		evs, err := c.client.CoreV1().Events(configNamespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=ConfigMap,involvedObject.name=" + fixture.ConfigName})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range evs.Items {
			if e.Reason == reason && e.Type == v1.EventTypeWarning && strings.Contains(e.Message, text) {
				return nil
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return fmt.Errorf("the Events are %q", seen)
	})
}

// scrape reads an announcer's /metrics from inside the test process over
// the management bridge.
func scrape(ctx context.Context, node *lab.Host) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+node.Mgmt4.String()+":7475/metrics", nil)
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
