#!/usr/bin/env bash
# Side-by-side benchmark of this checkout against another version of the node, interleaved
# run by run on the same machine: builds REV's release binary from `git archive REV` under
# ~/.cache/cocreate-bench (kept between runs; outside the repository, so that no workspace
# takes it in), then runs `cargo bench` with
# COCREATE_BENCH_BASELINE pointing at it. Usage: benches/compare.sh REV [cargo bench args...]
# e.g. COCREATE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432 benches/compare.sh 1e9a0bd --bench federation
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:?usage: benches/compare.sh REV [cargo bench args...] (REV: a commit, tag or branch to compare with)}"
shift
sha=$(git rev-parse --short "$rev^{commit}") || { echo "compare.sh: '$rev' is not a commit here" >&2; exit 1; }
cache="${XDG_CACHE_HOME:-$HOME/.cache}/cocreate-bench"
tree="$cache/src-$sha"
if [ ! -d "$tree" ]; then
  mkdir -p "$tree"
  git archive "$sha" | tar -x -C "$tree"
fi
echo "building the release binary of $sha in $tree"
(cd "$tree" && CARGO_TARGET_DIR="$cache/target" cargo build --release --locked --bin cocreate)
# Named apart from this checkout's `cocreate`, so that `benches/cpu.sh` tells their processes
# apart.
cp "$cache/target/release/cocreate" "$cache/baseline-$sha"
export COCREATE_BENCH_BASELINE="$cache/baseline-$sha"
export COCREATE_BENCH_BASELINE_LABEL="$sha"
cargo bench "$@"
