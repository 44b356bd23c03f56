#!/bin/sh
# docker-entrypoint.sh of deloc-test/redis:7, as the official redis image's:
# `IMAGE --opt x` or `IMAGE file.conf` runs redis-server with them; started as
# root, redis-server runs as redis (999:999) after taking ownership of the
# working directory (/data); any other command runs as given.
set -eu
case ${1:-} in
  -*|*.conf) set -- redis-server "$@" ;;
esac
if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . ! -user 999 -exec chown 999:999 {} + 2>/dev/null || :
  exec setpriv --reuid=999 --regid=999 --init-groups "$0" "$@"
fi
# Like the official image: files the server writes are private by default.
[ "$(umask)" != 0022 ] || umask 0077
exec "$@"
