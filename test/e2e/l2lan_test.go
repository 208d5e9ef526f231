package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/floatlb/floatlb/announcer/l2"
	"github.com/floatlb/floatlb/test/e2e/lab"
)

// What the Layer 2 tests ask of the LAN, always from the LAN host: who
// answers ARP and NDP, where its kernel sends, what curl reaches.

// answerers returns the nodes that answer ARP (IPv4: two broadcast
// requests) or NDP (IPv6: one solicitation) for ip from the LAN host,
// sorted and each once; a hardware address that is no node's appears as
// itself.
func (c *cluster) answerers(ctx context.Context, ip netip.Addr) ([]string, error) {
	var macs []net.HardwareAddr
	var err error
	if ip.Is4() {
		macs, err = c.lab.ARPing(ctx, c.lab.LANHost(), ip, 2, 3*time.Second)
	} else {
		macs, err = c.lab.NDisc(ctx, c.lab.LANHost(), ip, time.Second)
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range macs {
		names = append(names, c.nodeOfMAC(m))
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// nodeOfMAC names the node with the hardware address mac, or returns mac.
func (c *cluster) nodeOfMAC(mac net.HardwareAddr) string {
	if mac == nil {
		return "nobody"
	}
	for _, n := range c.lab.Nodes() {
		if n.MAC.String() == mac.String() {
			return n.Name
		}
	}
	return mac.String()
}

// node returns the lab's node named name.
func (c *cluster) node(name string) *lab.Host {
	for _, n := range c.lab.Nodes() {
		if n.Name == name {
			return n
		}
	}
	c.t.Fatalf("no node %s in the lab", name)
	return nil
}

// sweep asks for every address of ips at once (a few at a time) and
// returns who answered for each.
func (c *cluster) sweep(ctx context.Context, ips []netip.Addr) (map[netip.Addr][]string, error) {
	const parallel = 8
	var (
		mu   sync.Mutex
		got  = map[netip.Addr][]string{}
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, parallel)
	)
	for _, ip := range ips {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			names, err := c.answerers(ctx, ip)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			got[ip] = names
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return got, nil
}

// sweepDiff describes where a sweep differs from want (owner by address):
// "" when every address is answered by its owner alone.
func sweepDiff(got map[netip.Addr][]string, want map[netip.Addr]string) string {
	var diffs []string
	for _, ip := range slices.SortedFunc(maps.Keys(want), netip.Addr.Compare) {
		if g := got[ip]; len(g) != 1 || g[0] != want[ip] {
			diffs = append(diffs, fmt.Sprintf("%s answered by %v, want %s", ip, g, want[ip]))
		}
	}
	return strings.Join(diffs, "; ")
}

// waitSweep waits until each address of ips is answered by its owner in
// want alone.
func (c *cluster) waitSweep(ips []netip.Addr, want map[netip.Addr]string, timeout time.Duration) {
	c.t.Helper()
	eventually(c.t, timeout, fmt.Sprintf("each of %d addresses answered by its owner alone", len(ips)), func(ctx context.Context) error {
		got, err := c.sweep(ctx, ips)
		if err != nil {
			return err
		}
		only := map[netip.Addr]string{}
		for _, ip := range ips {
			only[ip] = want[ip]
		}
		if d := sweepDiff(got, only); d != "" {
			return errors.New(d)
		}
		return nil
	})
}

// waitAnswerers waits until exactly the nodes want answer for ip from the
// LAN host (none: nobody).
func (c *cluster) waitAnswerers(ip netip.Addr, timeout time.Duration, want ...string) {
	c.t.Helper()
	slices.Sort(want)
	eventually(c.t, timeout, fmt.Sprintf("%v answer for %s", want, ip), func(ctx context.Context) error {
		got, err := c.answerers(ctx, ip)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("answered by %v", got)
		}
		return nil
	})
}

// expectNoAnswer checks, once and all at once, that nobody answers for
// any of ips.
func (c *cluster) expectNoAnswer(ctx context.Context, ips ...netip.Addr) {
	c.t.Helper()
	got, err := c.sweep(ctx, ips)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, ip := range ips {
		if len(got[ip]) != 0 {
			c.t.Errorf("%s is answered by %v; nobody may answer for it", ip, got[ip])
		}
	}
}

// reaches waits until curl from host to ip gets the name of node.
func (c *cluster) reaches(host *lab.Host, ip netip.Addr, node string, timeout time.Duration) {
	c.t.Helper()
	eventually(c.t, timeout, fmt.Sprintf("curl from %s to %s reaches %s", host, ip, node), func(ctx context.Context) error {
		got, err := c.lab.Curl(ctx, host, lab.URL(ip, 80))
		if err != nil {
			return err
		}
		if got != node {
			return fmt.Errorf("reached %s", got)
		}
		return nil
	})
}

// lanNeighbor returns the node the LAN host's kernel sends ip's packets
// to ("nobody" without an entry).
func (c *cluster) lanNeighbor(ctx context.Context, ip netip.Addr) (string, error) {
	mac, err := c.lab.Neighbor(ctx, c.lab.LANHost(), ip)
	if err != nil {
		return "", err
	}
	return c.nodeOfMAC(mac), nil
}

// owner is the node that must own ip while nodes are live: the one that
// ranks first for ip by rendezvous hashing, as every announcer computes it.
func owner(ip netip.Addr, nodes ...string) string {
	o, _ := l2.Owner(ip, nodes, func(string) bool { return true })
	return o
}

// nodeNames names the lab's nodes but those in except.
func (c *cluster) nodeNames(except ...string) []string {
	var names []string
	for _, n := range c.lab.Nodes() {
		if !slices.Contains(except, n.Name) {
			names = append(names, n.Name)
		}
	}
	return names
}

// metric sums every series of the metric name that node's announcer
// exports on its management address.
func (c *cluster) metric(ctx context.Context, node *lab.Host, name string) (float64, error) {
	return c.sumSeries(ctx, node, name)
}

// sumSeries sums the series of metric name on node's announcer whose
// labels include each of labels (written `name="value"`); 0 when there is
// none.
func (c *cluster) sumSeries(ctx context.Context, node *lab.Host, name string, labels ...string) (float64, error) {
	lines, err := c.scrape(ctx, node)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, line := range lines {
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		n, set, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		have := strings.Split(strings.TrimSuffix(set, "}"), ",")
		if !containsAll(have, labels) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, fmt.Errorf("%s of %s: %w", name, node, err)
		}
		sum += v
	}
	return sum, nil
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// series reads one series of node's announcer metrics, written as
// name{label="value"}; 0 when it is not there yet.
func (c *cluster) series(ctx context.Context, node *lab.Host, series string) (float64, error) {
	lines, err := c.scrape(ctx, node)
	if err != nil {
		return 0, err
	}
	for _, line := range lines {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, nil
}

// scrape returns the lines of node's announcer /metrics.
func (c *cluster) scrape(ctx context.Context, node *lab.Host) ([]string, error) {
	url := "http://" + netip.AddrPortFrom(node.Mgmt4, 7475).String() + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// metrics reads metric name of every node, by node name.
func (c *cluster) metrics(ctx context.Context, name string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, n := range c.lab.Nodes() {
		v, err := c.metric(ctx, n, name)
		if err != nil {
			return nil, err
		}
		out[n.Name] = v
	}
	return out, nil
}

// waitEvent waits until the Service default/name has an Event of reason
// whose message contains text.
func (c *cluster) waitEvent(name, reason, text string, timeout time.Duration) {
	c.t.Helper()
	eventually(c.t, timeout, fmt.Sprintf("Event %s on %s saying %q", reason, name, text), func(ctx context.Context) error {
		evs, err := c.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range evs.Items {
			if e.Reason == reason && strings.Contains(e.Message, text) {
				return nil
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return fmt.Errorf("the Events are %q", seen)
	})
}

// logSince logs what took how long since began.
func logSince(t *testing.T, began time.Time, format string, args ...any) {
	t.Helper()
	t.Logf("%s: %s", fmt.Sprintf(format, args...), time.Since(began).Round(time.Millisecond))
}
