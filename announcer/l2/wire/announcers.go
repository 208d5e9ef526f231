package wire

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// Announcers sends gratuitous ARP / unsolicited NA on any interface by
// name, opening one Announcer per interface on first use and keeping it
// until Close. The zero value is ready to use; it is safe for concurrent
// use.
type Announcers struct {
	mu  sync.Mutex
	ifs map[string]*Announcer
}

// Announce sends one gratuitous ARP or unsolicited NA for ip on ifname.
func (a *Announcers) Announce(ifname string, ip netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	an, ok := a.ifs[ifname]
	if !ok {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("interface %s: %w", ifname, err)
		}
		if an, err = DialAnnouncer(ifi); err != nil {
			return fmt.Errorf("announcing on %s: %w", ifname, err)
		}
		if a.ifs == nil {
			a.ifs = map[string]*Announcer{}
		}
		a.ifs[ifname] = an
	}
	return an.Announce(ip)
}

// Close closes the sockets of every interface; the next Announce opens
// them again.
func (a *Announcers) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for name, an := range a.ifs {
		errs = append(errs, an.Close())
		delete(a.ifs, name)
	}
	return errors.Join(errs...)
}
