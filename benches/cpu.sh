#!/bin/bash
# CPU time by program while `cargo bench --bench federation` runs, once a second: the node
# under test (`cocreate`), the baseline (a binary named `baseline-*`, via
# COCREATE_BENCH_BASELINE), PostgreSQL, the load generator, the rest; in jiffies (1/100 s)
# used during that second, summed over processes, from /proc/<pid>/stat.
# Usage: benches/cpu.sh > cpu.log & cargo bench ...; kill %1
#        benches/cpu.sh runs cpu.log   (the CPU of each run, in the order they ran)
# A second in which only one version's node used CPU is that version's; summing a run's
# seconds gives the CPU each version (and PostgreSQL beside it) spent on the same work.
if [ "$1" = runs ]; then
  exec awk '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    cur = ""; if (v["node"] > 0) cur = "this build"; else if (v["base"] > 0) cur = "baseline"
    if (cur != "" && cur != prev) {
      if (prev != "") printf "%s: node %d, postgres %d\n", prev, node, pg
      node = 0; pg = 0; prev = cur
    }
    if (cur == "this build") { node += v["node"]; pg += v["pg"] }
    else if (cur == "baseline") { node += v["base"]; pg += v["pg"] }
  }
  END { if (prev != "") printf "%s: node %d, postgres %d\n", prev, node, pg }' "$2"
fi
awk 'BEGIN{
  while (1) {
    cmd = "cat /proc/[0-9]*/stat 2>/dev/null"
    delete d
    while ((cmd | getline line) > 0) {
      a = index(line, "("); b = 0
      for (i = length(line); i > 0; i--) if (substr(line, i, 1) == ")") { b = i; break }
      pid = substr(line, 1, a - 2)
      comm = substr(line, a + 1, b - a - 1)
      split(substr(line, b + 2), f, " ")
      j = f[12] + f[13]
      k = "other"
      if (comm == "postgres") k = "pg"; else if (comm ~ /^cocreate/) k = "node"; else if (comm ~ /^baseline/) k = "base"; else if (comm ~ /^federation/) k = "bench"
      key = pid " " comm
      if (key in last) { x = j - last[key]; if (x > 0) d[k] += x }
      last[key] = j
    }
    close(cmd)
    printf "%s node=%d base=%d pg=%d bench=%d other=%d\n", strftime("%T"), d["node"], d["base"], d["pg"], d["bench"], d["other"]
    fflush()
    system("sleep 1")
  }
}'
