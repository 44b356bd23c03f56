// Test-only module: the pod sandbox ("pause") process of `make test-k8s-pods`,
// so no pause image is pulled. Never linked into deloc.
module deloc.test/k8s/pause

go 1.26.0
