#!/usr/bin/env bash
# make fresh-check: the README's first build on a machine that has none of
# pgfold's packages, in a throwaway Debian 12 container.
#
# The container comes from a debootstrap'd bookworm minbase root (cached as an
# image, like the lab's), runs with host networking only to reach the package
# mirror, and is removed afterwards. Inside it, with only `make` added (a fresh
# machine has make):
#   1. `make` must stop with the one line naming the missing pkg-config modules;
#   2. `make -j2 unit` must install the packages (make deps), build and pass the
#      unit suite in ONE make invocation: the path where flags read before the
#      packages existed used to break the build;
#   3. `build/pgfold --version` must answer.
# No Docker engine is needed inside. Exit 0 only when every step did as said.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGE=${PGFOLD_FRESH_IMAGE:-pgfold-lab/fresh:bookworm}
CACHE_DIR=${PGFOLD_LAB_CACHE:-/var/cache/pgfold-lab}
NAME=pgfold-fresh-$$
export DOCKER_BUILDKIT=0

say() { printf 'fresh-check: %s\n' "$*"; }
die() { printf 'fresh-check: FAILED: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/mirror.sh
. "$ROOT/scripts/mirror.sh"

# A bookworm minbase image with no build packages, built once and kept.
ensure_image() {
  docker image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  command -v debootstrap >/dev/null || die "debootstrap not installed (run make deps)"
  mkdir -p "$CACHE_DIR"
  local work; work=$(mktemp -d "$CACHE_DIR/fresh.XXXXXX")
  # shellcheck disable=SC2064  # expand now: the path is fixed
  trap "rm -rf --one-file-system '$work'" RETURN
  say "building $IMAGE (debootstrap bookworm minbase from $(debian_mirror))"
  debootstrap --variant=minbase bookworm "$work/root" "$(debian_mirror)" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 15 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  # Containers have no init: packages must not try to start services.
  printf '#!/bin/sh\nexit 101\n' >"$work/root/usr/sbin/policy-rc.d"
  chmod 755 "$work/root/usr/sbin/policy-rc.d"
  rm -rf "$work"/root/var/lib/apt/lists/* "$work"/root/var/cache/apt/archives/*.deb
  tar -C "$work/root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
    docker import -c 'CMD ["bash"]' - "$IMAGE" >/dev/null
}

# What runs inside: each step prints a marker, so a failure names its step.
inner_script() {
  cat <<'EOS'
set -u
step() { printf '\n=== fresh-check step: %s\n' "$*"; }
fail() { printf '\nfresh-check: FAILED at step: %s\n' "$*"; exit 1; }
# A failed check that does not stop the later steps (each one says something).
failed=0
flag() { printf '\nfresh-check: FAILED at step: %s\n' "$*"; failed=1; }
export DEBIAN_FRONTEND=noninteractive
cd /src

step "a fresh machine: only make, none of pgfold's packages"
apt-get update -qq && apt-get install -y -qq --no-install-recommends make >/dev/null </dev/null ||
  fail "apt-get install make"
for p in pkg-config libpq-dev libcurl4-openssl-dev libsodium-dev libjansson-dev libcriterion-dev; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    fail "the container already has $p: it proves nothing"
  fi
done

step "make (installs nothing) names what is missing in one line"
if make >/tmp/make.out 2>/tmp/make.err; then
  flag "plain make succeeded without the libraries"
else
  tail -n 5 /tmp/make.err
  grep -c '^pgfold: missing pkg-config modules: ' /tmp/make.err | grep -qx 1 ||
    flag "plain make did not print the one 'missing pkg-config modules' line"
  grep -q 'error:' /tmp/make.err && flag "plain make reached the compiler"
fi

step "make -j2 unit (make deps, then the build, then the unit suite, one invocation)"
make -j2 unit </dev/null || fail "make -j2 unit"

step "build/pgfold --version"
build/pgfold --version || fail "build/pgfold --version"
[ "$failed" = 0 ] || fail "an earlier step (named above)"
printf '\nfresh-check: every step passed\n'
EOS
}

main() {
  command -v docker >/dev/null || die "no docker CLI (run make lab)"
  docker version >/dev/null 2>&1 || die "no Docker engine answers (run make lab)"
  ensure_image
  local t0=$SECONDS
  say "copying the tracked files of $ROOT into a throwaway container ($IMAGE, --network host for the mirror)"
  local rc=0
  # The container is removed on every path (--rm; and by name if we are interrupted).
  trap 'docker rm -f "$NAME" >/dev/null 2>&1 || true' EXIT INT TERM
  (cd "$ROOT" && git ls-files -z | tar --null -T - -c) |
    docker run --rm -i --name "$NAME" --label pgfold.test=1 --network host "$IMAGE" \
      bash -c "mkdir -p /src && tar -x -C /src && bash -c \"\$0\"" "$(inner_script)" || rc=$?
  if [ "$rc" -ne 0 ]; then
    die "the fresh build failed (exit $rc, after $((SECONDS - t0)) s); the step is named above"
  fi
  say "passed in $((SECONDS - t0)) s"
}

main "$@"
