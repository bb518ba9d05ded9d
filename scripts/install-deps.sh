#!/usr/bin/env bash
# Install the Debian packages mft needs to build and test, only those missing.
# Idempotent: when everything is present it runs one dpkg-query and exits (well under a second).
set -euo pipefail

PACKAGES=(
  build-essential make gcc clang
  libclang-rt-14-dev   # compiler-rt for clang 14: libFuzzer (libclang_rt.fuzzer) + ASan/UBSan runtimes
  pkg-config libssl-dev zlib1g-dev libdeflate-dev
  python3 python3-venv
  unzip jq
  time bc              # bench/run.sh: peak memory and ratios
  # The PyTorch oracle: tests run tools/gen_torch_fixtures.py with /usr/bin/python3 and Debian's
  # torch 1.13 (python3-torch needs Debian's numpy).  About 180 packages, 610 MiB installed,
  # ~50 s on a fresh Debian 12 (no recommends).
  python3-torch python3-numpy
)

missing=()
# One dpkg-query call for all packages; a package dpkg has never heard of prints nothing for itself.
status=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
for p in "${PACKAGES[@]}"; do
  if ! grep -qE "^${p//+/\\+}(:[a-z0-9]+)? install ok installed$" <<<"$status"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing: ${missing[*]}" >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
