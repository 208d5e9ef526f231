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

	"github.com/floatlb/floatlb/test/e2e/lab"
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
// likely cause.
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
