package controlplane

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Health turns probe results into a verdict with hysteresis: Fall
// failures in a row make a healthy node unhealthy, Rise successes in a row
// make it healthy again. A node starts unhealthy.
type Health struct {
	Rise, Fall int
	healthy    bool
	streak     int // results in a row that disagree with healthy
}

// The hysteresis of the API server's health.
const (
	healthRise = 2
	healthFall = 3
)

// Observe records one probe and reports the verdict and whether it
// changed.
func (h *Health) Observe(ok bool) (healthy, changed bool) {
	if ok == h.healthy {
		h.streak = 0
		return h.healthy, false
	}
	h.streak++
	need := h.Rise
	if h.healthy {
		need = h.Fall
	}
	if h.streak < max(need, 1) {
		return h.healthy, false
	}
	h.healthy, h.streak = ok, 0
	return h.healthy, true
}

// prober asks the local API server's /readyz. It does not verify the
// serving certificate: it talks to this node's own server, reads only a
// status code, and must work before any credentials exist.
type prober struct {
	url    string
	client *http.Client
}

func newProber(apiServer string, timeout time.Duration) *prober {
	return &prober{
		url: strings.TrimSuffix(apiServer, "/") + "/readyz",
		client: &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see prober
				// A fresh connection per probe: a kept-alive one to a
				// server that died would fail only at the timeout.
				DisableKeepAlives: true,
			},
		},
	}
}

// probe returns nil when /readyz answers 200.
func (p *prober) probe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", p.url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
