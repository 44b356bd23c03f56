#!/bin/bash
# docker-entrypoint.sh of deloc-test/zookeeper, behaving as the official
# zookeeper image's (recipes/contracts/zookeeper.lua): started as root to run
# the server, it takes ownership of the data and log dirs and steps down to
# zookeeper (1000:1000); it writes $ZOO_CONF_DIR/zoo.cfg from the ZOO_*
# variables only when there is none, and $ZOO_DATA_DIR/myid likewise.
set -e
if [[ "${1:-}" = zkServer.sh && "$(id -u)" = 0 ]]; then
  chown -R zookeeper "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" "$ZOO_LOG_DIR"
  exec gosu zookeeper "$0" "$@"
fi
if [[ ! -f "$ZOO_CONF_DIR/zoo.cfg" ]]; then
  {
    printf 'dataDir=%s\ndataLogDir=%s\n' "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR"
    printf 'tickTime=%s\ninitLimit=%s\nsyncLimit=%s\n' "$ZOO_TICK_TIME" "$ZOO_INIT_LIMIT" "$ZOO_SYNC_LIMIT"
    printf 'autopurge.snapRetainCount=%s\nautopurge.purgeInterval=%s\n' \
      "$ZOO_AUTOPURGE_SNAPRETAINCOUNT" "$ZOO_AUTOPURGE_PURGEINTERVAL"
    printf 'maxClientCnxns=%s\nstandaloneEnabled=%s\nadmin.enableServer=%s\n' \
      "$ZOO_MAX_CLIENT_CNXNS" "$ZOO_STANDALONE_ENABLED" "$ZOO_ADMINSERVER_ENABLED"
    for server in ${ZOO_SERVERS:-server.1=localhost:2888:3888;2181}; do echo "$server"; done
    if [[ -n "${ZOO_4LW_COMMANDS_WHITELIST:-}" ]]; then
      echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
    fi
    for extra in ${ZOO_CFG_EXTRA:-}; do echo "$extra"; done
  } >>"$ZOO_CONF_DIR/zoo.cfg"
fi
if [[ ! -f "$ZOO_DATA_DIR/myid" ]]; then
  echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"
fi
exec "$@"
