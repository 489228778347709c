#!/usr/bin/env bash
# bench/compress.sh: what compression costs in accuracy and gains in size and
# speed, on one throwaway cluster, in one table.
#
# Data: scikit-learn's digits (test/data/digits/digits.csv: 1797 images of
# 8 x 8 pixels, 10 classes), loaded with \copy.  Two MLP classifiers, both
# with test_fraction 0.25 and seed 0 (the same 458 held-out rows):
#   default   the defaults: one hidden layer of 100 relu units, adam, l2 1e-4
#   wide      hidden_layers "512", l2 0.001 (wide and regularized: many small
#             weights, the shape that prunes well)
# Each is compressed with modelmgr.prune() and modelmgr.quantize(); every
# compressed version is scored with its parent on the parent's held-out rows
# (metrics.test / metrics.parent_test), so a loss is parent accuracy minus
# version accuracy, in points (1 point = 0.01 accuracy), on the same rows.
#
# Figures and their targets:
#   80% magnitude pruning   prune(method => 'magnitude', sparsity => 0.8):
#                           accuracy loss of the wide net <= 2 points (the
#                           default net's loss is shown, with no target: it
#                           is far too small a net to lose 80% of its weights)
#   int8                    quantize() with its defaults (int8, symmetric, per
#                           channel): accuracy loss <= 1 point, and artifact
#                           size / the float64 artifact's <= 20%, both nets
#   int8 kernel             make bench-core && build/bench/bench_int8: the
#                           int8 inference kernel against the float64 one on a
#                           64 -> 256 -> 10 net, >= 1.5x
# Also shown, without targets: global and structured pruning, int8 asymmetric
# per tensor, float16, 80% pruning then int8, and compare()'s time per
# prediction (SQL path, 1000 rows) of float64 against int8.
# Exit status 1 when a target FAILs.
#
# Usage (as root on Debian 12, from anywhere; about 10 seconds after the build):
#   bash bench/compress.sh
#   NO_BUILD=1 bash bench/compress.sh        # use what is installed, and an
#                                            # existing build/bench/bench_int8
set -euo pipefail
source "$(dirname "$0")/../test/lib/common.sh"

started=$(date +%s)
trap mm_cluster_stop_all EXIT

mm_install_deps
if [ -z "${NO_BUILD:-}" ]; then
    # other people may build in the same checkout: one build at a time
    (flock 9 && mm_build_install) 9>/tmp/mm-build.lock
fi
if [ -z "${NO_BUILD:-}" ] || [ ! -x "$MM_ROOT/build/bench/bench_int8" ]; then
    log "building the core micro-benchmarks"
    (flock 9 && make -C "$MM_ROOT" -s bench-core >/dev/null) 9>/tmp/mm-build.lock
fi

log "starting a throwaway cluster"
mm_cluster_start C
export PGHOST=$C_dir PGPORT=$C_port PGUSER=postgres PGDATABASE=postgres

q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

log "loading digits, training the default and the wide net"
cols=$(seq -s ', ' -f 'p%g float8' 0 63)
q >/dev/null <<EOF
SET client_min_messages = warning;
CREATE EXTENSION modelmgr;
CREATE TABLE digits (id integer PRIMARY KEY, $cols, digit integer);
\copy digits FROM '$MM_ROOT/test/data/digits/digits.csv' WITH (FORMAT csv, HEADER)
VACUUM ANALYZE digits;
SELECT name, version FROM modelmgr.train('default', 'mlp_classifier', 'digits', 'digit',
    test_fraction => 0.25, seed => 0);
SELECT name, version FROM modelmgr.train('wide', 'mlp_classifier', 'digits', 'digit',
    params => '{"hidden_layers": "512", "l2": 0.001}', test_fraction => 0.25, seed => 0);
EOF

log "compressing"
# one row per compressed version, measured against version 1 of its net
# (for a child of version 1 that is its parent: metrics.parent_test is
# version 1's recorded test metrics, rebuilt on the same held-out rows)
q <<'EOF'
SET client_min_messages = warning;
CREATE TABLE compressed (net text, what text, version int, size_bytes int, metrics jsonb);
INSERT INTO compressed SELECT n, 'magnitude 80%', p.version, p.size_bytes, p.metrics
FROM unnest(ARRAY['default', 'wide']) n, modelmgr.prune(n, 1, 'magnitude', 0.8) p;
INSERT INTO compressed SELECT n, 'global_magnitude 80%', p.version, p.size_bytes, p.metrics
FROM unnest(ARRAY['default', 'wide']) n, modelmgr.prune(n, 1, 'global_magnitude', 0.8) p;
INSERT INTO compressed SELECT n, 'structured 50%', p.version, p.size_bytes, p.metrics
FROM unnest(ARRAY['default', 'wide']) n, modelmgr.prune(n, 1, 'structured', 0.5) p;
INSERT INTO compressed SELECT n, 'int8', p.version, p.size_bytes, p.metrics
FROM unnest(ARRAY['default', 'wide']) n, modelmgr.quantize(n, 1) p;
INSERT INTO compressed SELECT n, 'int8 asymmetric per tensor', p.version, p.size_bytes, p.metrics
FROM unnest(ARRAY['default', 'wide']) n, modelmgr.quantize(n, 1, 'int8', 'asymmetric', 'tensor') p;
INSERT INTO compressed SELECT n, 'float16', p.version, p.size_bytes, p.metrics
FROM unnest(ARRAY['default', 'wide']) n, modelmgr.quantize(n, 1, 'float16') p;
INSERT INTO compressed SELECT n, 'magnitude 80% + int8', p.version, p.size_bytes, p.metrics
FROM unnest(ARRAY['default', 'wide']) n,
     modelmgr.quantize(n, (SELECT version FROM compressed WHERE net = n AND what = 'magnitude 80%')) p;
CREATE VIEW result AS
SELECT c.net, c.what, c.version,
       100 * (v1.metrics #>> '{test,accuracy}')::float8 - 100 * (c.metrics #>> '{test,accuracy}')::float8
           AS loss_points,
       100.0 * c.size_bytes / v1.size_bytes AS size_percent, c.size_bytes,
       (c.metrics ->> 'nonzero')::bigint AS nonzero, (c.metrics ->> 'params')::bigint AS params
FROM compressed c
JOIN modelmgr.models m ON m.name = c.net
JOIN modelmgr.model_versions v1 ON v1.model_id = m.id AND v1.version = 1;
EOF

# column F of row (net, what) of the result view
get() { q -At -c "SELECT $3 FROM result WHERE net = '$1' AND what = '$2'"; }
acc() { q -At -c "SELECT 100 * (metrics #>> '{test,accuracy}')::float8 FROM modelmgr.model_versions v
                  JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = '$1' AND v.version = 1"; }
# compare()'s time per prediction of version 1 and its int8 version: one
# untimed compare() first in the same session (compare() times a single pass,
# and the first pass of a session pays for loading), then the one reported
sql_us() {
    local sql="SELECT max(v1_value) FILTER (WHERE property = 'predict_us_per_row'),
                      max(v2_value) FILTER (WHERE property = 'predict_us_per_row')
               FROM modelmgr.compare('$1', 1, $(get "$1" int8 version), 1000)"
    q -At -F ' ' -c "$sql" -c "$sql" | tail -1
}
train_s=$(q -At -c "SELECT string_agg(m.name || ' ' || round(coalesce((SELECT sum(value::float8)
                        FROM jsonb_each_text(v.phase_seconds)), 0)::numeric, 2) || ' s', ', ' ORDER BY m.name)
                    FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id AND v.version = 1")

log "int8 kernel: build/bench/bench_int8"
kernel_out=$("$MM_ROOT/build/bench/bench_int8" || true)
echo "$kernel_out" | sed 's/^/  /'
kernel_ratio=$(sed -n 's/^target int8 >= 1.5x float64: \([0-9.]*\)x.*/\1/p' <<<"$kernel_out")
kernel_ratio=${kernel_ratio:-0}

log "result"
printf 'machine: %s, %s cores, %s; PostgreSQL %s; %s\n' \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" "$(nproc)" \
    "$(awk '/MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo)" \
    "$(q -At -c 'SHOW server_version')" "$(date -u '+%Y-%m-%d %H:%M UTC')"
printf 'digits: 1797 rows, 458 held out (test_fraction 0.25, seed 0); training %s\n\n' "$train_s"

verdict=PASS
# row LABEL VALUE UNIT OP TARGET: OP le, ge or info (no target)
row() {
    local label=$1 value=$2 unit=$3 op=$4 target=$5 res
    if [ "$op" = info ]; then
        res='(no target)' target=-
    else
        if [ "$op" = le ]; then
            awk -v v="$value" -v t="$target" 'BEGIN { exit !(v <= t + 1e-9) }' && res=PASS || res=FAIL
            target="<= $target$unit"
        else
            awk -v v="$value" -v t="$target" 'BEGIN { exit !(v >= t - 1e-9) }' && res=PASS || res=FAIL
            target=">= $target$unit"
        fi
        [ "$res" = FAIL ] && verdict=FAIL
    fi
    printf '%-54s %10s  %-10s %s\n' "$label" "$(printf '%.2f' "$value")$unit" "$target" "$res"
}
printf '%-54s %10s  %-10s %s\n' measurement value target result
row 'default net (100 relu): test accuracy' "$(acc default)" '%' info -
row 'wide net (512 relu, l2 0.001): test accuracy' "$(acc wide)" '%' info -
row 'magnitude 80%, wide net: accuracy loss' "$(get wide 'magnitude 80%' loss_points)" ' pt' le 2
row 'magnitude 80%, default net: accuracy loss' "$(get default 'magnitude 80%' loss_points)" ' pt' info -
row 'int8, wide net: accuracy loss' "$(get wide int8 loss_points)" ' pt' le 1
row 'int8, default net: accuracy loss' "$(get default int8 loss_points)" ' pt' le 1
row 'int8, wide net: artifact size / float64' "$(get wide int8 size_percent)" '%' le 20
row 'int8, default net: artifact size / float64' "$(get default int8 size_percent)" '%' le 20
row 'int8 kernel vs float64 kernel (bench_int8)' "$kernel_ratio" 'x' ge 1.5
echo
printf '%-12s %-28s %10s %10s %10s %12s\n' net version 'loss pt' 'size %' bytes nonzero/params
q -At -F ' ' -c "SELECT net, what, round(loss_points::numeric, 2), round(size_percent::numeric, 1), size_bytes,
                        nonzero || '/' || params
                 FROM result ORDER BY net, version" |
    while read -r net rest; do
        # what may hold spaces: the last four fields are numbers
        set -- $rest
        n=$#
        what="${*:1:n-4}"
        shift $((n - 4))
        printf '%-12s %-28s %10s %10s %10s %12s\n' "$net" "$what" "$1" "$2" "$3" "$4"
    done
echo
for n in default wide; do
    read -r f64 i8 <<<"$(sql_us "$n")"
    printf 'compare(%s, 1, int8): %.1f us per prediction float64, %.1f us int8 (%.2fx), 1000 rows through SQL\n' \
        "$n" "$f64" "$i8" "$(awk -v a="$f64" -v b="$i8" 'BEGIN { print a / b }')"
done
echo "(loss = version 1's test accuracy - the version's, on the same 458 held-out rows, in points;"
echo " size % = artifact bytes / version 1's float64 artifact bytes; nonzero counts biases too)"
echo "wall time $(( $(date +%s) - started )) s"
echo
echo "$verdict"
[ "$verdict" = PASS ]
