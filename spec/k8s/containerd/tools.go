//go:build tools

// Package tools pins containerd 2.x, which spec/k8s/build-pods builds for the
// specs whose pods really run: kubelet 1.37 asks the runtime for its cgroup
// driver (the CRI RuntimeConfig call), which Debian's containerd 1.6 lacks.
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
