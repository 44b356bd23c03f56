#!/bin/sh
# Run by spec/images/build inside the base image (with network: zookeeper/packages).
set -eu
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  $(grep -v '^#' /build/zookeeper/packages) >/dev/null
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc /usr/share/man
sh /build/lib/uid.sh zookeeper 1000 1000
mkdir -p /conf /data /datalog /logs
# the distribution's configuration files, as the official image moves them to /conf
cp /etc/zookeeper/conf/log4j.properties /etc/zookeeper/conf/configuration.xsl /conf/
chown 1000:1000 /conf /conf/* /data /datalog /logs
install -m 0755 /build/zookeeper/docker-entrypoint.sh /docker-entrypoint.sh
install -m 0755 /build/zookeeper/zkServer.sh /build/zookeeper/zkCli.sh /usr/local/bin/
install -m 0644 /build/zookeeper/zk-env.sh /usr/local/lib/zk-env.sh
