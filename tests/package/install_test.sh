#!/bin/bash
# The Debian package installed into a clean root, used, and purged
# (docs/packaging.md, "The install test").
#
#   tests/package/install_test.sh DEB [HIDDEN_DIR...]
#
# The clean root is an overlay of / (lower) with an empty upper directory,
# in a mount namespace of its own, chrooted into: every program of the
# machine is there (gdb, lldb-22, man, the libraries rewind links), but
# tmpfs hides this checkout, each HIDDEN_DIR (build trees) and /tmp, so a
# file of a build tree that the package still needed would be missing.
# Inside it, with `env -i` and HOME in /tmp, the test installs DEB with
# dpkg, then checks the man pages, the bash completion, record and
# `replay -a` of /bin/ls (its exit code and output), gdb and LLDB on the
# replay (a breakpoint, reverse execution), `rewind ls`, that nothing of a
# build tree is named or opened (strings, ldd, strace, /proc/PID/maps),
# and purges the package. The upper directory then holds what the package
# left behind: only dpkg's and man-db's own bookkeeping may remain.
#
# Root only (mount namespaces, overlayfs, chroot, dpkg). A tool it needs
# that is missing fails the test: scripts/setup.sh installs them all.
set -uo pipefail

die() {
  echo "install_test.sh: $*" >&2
  exit 1
}

if [ "${1:-}" = --inside ]; then
  shift
  exec bash "$(dirname "$0")/install_test_inside.sh" "$@"
fi

[ $# -ge 1 ] || die "usage: install_test.sh DEB [HIDDEN_DIR...]"
deb=$(realpath "$1") || die "no such file: $1"
shift
[ -f "$deb" ] || die "no such file: $deb"
[ "$(id -u)" = 0 ] || die "needs root (mount namespaces, overlayfs, chroot, dpkg)"
for tool in unshare mount chroot dpkg dpkg-deb man gdb lldb-22 strace ldd gcc bash; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/setup.sh"
done
[ -f /usr/share/bash-completion/bash_completion ] ||
  die "bash-completion is missing: run scripts/setup.sh"
dpkg -s rewind >/dev/null 2>&1 &&
  die "rewind is installed on this machine itself: the test needs a root without it"

here=$(dirname "$(realpath "$0")")
checkout=$(realpath "$here/../..")
hidden=("$checkout")
for d in "$@"; do hidden+=("$(realpath "$d")"); done

# Everything lives under one directory on the real /tmp, which the new
# namespace mounts a tmpfs on: upper and work directories of the overlay,
# the merged root, and the files the inside needs.
state=$(mktemp -d /tmp/rewind-install-test.XXXXXX)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/payload"
cp "$deb" "$here/install_test_inside.sh" "$state/payload/"

# The namespace's own part runs as one bash script; its mounts vanish with
# it. Its output is the test's.
unshare --mount --propagation private bash -s -- "$state" "$(basename "$deb")" \
  "${hidden[@]}" <<'OUTER'
set -euo pipefail
state=$1 deb=$2
shift 2
hidden=("$@")
# A tmpfs for upper and work (overlayfs needs them on one filesystem that
# is not the lower one) and for the payload's copy.
mkdir -p "$state/fs"
mount -t tmpfs -o mode=0755 tmpfs "$state/fs"
mkdir -p "$state/fs/upper" "$state/fs/work" "$state/fs/root" "$state/fs/payload"
cp "$state"/payload/* "$state/fs/payload/"
root=$state/fs/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$state/fs/upper,workdir=$state/fs/work" "$root"
# The build trees and this checkout: empty in the clean root.
for d in "${hidden[@]}"; do
  if [ -d "$root$d" ]; then mount -t tmpfs -o mode=0755 tmpfs "$root$d"; fi
done
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mkdir -p "$root/tmp/payload" "$root/tmp/home"
cp "$state"/fs/payload/* "$root/tmp/payload/"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
# Nothing of the caller's environment goes in: no REWIND_*, no PATH.
# PYTHONDONTWRITEBYTECODE: gdb's Python would otherwise leave its
# __pycache__ in the upper directory, which is not the package's doing.
rc=0
chroot "$root" /usr/bin/env -i HOME=/tmp/home PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 TERM=dumb TMPDIR=/tmp PYTHONDONTWRITEBYTECODE=1 /bin/bash /tmp/payload/install_test_inside.sh \
  "/tmp/payload/$deb" "${hidden[@]}" || rc=$?
umount -R "$root/dev" "$root/sys" 2>/dev/null || umount -l "$root/dev" "$root/sys" || true
umount "$root/proc" || true

# What the package left behind: the overlay's upper directory after the
# purge. dpkg keeps its database and log (var/lib/dpkg, var/log/dpkg.log)
# and man-db its index (var/cache/man): theirs, not the package's.
# Directories copied up because a file was made in them (usr/bin) are
# fine if they exist in / too; anything else is a leftover.
umount "$root/tmp"
for d in "${hidden[@]}"; do umount "$root$d" 2>/dev/null || true; done
umount "$root"
echo "--- upper directory after the purge:"
leftovers=$(cd "$state/fs/upper" && find . -mindepth 1 \
  \( -path ./var/lib/dpkg -o -path ./var/log/dpkg.log -o -path ./var/cache/man \) -prune -o \
  -print | while IFS= read -r p; do
    p=${p#./}
    if [ -d "$state/fs/upper/$p" ] && [ ! -L "$state/fs/upper/$p" ] && [ -d "/$p" ]; then continue; fi
    echo "$p"
  done)
(cd "$state/fs/upper" && find . -mindepth 1 -maxdepth 3 | sort | sed 's/^/  /')
if [ -n "$leftovers" ]; then
  echo "FAIL: the purge left these behind:"
  echo "$leftovers" | sed 's/^/  /'
  exit 1
fi
echo "ok: the purge left only dpkg's and man-db's bookkeeping"
exit "$rc"
OUTER
