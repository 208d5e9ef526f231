package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/floatlb/floatlb/announcer/l2/wire"
	"github.com/floatlb/floatlb/announcer/vrrp"
)

// l2Holder answers for the VIPs on the interface while it holds a Lease
// taken through the local API server (never through the VIP, which may
// have no holder yet): the first API server that becomes ready makes its
// node the holder. The VIPs are added to the interface, so the kernel
// answers ARP/NDP and accepts the traffic; gratuitous ARP / unsolicited NA
// move the neighbours' entries.
type l2Holder struct {
	log        logr.Logger
	opts       Options
	leases     coordinationv1client.LeasesGetter
	vips       vipAddresses
	announcers wire.Announcers

	mu      sync.Mutex
	leading bool
	cancel  context.CancelFunc // of the running elector, nil while unhealthy
	done    chan struct{}
}

// localConfig returns the kubeconfig's credentials aimed at the local API
// server instead of the kubeconfig's server, which is usually the VIP.
func localConfig(opts Options) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig %s: %w", opts.Kubeconfig, err)
	}
	u, err := url.Parse(opts.APIServer)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagAPIServer, err)
	}
	cfg.Host = u.Scheme + "://" + u.Host
	if cfg.TLSClientConfig.ServerName == "" {
		cfg.TLSClientConfig.ServerName = opts.TLSServerName
	}
	cfg.UserAgent = "floatlb-announcer/control-plane/" + opts.NodeName
	// A lease renewal must not queue behind a slow request.
	cfg.Timeout = opts.LeaseDuration / 2
	return cfg, nil
}

func newL2Holder(log logr.Logger, opts Options, iface string) (*l2Holder, error) {
	cfg, err := localConfig(opts)
	if err != nil {
		return nil, err
	}
	leases, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Lease client: %w", err)
	}
	h := &l2Holder{
		log: log, opts: opts, leases: leases,
		vips: vipAddresses{log: log, addrs: vrrp.NetlinkAddresses{}, iface: iface, vips: opts.VIPs},
	}
	// A predecessor killed while holding the Lease left the VIPs behind;
	// they come back once this process holds the Lease again.
	if err := h.vips.remove(); err != nil {
		log.Error(err, "Removing left-over control-plane VIPs", "interface", iface)
	}
	return h, nil
}

// SetHealthy runs the elector while healthy; unhealthy, it stops it,
// which releases the Lease for another node to take at once.
func (h *l2Holder) SetHealthy(ctx context.Context, healthy bool) error {
	h.mu.Lock()
	running := h.cancel != nil
	h.mu.Unlock()
	switch {
	case healthy && !running:
		return h.start(ctx)
	case !healthy && running:
		h.stop()
	}
	return nil
}

func (h *l2Holder) start(ctx context.Context) error {
	d := h.opts.LeaseDuration
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: h.opts.LeaseNamespace, Name: h.opts.LeaseName},
		Client:     h.leases,
		LockConfig: resourcelock.ResourceLockConfig{Identity: h.opts.NodeName},
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            h.opts.LeaseName,
		LeaseDuration:   d,
		RenewDeadline:   d * 3 / 4,
		RetryPeriod:     d / 4,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: h.started,
			OnStoppedLeading: h.stopped,
		},
	})
	if err != nil {
		return fmt.Errorf("control-plane Lease %s/%s: %w", h.opts.LeaseNamespace, h.opts.LeaseName, err)
	}
	ectx, cancel := context.WithCancel(klog.NewContext(ctx, h.log))
	done := make(chan struct{})
	h.mu.Lock()
	h.cancel, h.done = cancel, done
	h.mu.Unlock()
	go func() {
		defer close(done)
		// Run returns when the Lease is lost (say, renewals failed while
		// the local API server hung); try again while healthy.
		for ectx.Err() == nil {
			le.Run(ectx)
			select {
			case <-ectx.Done():
			case <-time.After(d / 4):
			}
		}
	}()
	return nil
}

// stop stops the elector and waits for it to release the Lease.
func (h *l2Holder) stop() {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.cancel, h.done = nil, nil
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// started is called in a goroutine of its own; ctx ends when leading does.
func (h *l2Holder) started(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Err() != nil {
		return // stopped already
	}
	h.leading = true
	h.log.Info("Holding the control-plane Lease: answering for the VIP", "interface", h.vips.iface, "ip", h.opts.VIPs)
	if err := h.vips.add(); err != nil {
		h.log.Error(err, "Adding the control-plane VIP")
	}
	go h.announce(ctx)
}

// announce sends gratuitous ARP / unsolicited NA at once and again at the
// offsets Service l2 mode uses (wire.DefaultRepeats), in case the first is
// lost.
func (h *l2Holder) announce(ctx context.Context) {
	start := time.Now()
	for _, offset := range append([]time.Duration{0}, wire.DefaultRepeats()...) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(start.Add(offset))):
		}
		for _, ip := range h.opts.VIPs {
			if err := h.announcers.Announce(h.vips.iface, ip); err != nil {
				h.log.Error(err, "Announcing the control-plane VIP", "interface", h.vips.iface, "ip", ip)
			}
		}
	}
}

func (h *l2Holder) stopped() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.leading {
		h.log.Info("Gave the control-plane Lease up: no longer answering for the VIP", "interface", h.vips.iface, "ip", h.opts.VIPs)
	}
	h.leading = false
	if err := h.vips.remove(); err != nil {
		h.log.Error(err, "Removing the control-plane VIP")
	}
}

func (h *l2Holder) Held() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.leading
}

func (h *l2Holder) Close(context.Context) error {
	h.stop()
	return errors.Join(h.vips.remove(), h.announcers.Close())
}
