#!/usr/bin/env bash
# pgfold lab entrypoint (/usr/local/bin/docker-entrypoint.sh in the
# pgfold-lab/* images). Implements the contract of the official `postgres`
# image's entrypoint on a debootstrapped Debian rootfs, so a compose service
# written for postgres:NN runs by changing only its image:
#   POSTGRES_USER (postgres), POSTGRES_PASSWORD (required unless
#   POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (= user), POSTGRES_INITDB_ARGS,
#   POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD (scram-sha-256), PGDATA,
#   PGPORT, *_FILE variants, /docker-entrypoint-initdb.d/*.sql|.sql.gz|.sh.
# Differences: TCP logins always use the chosen method (no trusted 127.0.0.1),
# and passwords are stored as SCRAM on every major (13 included).
set -Eeo pipefail

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA
SOCKDIR=/var/run/postgresql
INCOMPLETE=.pgfold-lab-init-incomplete

log() { printf '%s\n' "$*" >&2; }

# file_env VAR [DEFAULT]: VAR from $VAR or from the file named by $VAR_FILE.
file_env() {
  local var=$1 fvar=${1}_FILE def=${2:-} val
  if [ -n "${!var:-}" ] && [ -n "${!fvar:-}" ]; then
    log "error: both $var and $fvar are set (but are exclusive)"
    exit 1
  fi
  val=$def
  if [ -n "${!var:-}" ]; then
    val=${!var}
  elif [ -n "${!fvar:-}" ]; then
    val=$(<"${!fvar}")
  fi
  export "$var=$val"
  unset "$fvar"
}

wants_help() {
  local a
  for a; do
    case $a in -'?'|--help|--describe-config|-V|--version) return 0 ;; esac
  done
  return 1
}

# As root: directories owned by postgres, then run this script again as postgres.
root_setup_and_drop() {
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || :
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  mkdir -p "$SOCKDIR"
  find "$SOCKDIR" \! -user postgres -exec chown postgres:postgres '{}' +
  chmod 03775 "$SOCKDIR" || :
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres:postgres '{}' +
  fi
  export HOME=/var/lib/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
}

# Running as a uid without a passwd entry (user: "1000:1000"): initdb needs
# one, so fake it with nss_wrapper for the init phase.
NSS_FILES=()
nss_wrapper_on() {
  getent passwd "$(id -u)" >/dev/null && return 0
  local lib
  for lib in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
    [ -e "$lib" ] && break
  done
  [ -e "$lib" ] || { log "warning: uid $(id -u) has no passwd entry and libnss_wrapper.so is missing"; return 0; }
  NSS_WRAPPER_PASSWD=$(mktemp)
  NSS_WRAPPER_GROUP=$(mktemp)
  NSS_FILES=("$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP")
  printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$(id -u)" "$(id -g)" "$PGDATA" >"$NSS_WRAPPER_PASSWD"
  printf 'postgres:x:%s:\n' "$(id -g)" >"$NSS_WRAPPER_GROUP"
  export NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP LD_PRELOAD=$lib
}
nss_wrapper_off() {
  [ ${#NSS_FILES[@]} -eq 0 ] && return 0
  rm -f "${NSS_FILES[@]}"
  unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  NSS_FILES=()
}

verify_minimum_env() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    cat >&2 <<'EOE'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.

       See PostgreSQL documentation about "Trust Authentication":
       https://www.postgresql.org/docs/current/auth-trust.html
EOE
    exit 1
  fi
  if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
    log "WARNING: POSTGRES_HOST_AUTH_METHOD=trust: every TCP connection is accepted without a password."
  fi
}

init_database_dir() {
  local method=$POSTGRES_HOST_AUTH_METHOD initdb_host=scram-sha-256 pwfile=""
  [ "$method" = md5 ] && initdb_host=md5
  local args=(--username="$POSTGRES_USER" --auth-local=trust --auth-host="$initdb_host")
  [ -n "${POSTGRES_INITDB_WALDIR:-}" ] && args+=(--waldir="$POSTGRES_INITDB_WALDIR")
  if [ -n "$POSTGRES_PASSWORD" ]; then
    # the password goes through a private file, never argv; gone right after
    pwfile=$(umask 077 && mktemp)
    trap 'rm -f "$pwfile"' EXIT
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    args+=(--pwfile="$pwfile")
  fi
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list, like upstream
  run initdb "${args[@]}" $POSTGRES_INITDB_ARGS
  if [ -n "$pwfile" ]; then rm -f "$pwfile"; trap - EXIT; fi

  {
    echo
    echo "# added by the pgfold lab entrypoint"
    echo "listen_addresses = '*'"
    [ "$initdb_host" = scram-sha-256 ] && echo "password_encryption = 'scram-sha-256'"
  } >>"$PGDATA/postgresql.conf"
  cat >"$PGDATA/pg_hba.conf" <<EOF
# written by the pgfold lab entrypoint
# TYPE  DATABASE     USER  ADDRESS  METHOD
local   all          all            trust
local   replication  all            trust
host    all          all   all      $method
host    replication  all   all      $method
EOF
}

# The init-time server listens only on a private socket directory, so nothing
# (pg_isready, docker exec psql, a healthcheck) mistakes it for the real
# server. PGHOST points init scripts' psql at it.
PSQL=()
TEMP_SOCKDIR=""
temp_server_start() {
  TEMP_SOCKDIR=$(mktemp -d /tmp/pgfold-init.XXXXXX)
  export PGHOST=$TEMP_SOCKDIR PGPORT=${PGPORT:-5432}
  run pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories='$TEMP_SOCKDIR' -p $PGPORT" -w start
}
temp_server_stop() {
  pg_ctl -D "$PGDATA" -m fast -w stop
  rmdir "$TEMP_SOCKDIR" 2>/dev/null || :
  TEMP_SOCKDIR=""
}
# Init steps run as background children so that docker stop (SIGINT, or TERM)
# interrupts `wait` at once; a bash PID 1 would otherwise act only after the
# step finished, and docker would SIGKILL it halfway through initdb.
CHILD=""
run() {
  "$@" 0<&0 &   # explicit: a background command's stdin is /dev/null otherwise
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}
# docker stop during init: end the step (initdb then cleans up its directory),
# stop the temporary server, exit.
on_init_signal() {
  log "$0: interrupted during initialization"
  if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null; fi
  [ -n "$TEMP_SOCKDIR" ] && pg_ctl -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1
  exit 130
}

setup_db() {
  [ "$POSTGRES_DB" = postgres ] && return 0
  run "${PSQL[@]}" --dbname postgres --set db="$POSTGRES_DB" <<'EOSQL'
SELECT 'CREATE DATABASE ' || quote_ident(:'db')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
EOSQL
}

process_init_files() {
  local f files=()
  mapfile -d '' -t files < <(
    shopt -s nullglob
    set -- /docker-entrypoint-initdb.d/*
    [ $# -gt 0 ] && printf '%s\0' "$@" | LC_ALL=C sort -z
  )
  for f in "${files[@]}"; do
    case $f in
      *.sh)
        # shellcheck disable=SC1090  # init scripts are the user's
        if [ -x "$f" ]; then log "$0: running $f"; run "$f"
        else log "$0: sourcing $f"; . "$f"; fi ;;
      *.sql)    log "$0: running $f"; run "${PSQL[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) log "$0: running $f"; run "${PSQL[@]}" --dbname "$POSTGRES_DB" -f <(gzip -dc "$f") ;;
      *.sql.xz) log "$0: running $f"; run "${PSQL[@]}" --dbname "$POSTGRES_DB" -f <(xz -dc "$f") ;;
      *)        log "$0: ignoring $f" ;;
    esac
  done
}

main() {
  if [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
  fi
  if [ "$1" = postgres ] && ! wants_help "$@"; then
    # read *_FILE secrets before dropping root, as upstream does
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
    export POSTGRES_HOST_AUTH_METHOD

    if [ "$(id -u)" = 0 ]; then
      root_setup_and_drop "$@"
    fi
    # already the postgres user (or an arbitrary uid)
    mkdir -p "$PGDATA" 2>/dev/null || :
    chmod 00700 "$PGDATA" 2>/dev/null || :

    if [ -e "$PGDATA/$INCOMPLETE" ]; then
      log "error: an earlier initialization of $PGDATA did not finish (failed or"
      log "       interrupted; see its log). Empty the data directory/volume to retry."
      exit 1
    fi
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
      verify_minimum_env
      trap on_init_signal INT TERM
      nss_wrapper_on
      init_database_dir
      : >"$PGDATA/$INCOMPLETE"
      local saved_env; saved_env=$(export -p | sed -n 's/^declare -x \(PGHOST\|PGHOSTADDR\|PGPORT\)=/declare -gx \1=/p')
      unset PGHOSTADDR
      PSQL=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
      temp_server_start
      setup_db
      process_init_files
      temp_server_stop
      rm -f "$PGDATA/$INCOMPLETE"
      unset PGHOST PGPORT
      eval "$saved_env"
      nss_wrapper_off
      trap - INT TERM
      log ""
      log "PostgreSQL init process complete; ready for start up."
      log ""
    else
      log ""
      log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
      log ""
    fi
  fi
  exec "$@"
}

main "$@"
