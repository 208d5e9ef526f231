// Package integration runs the real floatlb-ccm binary against a real
// kube-apiserver and etcd (test/kubeenv) and checks what the API server ends
// up holding: Services' addresses, annotations, Events and Nodes.
package integration
