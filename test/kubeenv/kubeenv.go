package kubeenv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// The versions that hack/tools/go.mod pins and hack/build-tools.sh builds;
// they name the directory the binaries are cached in.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.7.0"
)

// ServiceAccountIssuer is the kube-apiserver's --service-account-issuer, and
// so the default audience of the tokens it mints.
const ServiceAccountIssuer = "https://kubernetes.default.svc"

// ErrBinariesMissing is returned by Start when kube-apiserver or etcd is not
// in Options.BinDir.
var ErrBinariesMissing = errors.New("kube-apiserver or etcd is missing; run `make tools` (or hack/build-tools.sh) to build them")

const (
	defaultStartTimeout = 90 * time.Second
	// Tests create objects in bursts; client-go's default of 5 QPS would
	// measure the client's rate limiter rather than floatlb.
	clientQPS   = 500
	clientBurst = 1000
	// startAttempts bounds the retries when a picked port was taken.
	startAttempts = 5
)

// Options configure Start. The zero value is ready to use.
type Options struct {
	// BinDir holds the kube-apiserver and etcd binaries (and kubectl, which
	// Start does not need). Default: DefaultBinDir().
	BinDir string
	// BindAddress is where kube-apiserver listens and the address it
	// advertises. Default 127.0.0.1.
	BindAddress netip.Addr
	// EtcdAddress is where etcd listens. Default 127.0.0.1; another
	// address lets more API servers, in network namespaces, share etcd.
	EtcdAddress netip.Addr
	// ServiceClusterIPRange is kube-apiserver's --service-cluster-ip-range.
	// Default 198.18.0.0/16, or 2001:db8:18::/112 when BindAddress is IPv6.
	ServiceClusterIPRange netip.Prefix
	// Dir holds etcd's data, the certificates, kubeconfigs and the logs
	// (etcd.log, kube-apiserver.log). Default: a new temporary directory,
	// which Stop removes. A given Dir is left in place.
	Dir string
	// APIServerFlags are appended to kube-apiserver's command line; where
	// they repeat a flag that Start sets, they win.
	APIServerFlags []string
	// StartTimeout bounds each start of etcd and of kube-apiserver until it
	// is ready. Default 90s: a loaded 2-core machine running -race tests
	// needs far more than the usual few seconds.
	StartTimeout time.Duration
}

// DefaultBinDir is where hack/build-tools.sh puts the binaries:
// $FLOATLB_TOOLS_BIN if set, else
// ${FLOATLB_TOOLS_DIR:-$HOME/.cache/floatlb/tools}/k8s-<version>-etcd-<version>.
func DefaultBinDir() string {
	if dir := os.Getenv("FLOATLB_TOOLS_BIN"); dir != "" {
		return dir
	}
	parent := os.Getenv("FLOATLB_TOOLS_DIR")
	if parent == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		parent = filepath.Join(home, ".cache", "floatlb", "tools")
	}
	return filepath.Join(parent, "k8s-"+KubernetesVersion+"-etcd-"+EtcdVersion)
}

// Env is a running etcd and kube-apiserver.
type Env struct {
	// Kubeconfig is the path of a kubeconfig with cluster-admin rights
	// (group system:masters).
	Kubeconfig string
	// Client is a clientset with cluster-admin rights.
	Client kubernetes.Interface
	// URL is the API server's address, https://<BindAddress>:<port>; it
	// stays the same across StopAPIServer and StartAPIServer.
	URL string
	// CAFile holds the certificate of the CA that signed the API server's
	// serving certificate.
	CAFile string
	// ServiceAccountKeyFile is the PEM RSA private key that signs and
	// verifies service account tokens.
	ServiceAccountKeyFile string
	// TokenAuthFile is kube-apiserver's --token-auth-file, with the admin
	// token: more API servers of the same cluster take it too.
	TokenAuthFile string
	// EtcdURL is etcd's client URL.
	EtcdURL string
	// Dir holds the data, certificates, kubeconfigs and logs.
	Dir string
	// BinDir is where the binaries came from; kubectl is there too.
	BinDir string

	opts          Options
	ownsDir       bool
	adminToken    string
	restConfig    *rest.Config
	apiserverArgs []string

	mu        sync.Mutex
	procs     []*process // every process started, running or not, oldest first
	apiserver *process   // the running kube-apiserver, if any
	stopped   bool

	stopOnce sync.Once
	stopErr  error
}

// Start starts etcd and kube-apiserver and returns once the API server is
// ready. ctx bounds the start only; the processes run until Stop. On error
// nothing is left running.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	opts, err = withDefaults(opts)
	if err != nil {
		return nil, err
	}
	e := &Env{opts: opts, Dir: opts.Dir, BinDir: opts.BinDir}
	if e.Dir == "" {
		if e.Dir, err = os.MkdirTemp("", "floatlb-kubeenv-"); err != nil {
			return nil, fmt.Errorf("creating the directory of the test environment: %w", err)
		}
		e.ownsDir = true
	}
	defer func() {
		if err != nil {
			_ = e.Stop()
		}
	}()
	if err := e.writeCredentials(); err != nil {
		return nil, err
	}
	if err := e.startEtcd(ctx); err != nil {
		return nil, err
	}
	if err := e.startAPIServerFirst(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func withDefaults(opts Options) (Options, error) {
	if opts.BinDir == "" {
		opts.BinDir = DefaultBinDir()
	}
	for _, bin := range []string{"etcd", "kube-apiserver"} {
		path := filepath.Join(opts.BinDir, bin)
		if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return opts, fmt.Errorf("%w (looked for %s; FLOATLB_TOOLS_BIN may name the directory that holds them)", ErrBinariesMissing, path)
		}
	}
	if !opts.BindAddress.IsValid() {
		opts.BindAddress = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if !opts.EtcdAddress.IsValid() {
		opts.EtcdAddress = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if opts.BindAddress.IsUnspecified() {
		return opts, fmt.Errorf("bind address %s: give a concrete address; the API server advertises it", opts.BindAddress)
	}
	if !opts.ServiceClusterIPRange.IsValid() {
		if opts.BindAddress.Is4() {
			opts.ServiceClusterIPRange = netip.MustParsePrefix("198.18.0.0/16")
		} else {
			opts.ServiceClusterIPRange = netip.MustParsePrefix("2001:db8:18::/112")
		}
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = defaultStartTimeout
	}
	return opts, nil
}

// writeCredentials writes the admin token file and the service account key.
func (e *Env) writeCredentials() error {
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("generating the admin token: %w", err)
	}
	e.adminToken = hex.EncodeToString(buf)
	// token,user,uid,"group,..." as --token-auth-file reads it.
	tokens := fmt.Sprintf("%s,kubeenv-admin,kubeenv-admin,\"system:masters\"\n", e.adminToken)
	e.TokenAuthFile = e.path("tokens.csv")
	if err := os.WriteFile(e.TokenAuthFile, []byte(tokens), 0o600); err != nil {
		return fmt.Errorf("writing the token file: %w", err)
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generating the service account key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding the service account key: %w", err)
	}
	e.ServiceAccountKeyFile = e.path("service-account.key")
	if err := os.WriteFile(e.ServiceAccountKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("writing the service account key: %w", err)
	}
	return nil
}

func (e *Env) path(name string) string { return filepath.Join(e.Dir, name) }

func (e *Env) startEtcd(ctx context.Context) error {
	listen := e.opts.EtcdAddress
	dataDir := e.path("etcd")
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(listen, 2)
		if err != nil {
			return err
		}
		clientURL := "http://" + netip.AddrPortFrom(listen, uint16(ports[0])).String()
		peerURL := "http://" + netip.AddrPortFrom(listen, uint16(ports[1])).String()
		args := []string{
			"--name=kubeenv",
			"--data-dir=" + dataDir,
			"--listen-client-urls=" + clientURL,
			"--advertise-client-urls=" + clientURL,
			"--listen-peer-urls=" + peerURL,
			"--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=kubeenv=" + peerURL,
			// The data dies with the test; fsync only makes it slow.
			"--unsafe-no-fsync=true",
			"--log-level=warn",
		}
		e.mu.Lock()
		p, err := e.spawnLocked("etcd", args)
		e.mu.Unlock()
		if err != nil {
			return err
		}
		err = waitReady(ctx, p, e.opts.StartTimeout, func(ctx context.Context) error {
			return etcdHealthy(ctx, clientURL)
		})
		if err == nil {
			e.EtcdURL = clientURL
			klog.FromContext(ctx).V(2).Info("etcd is ready", "url", clientURL)
			return nil
		}
		inUse := p.addressInUse()
		failure := p.failure(fmt.Errorf("starting etcd: %w", err))
		if stopErr := p.stop(context.WithoutCancel(ctx)); stopErr != nil {
			return errors.Join(failure, stopErr)
		}
		if !inUse || attempt == startAttempts || ctx.Err() != nil {
			return failure
		}
		// The member was created with the taken peer URL.
		if err := os.RemoveAll(dataDir); err != nil {
			return fmt.Errorf("removing etcd data of the failed start: %w", err)
		}
	}
}

func etcdHealthy(ctx context.Context, clientURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("etcd /health: %s: %s", resp.Status, body)
	}
	return nil
}

// startAPIServerFirst starts kube-apiserver on a free port, trying other
// ports when the picked one was taken meanwhile, and then sets up the
// clients.
func (e *Env) startAPIServerFirst(ctx context.Context) error {
	e.CAFile = filepath.Join(e.path("pki"), "apiserver.crt")
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(e.opts.BindAddress, 1)
		if err != nil {
			return err
		}
		e.URL = "https://" + netip.AddrPortFrom(e.opts.BindAddress, uint16(ports[0])).String()
		e.apiserverArgs = e.apiServerArgs(ports[0])
		inUse, err := e.runAPIServer(ctx)
		if err == nil {
			break
		}
		if !inUse || attempt == startAttempts || ctx.Err() != nil {
			return err
		}
	}

	ca, err := os.ReadFile(e.CAFile)
	if err != nil {
		return fmt.Errorf("reading the API server's certificate: %w", err)
	}
	e.restConfig = &rest.Config{
		Host:            e.URL,
		BearerToken:     e.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		QPS:             clientQPS,
		Burst:           clientBurst,
	}
	if e.Client, err = kubernetes.NewForConfig(e.RESTConfig()); err != nil {
		return fmt.Errorf("creating the admin client: %w", err)
	}
	// /readyz does not wait for the objects that the API server creates
	// itself in the background; tests should not race with them. This also
	// proves that the CA verifies.
	err = waitReady(ctx, e.apiserver, e.opts.StartTimeout, func(ctx context.Context) error {
		for _, ns := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem} {
			if _, err := e.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		_, err := e.Client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
		return err
	})
	if err != nil {
		return e.apiserver.failure(fmt.Errorf("waiting for the system namespaces and the kubernetes Service: %w", err))
	}
	if e.Kubeconfig, err = e.writeKubeconfig("admin.kubeconfig", "kubeenv-admin", e.adminToken); err != nil {
		return err
	}
	return nil
}

func (e *Env) apiServerArgs(port int) []string {
	bind := e.opts.BindAddress.String()
	args := []string{
		"--etcd-servers=" + e.EtcdURL,
		"--bind-address=" + bind,
		"--advertise-address=" + bind,
		"--secure-port=" + strconv.Itoa(port),
		// It writes a self-signed CA and serving certificate here on the
		// first start, for the advertise address and the first service IP,
		// and reuses them on restarts.
		"--cert-dir=" + e.path("pki"),
		"--authorization-mode=Node,RBAC",
		"--token-auth-file=" + e.TokenAuthFile,
		"--service-account-key-file=" + e.ServiceAccountKeyFile,
		"--service-account-signing-key-file=" + e.ServiceAccountKeyFile,
		"--service-account-issuer=" + ServiceAccountIssuer,
		"--service-cluster-ip-range=" + e.opts.ServiceClusterIPRange.String(),
		"--allow-privileged=true",
		"--profiling=false",
	}
	if e.opts.BindAddress.IsLoopback() {
		// The endpoints of the "kubernetes" Service may not be loopback
		// addresses; without a reconciler it has none.
		args = append(args, "--endpoint-reconciler-type=none")
	}
	return append(args, e.opts.APIServerFlags...)
}

// runAPIServer starts kube-apiserver with e.apiserverArgs and waits for
// /readyz. On failure nothing runs and inUse tells whether the port was
// taken.
func (e *Env) runAPIServer(ctx context.Context) (inUse bool, err error) {
	e.mu.Lock()
	if e.apiserver != nil {
		e.mu.Unlock()
		return false, errors.New("kube-apiserver is running already")
	}
	p, err := e.spawnLocked("kube-apiserver", e.apiserverArgs)
	if err != nil {
		e.mu.Unlock()
		return false, err
	}
	e.apiserver = p
	e.mu.Unlock()

	began := time.Now()
	err = waitReady(ctx, p, e.opts.StartTimeout, e.readyz)
	if err == nil {
		klog.FromContext(ctx).V(2).Info("kube-apiserver is ready", "url", e.URL, "after", time.Since(began))
		return false, nil
	}
	inUse = p.addressInUse()
	err = p.failure(fmt.Errorf("starting kube-apiserver: %w", err))
	e.mu.Lock()
	if e.apiserver == p {
		e.apiserver = nil
	}
	e.mu.Unlock()
	if stopErr := p.stop(context.WithoutCancel(ctx)); stopErr != nil {
		err = errors.Join(err, stopErr)
	}
	return inUse, err
}

// spawnLocked starts the binary name from BinDir, logging to Dir/name.log,
// and records it for Stop. The caller holds e.mu, so that Stop either sees
// the process or prevents its start.
func (e *Env) spawnLocked(name string, args []string) (*process, error) {
	if e.stopped {
		return nil, errors.New("the test environment is stopped")
	}
	p, err := startProcess(name, filepath.Join(e.BinDir, name), args, e.path(name+".log"))
	if err != nil {
		return nil, err
	}
	e.procs = append(e.procs, p)
	return p, nil
}

// readyz asks the API server's /readyz as admin. It skips verifying the
// serving certificate: the CA that signs it appears only while the server
// starts.
func (e *Env) readyz(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/readyz", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.adminToken)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		DisableKeepAlives: true,
	}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8192))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s: %s", resp.Status, strings.TrimSpace(lastLines(string(body), 5)))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// RESTConfig returns a copy of the admin client configuration, with QPS 500
// and Burst 1000.
func (e *Env) RESTConfig() *rest.Config {
	return rest.CopyConfig(e.restConfig)
}

// RESTConfigFor returns a client configuration that authenticates with
// token, and trusts the API server like RESTConfig.
func (e *Env) RESTConfigFor(token string) *rest.Config {
	cfg := rest.AnonymousClientConfig(e.restConfig)
	cfg.BearerToken = token
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	return cfg
}

// StopAPIServer stops kube-apiserver (SIGTERM, SIGKILL after a grace period
// or when ctx ends) and leaves etcd running. Stopping a stopped API server
// does nothing.
func (e *Env) StopAPIServer(ctx context.Context) error {
	e.mu.Lock()
	p := e.apiserver
	e.apiserver = nil
	e.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.stop(ctx)
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, with the
// same port, certificates and keys, and waits until it is ready. Clients and
// kubeconfigs made before keep working.
func (e *Env) StartAPIServer(ctx context.Context) error {
	// The port was ours a moment ago; something may still hold it briefly.
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var inUse bool
		if inUse, err = e.runAPIServer(ctx); err == nil || !inUse {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
	return err
}

// Stop stops kube-apiserver and etcd and, if Start created Dir, removes it.
// It is safe to call more than once and from several goroutines; all calls
// return the first call's result.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		e.stopped = true
		procs := e.procs
		e.apiserver = nil
		e.mu.Unlock()

		// Newest first: the API server before etcd, so it does not spend
		// its last moments failing to reach etcd. This includes a process
		// that StopAPIServer or a failed start is stopping right now, so
		// that none outlives Stop.
		var errs []error
		for i := len(procs) - 1; i >= 0; i-- {
			errs = append(errs, procs[i].stop(context.Background()))
		}
		if e.ownsDir {
			if err := os.RemoveAll(e.Dir); err != nil {
				errs = append(errs, fmt.Errorf("removing %s: %w", e.Dir, err))
			}
		}
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// logTails returns the last lines of both logs, for a failed test.
func (e *Env) logTails(n int) string {
	var b strings.Builder
	for _, name := range []string{"etcd.log", "kube-apiserver.log"} {
		fmt.Fprintf(&b, "last lines of %s:\n%s\n", e.path(name), tailFile(e.path(name), n))
	}
	return b.String()
}
