package apiclient

import (
	"context"

	coordinationv1 "k8s.io/api/coordination/v1"
)

// LeaseClient reads and writes the Leases of one namespace.
type LeaseClient struct {
	c         *Client
	namespace string
}

// Leases returns a client of the Leases in namespace.
func (c *Client) Leases(namespace string) *LeaseClient {
	return &LeaseClient{c: c, namespace: namespace}
}

// Get reads the Lease name.
func (l *LeaseClient) Get(ctx context.Context, name string) (*coordinationv1.Lease, error) {
	out := &coordinationv1.Lease{}
	err := l.c.coordination.Get().Namespace(l.namespace).Resource("leases").Name(name).Do(ctx).Into(out)
	return out, err
}

// List reads every Lease of the namespace.
func (l *LeaseClient) List(ctx context.Context) (*coordinationv1.LeaseList, error) {
	out := &coordinationv1.LeaseList{}
	err := l.c.coordination.Get().Namespace(l.namespace).Resource("leases").Do(ctx).Into(out)
	return out, err
}

// Create creates lease and returns it as the API server stored it.
func (l *LeaseClient) Create(ctx context.Context, lease *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	out := &coordinationv1.Lease{}
	err := l.c.coordination.Post().Namespace(l.namespace).Resource("leases").Body(lease).Do(ctx).Into(out)
	return out, err
}

// Update replaces lease, whose resourceVersion must be the stored one, and
// returns it as the API server stored it.
func (l *LeaseClient) Update(ctx context.Context, lease *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	out := &coordinationv1.Lease{}
	err := l.c.coordination.Put().Namespace(l.namespace).Resource("leases").Name(lease.Name).Body(lease).Do(ctx).Into(out)
	return out, err
}
