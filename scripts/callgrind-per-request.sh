#!/bin/bash
# Instructions per request of each server in one load-tool run under callgrind: repeatable
# to within a fraction of a percent on a busy machine, where wall-clock ratios are not.
#
#   valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=/tmp/cg/NAME.%p \
#     target/release/lanyard-loadgen --scenarios sts --seconds 20 --concurrency 8 \
#     --audit none --crypto-seconds 0.05
#   scripts/callgrind-per-request.sh /tmp/cg/NAME.PID \
#     "<hyper::proto::h1::role::Server as hyper::proto::h1::Http1Transaction>::encode"
#
# For each thread file: the instructions inside tokio's worker loop (what the runtime's
# tasks ran), which server the thread served (by the handler symbols it ran: Lanyard, the
# STS bound, the one-GET handler, or the generator), and the calls of a per-request marker
# ($2: hyper's response encoder counts each request once). Prints instructions per request
# per server. Valgrind runs without the CPU's SHA and wide-multiply instructions, so
# hashing weighs more here than natively.
set -u
prefix=$1
marker=$2
declare -A ir calls
for f in $prefix-*; do
  run=$(callgrind_annotate --inclusive=yes $f 2>/dev/null | grep -m1 "multi_thread::worker::run \[" | awk '{gsub(",","",$1); print $1}')
  [ -z "$run" ] && continue
  if grep -q "lanyard::web::sts::assume_role\|lanyard::web::oauth::introspect" $f; then role=lanyard
  elif grep -q "start_sts_bound" $f; then role=bound
  elif grep -q "start_one_get" $f; then role=one-get
  else role=generator; fi
  n=$(python3 - "$f" "$marker" <<'PY'
import sys,re
names={}; cur=None; total=0
for line in open(sys.argv[1], errors='replace'):
    if line.startswith('cfn='):
        m=re.match(r'cfn=\((\d+)\)(?: (.*))?', line.rstrip('\n'))
        if m.group(2) is not None: names[m.group(1)]=m.group(2)
        cur=names.get(m.group(1))
    elif line.startswith('fn='):
        m=re.match(r'fn=\((\d+)\)(?: (.*))?', line.rstrip('\n'))
        if m and m.group(2) is not None: names[m.group(1)]=m.group(2)
    elif line.startswith('calls=') and cur and cur.endswith(sys.argv[2]):
        total+=int(line[6:].split()[0])
print(total)
PY
)
  echo "$f role=$role worker_Ir=$run marker_calls=$n"
  ir[$role]=$(( ${ir[$role]:-0} + run )); calls[$role]=$(( ${calls[$role]:-0} + n ))
done
for r in "${!ir[@]}"; do
  c=${calls[$r]}; if [ "$c" -gt 0 ]; then per=$(( ${ir[$r]} / c )); else per=-; fi
  echo "$r: Ir=${ir[$r]} requests=$c Ir/request=$per"
done
