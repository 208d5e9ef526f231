package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// birdStartTimeout bounds how long StartBIRD waits for BIRD's control
// socket.
const birdStartTimeout = 15 * time.Second

// BIRDConfig is the router's BGP configuration.
type BIRDConfig struct {
	// ASN is the router's AS number.
	ASN uint32
	// Peers are the BGP sessions, one BIRD protocol each.
	Peers []BIRDPeer
}

// BIRDPeer is one BGP session of the router. A session over IPv4 carries
// IPv4 and IPv6 routes (MP-BGP; IPv6 routes come with IPv6 next hops); a
// session over IPv6 carries IPv6 routes only. Routes are imported, none is
// exported.
type BIRDPeer struct {
	// Name is the BIRD protocol name, for Show and WaitEstablished: a
	// letter, then letters, digits or underscores.
	Name string
	// Address is the peer's address.
	Address netip.Addr
	// ASN is the peer's AS number.
	ASN uint32
	// Passive makes BIRD wait for the peer to connect. floatlb's announcer
	// dials out, so either way works.
	Passive bool
	// Password turns on TCP MD5 signatures (RFC 2385) with this key.
	Password string
	// HoldTime is the hold time BIRD proposes, in whole seconds and at
	// least 3s; 0 is BIRD's default (240s).
	HoldTime time.Duration
	// ExtendedNextHop (RFC 8950) adds `extended next hop on` to the channel
	// of the other family: the IPv6 channel of an IPv4 session, or an IPv4
	// channel added to an IPv6 session.
	ExtendedNextHop bool
}

// NodePeers returns one peer per node, at the node's LAN address of family,
// named after the node ("node1", or "node1_v6" for IPv6).
func (l *Lab) NodePeers(asn uint32, family Family) []BIRDPeer {
	var peers []BIRDPeer
	for _, n := range l.nodes {
		p := BIRDPeer{Name: n.Name, Address: n.IPv4, ASN: asn}
		if family == IPv6 {
			p.Name, p.Address = n.Name+"_v6", n.IPv6
		}
		peers = append(peers, p)
	}
	return peers
}

// BIRD is a running BIRD 2 daemon.
type BIRD struct {
	// Host is where it runs.
	Host *Host
	// Process is the bird process; Kill or Stop it to take BIRD away.
	Process *Process
	// ConfigPath is its configuration file.
	ConfigPath string
	// Socket is its control socket, for birdc -s.
	Socket string
	birdc  string
}

// StartBIRD renders cfg into a BIRD 2 configuration for the router and
// starts BIRD with it (see StartBIRDConfig). Besides the sessions, BIRD's
// kernel protocols export every route it learns into the router's main
// tables with `merge paths on`, so routes to one prefix from several nodes
// become one ECMP route.
func (l *Lab) StartBIRD(ctx context.Context, cfg BIRDConfig) (*BIRD, error) {
	text, err := cfg.render(l.router)
	if err != nil {
		return nil, err
	}
	return l.StartBIRDConfig(ctx, l.router, text)
}

// StartBIRDOn is StartBIRD on another host of the LAN (the LAN host as a
// second router, say); its router id is the host's IPv4 address.
func (l *Lab) StartBIRDOn(ctx context.Context, host *Host, cfg BIRDConfig) (*BIRD, error) {
	text, err := cfg.render(host)
	if err != nil {
		return nil, err
	}
	return l.StartBIRDConfig(ctx, host, text)
}

// StartBIRDConfig starts BIRD 2 in host's namespace with the given
// configuration text, in the foreground as a lab process (bird -f), with
// its config and control socket in Dir, and returns once it answers on the
// socket. It first checks the config with `bird -p`. One BIRD per host at a
// time.
func (l *Lab) StartBIRDConfig(ctx context.Context, host *Host, config string) (*BIRD, error) {
	bird, err := lookPath("bird")
	if err != nil {
		return nil, err
	}
	birdc, err := lookPath("birdc")
	if err != nil {
		return nil, err
	}
	b := &BIRD{
		Host:       host,
		ConfigPath: filepath.Join(l.dir, "bird-"+host.Name+".conf"),
		Socket:     filepath.Join(l.dir, "bird-"+host.Name+".ctl"),
		birdc:      birdc,
	}
	if len(b.Socket) >= 108 { // sun_path
		return nil, fmt.Errorf("BIRD's control socket %s: the path is too long for a unix socket; give a shorter Options.Dir", b.Socket)
	}
	if err := os.WriteFile(b.ConfigPath, []byte(config), 0o644); err != nil {
		return nil, fmt.Errorf("writing the BIRD config: %w", err)
	}
	if _, err := run(ctx, bird, "-p", "-c", b.ConfigPath); err != nil {
		return nil, fmt.Errorf("checking the BIRD config: %w", err)
	}
	if b.Process, err = l.StartProcess(host, bird, "-f", "-c", b.ConfigPath, "-s", b.Socket); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, birdStartTimeout)
	defer cancel()
	for {
		_, err := b.Show(ctx, "status")
		if err == nil {
			return b, nil
		}
		select {
		case <-b.Process.Done():
			return nil, fmt.Errorf("BIRD in %s exited: %w; last lines of %s:\n%s",
				host, b.Process.Wait(ctx), b.Process.LogPath, b.Process.Tail(20))
		case <-ctx.Done():
			return nil, errors.Join(fmt.Errorf("BIRD in %s not answering: %w", host, ctx.Err()), err, b.Process.Stop())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Show runs `birdc show <what>` ("protocols", "route all", …) and returns
// its output.
func (b *BIRD) Show(ctx context.Context, what string) (string, error) {
	args := append([]string{"-s", b.Socket, "show"}, strings.Fields(what)...)
	out, err := run(ctx, b.birdc, args...)
	return string(out), err
}

// WaitEstablished waits until BGP protocol name is Established, or ctx ends.
func (b *BIRD) WaitEstablished(ctx context.Context, name string) error {
	last := ""
	for {
		out, err := b.Show(ctx, "protocols all "+name)
		if err == nil {
			if bgpState(out) == "Established" {
				return nil
			}
			last = out
		}
		select {
		case <-b.Process.Done():
			return fmt.Errorf("BIRD in %s exited while waiting for %s: %w", b.Host, name, b.Process.Wait(ctx))
		case <-ctx.Done():
			return fmt.Errorf("BGP session %s of BIRD in %s not established: %w; last state:\n%s", name, b.Host, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// bgpState returns the "BGP state:" of `birdc show protocols all <name>`
// output ("Established", "Active", …), or "" if there is none.
func bgpState(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if state, ok := strings.CutPrefix(strings.TrimSpace(line), "BGP state:"); ok {
			return strings.TrimSpace(state)
		}
	}
	return ""
}

// birdName is what a BIRD protocol name may be.
var birdName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// render returns the BIRD 2 configuration of cfg for router.
func (cfg BIRDConfig) render(router *Host) (string, error) {
	if cfg.ASN == 0 {
		return "", errors.New("BIRD config: give the router's ASN")
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# BIRD 2 configuration of the router, written by floatlb's test/e2e/lab.
router id %s;
log stderr all;

protocol device {
	scan time 10;
}

# Every learnt route goes into the kernel; routes to one prefix from several
# peers become one multipath (ECMP) route.
protocol kernel kernel4 {
	ipv4 { import none; export all; };
	merge paths on;
}

protocol kernel kernel6 {
	ipv6 { import none; export all; };
	merge paths on;
}

# Quick (re)connects for tests: the default waits are 5s before the first
# connect, 120s between connects and 60s to 300s after an error (a killed
# announcer) before a session may come up again.
template bgp lab_peer {
	connect delay time 1;
	connect retry time 2;
	error wait time 1, 5;
}
`, router.IPv4)

	seen := map[string]bool{}
	for _, p := range cfg.Peers {
		if !birdName.MatchString(p.Name) || seen[p.Name] {
			return "", fmt.Errorf("BIRD peer name %q: give a unique name of a letter, then letters, digits or underscores", p.Name)
		}
		seen[p.Name] = true
		if !p.Address.IsValid() || p.ASN == 0 {
			return "", fmt.Errorf("BIRD peer %s: give its address and ASN", p.Name)
		}
		if strings.ContainsAny(p.Password, "\"\\\n") {
			return "", fmt.Errorf("BIRD peer %s: the password may not hold quotes, backslashes or newlines", p.Name)
		}
		hold := int(p.HoldTime / time.Second)
		if p.HoldTime != 0 && (hold < 3 || p.HoldTime%time.Second != 0) {
			return "", fmt.Errorf("BIRD peer %s: hold time %s: give whole seconds, at least 3s", p.Name, p.HoldTime)
		}

		local := router.IPv4
		if p.Address.Is6() {
			local = router.IPv6
		}
		fmt.Fprintf(&b, "\nprotocol bgp %s from lab_peer {\n", p.Name)
		fmt.Fprintf(&b, "\tlocal %s as %d;\n", local, cfg.ASN)
		fmt.Fprintf(&b, "\tneighbor %s as %d;\n", p.Address, p.ASN)
		if p.Passive {
			b.WriteString("\tpassive on;\n")
		}
		if hold != 0 {
			fmt.Fprintf(&b, "\thold time %d;\n", hold)
		}
		if p.Password != "" {
			fmt.Fprintf(&b, "\tpassword \"%s\";\n", p.Password)
		}
		enh := ""
		if p.ExtendedNextHop {
			enh = " extended next hop on;"
		}
		if p.Address.Is4() {
			b.WriteString("\tipv4 { import all; export none; };\n")
			fmt.Fprintf(&b, "\tipv6 {%s import all; export none; };\n", enh)
		} else {
			if p.ExtendedNextHop {
				fmt.Fprintf(&b, "\tipv4 {%s import all; export none; };\n", enh)
			}
			b.WriteString("\tipv6 { import all; export none; };\n")
		}
		b.WriteString("}\n")
	}
	return b.String(), nil
}
