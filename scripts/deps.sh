#!/usr/bin/env bash
# Install pgfold's build, test and lab packages from Debian when any is
# missing. Idempotent: a second run with everything present does nothing.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config curl ca-certificates
  libpq-dev libyaml-dev libcurl4-openssl-dev libsodium-dev libjansson-dev
  libcriterion-dev
  postgresql-client
  docker.io docker-compose debootstrap time
  gpgv debian-archive-keyring xz-utils   # the lab's compose v2 plugin (scripts/lab.sh)
  systemd                                # systemd-analyze verify of `schedule` units (tests)
)
# `make fuzz` (scripts/deps.sh fuzz): clang and its libFuzzer/sanitizer runtime.
if [ "${1:-}" = fuzz ]; then
  PACKAGES+=(clang libclang-rt-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "deps: missing ${missing[*]} and not root (no sudo): install them as root" >&2
    exit 1
  fi
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
