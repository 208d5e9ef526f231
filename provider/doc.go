// Package provider is floatlb's cloudprovider.Interface, registered as
// "floatlb". It adapts: load balancing lives in package loadbalancer, and
// node metadata comes from the Node objects themselves (bare metal has no
// cloud API to ask).
package provider
