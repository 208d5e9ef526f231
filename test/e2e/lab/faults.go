package lab

import (
	"context"
	"fmt"
)

// Isolate cuts host off the LAN without its noticing: its port on the LAN
// switch stops forwarding (bridge port state "disabled") while both ends of
// the link stay up. To the others the host is gone, as if hung or powered
// off (BGP sessions end only when the hold timer runs out); the host sees no
// link change. Reconnect undoes it.
func (l *Lab) Isolate(ctx context.Context, host *Host) error {
	return l.setPortState(ctx, host, "disabled")
}

// Reconnect puts a host that Isolate cut off back on the LAN.
func (l *Lab) Reconnect(ctx context.Context, host *Host) error {
	return l.setPortState(ctx, host, "forwarding")
}

func (l *Lab) setPortState(ctx context.Context, host *Host, state string) error {
	if host == l.client {
		return fmt.Errorf("%s is not on the LAN", host)
	}
	bridge, err := lookPath("bridge")
	if err != nil {
		return err
	}
	num := map[string]string{"disabled": "0", "forwarding": "3"}[state]
	_, err = run(ctx, l.ip, "netns", "exec", l.lanNS, bridge, "link", "set", "dev", host.Name, "state", num)
	return err
}
