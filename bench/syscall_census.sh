#!/usr/bin/env bash
# Which syscalls real programs make, and how often: the list the syscall
# buffer (issue 12) must cover first. Each workload is recorded with rewind
# and its trace's syscall exits counted by name (`rewind dump`), over every
# process the recording followed.
#
#   python3-json  json encode/decode and hashing of 200k objects (json_hash.py)
#   python3-http  an http.server thread serving 200 GETs to urllib, in one
#                 process (a small web server and its client)
#   make-j1       make -j1 of tests/data/make3 (make, gcc, cc1, as, ld)
#   gcc-O2        gcc -O2 -c of one file of it
#   threads       bump4.c: 4 threads on a mutex
#
# usage: bench/syscall_census.sh [REWIND]
#   CENSUS_TOP  rows per workload (default 15)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
source "$here/lib.sh"
find_rewind syscall_census.sh "${1:-}"
top=${CENSUS_TOP:-15}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp -r "$repo/tests/data/make3" "$work/make3"
gcc -O1 -g -pthread -o "$work/bump4" "$here/bump4.c" || exit 2
cat >"$work/web_server.py" <<'EOF'
import http.server, threading, urllib.request
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/" % server.server_address[1]
for _ in range(200):
    urllib.request.urlopen(url).read()
server.shutdown()
EOF

census() {  # NAME DIR CMD...
  local name=$1 dir=$2
  shift 2
  if ! (cd "$dir" && "$rewind" record -o "$work/$name.trace" "$@" >"$work/$name.out" 2>&1 </dev/null); then
    echo "syscall_census.sh: recording $name failed:" >&2
    tail -n 5 "$work/$name.out" >&2
    return 1
  fi
  "$rewind" dump "$work/$name.trace" 2>/dev/null |
    awk '$1 ~ /^#/ && $4 == "SYSCALL_EXIT" { n[$5]++; total++ }
         END { for (s in n) printf "%d %s %.1f\n", n[s], s, 100 * n[s] / total
               printf "%d TOTAL 100\n", total }' |
    sort -rn >"$work/$name.counts"
  printf '\n%s: %s syscalls\n' "$name" "$(awk '$2 == "TOTAL" { print $1 }' "$work/$name.counts")"
  printf '  %8s %6s  %s\n' count share syscall
  grep -v ' TOTAL ' "$work/$name.counts" | head -n "$top" |
    awk '{ printf "  %8d %5.1f%%  %s\n", $1, $3, $2 }'
}

printf 'rewind syscall census, %s, %s\n' "$(uname -r)" "$(date -u +%FT%RZ)"
census python3-json "$here" /usr/bin/python3 "$here/json_hash.py"
census python3-http "$work" /usr/bin/python3 "$work/web_server.py"
(cd "$work/make3" && make clean >/dev/null 2>&1)
census make-j1 "$work/make3" make -j1
census gcc-O2 "$work/make3" gcc -O2 -c stats.c -o stats.o
census threads "$work" "$work/bump4"
