#!/bin/bash
# Builds the Debian package rewind_<version>_amd64.deb from a clean copy of
# this checkout and checks it with lintian; prints the .deb's path as its
# last line (docs/packaging.md).
#
#   packaging/build-deb.sh [--head] [--keep] [-o DIR]
#
#   --head   build what is committed (git archive HEAD) instead of the
#            working tree's files (tracked ones and untracked ones git does
#            not ignore: what `git add -A && git commit` would hold)
#   --keep   keep the build directory (the copy and obj-x86_64-linux-gnu/)
#   -o DIR   put the .deb (and its -dbgsym .deb) in DIR; default: a new
#            temporary directory
#
# Either way nothing of an existing build tree goes into the package: the
# copy holds no ignored file (build/, build-*/), and dpkg-buildpackage
# configures and builds it from scratch. Needs the Build-Depends of
# packaging/debian/control (scripts/setup.sh installs them) and lintian.
set -euo pipefail

die() {
  echo "build-deb.sh: $*" >&2
  exit 1
}

from_head=0
keep=0
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --head) from_head=1 ;;
    --keep) keep=1 ;;
    -o) [ $# -ge 2 ] || die "-o needs a directory"; out=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

for tool in git dpkg-buildpackage dpkg-parsechangelog dpkg-checkbuilddeps lintian; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/setup.sh"
done

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"

# The package's version is the project's: debian/changelog's upstream part
# must be project(VERSION) of CMakeLists.txt.
cmake_version=$(sed -n 's/^project(rewind VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$cmake_version" ] || die "no 'project(rewind VERSION x.y.z' line in CMakeLists.txt"
deb_version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
upstream=${deb_version%-*}
if [ "$upstream" != "$cmake_version" ]; then
  die "version mismatch: CMakeLists.txt says $cmake_version, packaging/debian/changelog" \
      "says $deb_version; add a changelog entry ($cmake_version-1) with dch -v $cmake_version-1"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-deb.XXXXXX")
if [ "$keep" = 0 ]; then
  trap 'rm -rf "$work"' EXIT
fi
src="$work/rewind-$upstream"
mkdir -p "$src"

# A clean copy of the source.
if [ "$from_head" = 1 ]; then
  git archive --format=tar HEAD | tar -C "$src" -xf -
else
  # Files deleted in the working tree but still in the index are skipped.
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do
      if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
    done |
    tar -C "$root" --null -T - -cf - | tar -C "$src" -xf -
fi
[ -d "$src/packaging/debian" ] || die "packaging/debian is not in the copy (--head: is it committed?)"
cp -a "$src/packaging/debian" "$src/debian"

echo "build-deb.sh: building in $src" >&2
start=$(date +%s)
# -b: binary packages only; -us -uc: unsigned; -J: as many jobs as cores.
(cd "$src" && dpkg-buildpackage -b -us -uc -J"$(nproc)") >&2
echo "build-deb.sh: dpkg-buildpackage took $(($(date +%s) - start)) s" >&2

deb="$work/rewind_${deb_version}_amd64.deb"
[ -f "$deb" ] || die "dpkg-buildpackage made no $deb"

# Errors and warnings fail the build; each override in
# debian/rewind.lintian-overrides says why it is there.
echo "build-deb.sh: lintian" >&2
lintian --info --display-info --fail-on error,warning "$deb" >&2 ||
  die "lintian found problems in $deb (above)"

if [ -z "$out" ]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/rewind-deb-out.XXXXXX")
fi
mkdir -p "$out"
cp "$deb" "$work"/rewind-dbgsym_"${deb_version}"_amd64.*deb "$out"/ 2>/dev/null || cp "$deb" "$out"/
[ "$keep" = 1 ] && echo "build-deb.sh: kept $work" >&2
realpath "$out/$(basename "$deb")"
