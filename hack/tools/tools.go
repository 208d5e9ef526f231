//go:build tools

// Package tools pins the Kubernetes and etcd binaries that floatlb's tests run:
// kube-apiserver, kubectl and etcd, built from source at fixed versions.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
