# Sourced by the e2e scripts (not run by itself).
#
# e2e_begin NAME [SCRATCH]: makes $tmp, a scratch directory named after
# SCRATCH (default NAME) and removed when the script exits; fail() then
# reports under NAME and exits 1.
e2e_begin() {
  e2e_name=$1
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/rewind-${2:-$1}.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
}

fail() {
  echo "FAIL [$e2e_name]: $*" >&2
  exit 1
}
