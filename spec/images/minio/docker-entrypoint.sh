#!/bin/sh
# docker-entrypoint.sh of deloc-test/minio, behaving as the official image's
# (recipes/contracts/minio.lua): a command that does not start with `minio`
# gets it prepended; with MINIO_USERNAME and MINIO_GROUPNAME set it runs as
# that user, else as it was started.
if [ "${1:-}" != minio ] && [ -n "${1:-}" ]; then
  set -- minio "$@"
fi
if [ -n "${MINIO_USERNAME:-}" ] && [ -n "${MINIO_GROUPNAME:-}" ]; then
  exec setpriv --reuid="${MINIO_UID:-1000}" --regid="${MINIO_GID:-1000}" --clear-groups "$@"
fi
exec "$@"
