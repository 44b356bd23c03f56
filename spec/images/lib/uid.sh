#!/bin/sh
# uid.sh NAME UID GID — run inside an image build: gives the system user NAME
# and its group the ids UID:GID (as the official image has them) and re-owns
# every file that belonged to the old ids.
set -eu
name=$1 uid=$2 gid=$3
old_uid=$(id -u "$name")
old_gid=$(id -g "$name")
if [ "$old_uid" != "$uid" ]; then
  taken=$(getent passwd "$uid" | cut -d: -f1)
  [ -z "$taken" ] || { echo "uid.sh: uid $uid is taken by $taken" >&2; exit 1; }
fi
if [ "$old_gid" != "$gid" ]; then
  taken=$(getent group "$gid" | cut -d: -f1)
  [ -z "$taken" ] || { echo "uid.sh: gid $gid is taken by $taken" >&2; exit 1; }
  groupmod -g "$gid" "$(id -gn "$name")"
fi
usermod -u "$uid" -g "$gid" "$name"
find / -xdev \( -uid "$old_uid" -o -gid "$old_gid" \) ! -uid 0 -exec chown -h "$uid:$gid" {} +
find / -xdev -uid 0 -gid "$old_gid" -exec chgrp -h "$gid" {} +
[ "$(id -u "$name"):$(id -g "$name")" = "$uid:$gid" ]
