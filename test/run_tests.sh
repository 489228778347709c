#!/usr/bin/env bash
# Run every test of modelmgr on a throwaway cluster: C unit tests of src/core
# (plain and under ASan/UBSan), a short fuzz run, the pg_regress suite, and
# the whole-server tests in test/t.  Installs what is missing first.
# Usage (as root on Debian 12):  bash test/run_tests.sh
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$MM_ROOT"

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
SHARED_DATA=${MM_SHARED_DATA:-$(cd "$MM_ROOT/.." && pwd)/shared/data}
export MM_SHARED_DATA=$SHARED_DATA
failed=()
trap mm_cluster_stop_all EXIT

mm_install_deps

log "C unit tests (src/core, no server)"
make -s unit MM_SHARED_DATA="$SHARED_DATA" || failed+=("unit")

log "C unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
make -s unit-asan MM_SHARED_DATA="$SHARED_DATA" || failed+=("unit-asan")

log "fuzzing the artifact parser for ${FUZZ_SECONDS}s per target"
if make -s fuzz; then
    mkdir -p build/fuzz-logs
    for f in build/fuzz/fuzz_*; do
        [ -x "$f" ] || continue
        name=$(basename "$f")
        corpus=$(mktemp -d)
        cp -r test/fuzz/corpus/"${name#fuzz_}"/. "$corpus"/ 2>/dev/null || true
        if ! "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$corpus" >"build/fuzz-logs/$name.log" 2>&1; then
            tail -40 "build/fuzz-logs/$name.log"
            failed+=("$name")
        else
            grep -E "stat::number_of_executed_units" "build/fuzz-logs/$name.log" || true
        fi
        rm -rf "$corpus"
    done
else
    failed+=("fuzz-build")
fi

mm_build_install

log "pg_regress suite"
mm_cluster_start REG
if ! make -s installcheck PGHOST="$REG_dir" PGPORT="$REG_port" PGUSER=postgres; then
    failed+=("pg_regress")
    [ -f results_dir/regression.diffs ] && cat results_dir/regression.diffs
fi

log "whole-server tests (test/t, TAP)"
tapdir=$(mktemp -d /tmp/modelmgr-tap.XXXXXX)
cp -r test/t "$tapdir/t"
mkdir -p "$tapdir/data" && cp -r test/data/. "$tapdir/data/" 2>/dev/null || true
chown -R postgres:postgres "$tapdir"
if ! (cd "$tapdir" && runuser -u postgres -- env PATH="$PATH" OPENBLAS_NUM_THREADS=1 \
        PERL5LIB=/usr/lib/postgresql/15/lib/pgxs/src/test/perl TESTDIR="$tapdir" \
        PG_REGRESS=/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress \
        prove -v --ext=.pl t/); then
    failed+=("tap")
    for l in "$tapdir"/tmp_check/log/*; do echo "--- $l"; tail -50 "$l"; done
fi
rm -rf "$tapdir"

groups=(unit unit-asan fuzz pg_regress tap)
echo
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}"
    echo "groups: $(( ${#groups[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
    exit 1
fi
echo "groups: ${#groups[@]} passed, 0 failed"
