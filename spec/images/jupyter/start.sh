#!/bin/bash
# start.sh of deloc-test/jupyter, with the Docker Stacks contract: started as
# NB_UID it runs the command as given; started as root it steps down to
# NB_UID:NB_GID first (the stand-in does not rename or re-id users).
set -e
if [ "$(id -u)" = 0 ]; then
  exec setpriv --reuid="${NB_UID:-1000}" --regid="${NB_GID:-100}" --init-groups \
    env HOME="/home/${NB_USER:-jovyan}" "$0" "$@"
fi
exec "$@"
