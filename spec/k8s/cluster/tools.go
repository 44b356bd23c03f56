//go:build tools

// Package tools pins the programs the Kubernetes specs build: kube-apiserver
// and etcd at the versions Kubernetes v1.37.2 selects.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
