// Package loadbalancer is floatlb's cloudprovider.LoadBalancer: it gives
// Services of type LoadBalancer addresses from the pools of the floatlb
// config, using the pure allocator of package ipam, and keeps the allocator
// in step with the config and with the addresses Services already hold.
//
// Nothing here depends on Nodes: the announcer makes the addresses reachable.
package loadbalancer
