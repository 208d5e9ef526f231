// Package cplab runs a highly available Kubernetes control plane in the
// network lab of test/e2e/lab: one etcd on the management bridge, shared
// by a kube-apiserver in every node namespace (listening on the node's
// addresses and its loopback, port 6443) and by one in the root namespace
// for the tests' own client. floatlb-announcer in control-plane mode keeps
// a VIP in front of the node API servers; the e2e tests and the
// benchmarks use it.
package cplab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/kubeenv"
)

// Port is every node API server's port.
const Port = 6443

// Cluster is the lab, the shared etcd (with the root API server of Env),
// and the API servers and announcers of the nodes.
type Cluster struct {
	t   testing.TB
	Lab *lab.Lab
	Env *kubeenv.Env
	// Kubeconfig has the admin token and the CA of the node API servers,
	// whose certificate is valid for every VIP given to Start, the nodes'
	// addresses, loopback and the name "kubernetes"; its server is the
	// first VIP. kubectl's --server picks another.
	Kubeconfig string
	// announcer is the floatlb-announcer binary.
	announcer   string
	certDir     string
	apiserverMu sync.Mutex
	apiservers  map[string]*lab.Process
	announcers  map[string]*lab.Process
	args        map[string][]string // of each node's last announcer
}

// Start builds the lab (three nodes and a LAN host), etcd, the root API
// server and the node API servers, and waits until every one is ready.
// Everything is stopped when the test ends.
func Start(t testing.TB, announcer string, vips ...netip.Addr) *Cluster {
	t.Helper()
	l := lab.New(t, lab.Options{LANHost: true})
	env := kubeenv.StartT(t, kubeenv.Options{BindAddress: l.MgmtAddr(), EtcdAddress: l.MgmtAddr()})
	c := &Cluster{
		t: t, Lab: l, Env: env, announcer: announcer,
		certDir:    t.TempDir(),
		apiservers: map[string]*lab.Process{},
		announcers: map[string]*lab.Process{},
		args:       map[string][]string{},
	}
	var ips []netip.Addr
	ips = append(ips, vips...)
	for _, n := range l.Nodes() {
		ips = append(ips, n.IPv4, n.IPv6)
	}
	if err := writeCertificates(c.certDir, ips); err != nil {
		t.Fatal(err)
	}
	token, err := adminToken(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kubeconfig, err = c.writeKubeconfig(vips[0], token); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, len(l.Nodes()))
	for _, n := range l.Nodes() {
		go func() { errs <- c.StartAPIServer(t.Context(), n) }()
	}
	for range l.Nodes() {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// adminToken reads the bearer token of a kubeconfig's first user.
func adminToken(kubeconfig string) (string, error) {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return "", err
	}
	for _, u := range cfg.AuthInfos {
		if u.Token != "" {
			return u.Token, nil
		}
	}
	return "", fmt.Errorf("%s has no token", kubeconfig)
}

func (c *Cluster) writeKubeconfig(vip netip.Addr, token string) (string, error) {
	path := filepath.Join(c.certDir, "admin.conf")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: cplab
  cluster: {server: %q, certificate-authority: %q}
users:
- name: admin
  user: {token: %q}
contexts:
- name: admin
  context: {cluster: cplab, user: admin}
current-context: admin
`, ServerURL(vip), filepath.Join(c.certDir, "ca.crt"), token)
	return path, os.WriteFile(path, []byte(kc), 0o600)
}

// ServerURL is https://ip:6443, brackets around IPv6.
func ServerURL(ip netip.Addr) string {
	return "https://" + netip.AddrPortFrom(ip, Port).String()
}

// StartAPIServer starts the node's kube-apiserver and waits until it is
// ready.
func (c *Cluster) StartAPIServer(ctx context.Context, node *lab.Host) error {
	e := c.Env
	p, err := c.Lab.StartProcess(node, filepath.Join(e.BinDir, "kube-apiserver"),
		"--etcd-servers="+e.EtcdURL,
		"--bind-address=::",
		"--advertise-address="+node.IPv4.String(),
		fmt.Sprintf("--secure-port=%d", Port),
		"--tls-cert-file="+filepath.Join(c.certDir, "apiserver.crt"),
		"--tls-private-key-file="+filepath.Join(c.certDir, "apiserver.key"),
		"--authorization-mode=Node,RBAC",
		"--token-auth-file="+e.TokenAuthFile,
		"--service-account-key-file="+e.ServiceAccountKeyFile,
		"--service-account-signing-key-file="+e.ServiceAccountKeyFile,
		"--service-account-issuer="+kubeenv.ServiceAccountIssuer,
		"--service-cluster-ip-range=198.18.0.0/16",
		"--allow-privileged=true",
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	c.apiserverMu.Lock()
	c.apiservers[node.Name] = p
	c.apiserverMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for {
		err := c.Readyz(ctx, node, netip.MustParseAddr("127.0.0.1"))
		if err == nil {
			return nil
		}
		select {
		case <-p.Done():
			return fmt.Errorf("kube-apiserver on %s exited: %s", node.Name, p.Tail(20))
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver on %s is not ready: %w: %s", node.Name, err, p.Tail(20))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// KillAPIServer kills the node's kube-apiserver (SIGKILL) and waits for
// its end.
func (c *Cluster) KillAPIServer(node *lab.Host) error {
	c.apiserverMu.Lock()
	p := c.apiservers[node.Name]
	delete(c.apiservers, node.Name)
	c.apiserverMu.Unlock()
	if p == nil {
		return fmt.Errorf("no kube-apiserver runs on %s", node.Name)
	}
	return p.Kill()
}

// Readyz runs `kubectl get --raw /readyz` in from's namespace against
// https://ip:6443.
func (c *Cluster) Readyz(ctx context.Context, from *lab.Host, ip netip.Addr) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := c.Lab.Exec(ctx, from, filepath.Join(c.Env.BinDir, "kubectl"),
		"--kubeconfig="+c.Kubeconfig, "--server="+ServerURL(ip), "--request-timeout=2s", "get", "--raw", "/readyz")
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(out)) != "ok" {
		return fmt.Errorf("/readyz through %s: %q", ip, out)
	}
	return nil
}

// StartAnnouncer runs floatlb-announcer in control-plane mode on node with
// args (the mode's flags), its metrics on the node's management address.
func (c *Cluster) StartAnnouncer(node *lab.Host, args ...string) (*lab.Process, error) {
	args = append([]string{"--node-name=" + node.Name, "--metrics-bind-address=" + node.Mgmt4.String() + ":7476", "-v=2"}, args...)
	p, err := c.Lab.StartProcess(node, c.announcer, args...)
	if err != nil {
		return nil, err
	}
	c.announcers[node.Name], c.args[node.Name] = p, args
	return p, nil
}

// StartAnnouncers runs an announcer with args on every node.
func (c *Cluster) StartAnnouncers(args ...string) error {
	for _, n := range c.Lab.Nodes() {
		if _, err := c.StartAnnouncer(n, args...); err != nil {
			return err
		}
	}
	return nil
}

// RestartAnnouncer starts the node's announcer again with the command line
// of its last start, as kubelet restarts a static Pod.
func (c *Cluster) RestartAnnouncer(node *lab.Host) (*lab.Process, error) {
	if p := c.announcers[node.Name]; p != nil {
		if err := p.Stop(); err != nil {
			return nil, err
		}
	}
	p, err := c.Lab.StartProcess(node, c.announcer, c.args[node.Name]...)
	if err != nil {
		return nil, err
	}
	c.announcers[node.Name] = p
	return p, nil
}

// Announcer is the node's announcer, nil if none runs.
func (c *Cluster) Announcer(node string) *lab.Process { return c.announcers[node] }

// StopAnnouncers stops every announcer with SIGTERM and waits for them.
func (c *Cluster) StopAnnouncers() error {
	var errs []error
	for name, p := range c.announcers {
		errs = append(errs, p.Stop())
		delete(c.announcers, name)
	}
	return errors.Join(errs...)
}

// Holders returns the nodes that have ip on ifname.
func (c *Cluster) Holders(ctx context.Context, ip netip.Addr, ifname string) ([]string, error) {
	var out []string
	for _, n := range c.Lab.Nodes() {
		addrs, err := c.Lab.Addrs(ctx, n, ifname)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(addrs, func(p netip.Prefix) bool { return p.Addr() == ip }) {
			out = append(out, n.Name)
		}
	}
	return out, nil
}

// Node returns the lab's node of that name.
func (c *Cluster) Node(name string) *lab.Host {
	for _, n := range c.Lab.Nodes() {
		if n.Name == name {
			return n
		}
	}
	c.t.Fatalf("no node %s", name)
	return nil
}

// Answers reports whether https://ip:6443/readyz answers ok to curl in
// from's namespace within a second: a cheaper probe than Readyz, for
// timing.
func (c *Cluster) Answers(ctx context.Context, from *lab.Host, ip netip.Addr) bool {
	out, err := c.Lab.Exec(ctx, from, "curl", "--silent", "--fail", "--globoff", "--noproxy", "*", "--max-time", "1",
		"--cacert", filepath.Join(c.certDir, "ca.crt"), ServerURL(ip)+"/readyz")
	return err == nil && strings.TrimSpace(string(out)) == "ok"
}
