//go:build tools

// Package tools pins CoreDNS, which spec/k8s/build-pods builds for the
// specs whose pods really run (service names through its kubernetes plugin).
package tools

import (
	_ "github.com/coredns/coredns"
)
