#!/bin/sh
# Run by spec/images/build inside the base image, the Go tools at /tools.
set -eu
install -m 0755 /tools/mc /usr/bin/mc
chmod 0550 /root
