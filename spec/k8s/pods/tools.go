//go:build tools

// Package tools pins the programs spec/k8s/build-pods builds for the specs
// whose pods really run: kubelet, kube-proxy, kube-controller-manager and
// kube-scheduler from Kubernetes v1.37.2, and kubectl (the port-forward
// command deloc prints).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
