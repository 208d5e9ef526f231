package lab

import (
	"fmt"
	"os"
	"path/filepath"
)

// StartKeepalived starts keepalived's VRRP process in host's namespace in
// the foreground as a lab process, with config as its configuration and
// its pid files in Dir. Stop sends SIGTERM, on which keepalived sends
// priority 0 adverts as a master does when it shuts down.
func (l *Lab) StartKeepalived(host *Host, config string) (*Process, error) {
	bin, err := lookPath("keepalived")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(l.dir, "keepalived-"+host.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("creating keepalived's directory: %w", err)
	}
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("writing keepalived's config: %w", err)
	}
	return l.StartProcess(host, bin, "--dont-fork", "--log-console", "--vrrp", "--use-file", path,
		"--pid", filepath.Join(dir, "keepalived.pid"), "--vrrp_pid", filepath.Join(dir, "vrrp.pid"))
}

// InNamespace runs fn on an OS thread inside host's network namespace:
// sockets fn opens stay there, for tests that send hand-made packets.
func (l *Lab) InNamespace(host *Host, fn func() error) error { return inNamespace(host.NS, fn) }
