#!/usr/bin/env bash
# Installs everything rewind's build and tests need on Debian 12, then
# builds into ./build. Safe to run again: apt and cmake skip what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config
  capnproto libcapnp-dev liblz4-dev libb2-dev libboost-dev libboost-test-dev
  libzydis-dev libelf-dev
  # bundles (tar + zstd, read and written safely) and `rewind sources` (DWARF)
  libarchive-dev libdw-dev
  # the Debian package (packaging/build-deb.sh) and its checks
  debhelper dpkg-dev lintian man-db bash-completion
  # the LLDB plugin (SB API) and the DAP adapter's JSON
  liblldb-22-dev nlohmann-json3-dev
  # tests: the debugger and the real programs the end-to-end tests record
  gdb lldb-22 python3 make tar gzip xz-utils coreutils findutils procps
  # recorded programs that trace others (ptrace inside a recording)
  strace
  # fuzz tests (tests/fuzz/): libFuzzer ships with clang's runtime, not GCC;
  # llvm's llvm-symbolizer puts names in the sanitizers' stack traces
  clang libclang-rt-14-dev llvm
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
# The fuzzers, in their own clang tree (./build-fuzz); ctest's fuzz.build
# would make it too, but a fresh machine is better off finding a missing
# toolchain here.
scripts/fuzz.sh build
