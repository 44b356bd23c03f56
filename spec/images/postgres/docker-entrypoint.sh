#!/bin/sh
# docker-entrypoint.sh of deloc-test/postgres:16: the official postgres image's
# entrypoint contract, in POSIX sh, for Debian's PostgreSQL 15.
#
# - `IMAGE -c x=y` runs `postgres -c x=y`; a command other than postgres runs as given.
# - Started as root: makes $PGDATA and /var/run/postgresql belong to postgres
#   (999:999) and runs itself again as that user (setpriv).  Started as another
#   user (e.g. --user 999:999): stays that user.
# - On an empty $PGDATA (default /var/lib/postgresql/data): initdb with the
#   superuser POSTGRES_USER (default postgres) and the password POSTGRES_PASSWORD,
#   or read from the file POSTGRES_PASSWORD_FILE (every POSTGRES_* has _FILE);
#   trust for local connections, POSTGRES_HOST_AUTH_METHOD (default
#   scram-sha-256) for all others; then, on a temporary server listening on the
#   socket only, creates POSTGRES_DB (default POSTGRES_USER) and runs
#   /docker-entrypoint-initdb.d/*.sh (executed if executable, else sourced),
#   *.sql and *.sql.gz in name order, as docker_process_init_files in
#   docker-library/postgres docker-entrypoint.sh does (its *.sql.xz and
#   *.sql.zst are refused here: no xzcat or zstd in this image).
# - Then execs postgres (PID 1), listening on every address.
# The password never enters the environment of the server.  Works on a
# read-only root file system given tmpfs on /tmp and /var/run/postgresql.
set -eu

say() { echo "docker-entrypoint.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# file_env VAR [DEFAULT]: sets the shell variable VAR from $VAR or from the file
# named by $VAR_FILE (not both), else DEFAULT; unsets VAR_FILE.
file_env() {
  eval "fe_val=\${$1:-} fe_file=\${$1_FILE:-}"
  if [ -n "$fe_val" ] && [ -n "$fe_file" ]; then
    die "both $1 and $1_FILE are set (but are exclusive)"
  fi
  if [ -n "$fe_file" ]; then
    [ -r "$fe_file" ] || die "cannot read $1_FILE '$fe_file'"
    fe_val=$(cat "$fe_file")
  elif [ -z "$fe_val" ]; then
    fe_val=${2:-}
  fi
  eval "$1=\$fe_val"
  unset "$1_FILE" fe_val fe_file
}

init_db() {
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_INITDB_ARGS
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    die "database is uninitialized and superuser password is not specified.
  Set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (or POSTGRES_HOST_AUTH_METHOD=trust)"
  fi
  chmod 700 "$PGDATA" 2>/dev/null || :
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words
  if [ -n "$POSTGRES_PASSWORD" ]; then
    printf '%s\n' "$POSTGRES_PASSWORD" |
      initdb --username="$POSTGRES_USER" --pwfile=/dev/stdin $POSTGRES_INITDB_ARGS
  else
    initdb --username="$POSTGRES_USER" $POSTGRES_INITDB_ARGS
  fi
  unset POSTGRES_PASSWORD
  printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w -s start
  psql_() { psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --no-password "$@"; }
  if [ "$POSTGRES_DB" != postgres ]; then
    psql_ --dbname postgres --set db="$POSTGRES_DB" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
SQL
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh) say "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql) say "running $f"; psql_ --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) say "running $f"; gunzip -c "$f" | psql_ --dbname "$POSTGRES_DB" ;;
      *.sql.xz | *.sql.zst) die "$f: this stand-in has no xzcat/zstd (the official image has)" ;;
      */\*) ;;
      *) say "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w -s stop
  say "PostgreSQL init process complete; ready for start up"
}

case ${1:-} in
  -*) set -- postgres "$@" ;;
esac

if [ "${1:-}" = postgres ]; then
  PGDATA=${PGDATA:-/var/lib/postgresql/data}
  export PGDATA
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql 2>/dev/null || :
    chown 999:999 "$PGDATA" /var/run/postgresql 2>/dev/null || :
    chmod 700 "$PGDATA" 2>/dev/null || :
    chmod 3777 /var/run/postgresql 2>/dev/null || :
    exec setpriv --reuid=999 --regid=999 --init-groups "$0" "$@"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    init_db
  fi
  unset POSTGRES_PASSWORD POSTGRES_PASSWORD_FILE 2>/dev/null || :
fi

exec "$@"
