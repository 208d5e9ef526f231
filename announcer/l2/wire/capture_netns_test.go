package wire

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
)

// A capture records the NDP frames on eth0 of a lab namespace, as tcpdump would.
type capture struct {
	c      *packet.Conn
	mu     sync.Mutex
	frames []ndpFrame
	done   chan struct{}
}

// captureNDP starts capturing NDP frames on eth0 in namespace ns until the test ends.
func captureNDP(t *testing.T, ns string) *capture {
	t.Helper()
	c := in(t, ns, func() (*packet.Conn, error) {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return nil, err
		}
		filter, err := bpf.Assemble(ndpFilter())
		if err != nil {
			return nil, err
		}
		return packet.Listen(ifi, packet.Raw, etherTypeIPv6, &packet.Config{Filter: filter})
	})
	cp := &capture{c: c, done: make(chan struct{})}
	go func() {
		defer close(cp.done)
		for {
			b := make([]byte, 2048)
			n, _, err := c.ReadFrom(b)
			if err != nil {
				return
			}
			if f, err := parseNDPFrame(b[:n]); err == nil {
				cp.mu.Lock()
				cp.frames = append(cp.frames, f)
				cp.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-cp.done })
	return cp
}

// wait returns the first captured frame that match accepts, failing the test after a
// generous timeout.
func (cp *capture) wait(t *testing.T, what string, match func(ndpFrame) bool) ndpFrame {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		cp.mu.Lock()
		for _, f := range cp.frames {
			if match(f) {
				cp.mu.Unlock()
				return f
			}
		}
		cp.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s captured", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (cp *capture) all() []ndpFrame {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return append([]ndpFrame(nil), cp.frames...)
}
