# Start a throw-away PostgreSQL cluster for the tests and export CASPARIAN_TEST_PG_URL.
# Sourced by .ci/run; safe to source again (an already-running cluster is reused).
start_postgres() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$bindir" ]; then
    echo "PostgreSQL is not installed" >&2
    return 1
  fi
  local data=/tmp/casparian-ci-pg port=55432 user=postgres
  if [ "$(id -u)" -eq 0 ]; then
    run_as() { runuser -u "$user" -- "$@"; }
  else
    user=$(id -un)
    run_as() { "$@"; }
  fi
  if ! run_as "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    rm -rf "$data"
    mkdir -p "$data" && chown "$user" "$data"
    run_as "$bindir/initdb" -D "$data" -A trust -U casparian >/dev/null
    run_as "$bindir/pg_ctl" -D "$data" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" \
      -l "$data/server.log" -w start >/dev/null
  fi
  export CASPARIAN_TEST_PG_URL="postgresql://casparian@127.0.0.1:$port/postgres"
}
