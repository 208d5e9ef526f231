package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
)

// ErrPrerequisite is returned (wrapped, naming what is missing) when the
// machine lacks something the lab needs: root, the ip command, bird, curl.
var ErrPrerequisite = errors.New("missing a prerequisite of the network lab")

// maxNodes keeps the nodes' management addresses inside one /28 (the bridge
// takes the first host address) and their LAN addresses below the LAN host's.
const maxNodes = 13

// prefixPattern is what Options.Prefix may be: short enough that
// "<prefix>-mgmt" fits an interface name (15 bytes), and free of the "-"
// that separates it from the rest of a name.
var prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,7}$`)

// Options configure Start and New. The zero value is ready to use.
type Options struct {
	// Nodes is the number of node namespaces, 1 to 13. Default 3.
	Nodes int
	// LANHost adds the namespace "lanhost" on the LAN (192.0.2.100,
	// 2001:db8:2::100), a client next to the nodes for arping and ndisc6.
	LANHost bool
	// Prefix starts every name the lab creates: a lower-case letter, then
	// up to 7 lower-case letters or digits. Default "flb" and four random
	// hex digits.
	Prefix string
	// Dir holds the configs, sockets and logs of the lab's processes.
	// Default: a new temporary directory that Close (or CleanupStale, after
	// a crash) removes. A given Dir is left in place.
	Dir string
}

// Lab is a running test bed; see the package documentation for its
// topology. Its methods may be called from several goroutines.
type Lab struct {
	prefix  string
	dir     string
	ownsDir bool
	mgmt    netip.Prefix
	ip      string // path of the ip command

	lanNS   string
	nodes   []*Host
	router  *Host
	client  *Host
	lanhost *Host // nil unless Options.LANHost

	mu       sync.Mutex
	closed   bool
	procs    []*Process
	servers  []*HTTPServer
	logNames map[string]int // log file base name → times used

	closeOnce sync.Once
	closeErr  error
}

// Start builds a lab and returns once every namespace, link, address and
// route is in place. ctx bounds the build only. On error nothing is left
// behind. The caller must Close the lab; tests use New instead.
//
// Start first removes what crashed earlier labs left (CleanupStale).
func Start(ctx context.Context, opts Options) (_ *Lab, err error) {
	ip, err := checkPrerequisites()
	if err != nil {
		return nil, err
	}
	if opts, err = withDefaults(opts); err != nil {
		return nil, err
	}
	if _, err := CleanupStale(ctx); err != nil {
		return nil, fmt.Errorf("removing what earlier labs left: %w", err)
	}

	// The state file names the directory before it exists, so that a crash
	// at any point leaves nothing CleanupStale does not know of.
	st, err := claim(opts.Prefix, opts.Dir == "")
	if err != nil {
		return nil, err
	}
	l := newLab(st.Prefix, st.Mgmt, opts)
	l.ip, l.dir, l.ownsDir = ip, opts.Dir, st.Dir != ""
	if l.ownsDir {
		l.dir = st.Dir
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, l.Close())
		}
	}()
	if l.ownsDir {
		if err := os.Mkdir(l.dir, 0o700); err != nil {
			l.ownsDir = false // someone else's: Close must not remove it
			return nil, fmt.Errorf("creating the lab's directory: %w", err)
		}
	}
	if err := l.build(ctx); err != nil {
		return nil, fmt.Errorf("building lab %s: %w", l.prefix, err)
	}
	return l, nil
}

func withDefaults(opts Options) (Options, error) {
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Nodes < 1 || opts.Nodes > maxNodes {
		return opts, fmt.Errorf("lab with %d nodes: give 1 to %d", opts.Nodes, maxNodes)
	}
	if opts.Prefix != "" && !prefixPattern.MatchString(opts.Prefix) {
		return opts, fmt.Errorf("lab prefix %q: give a lower-case letter and up to 7 lower-case letters or digits", opts.Prefix)
	}
	return opts, nil
}

// randomPrefix returns "flb" and four random hex digits.
func randomPrefix() (string, error) {
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("picking a lab prefix: %w", err)
	}
	return "flb" + hex.EncodeToString(b), nil
}

// checkPrerequisites checks for root and the ip command and returns the
// latter's path.
func checkPrerequisites() (string, error) {
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w: root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)", ErrPrerequisite)
	}
	return lookPath("ip")
}

// Prefix is the string every name of the lab starts with.
func (l *Lab) Prefix() string { return l.prefix }

// Dir holds the configs, sockets and logs of the lab's processes.
func (l *Lab) Dir() string { return l.dir }

// MgmtAddr is the management bridge's address in the root namespace: bind
// the API server there (kubeenv.Options{BindAddress: l.MgmtAddr()}) and the
// nodes reach it.
func (l *Lab) MgmtAddr() netip.Addr { return l.mgmt.Addr().Next() }

// MgmtPrefix is the /28 of 203.0.113.0/24 that the management bridge and
// the nodes' mgmt0 interfaces are on.
func (l *Lab) MgmtPrefix() netip.Prefix { return l.mgmt }

// Nodes returns the node hosts, node1 first.
func (l *Lab) Nodes() []*Host { return append([]*Host(nil), l.nodes...) }

// Router returns the router, on the LAN and the client's link.
func (l *Lab) Router() *Host { return l.router }

// Client returns the client behind the router.
func (l *Lab) Client() *Host { return l.client }

// LANHost returns the extra host on the LAN, or nil without
// Options.LANHost.
func (l *Lab) LANHost() *Host { return l.lanhost }

// hosts returns every host, nodes first.
func (l *Lab) hosts() []*Host {
	hs := append(l.Nodes(), l.router, l.client)
	if l.lanhost != nil {
		hs = append(hs, l.lanhost)
	}
	return hs
}

// namespaces returns the names of every namespace of the lab.
func (l *Lab) namespaces() []string {
	names := []string{l.lanNS}
	for _, h := range l.hosts() {
		names = append(names, h.NS)
	}
	return names
}

// Close stops the lab's processes and HTTP servers, kills whatever else
// still runs in its namespaces, deletes the namespaces, the management
// bridge and its veths, the state file and (if Start created it) the
// directory. It is safe to call more than once and from several goroutines;
// every call returns the first one's result.
func (l *Lab) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		procs, servers := l.procs, l.servers
		l.procs, l.servers = nil, nil
		l.mu.Unlock()

		var errs []error
		for _, s := range servers {
			errs = append(errs, s.Close())
		}
		errs = append(errs, stopAll(procs))
		errs = append(errs, removeByPrefix(context.Background(), l.ip, l.prefix))
		if l.ownsDir {
			if err := os.RemoveAll(l.dir); err != nil {
				errs = append(errs, fmt.Errorf("removing %s: %w", l.dir, err))
			}
		}
		errs = append(errs, release(l.prefix))
		if err := errors.Join(errs...); err != nil {
			l.closeErr = fmt.Errorf("tearing down lab %s: %w", l.prefix, err)
		}
	})
	return l.closeErr
}

// logTails returns the last n lines of every process log, for a failed test.
func (l *Lab) logTails(n int) string {
	l.mu.Lock()
	procs := append([]*Process(nil), l.procs...)
	l.mu.Unlock()
	var b strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&b, "last lines of %s:\n%s\n", p.LogPath, p.Tail(n))
	}
	return b.String()
}
