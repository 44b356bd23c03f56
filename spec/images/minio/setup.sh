#!/bin/sh
# Run by spec/images/build inside the base image, the Go tools at /tools.
set -eu
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  $(grep -v '^#' /build/minio/packages) >/dev/null
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc /usr/share/man
install -m 0755 /tools/minio /usr/bin/minio
install -m 0755 /tools/mc /usr/bin/mc
install -m 0755 /build/minio/docker-entrypoint.sh /usr/bin/docker-entrypoint.sh
mkdir -p /data
chmod 0755 /data
chmod 0550 /root
