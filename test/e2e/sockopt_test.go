package e2e

import "golang.org/x/sys/unix"

// setMulticastTTL sets the TTL of multicast packets sent on fd.
func setMulticastTTL(fd, ttl int) error {
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, ttl)
}
