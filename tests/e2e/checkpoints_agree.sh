#!/usr/bin/env bash
# checkpoints_agree.sh REWIND EVERY: saves a persistent checkpoint every
# EVERY events of the trace ($TRACE, set by record_replay.sh's --between),
# then replays every stretch between two of them from the earlier one in
# parallel (replay -a --jobs 2), which compares each stretch's end with the
# checkpoint saved there: any difference (memory, registers, signal masks
# and dispositions) fails.
set -euo pipefail
rewind=$1 every=$2
"$rewind" checkpoint create --every "$every" "$TRACE" >/dev/null
err=$(mktemp)
trap 'rm -f "$err"' EXIT
set +e
"$rewind" replay -a --jobs 2 "$TRACE" >/dev/null 2>"$err"
set -e
if ! grep -q ', 0 failed,' "$err"; then
  grep -v ': verified$' "$err" >&2
  exit 1
fi
tail -n 1 "$err"
