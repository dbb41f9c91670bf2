#!/usr/bin/env bash
# A PostgreSQL server on loopback for the tests and benchmarks (several switchboard nodes share one in
# production): installs Debian's postgresql if missing, starts a throwaway cluster on 127.0.0.1:54329,
# and prints its URL. Idempotent: a server already running is reused.
set -euo pipefail
port="${SWITCHBOARD_PG_PORT:-54329}"
dir="${SWITCHBOARD_PG_DIR:-/tmp/switchboard-pg-$port}"
url="postgres://switchboard@127.0.0.1:$port/postgres"

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "installing postgresql" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  echo "$url"
  exit 0
fi
if [ ! -f "$dir/PG_VERSION" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$dir"
  as_owner "$bin/initdb" -D "$dir" -U switchboard -A trust -E UTF8 --no-locale >/dev/null
fi
as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
echo "$url"
