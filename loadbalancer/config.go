package loadbalancer

import (
	"context"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"github.com/floatlb/floatlb/config"
	"github.com/floatlb/floatlb/loadbalancer/ipam"
)

var (
	labelsEverything = labels.Everything()
	metaPatchOptions = metav1.PatchOptions{}
)

// SetConfig applies the config held by cm, the floatlb ConfigMap (nil when
// it does not exist). A config that does not parse, or that would take away
// addresses Services hold, is refused as a whole: the last good config stays
// in force, and the refusal goes to the log, to a Warning Event on cm and to
// floatlb_config_valid.
func (lb *LoadBalancer) SetConfig(ctx context.Context, cm *v1.ConfigMap) {
	logger := klog.FromContext(ctx)
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if cm == nil {
		if lb.cfg == nil {
			lb.metrics.ConfigValid.Set(0)
			logger.Info("No floatlb config yet; Services wait for one")
		} else {
			logger.Info("The floatlb ConfigMap is gone; the last good config stays in force")
		}
		return
	}
	if cm.ResourceVersion != "" && cm.ResourceVersion == lb.configRV {
		return // a resync: this version was judged already
	}
	lb.configRV = cm.ResourceVersion
	cfg, err := config.Load(cm.Data)
	if err != nil {
		lb.refuse(ctx, cm, fmt.Errorf("invalid config: %w", err))
		return
	}
	pools := poolsOf(cfg)
	if lb.alloc == nil {
		alloc := ipam.New(pools)
		if err := lb.restore(ctx, alloc); err != nil {
			lb.refuse(ctx, cm, err)
			return
		}
		lb.alloc = alloc
	} else if err := lb.alloc.SetPools(pools); err != nil {
		lb.refuse(ctx, cm, fmt.Errorf("config refused: %w", err))
		return
	}
	lb.cfg, lb.configErr = cfg, nil
	lb.metrics.ConfigValid.Set(1)
	lb.metrics.observePools(lb.alloc.Stats())
	logger.Info("Applied the floatlb config", "pools", lb.alloc.Pools(), "resourceVersion", cm.ResourceVersion)
	if lb.recorder != nil {
		lb.recorder.Eventf(cm, v1.EventTypeNormal, ReasonConfigLoaded, "Applied the floatlb config with pools %s", strings.Join(lb.alloc.Pools(), ", "))
	}
}

// refuse reports a config that was not applied. Called with lb.mu held.
func (lb *LoadBalancer) refuse(ctx context.Context, cm *v1.ConfigMap, err error) {
	lb.configErr = err
	lb.metrics.ConfigValid.Set(0)
	kept := "no earlier config was valid, so Services wait"
	if lb.cfg != nil {
		kept = "the last good config stays in force"
	}
	klog.FromContext(ctx).Error(err, "Refused the floatlb config", "configmap", klog.KObj(cm), "kept", kept)
	if lb.recorder != nil {
		lb.recorder.Eventf(cm, v1.EventTypeWarning, ReasonInvalidConfig, "%v (%s)", err, kept)
	}
}

// poolsOf turns the config's pools into the allocator's.
func poolsOf(cfg *config.Config) []ipam.Pool {
	out := make([]ipam.Pool, 0, len(cfg.Pools))
	for i := range cfg.Pools {
		p := &cfg.Pools[i]
		ip := ipam.Pool{
			Name:          p.Name,
			AutoAssign:    p.AutoAssignEnabled(),
			AvoidBuggyIPs: p.AvoidBuggyIPs,
			Namespaces:    p.Namespaces,
		}
		for _, r := range p.Ranges {
			ip.Ranges = append(ip.Ranges, ipam.Range{First: r.First, Last: r.Last})
		}
		out = append(out, ip)
	}
	return out
}

func namespaceOf(key string) string { ns, _, _ := strings.Cut(key, "/"); return ns }

func nameOf(key string) string { _, name, _ := strings.Cut(key, "/"); return name }
