package wire

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// CarrierUp reports whether the interface named ifname is up and has carrier (IFF_UP and
// IFF_RUNNING: operational state up, or unknown for links that do not report it). A node
// whose interface lost carrier cannot be reached and should give its lease up.
func CarrierUp(ifname string) (bool, error) {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return false, fmt.Errorf("looking up link %s: %w", ifname, err)
	}
	return carrier(l.Attrs().RawFlags), nil
}

// WatchCarrier sends on the returned channel whether ifname has carrier (see CarrierUp):
// first the current state, then each change; a deleted link is reported as false. The
// channel is closed when ctx ends or the netlink subscription fails; the caller then
// re-subscribes or falls back to CarrierUp. It uses the network namespace of the calling
// thread.
func WatchCarrier(ctx context.Context, ifname string) (<-chan bool, error) {
	updates := make(chan netlink.LinkUpdate, 16)
	done := make(chan struct{})
	err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{ListExisting: true})
	if err != nil {
		return nil, fmt.Errorf("subscribing to link updates for %s: %w", ifname, err)
	}
	// A link that does not exist yet is down; ListExisting only reports links that exist.
	state, err := CarrierUp(ifname)
	if err != nil {
		state = false
	}
	out := make(chan bool, 1)
	out <- state
	go func() {
		defer close(out)
		defer close(done)
		for {
			var u netlink.LinkUpdate
			var ok bool
			select {
			case <-ctx.Done():
				return
			case u, ok = <-updates:
				if !ok {
					return
				}
			}
			if u.Link == nil || u.Link.Attrs().Name != ifname {
				continue
			}
			up := u.Header.Type != unix.RTM_DELLINK && carrier(u.IfInfomsg.Flags)
			if up == state {
				continue
			}
			state = up
			select {
			case out <- up:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func carrier(flags uint32) bool {
	return flags&unix.IFF_UP != 0 && flags&unix.IFF_RUNNING != 0
}
