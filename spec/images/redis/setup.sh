#!/bin/sh
# Run by spec/images/build inside the base image, spec/images/ mounted at /build.
set -eu
sh /build/lib/uid999.sh redis
install -m 0755 /build/redis/docker-entrypoint.sh /build/redis/redis-server /usr/local/bin/
mkdir -p /data
chown 999:999 /data
