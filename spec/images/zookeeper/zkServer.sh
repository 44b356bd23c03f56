#!/bin/bash
# zkServer.sh of deloc-test/zookeeper: `start-foreground` runs the server in
# the foreground on $ZOOCFGDIR/zoo.cfg, logging to the console (what the
# official image's CMD uses); other actions are not part of the contract.
set -eu
. /usr/local/lib/zk-env.sh
if [ "${1:-}" != start-foreground ]; then
  echo "zkServer.sh: this stand-in runs 'start-foreground' only" >&2
  exit 2
fi
# shellcheck disable=SC2086 # the JVM flags are words
exec java -Dzookeeper.log.dir="$ZOO_LOG_DIR" -Dzookeeper.root.logger=INFO,CONSOLE \
  -XX:+HeapDumpOnOutOfMemoryError -XX:OnOutOfMemoryError='kill -9 %p' \
  $SERVER_JVMFLAGS -cp "$CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZOOCFG"
