#!/bin/sh
# Run by spec/images/build inside the base image (with network: jupyter/packages).
set -eu
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  $(grep -v '^#' /build/jupyter/packages) >/dev/null
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc /usr/share/man
# jovyan 1000 in the users group (100), as the Docker Stacks foundation creates it
! getent passwd 1000 >/dev/null || { echo "uid 1000 is taken" >&2; exit 1; }
useradd --no-log-init --create-home --shell /bin/bash --uid 1000 --gid 100 jovyan
mkdir -p /home/jovyan/work /home/jovyan/.cache
chown -R 1000:100 /home/jovyan
chmod -R g+rwX /home/jovyan
find /home/jovyan -type d -exec chmod g+s {} +
install -m 0755 /build/jupyter/start.sh /build/jupyter/start-notebook.py /usr/local/bin/
mkdir -p /etc/jupyter
install -m 0644 /build/jupyter/jupyter_server_config.py /etc/jupyter/
