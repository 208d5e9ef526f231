// Package bench measures floatlb against a real kube-apiserver: how long
// Services take to hold an address, next to how long the API server needs
// just to store them. Run it with `make bench`; the figures go to
// docs/benchmarks.md.
package bench
