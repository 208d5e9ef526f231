package announcer

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// leasePrefix starts the name of every announcer's Lease, in the config
// namespace: "floatlb-announcer-<node>".
const leasePrefix = "floatlb-announcer-"

// leaseName is the Lease of node's announcer.
func leaseName(node string) string { return leasePrefix + node }

// leaseNode returns the node whose announcer holds the Lease name, or false
// when name is not an announcer's Lease.
func leaseNode(name string) (string, bool) {
	node, ok := strings.CutPrefix(name, leasePrefix)
	return node, ok && node != ""
}

// leaseClient reads and writes the Leases of the config namespace
// (*apiclient.LeaseClient).
type leaseClient interface {
	Get(ctx context.Context, name string) (*coordinationv1.Lease, error)
	List(ctx context.Context) (*coordinationv1.LeaseList, error)
	Create(ctx context.Context, lease *coordinationv1.Lease) (*coordinationv1.Lease, error)
	Update(ctx context.Context, lease *coordinationv1.Lease) (*coordinationv1.Lease, error)
}

// leaseKeeper writes this announcer's Lease: renewals while it may own
// Layer 2 addresses, a release when it stops or its interface fails.
type leaseKeeper struct {
	leases leaseClient
	name   string
	holder string
	last   *coordinationv1.Lease // as last written or read; nil before the first write
}

func newLeaseKeeper(leases leaseClient, node string) *leaseKeeper {
	return &leaseKeeper{leases: leases, name: leaseName(node), holder: node}
}

// renew takes or renews the Lease for duration.
func (k *leaseKeeper) renew(ctx context.Context, duration time.Duration) error {
	return k.write(ctx, func(l *coordinationv1.Lease, now metav1.MicroTime) {
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != k.holder {
			l.Spec.AcquireTime = &now
			transitions := int32(1)
			if l.Spec.LeaseTransitions != nil {
				transitions = *l.Spec.LeaseTransitions + 1
			}
			l.Spec.LeaseTransitions = &transitions
		}
		holder := k.holder
		seconds := int32(math.Ceil(duration.Seconds()))
		l.Spec.HolderIdentity = &holder
		l.Spec.LeaseDurationSeconds = &seconds
		l.Spec.RenewTime = &now
	})
}

// release gives the Lease up: other announcers take its addresses at once
// instead of waiting for it to expire.
func (k *leaseKeeper) release(ctx context.Context) error {
	if k.last == nil {
		// The last write failed (or none was made): read what the API
		// server holds, and release it if it names this node.
		got, err := k.leases.Get(ctx, k.name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading Lease %s to release it: %w", k.name, err)
		}
		k.last = got
	}
	if h := k.last.Spec.HolderIdentity; h == nil || *h != k.holder {
		return nil // released already, or never ours
	}
	return k.write(ctx, func(l *coordinationv1.Lease, now metav1.MicroTime) {
		l.Spec.HolderIdentity = nil
		l.Spec.RenewTime = &now
	})
}

// held reports whether the last write took the Lease.
func (k *leaseKeeper) held() bool { return k.last != nil && k.last.Spec.HolderIdentity != nil }

// write applies change to the Lease, creating it if needed, and retries
// once with a fresh copy on a conflict.
func (k *leaseKeeper) write(ctx context.Context, change func(*coordinationv1.Lease, metav1.MicroTime)) error {
	for attempt := 0; ; attempt++ {
		if k.last == nil {
			got, err := k.leases.Get(ctx, k.name)
			switch {
			case apierrors.IsNotFound(err):
				l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: k.name}}
				change(l, metav1.NowMicro())
				created, err := k.leases.Create(ctx, l)
				if err != nil {
					return fmt.Errorf("creating Lease %s: %w", k.name, err)
				}
				k.last = created
				return nil
			case err != nil:
				return fmt.Errorf("reading Lease %s: %w", k.name, err)
			}
			k.last = got
		}
		l := k.last.DeepCopy()
		change(l, metav1.NowMicro())
		updated, err := k.leases.Update(ctx, l)
		if err == nil {
			k.last = updated
			return nil
		}
		k.last = nil // read it again next time
		if !(apierrors.IsConflict(err) || apierrors.IsNotFound(err)) || attempt > 0 {
			return fmt.Errorf("writing Lease %s: %w", k.name, err)
		}
	}
}
