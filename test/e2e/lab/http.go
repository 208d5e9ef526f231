package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// HTTPServer answers every request on port 80 (IPv4 and IPv6, every
// address of its host, VIPs that AcceptVIP added included) with its host's
// name and a newline.
type HTTPServer struct {
	Host *Host
	srv  *http.Server
	done chan struct{}
}

// StartHTTP starts an HTTPServer in host's namespace. It runs in this
// process, on a socket opened inside the namespace: no binary to build, no
// child to stop. Close stops it.
func (l *Lab) StartHTTP(host *Host) (*HTTPServer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("starting the HTTP server of %s: the lab is closed", host)
	}
	var ln net.Listener
	err := inNamespace(host.NS, func() (err error) {
		ln, err = net.Listen("tcp", ":80") // dual-stack
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("starting the HTTP server of %s: %w", host, err)
	}
	body := host.Name + "\n"
	s := &HTTPServer{
		Host: host,
		srv: &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				_, _ = w.Write([]byte(body))
			}),
			ReadHeaderTimeout: 5 * time.Second,
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	l.servers = append(l.servers, s)
	return s, nil
}

// StartHTTPServers starts an HTTPServer on every node.
func (l *Lab) StartHTTPServers() error {
	for _, n := range l.nodes {
		if _, err := l.StartHTTP(n); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the server, as if its node went away; it is safe to call more
// than once.
func (s *HTTPServer) Close() error {
	err := s.srv.Close()
	<-s.done
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping the HTTP server of %s: %w", s.Host, err)
	}
	return nil
}

// AcceptVIP makes host accept packets for vip, as kube-proxy makes a node
// accept a load balancer IP: `ip route replace local VIP dev lo table local`.
func (l *Lab) AcceptVIP(ctx context.Context, host *Host, vip netip.Addr) error {
	return l.ipIn(ctx, host.NS, "route", "replace", "local", netip.PrefixFrom(vip, vip.BitLen()).String(), "dev", "lo", "table", "local")
}

// RemoveVIP undoes AcceptVIP.
func (l *Lab) RemoveVIP(ctx context.Context, host *Host, vip netip.Addr) error {
	return l.ipIn(ctx, host.NS, "route", "delete", "local", netip.PrefixFrom(vip, vip.BitLen()).String(), "dev", "lo", "table", "local")
}

// Curl fetches url with curl inside from's namespace, giving up after 2
// seconds, and returns the body without surrounding white space. HTTP
// errors (4xx, 5xx) are errors. Build URLs of addresses with URL.
func (l *Lab) Curl(ctx context.Context, from *Host, url string) (string, error) {
	curl, err := lookPath("curl")
	if err != nil {
		return "", err
	}
	out, err := l.Exec(ctx, from, curl, "--silent", "--show-error", "--fail", "--globoff",
		"--noproxy", "*", "--max-time", "2", url)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// URL returns http://addr/ with addr in brackets if it is IPv6, and the
// port if it is not 80.
func URL(addr netip.Addr, port uint16) string {
	host := addr.String()
	if addr.Is6() {
		host = "[" + host + "]"
	}
	if port != 0 && port != 80 {
		host += ":" + strconv.Itoa(int(port))
	}
	return "http://" + host + "/"
}
