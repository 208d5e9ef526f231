// Package apiclient is the announcer's access to the Kubernetes API: REST
// clients of core/v1, discovery.k8s.io/v1 and coordination.k8s.io/v1 with a
// scheme of those three groups only. client-go's clientset, informer
// factory and scheme register every API group; linking them made the
// announcer's binary twice as large and its resident memory 27 MiB larger
// (docs/benchmarks.md).
package apiclient

import (
	"context"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// Client holds one REST client per API group the announcer uses. They
// share one HTTP transport and one rate limiter, as client-go's clientset
// does.
type Client struct {
	scheme       *runtime.Scheme
	core         *rest.RESTClient
	discovery    *rest.RESTClient
	coordination *rest.RESTClient
}

// newScheme returns a scheme of core/v1, discovery.k8s.io/v1 and
// coordination.k8s.io/v1, and of the meta/v1 types (Status, WatchEvent,
// the options) that requests and responses of any group use.
func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	for _, add := range []func(*runtime.Scheme) error{v1.AddToScheme, discoveryv1.AddToScheme, coordinationv1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// New returns a Client for the API server of cfg, with cfg's QPS and
// Burst shared by the three groups.
func New(cfg *rest.Config) (*Client, error) {
	scheme, err := newScheme()
	if err != nil {
		return nil, fmt.Errorf("building the API scheme: %w", err)
	}
	c := *cfg
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	if c.RateLimiter == nil && c.QPS > 0 {
		if c.Burst <= 0 {
			return nil, fmt.Errorf("API client burst %d: it must be greater than 0 when QPS is set", c.Burst)
		}
		c.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(c.QPS, c.Burst)
	}
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	httpClient, err := rest.HTTPClientFor(&c)
	if err != nil {
		return nil, fmt.Errorf("building the API server's HTTP client: %w", err)
	}
	out := &Client{scheme: scheme}
	for _, g := range []struct {
		client  **rest.RESTClient
		apiPath string
		gv      schema.GroupVersion
	}{
		{&out.core, "/api", v1.SchemeGroupVersion},
		{&out.discovery, "/apis", discoveryv1.SchemeGroupVersion},
		{&out.coordination, "/apis", coordinationv1.SchemeGroupVersion},
	} {
		gc := c
		gc.APIPath = g.apiPath
		gc.GroupVersion = &g.gv
		if *g.client, err = rest.RESTClientForConfigAndClient(&gc, httpClient); err != nil {
			return nil, fmt.Errorf("building the API client of %s: %w", g.gv, err)
		}
	}
	return out, nil
}

// Scheme is the scheme of the three groups, for an Event recorder.
func (c *Client) Scheme() *runtime.Scheme { return c.scheme }

// Secret reads a Secret.
func (c *Client) Secret(ctx context.Context, namespace, name string) (*v1.Secret, error) {
	s := &v1.Secret{}
	err := c.core.Get().Namespace(namespace).Resource("secrets").Name(name).Do(ctx).Into(s)
	return s, err
}
