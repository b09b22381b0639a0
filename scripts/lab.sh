#!/usr/bin/env bash
# pgfold test/demo lab: a local Docker engine and postgres images built from
# Debian packages with debootstrap (no registry needed). See docs/LAB.md.
#
#   scripts/lab.sh up       engine running + every image in lab/images.conf present
#   scripts/lab.sh down     remove pgfold.test=1 containers; stop dockerd if we started it
#   scripts/lab.sh status   what is running / present
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/mirror.sh
. "$ROOT/scripts/mirror.sh"
LAB_DIR=$ROOT/lab
STATE_DIR=${PGFOLD_LAB_STATE:-/run/pgfold-lab}
CACHE_DIR=${PGFOLD_LAB_CACHE:-/var/cache/pgfold-lab}
LOG_DIR=${PGFOLD_LAB_LOGDIR:-/var/log/pgfold-lab}
DOCKERD_LOG=${PGFOLD_LAB_DOCKERD_LOG:-$LOG_DIR/dockerd.log}
IMAGES_CONF=${PGFOLD_LAB_IMAGES_CONF:-$LAB_DIR/images.conf}
JOBS=${PGFOLD_LAB_JOBS:-2}
ENGINE_TIMEOUT=${PGFOLD_LAB_ENGINE_TIMEOUT:-60}
STOP_TIMEOUT=${PGFOLD_LAB_STOP_TIMEOUT:-60}
PIDFILE=$STATE_DIR/dockerd.pid
OWNER=$STATE_DIR/owner        # exists only while a dockerd started by us runs
# Bump when build_rootfs changes what goes into a rootfs: cached tarballs and
# images of older revisions are then rebuilt. (Entrypoint and Dockerfile
# changes are picked up by content and only redo the few-second layer build.)
ROOTFS_REV=1
export DOCKER_BUILDKIT=0      # classic builder: works offline, without bridge

export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
case $DOCKER_HOST in
  unix://*) SOCK=${DOCKER_HOST#unix://} ;;
  *) SOCK="" ;;
esac

say() { printf 'lab: %s\n' "$*"; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

ping_engine() {
  if [ -n "$SOCK" ]; then
    [ -S "$SOCK" ] || return 1
    [ "$(curl -fsS --max-time 3 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null)" = OK ]
  else
    local url=${DOCKER_HOST/#tcp:/http:}
    [ "$(curl -fsS --max-time 3 "$url/_ping" 2>/dev/null)" = OK ]
  fi
}

# Our dockerd's pid, or nothing: only a live dockerd whose command line names
# our pidfile counts (never guess by process name).
owned_pid() {
  [ -f "$OWNER" ] && [ -f "$PIDFILE" ] || return 1
  local pid; pid=$(tr -dc 0-9 <"$PIDFILE")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  case $(readlink "/proc/$pid/exe" 2>/dev/null) in */dockerd) ;; *) return 1 ;; esac
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--pidfile $PIDFILE" || return 1
  echo "$pid"
}

ENGINE_STARTED=no
engine_up() {
  if ping_engine; then
    if owned_pid >/dev/null; then ENGINE_STARTED="earlier, by lab.sh"; else ENGINE_STARTED="no (already running)"; fi
    return 0
  fi
  [ -n "$SOCK" ] || die "no engine answers at $DOCKER_HOST and lab.sh only starts engines on unix sockets"
  command -v dockerd >/dev/null || die "dockerd not installed (run scripts/deps.sh)"
  [ "$(id -u)" -eq 0 ] || die "starting dockerd needs root"
  mkdir -p "$STATE_DIR" "$(dirname "$DOCKERD_LOG")" "$(dirname "$SOCK")"
  local pid
  if pid=$(owned_pid); then
    say "dockerd $pid (ours) is running but not answering yet; waiting"
  else
    rm -f "$OWNER" "$PIDFILE"
    local args=(--bridge=none --iptables=false --ip-masq=false
                --pidfile "$PIDFILE" -H "unix://$SOCK")
    # shellcheck disable=SC2206  # word splitting of extra flags is intended
    [ -n "${PGFOLD_LAB_DOCKERD_ARGS:-}" ] && args+=($PGFOLD_LAB_DOCKERD_ARGS)
    printf '=== %s lab.sh: dockerd %s\n' "$(date -Is)" "${args[*]}" >>"$DOCKERD_LOG"
    # setsid + nohup: own session, survives this script and its terminal.
    # 9>&- : don't let dockerd inherit our lock.
    setsid nohup dockerd "${args[@]}" </dev/null >>"$DOCKERD_LOG" 2>&1 9>&- &
    pid=$!
    printf 'pid=%s\nsocket=%s\nstarted=%s\nlog=%s\n' "$pid" "$SOCK" "$(date -Is)" "$DOCKERD_LOG" >"$OWNER"
    say "started dockerd (pid $pid, log $DOCKERD_LOG)"
  fi
  local t=0
  until ping_engine; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$OWNER"
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      die "dockerd exited during startup; see $DOCKERD_LOG"
    fi
    (( t++ < ENGINE_TIMEOUT * 2 )) || die "dockerd (pid $pid) did not answer /_ping on $SOCK within ${ENGINE_TIMEOUT}s; see $DOCKERD_LOG"
    sleep 0.5
  done
  ENGINE_STARTED="yes (pid $pid)"
}

remove_test_containers() {
  ping_engine || return 0
  local ids; ids=$(docker ps -aq --filter label=pgfold.test=1)
  if [ -n "$ids" ]; then
    say "removing $(wc -w <<<"$ids") container(s) labelled pgfold.test=1"
    # shellcheck disable=SC2086
    docker rm -f $ids >/dev/null
  fi
}

engine_down() {
  remove_test_containers
  local pid
  if ! pid=$(owned_pid); then
    if [ -f "$OWNER" ]; then
      say "the dockerd lab.sh started is gone; clearing $OWNER"
      rm -f "$OWNER"
    else
      say "engine at $DOCKER_HOST was not started by lab.sh: leaving it running"
    fi
    return 0
  fi
  say "stopping dockerd $pid"
  kill -TERM "$pid"
  local t=0
  while [ -d "/proc/$pid" ] && (( t++ < STOP_TIMEOUT * 2 )); do sleep 0.5; done
  if [ -d "/proc/$pid" ]; then
    say "dockerd $pid still running after ${STOP_TIMEOUT}s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
  rm -f "$OWNER"
  say "dockerd stopped after $((t / 2))s"
}

# ---------------------------------------------------------------- images

# debian_mirror: scripts/mirror.sh

sha12() { sha256sum | cut -c1-12; }

# Build one rootfs tarball. Runs in a subshell (own traps); writes TAR only
# on success, by rename from a temp file in the same directory.
build_rootfs() (
  local suite=$1 major=$2 extras=$3 tar=$4 mirror=$5
  # not local: the EXIT trap runs after the function has returned
  work=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
  root=$work/root
  # shellcheck disable=SC2317  # invoked by the trap
  cleanup() {
    # debootstrap unmounts what it mounted; make sure, deepest first, then
    # never cross into another file system while deleting.
    local m
    for m in $(findmnt -rn -o TARGET | grep -F "$work/" | sort -r); do umount -l "$m" || true; done
    rm -rf --one-file-system "$work"
  }
  trap cleanup EXIT
  local pkgs="postgresql-$major,libnss-wrapper,locales"
  [ -n "$extras" ] && pkgs="$pkgs,${extras// /,}"
  echo "debootstrap --variant=minbase --include=$pkgs $suite $root $mirror"
  debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" "$mirror"

  # the cluster the package created; the entrypoint makes its own in PGDATA
  rm -rf "$root/var/lib/postgresql/$major" "$root/etc/postgresql/$major/main" "$root"/run/postgresql/*

  echo 'en_US.UTF-8 UTF-8' >"$root/etc/locale.gen"
  chroot "$root" locale-gen

  # uid/gid 999 like the official image, so its data directories fit
  local ouid ogid
  ouid=$(chroot "$root" id -u postgres); ogid=$(chroot "$root" id -g postgres)
  if [ "$ouid" != 999 ] || [ "$ogid" != 999 ]; then
    if chroot "$root" getent passwd 999 >/dev/null || chroot "$root" getent group 999 >/dev/null; then
      echo "uid/gid 999 taken in $suite; keeping postgres at $ouid:$ogid"
    else
      chroot "$root" groupmod -g 999 postgres
      chroot "$root" usermod -u 999 -g 999 postgres
      find "$root" -xdev \( -uid "$ouid" -o -gid "$ogid" \) -exec chown -h 999:999 {} +
    fi
  fi

  install -d -o postgres -g postgres -m 3777 "$root/run/postgresql" 2>/dev/null ||
    install -d -m 3777 "$root/run/postgresql"
  chroot "$root" chown postgres:postgres /run/postgresql /var/lib/postgresql
  install -d -m 1777 "$root/var/lib/postgresql/data"
  chroot "$root" chown postgres:postgres /var/lib/postgresql/data
  install -d -m 755 "$root/docker-entrypoint-initdb.d"
  for f in usr/bin/setpriv "usr/lib/postgresql/$major/bin/initdb" "usr/lib/postgresql/$major/bin/pg_ctl"; do
    [ -x "$root/$f" ] || { echo "missing /$f in rootfs"; exit 1; }
  done
  ls "$root"/usr/lib/*/libnss_wrapper.so >/dev/null || { echo "missing libnss_wrapper.so"; exit 1; }

  # slim down
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
         "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
         "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*.log \
         "$root"/var/log/apt/* "$root"/tmp/* "$root"/var/tmp/*
  : >"$root/etc/resolv.conf"
  echo pgfold-lab >"$root/etc/hostname"

  tar -C "$root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
      -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$tar"
  echo "rootfs ready: $tar ($(du -h "$tar" | cut -f1))"
)

base_name() { local n=${1#pgfold-lab/}; echo "pgfold-lab/rootfs:${n//[\/:]/-}-$2"; }

# Import a cached rootfs (once per rootfs recipe, kept as
# pgfold-lab/rootfs:NAME-KEY) and add the entrypoint layer (lab/Dockerfile).
finish_image() {
  local tag=$1 major=$2 tar=$3 rev=$4 key=$5
  local name=${tag#pgfold-lab/}; name=${name//[\/:]/-}
  local base; base=$(base_name "$tag" "$key")
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    docker import \
      -c "ENV PATH=/usr/lib/postgresql/$major/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      -c "ENV PG_MAJOR=$major" \
      -c 'ENV PGDATA=/var/lib/postgresql/data' \
      -c 'ENV LANG=en_US.utf8' \
      -c 'ENTRYPOINT ["docker-entrypoint.sh"]' \
      -c 'CMD ["postgres"]' \
      -c 'VOLUME /var/lib/postgresql/data' \
      -c 'EXPOSE 5432' \
      "$tar" "$base" >/dev/null
  fi
  local out prev
  prev=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || :)
  if ! out=$(docker build -q --network none --build-arg "BASE=$base" \
      --label "pgfold.lab.rev=$rev" --label "pgfold.lab.pg_major=$major" \
      -f "$LAB_DIR/Dockerfile" -t "$tag" "$LAB_DIR" 2>&1); then
    printf '%s\n' "$out" >&2
    die "docker build of $tag failed"
  fi
  # the image this one replaces (kept while a container still uses it)
  if [ -n "$prev" ] && [ "$prev" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]; then
    docker rmi "$prev" >/dev/null 2>&1 || :
  fi
  # untag bases of older rootfs recipes for this image
  docker images --format '{{.Repository}}:{{.Tag}}' pgfold-lab/rootfs |
    grep "^pgfold-lab/rootfs:$name-[0-9a-f]\{12\}\$" | grep -vxF "$base" |
    xargs -r docker rmi >/dev/null 2>&1 || :
}

want_image() {
  local tag=$1 sel
  [ -n "${PGFOLD_LAB_IMAGES:-}" ] || return 0
  for sel in ${PGFOLD_LAB_IMAGES//,/ }; do
    [ "$sel" = "$tag" ] || [ "pgfold-lab/$sel" = "$tag" ] && return 0
  done
  return 1
}

declare -a I_KEY I_TAG I_SUITE I_MAJOR I_EXTRA I_TAR I_REV I_STATE
images_up() {
  [ -f "$IMAGES_CONF" ] || die "missing $IMAGES_CONF"
  mkdir -p "$CACHE_DIR" "$LOG_DIR"
  local recipe="rootfs-recipe-$ROOTFS_REV"
  local layer; layer=$(cat "$LAB_DIR/Dockerfile" "$LAB_DIR/entrypoint.sh"; declare -f finish_image)
  local tag suite major extras n=0
  while read -r tag suite major extras; do
    case $tag in ''|'#'*) continue ;; esac
    want_image "$tag" || continue
    local key slug
    key=$(printf '%s\n' "$suite" "$major" "$extras" "$recipe" | sha12)
    slug=${tag//[\/:]/_}
    I_TAG[n]=$tag; I_SUITE[n]=$suite; I_MAJOR[n]=$major; I_EXTRA[n]=$extras
    I_KEY[n]=$key
    I_TAR[n]=$CACHE_DIR/rootfs-$slug-$suite-$key.tar
    I_REV[n]=$(printf '%s\n' "$key" "$layer" | sha12)
    local have
    have=$(docker image inspect -f '{{index .Config.Labels "pgfold.lab.rev"}}' "$tag" 2>/dev/null || true)
    if [ "${PGFOLD_LAB_REBUILD:-0}" = 1 ]; then
      rm -f "${I_TAR[n]}"; I_STATE[n]=build
    elif [ "$have" = "${I_REV[n]}" ]; then
      I_STATE[n]=present
    elif [ -f "${I_TAR[n]}" ] || docker image inspect "$(base_name "$tag" "$key")" >/dev/null 2>&1; then
      I_STATE[n]=import
    else
      I_STATE[n]=build
    fi
    n=$((n + 1))
  done <"$IMAGES_CONF"

  local i mirror running=0
  mirror=$(debian_mirror)
  local -a pids=()
  for ((i = 0; i < n; i++)); do
    [ "${I_STATE[i]}" = build ] || continue
    command -v debootstrap >/dev/null || die "debootstrap not installed (run scripts/deps.sh)"
    while (( running >= JOBS )); do wait -n || true; running=$((running - 1)); done
    local log=$LOG_DIR/build-${I_TAG[i]//[\/:]/_}.log
    say "building ${I_TAG[i]} (${I_SUITE[i]} + postgresql-${I_MAJOR[i]}${I_EXTRA[i]:+ + ${I_EXTRA[i]}}) from $mirror, log $log"
    (
      s=$SECONDS
      build_rootfs "${I_SUITE[i]}" "${I_MAJOR[i]}" "${I_EXTRA[i]}" "${I_TAR[i]}" "$mirror" >"$log" 2>&1 9>&-
      echo "built in $((SECONDS - s))s" >>"$log"
      say "rootfs for ${I_TAG[i]} built in $((SECONDS - s))s"
    ) &
    pids+=($!)
    running=$((running + 1))
  done
  local p; for p in "${pids[@]}"; do wait "$p" || true; done

  local failed=()
  for ((i = 0; i < n; i++)); do
    case ${I_STATE[i]} in
      present) continue ;;
      build)
        if [ ! -f "${I_TAR[i]}" ]; then
          local log=$LOG_DIR/build-${I_TAG[i]//[\/:]/_}.log
          printf 'lab: rootfs build for %s failed; last lines of %s:\n' "${I_TAG[i]}" "$log" >&2
          tail -n 15 "$log" | sed 's/^/    /' >&2
          failed+=("${I_TAG[i]}")
          continue
        fi ;;
    esac
    local s=$SECONDS
    finish_image "${I_TAG[i]}" "${I_MAJOR[i]}" "${I_TAR[i]}" "${I_REV[i]}" "${I_KEY[i]}"
    say "image ${I_TAG[i]} ready in $((SECONDS - s))s"
    # drop cached rootfs tarballs of older recipes for this image
    local old
    for old in "$CACHE_DIR"/rootfs-"${I_TAG[i]//[\/:]/_}"-*.tar; do
      [ "$old" = "${I_TAR[i]}" ] || rm -f "$old"
    done
  done
  # earlier lab images left untagged once their containers are gone
  docker images -q --filter dangling=true --filter label=pgfold.lab.rev |
    xargs -r docker rmi >/dev/null 2>&1 || :
  [ ${#failed[@]} -eq 0 ] || die "image build failed: ${failed[*]}"
}

# ---------------------------------------------------------------- compose v2

# Debian's docker-compose 2.x (a static Go binary needing only libc), taken
# from trixie and installed as the docker CLI plugin (`docker compose`)
# beside bookworm's docker-compose 1.29, which stays the `docker-compose`
# command. Never installed with apt: on bookworm that package would replace
# 1.29. Trust: the suite's InRelease must carry a good signature from
# debian-archive-keyring (gpgv); the signed Release gives Packages.xz's
# SHA-256, Packages gives the .deb's. Only a .deb that passed is cached.
COMPOSE_SUITE=trixie
COMPOSE_VERSION=2.26.1-4
COMPOSE_DEB=docker-compose_${COMPOSE_VERSION}_amd64.deb
COMPOSE_POOL=pool/main/d/docker-compose/$COMPOSE_DEB
PLUGIN_DIR=${PGFOLD_LAB_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}
KEYRING=${PGFOLD_LAB_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
COMPOSE_STATE=""

# apt's own downloader: apt.conf's proxy and mirror settings apply.
apt_fetch() {
  /usr/lib/apt/apt-helper download-file "$1" "$2" >/dev/null ||
    die "cannot download $1"
}

sha256_is() { # FILE HEX WHAT
  local got; got=$(sha256sum <"$1" | cut -d' ' -f1)
  [ "$got" = "$2" ] || die "$3: SHA-256 $got, the signed index says $2; not using it"
}

# The verified .deb into $CACHE_DIR (with its hash beside it), or die.
fetch_compose_deb() (
  local mirror; mirror=$(debian_mirror)
  work=$(mktemp -d "$CACHE_DIR/compose.XXXXXX")
  # shellcheck disable=SC2317  # invoked by the trap
  trap 'rm -rf --one-file-system "$work"' EXIT
  # apt-helper drops to _apt for downloads when it can write there
  chown _apt "$work" 2>/dev/null || :
  [ -r "$KEYRING" ] || die "$KEYRING missing (apt-get install debian-archive-keyring)"
  say "fetching docker-compose $COMPOSE_VERSION ($COMPOSE_SUITE) from $mirror"
  apt_fetch "$mirror/dists/$COMPOSE_SUITE/InRelease" "$work/InRelease"
  # --output keeps only the signed text: nothing outside the signature is read
  gpgv --quiet --keyring "$KEYRING" --output "$work/Release" "$work/InRelease" 2>"$work/gpgv.log" ||
    { cat "$work/gpgv.log" >&2; die "$COMPOSE_SUITE InRelease from $mirror: bad or unknown signature"; }
  grep -qx "Codename: $COMPOSE_SUITE" "$work/Release" ||
    die "$mirror/dists/$COMPOSE_SUITE/InRelease is not the $COMPOSE_SUITE release"
  local idx=main/binary-amd64/Packages.xz idx_sha deb_sha
  idx_sha=$(awk -v f="$idx" '/^[^ ]/ {in256 = ($0 == "SHA256:")} in256 && $3 == f {print $1; exit}' "$work/Release")
  [ -n "$idx_sha" ] || die "$COMPOSE_SUITE Release lists no SHA256 for $idx"
  apt_fetch "$mirror/dists/$COMPOSE_SUITE/$idx" "$work/Packages.xz"
  sha256_is "$work/Packages.xz" "$idx_sha" "$COMPOSE_SUITE $idx"
  # reads to the end (an early exit would SIGPIPE xz under pipefail)
  deb_sha=$(xz -dc "$work/Packages.xz" | awk -v v="$COMPOSE_VERSION" -v f="$COMPOSE_POOL" '
    function take() {if (p && ver == v && fn == f && hit == "") hit = sha; p = 0; ver = fn = sha = ""}
    /^$/ {take()}
    $0 == "Package: docker-compose" {p = 1}
    /^Version: / {ver = $2} /^Filename: / {fn = $2} /^SHA256: / {sha = $2}
    END {take(); print hit}')
  [ -n "$deb_sha" ] || die "$COMPOSE_SUITE main/amd64 has no docker-compose $COMPOSE_VERSION at $COMPOSE_POOL"
  apt_fetch "$mirror/$COMPOSE_POOL" "$work/$COMPOSE_DEB"
  sha256_is "$work/$COMPOSE_DEB" "$deb_sha" "$COMPOSE_DEB"
  printf '%s\n' "$deb_sha" >"$work/$COMPOSE_DEB.sha256"
  mv "$work/$COMPOSE_DEB.sha256" "$CACHE_DIR/"
  mv "$work/$COMPOSE_DEB" "$CACHE_DIR/"
)

# Install the plugin unless the one we installed is still in place (its
# size, mtime and inode recorded at install time: no 60 MB hash per `up`).
compose_plugin_up() {
  local dest=$PLUGIN_DIR/docker-compose deb=$CACHE_DIR/$COMPOSE_DEB
  local stamp; stamp=$CACHE_DIR/plugin-$(printf %s "$dest" | sha12).installed
  local want; want="$dest $COMPOSE_VERSION $(stat -c '%s %Y %i' "$dest" 2>/dev/null || echo none)"
  if [ -x "$dest" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    COMPOSE_STATE=present; return 0
  fi
  mkdir -p "$CACHE_DIR"
  if ! [ -f "$deb" ] || ! [ -f "$deb.sha256" ] ||
     [ "$(sha256sum <"$deb" | cut -d' ' -f1)" != "$(cat "$deb.sha256")" ]; then
    rm -f "$deb" "$deb.sha256"
    fetch_compose_deb
  fi
  local x; x=$(mktemp -d "$CACHE_DIR/compose.XXXXXX")
  dpkg-deb -x "$deb" "$x"
  local bin=$x/usr/libexec/docker/cli-plugins/docker-compose
  if ! [ -x "$bin" ] || ! "$bin" version | grep -qF "version $COMPOSE_VERSION"; then
    rm -rf --one-file-system "$x"
    die "$COMPOSE_DEB: no working docker-compose $COMPOSE_VERSION plugin inside"
  fi
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$bin" "$dest.tmp.$$"
  mv -f "$dest.tmp.$$" "$dest"
  rm -rf --one-file-system "$x"
  printf '%s %s %s\n' "$dest" "$COMPOSE_VERSION" "$(stat -c '%s %Y %i' "$dest")" >"$stamp"
  COMPOSE_STATE=installed
}

summary() {
  local t0=$1
  say "engine:   $DOCKER_HOST (server $(docker version -f '{{.Server.Version}}' 2>/dev/null || echo '?'))"
  say "started:  $ENGINE_STARTED"
  local tag suite major extras
  while read -r tag suite major extras; do
    case $tag in ''|'#'*) continue ;; esac
    want_image "$tag" || continue
    local size
    if size=$(docker image inspect -f '{{.Size}}' "$tag" 2>/dev/null); then
      say "image:    $tag ($((size / 1000000)) MB)"
    else
      say "image:    $tag MISSING"
    fi
  done <"$IMAGES_CONF"
  say "compose:  v1 $(docker-compose version --short 2>/dev/null || echo MISSING) (docker-compose)"
  if [ -x "$PLUGIN_DIR/docker-compose" ]; then
    say "compose:  v2 $("$PLUGIN_DIR/docker-compose" version --short 2>/dev/null || echo '?') ($PLUGIN_DIR/docker-compose${COMPOSE_STATE:+, $COMPOSE_STATE})"
  else
    say "compose:  v2 MISSING ($PLUGIN_DIR/docker-compose)"
  fi
  say "took:     $((SECONDS - t0))s"
}

lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/lock"
  flock -w 900 9 || die "another lab.sh holds $STATE_DIR/lock"
}

cmd=${1:-up}
case $cmd in
  up)
    t0=$SECONDS
    if [ "${PGFOLD_SKIP_DEPS:-0}" != 1 ]; then "$ROOT/scripts/deps.sh"; fi
    lock
    engine_up
    images_up
    compose_plugin_up
    summary "$t0"
    ;;
  down)
    lock
    engine_down
    ;;
  status)
    if ping_engine; then
      ENGINE_STARTED=no; pid=$(owned_pid) && ENGINE_STARTED="by lab.sh (pid $pid)"
      summary "$SECONDS"
    else
      say "no engine answers at $DOCKER_HOST"
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
