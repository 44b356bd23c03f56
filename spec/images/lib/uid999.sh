#!/bin/sh
# uid999.sh NAME — run inside an image build: gives the system user NAME and its
# group the ids 999:999, as the official postgres and redis images have them,
# and re-owns every file that belonged to the old ids.
set -eu
name=$1
old_uid=$(id -u "$name")
old_gid=$(id -g "$name")
if [ "$old_uid" != 999 ]; then
  taken=$(getent passwd 999 | cut -d: -f1)
  [ -z "$taken" ] || { echo "uid999.sh: uid 999 is taken by $taken" >&2; exit 1; }
fi
if [ "$old_gid" != 999 ]; then
  taken=$(getent group 999 | cut -d: -f1)
  [ -z "$taken" ] || { echo "uid999.sh: gid 999 is taken by $taken" >&2; exit 1; }
  groupmod -g 999 "$(id -gn "$name")"
fi
usermod -u 999 -g 999 "$name"
find / -xdev \( -uid "$old_uid" -o -gid "$old_gid" \) ! -uid 0 -exec chown -h 999:999 {} +
find / -xdev -uid 0 -gid "$old_gid" -exec chgrp -h 999 {} +
[ "$(id -u "$name"):$(id -g "$name")" = 999:999 ]
