#!/bin/bash
# zkCli.sh of deloc-test/zookeeper: the ZooKeeper shell (arguments as upstream's).
set -eu
. /usr/local/lib/zk-env.sh
# shellcheck disable=SC2086
exec java -Dzookeeper.log.dir="$ZOO_LOG_DIR" -Dzookeeper.root.logger=WARN,CONSOLE \
  $CLIENT_JVMFLAGS -cp "$CLASSPATH" org.apache.zookeeper.ZooKeeperMain "$@"
