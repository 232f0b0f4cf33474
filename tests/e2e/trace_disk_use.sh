#!/usr/bin/env bash
# trace_disk_use.sh MIB: fails, listing the trace's files, unless the trace
# ($TRACE, set by record_replay.sh's --between) takes less than MIB MiB of
# disk (du: allocated blocks, not apparent sizes).
set -euo pipefail
kib=$(du -sk "$TRACE" | cut -f1)
if ((kib >= $1 * 1024)); then
  echo "the trace takes $kib KiB of disk, more than $1 MiB:" >&2
  du -sk "$TRACE"/files/* >&2
  exit 1
fi
echo "the trace takes $kib KiB of disk"
