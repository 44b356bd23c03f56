//go:build tools

// Package tools pins the programs spec/k8s/build-full builds for the
// Kubernetes specs that need workloads to become Ready: kube-controller-manager
// and kube-scheduler from Kubernetes v1.37.2, and kwok v0.8.0 (fake nodes
// whose pods it marks Running and Ready).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
