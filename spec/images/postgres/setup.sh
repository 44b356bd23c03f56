#!/bin/sh
# Run by spec/images/build inside the base image, spec/images mounted at /build.
set -eu
sh /build/lib/uid999.sh postgres
install -m 0755 /build/postgres/docker-entrypoint.sh /usr/local/bin/
bin=/usr/lib/postgresql/15/bin
# The real binaries first on PATH (Debian's /usr/bin ones are perl wrappers
# that look for clusters of their own).
for p in postgres initdb pg_ctl pg_isready psql pg_dump pg_dumpall pg_restore \
         createdb createuser dropdb dropuser vacuumdb; do
  ln -sf "$bin/$p" "/usr/local/bin/$p"
done
# Like the official image: new clusters listen on every address.
sample=/usr/share/postgresql/15/postgresql.conf.sample
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$sample"
grep -q "^listen_addresses = '\*'" "$sample"
mkdir -p /var/run/postgresql /var/lib/postgresql/data /docker-entrypoint-initdb.d
chown 999:999 /var/run/postgresql /var/lib/postgresql/data
chmod 3777 /var/run/postgresql
chmod 1777 /var/lib/postgresql/data
