// Package metricnames checks the names of floatlb's metrics against the
// project's rules: floatlb_<area>_<name>, counters and only counters end in
// _total, histograms end in their unit.
package metricnames

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Kind is a metric type.
type Kind string

const (
	Counter   Kind = "counter"
	Gauge     Kind = "gauge"
	Histogram Kind = "histogram"
)

var shape = regexp.MustCompile(`^floatlb_[a-z][a-z0-9]*(_[a-z0-9]+)+$`)

// histogramUnits are the base units a histogram's name may end in.
var histogramUnits = []string{"_seconds", "_bytes"}

// Check returns why name breaks the rules for a metric of kind k, or nil.
func Check(k Kind, name string) error {
	if !shape.MatchString(name) {
		return fmt.Errorf("%s %s is not named floatlb_<area>_<name> (lower case, digits and underscores)", k, name)
	}
	total := strings.HasSuffix(name, "_total")
	switch {
	case k == Counter && !total:
		return fmt.Errorf("counter %s does not end in _total", name)
	case k != Counter && total:
		return fmt.Errorf("%s %s ends in _total, which only counters may", k, name)
	case k == Histogram && !hasUnit(name):
		return fmt.Errorf("histogram %s does not end in a unit (%s)", name, strings.Join(histogramUnits, ", "))
	}
	return nil
}

func hasUnit(name string) bool {
	for _, u := range histogramUnits {
		if strings.HasSuffix(name, u) {
			return true
		}
	}
	return false
}

// Registerer is a prometheus.Registerer that records the kind and name of
// every metric registered with it, and registers nothing.
type Registerer struct {
	mu      sync.Mutex
	Metrics map[string]Kind
	Errors  []error
}

var _ prometheus.Registerer = &Registerer{}

var fqName = regexp.MustCompile(`fqName: "([^"]*)"`)

func (r *Registerer) Register(c prometheus.Collector) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Metrics == nil {
		r.Metrics = map[string]Kind{}
	}
	k, err := kindOf(c)
	if err != nil {
		r.Errors = append(r.Errors, err)
		return nil
	}
	descs := make(chan *prometheus.Desc, 16)
	go func() {
		c.Describe(descs)
		close(descs)
	}()
	for d := range descs {
		m := fqName.FindStringSubmatch(d.String())
		if m == nil {
			r.Errors = append(r.Errors, fmt.Errorf("no name in %s", d))
			continue
		}
		r.Metrics[m[1]] = k
	}
	return nil
}

func (r *Registerer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *Registerer) Unregister(prometheus.Collector) bool { return true }

// kindOf tells a collector's metric type. A Gauge also has the methods of a
// Counter, so gauges are asked first.
func kindOf(c prometheus.Collector) (Kind, error) {
	switch c.(type) {
	case prometheus.Gauge, *prometheus.GaugeVec:
		return Gauge, nil
	case prometheus.Counter, *prometheus.CounterVec:
		return Counter, nil
	case prometheus.Histogram, *prometheus.HistogramVec:
		return Histogram, nil
	}
	return "", fmt.Errorf("a collector of type %T: not a counter, gauge or histogram", c)
}

// Failures lists what breaks the rules among the metrics r recorded; none
// recorded is a failure too.
func (r *Registerer) Failures() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := append([]error(nil), r.Errors...)
	if len(r.Metrics) == 0 {
		errs = append(errs, fmt.Errorf("no metric was registered"))
	}
	for name, k := range r.Metrics {
		if err := Check(k, name); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
