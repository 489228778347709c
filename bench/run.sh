#!/usr/bin/env bash
# bench/run.sh: the performance figures of modelmgr, each as a ratio to a
# baseline measured in the same run, on one throwaway cluster.
#
# Data: t(id bigint PRIMARY KEY, x1 .. x16 float8, y float8, label bool),
# ROWS rows, deterministic (sin/cos of id; y = a linear formula of the x plus
# a small deterministic noise; label = y > 1, about half the rows).
#
# Each figure is the median of RUNS (5) timed runs of one statement, in one
# psql session per figure, after one untimed warm-up run in that session
# (which also loads the library and warms the cache).  Times are psql's
# \timing (client side).  jit = off; max_parallel_workers_per_gather = 0
# except in the parallel figures, which set it to 0, 1 and 2 (with
# parallel_setup_cost = parallel_tuple_cost = 0 so the plan uses them).
#
# Figures and their targets:
#   scan floor         SELECT sum(x1 + ... + x16) FROM t   (serial; the baseline)
#   (array floor       SELECT sum((ARRAY[x1, ..., x16])[16]) FROM t: what building the
#                      array costs, no target; it splits linear_fit's overhead)
#   linear_fit         SELECT modelmgr.linear_fit(y, ARRAY[x1, ..., x16]) FROM t
#                      / scan floor <= 1.6
#   train()            modelmgr.train(.., 't', 'y') with features => NULL (id is the
#                      key, label is not numeric: x1 .. x16), end to end
#                      / scan floor <= 2.0, for linear_regression, lasso, elastic_net
#   train() classifiers modelmgr.train(.., 't', 'label', features => x1 .. x16) (named:
#                      NULL would take y, which decides label), default params, end to
#                      end / scan floor: logistic_regression <= 3.0, linear_svm <= 5.0
#   predict array      SELECT sum(modelmgr.predict('m', ARRAY[x1, ..., x16])) FROM t
#                      / the same sum written by hand with the model's own
#                      coefficients (c0 + c1 * x1 + ...) <= 1.0
#   predict row        SELECT sum(modelmgr.predict('m', t)) FROM t / the formula <= 1.1
#   parallel           linear_fit with 0 workers / with 2 workers >= 1.5
#   Python route       /usr/bin/python3: psycopg2 fetches x1 .. x16, y of t, then
#                      scikit-learn LinearRegression fits (time of connect + fetch +
#                      fit) / train('linear_regression') >= 10.  For the classifiers
#                      each run fetches x1 .. x16, label::int once and times
#                      LogisticRegression(penalty=None) (unpenalized, as modelmgr's
#                      default) and StandardScaler + LinearSVC() (C = 1, squared
#                      hinge, standardized, as modelmgr's default) on it: each route's
#                      time is that fetch plus its own fit, divided by the matching
#                      train() >= 10
#   training memory    VmHWM of the backend (from /proc/self/status, read with
#                      pg_read_file in the same session) after train() minus before
#                      it, in a fresh session that has already scanned the table
#                      once; at MEM_ROWS sizes (default ROWS and 4 x ROWS).  Flat:
#                      the largest size grows at most 25% + 8 MB over the smallest.
# Also prints the median phase_seconds (read / fit / evaluate / save) of the
# timed train() runs.  Exit status 1 when a target FAILs.
#
# Usage (as root on Debian 12, from anywhere):
#   bash bench/run.sh [ROWS]                     # default 1000000, about 6 minutes
#   RUNS=5 NO_BUILD=1 MEM_ROWS="1000000 2000000" bash bench/run.sh 1000000
#   MEM_ROWS= bash bench/run.sh                  # skip the memory check
# NO_BUILD=1 skips the build and install (use what is installed).
set -euo pipefail
source "$(dirname "$0")/../test/lib/common.sh"

ROWS=${1:-${ROWS:-1000000}}
RUNS=${RUNS:-5}
MEM_ROWS=${MEM_ROWS-"$ROWS $((ROWS * 4))"}
PYTHON=${PYTHON:-/usr/bin/python3}

for v in "$ROWS" "$RUNS" $MEM_ROWS; do
    case "$v" in '' | *[!0-9]*) echo "ROWS, RUNS and MEM_ROWS must be positive integers, got '$v'" >&2; exit 2 ;; esac
done

trap mm_cluster_stop_all EXIT

mm_install_deps
if [ -z "${NO_BUILD:-}" ]; then
    # other people may build in the same checkout: one build at a time
    (flock 9 && mm_build_install) 9>/tmp/mm-build.lock
fi

log "starting a throwaway cluster"
mm_cluster_start B
export PGHOST=$B_dir PGPORT=$B_port PGUSER=postgres PGDATABASE=postgres

q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

features=$(seq -s ', ' -f 'x%g' 1 16)
xsum=$(seq -s ' + ' -f 'x%g' 1 16)

# the table t (or another name) with N rows; x_j alternate sin/cos of id at
# frequencies that keep the columns far from collinear
make_table() {
    local name=$1 n=$2 xs="" ycoef="" j
    for j in $(seq 1 16); do
        [ "$j" -gt 1 ] && xs+=", "
        if [ $((j % 2)) -eq 1 ]; then xs+="sin(i * 0.$((j * 37 % 89 + 11)) + $j)"; else xs+="cos(i * 0.$((j * 53 % 83 + 13)) + $j)"; fi
        xs+=" AS x$j"
        ycoef+=" + $(( (j % 7) - 3 )).$((j % 10)) * x$j"
    done
    q <<EOF
SET client_min_messages = warning;
DROP TABLE IF EXISTS $name;
CREATE TABLE $name (id bigint PRIMARY KEY, $(seq -s ' float8, ' -f 'x%g' 1 16) float8, y float8, label bool);
INSERT INTO $name
SELECT i, $features, y, y > 1
FROM (SELECT i, $features,
             1$ycoef
             + 0.1 * (frac - 0.5) AS y
      FROM (SELECT i, $xs,
                   (sin(i * 12.9898) * 43758.5453) - floor(sin(i * 12.9898) * 43758.5453) AS frac
            FROM generate_series(1, $n) AS i) g) s;
VACUUM ANALYZE $name;
EOF
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# timeit WORKERS SQL: one session, one untimed warm-up, RUNS timed runs;
# prints the median in ms (and the runs on stderr)
timeit() {
    local workers=$1 sql=$2 times
    times=$(q -At <<EOF | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
SET client_min_messages = warning;
SET jit = off;
SET max_parallel_workers_per_gather = $workers;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
\o /dev/null
$sql;
\timing on
$(for _ in $(seq 1 "$RUNS"); do echo "$sql;"; done)
EOF
    )
    [ "$(wc -w <<<"$times")" -eq "$RUNS" ] || { echo "expected $RUNS timings for: $sql" >&2; exit 1; }
    echo "  $(tr '\n' ' ' <<<"$times")ms: $sql" >&2
    tr ' ' '\n' <<<"$times" | grep . | median
}

log "creating t: $ROWS rows x 16 features"
q -c "CREATE EXTENSION modelmgr"
make_table t "$ROWS"
q -At -c "SELECT 'table t: ' || pg_size_pretty(pg_total_relation_size('t')) || ', label true in '
          || round(100.0 * avg(label::int), 1) || '% of rows' FROM t"

declare -A MS
log "timing: median of $RUNS runs each, after one warm-up"
MS[scan]=$(timeit 0 "SELECT sum($xsum) FROM t")
MS[arr]=$(timeit 0 "SELECT sum((ARRAY[$features])[16]) FROM t")
MS[fit0]=$(timeit 0 "SELECT modelmgr.linear_fit(y, ARRAY[$features]) FROM t")
MS[fit1]=$(timeit 1 "SELECT modelmgr.linear_fit(y, ARRAY[$features]) FROM t")
MS[fit2]=$(timeit 2 "SELECT modelmgr.linear_fit(y, ARRAY[$features]) FROM t")
launched=$(q -At -c "SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
    SET min_parallel_table_scan_size = 0; EXPLAIN (ANALYZE, COSTS OFF) SELECT modelmgr.linear_fit(y, ARRAY[$features]) FROM t" \
    | sed -n 's/.*Workers Launched: \([0-9]*\).*/\1/p')
launched=${launched:-0}
declare -A PARAMS=(
    [linear_regression]='{}'
    [lasso]='{"alpha": 0.01}'
    [elastic_net]='{"alpha": 0.01, "l1_ratio": 0.5}'
)
for a in linear_regression lasso elastic_net; do
    MS[train_$a]=$(timeit 0 "SELECT version FROM modelmgr.train('bench_$a', '$a', 't', 'y', features => NULL, params => '${PARAMS[$a]}', deploy => 'never')")
done
# classifiers on the binary label; the features are named, since NULL would
# also take y (label = y > 1)
xarray="ARRAY[$(seq -s ', ' -f "'x%g'" 1 16)]"
for a in logistic_regression linear_svm; do
    MS[train_$a]=$(timeit 0 "SELECT version FROM modelmgr.train('bench_$a', '$a', 't', 'label', features => $xarray, deploy => 'never')")
done

# the model predict uses, and the same prediction written out by hand with
# its own coefficients (full precision, in its feature order)
q -c "SELECT version FROM modelmgr.train('m', 'linear_regression', 't', 'y', deploy => 'always')" >/dev/null
formula=$(q -At <<'EOF'
SELECT (d->>'intercept') || '::float8 + '
       || string_agg(format('%s::float8 * %I', d->'coefficients'->>(f->>'name'), f->>'name'), ' + ' ORDER BY o)
FROM (SELECT modelmgr.describe(modelmgr.load('m')) AS d) s,
     jsonb_array_elements(d->'features') WITH ORDINALITY AS e(f, o)
GROUP BY d;
EOF
)
MS[formula]=$(timeit 0 "SELECT sum($formula) FROM t")
MS[predict_array]=$(timeit 0 "SELECT sum(modelmgr.predict('m', ARRAY[$features])) FROM t")
MS[predict_row]=$(timeit 0 "SELECT sum(modelmgr.predict('m', t)) FROM t")
# the sums agree (a check that the formula is the model)
sums=$(q -At -c "SELECT abs(sum($formula) - sum(modelmgr.predict('m', ARRAY[$features]))) / abs(sum($formula)) FROM t")

# phase_seconds: the median of each phase over the timed runs (version 1 was the warm-up)
phases=$(q -At -F ' ' <<'EOF'
SELECT mo.name, string_agg(format('%s %s', k, round(med::numeric, 3)), ', '
                           ORDER BY array_position(ARRAY['read', 'fit', 'evaluate', 'save'], k))
FROM (SELECT v.model_id, p.key AS k, percentile_cont(0.5) WITHIN GROUP (ORDER BY p.value::float8) AS med
      FROM modelmgr.model_versions v, jsonb_each_text(v.phase_seconds) p
      WHERE v.version > 1
      GROUP BY v.model_id, p.key) s
JOIN modelmgr.models mo ON mo.id = s.model_id
WHERE mo.name LIKE 'bench\_%'
GROUP BY mo.name ORDER BY mo.name;
EOF
)

log "timing the Python route: $PYTHON, psycopg2 fetch + scikit-learn LinearRegression, $RUNS runs"
py_times=$("$PYTHON" - "$RUNS" "$features" <<'EOF'
import sys, time
import numpy as np
import psycopg2
from sklearn.linear_model import LinearRegression

runs, features = int(sys.argv[1]), sys.argv[2]
for r in range(runs + 1):                       # the first is the warm-up
    t0 = time.perf_counter()
    conn = psycopg2.connect("")                 # PGHOST, PGPORT, PGUSER, PGDATABASE
    cur = conn.cursor()
    cur.execute(f"SELECT {features}, y FROM t")
    data = np.array(cur.fetchall(), dtype=np.float64)
    conn.close()
    model = LinearRegression().fit(data[:, :-1], data[:, -1])
    ms = (time.perf_counter() - t0) * 1000.0
    if r > 0:
        print(f"{ms:.1f}")
EOF
)
echo "  $(tr '\n' ' ' <<<"$py_times")ms" >&2
MS[python]=$(median <<<"$py_times")

log "timing the Python route for the classifiers: fetch + LogisticRegression, fetch + StandardScaler + LinearSVC, $RUNS runs"
py_class=$("$PYTHON" - "$RUNS" "$features" <<'EOF'
import sys, time, warnings
import numpy as np
import psycopg2
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

runs, features = int(sys.argv[1]), sys.argv[2]
warnings.simplefilter("ignore")                 # a ConvergenceWarning must not end the run
for r in range(runs + 1):                       # the first is the warm-up
    t0 = time.perf_counter()
    conn = psycopg2.connect("")                 # PGHOST, PGPORT, PGUSER, PGDATABASE
    cur = conn.cursor()
    cur.execute(f"SELECT {features}, label::int FROM t")
    data = np.array(cur.fetchall(), dtype=np.float64)
    conn.close()
    fetch = time.perf_counter() - t0
    X, y = data[:, :-1], data[:, -1]
    t1 = time.perf_counter()
    LogisticRegression(penalty=None, max_iter=1000).fit(X, y)
    t2 = time.perf_counter()
    make_pipeline(StandardScaler(), LinearSVC()).fit(X, y)
    t3 = time.perf_counter()
    if r > 0:
        print(f"{(fetch + t2 - t1) * 1000.0:.1f} {(fetch + t3 - t2) * 1000.0:.1f}")
EOF
)
echo "  logistic: $(cut -d' ' -f1 <<<"$py_class" | tr '\n' ' ')ms" >&2
echo "  linear svm: $(cut -d' ' -f2 <<<"$py_class" | tr '\n' ' ')ms" >&2
MS[python_logistic]=$(cut -d' ' -f1 <<<"$py_class" | median)
MS[python_svm]=$(cut -d' ' -f2 <<<"$py_class" | median)

# training memory: VmHWM of one fresh backend before and after train()
declare -A MEM
for n in $MEM_ROWS; do
    if [ "$n" = "$ROWS" ]; then tbl=t; else
        log "creating tm: $n rows for the memory check"
        make_table tm "$n"
        tbl=tm
    fi
    MEM[$n]=$(q -At <<EOF | tail -1
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
LOAD 'modelmgr';
\o /dev/null
SELECT sum($xsum) FROM $tbl;
\o
SELECT substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\s*(\d+) kB')::bigint AS before \gset
\o /dev/null
SELECT version FROM modelmgr.train('mem_$n', 'linear_regression', '$tbl', 'y', deploy => 'never');
\o
SELECT substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\s*(\d+) kB')::bigint - :before;
EOF
    )
    echo "  $n rows: VmHWM grew by ${MEM[$n]} kB during train()" >&2
    [ "$tbl" = tm ] && q -c "DROP TABLE tm"
done

log "result"
printf 'machine: %s, %s cores, %s; PostgreSQL %s; %s\n' \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" "$(nproc)" \
    "$(awk '/MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo)" \
    "$(q -At -c 'SHOW server_version')" "$(date -u '+%Y-%m-%d %H:%M UTC')"
printf 'rows %s, median of %s runs each, jit off, serial unless stated\n\n' "$ROWS" "$RUNS"

verdict=PASS
# row LABEL MS BASELINE_LABEL BASE_MS OP TARGET [SHOWN_MS]  (ratio = MS / BASE_MS;
# OP le, ge or info (no target); SHOWN_MS is printed instead of MS when given)
row() {
    local label=$1 ms=$2 blabel=$3 bms=$4 op=$5 target=$6 shown=${7:-$2} ratio res
    ratio=$(awk -v a="$ms" -v b="$bms" 'BEGIN { printf "%.2f", a / b }')
    if [ "$op" = info ]; then
        res='(no target)' target=-
    elif [ "$op" = le ]; then
        awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r <= t) }' && res=PASS || res=FAIL
        target="<= $target"
    else
        awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r >= t) }' && res=PASS || res=FAIL
        target=">= $target"
    fi
    [ "$res" = FAIL ] && verdict=FAIL
    printf '%-44s %10.1f  %-22s %6sx  %-8s %s\n' "$label" "$shown" "$blabel" "$ratio" "$target" "$res"
}
printf '%-44s %10s  %-22s %7s  %-8s %s\n' measurement 'median ms' 'baseline' ratio target result
printf '%-44s %10.1f  %-22s %7s  %-8s %s\n' 'scan floor: sum(x1 + ... + x16)' "${MS[scan]}" '-' '1.00x' '-' baseline
row '  (array floor: sum((ARRAY[x1..x16])[16]))' "${MS[arr]}" 'scan floor' "${MS[scan]}" info -
row 'linear_fit aggregate' "${MS[fit0]}" 'scan floor' "${MS[scan]}" le 1.6
row "train('linear_regression')" "${MS[train_linear_regression]}" 'scan floor' "${MS[scan]}" le 2.0
row "train('lasso')" "${MS[train_lasso]}" 'scan floor' "${MS[scan]}" le 2.0
row "train('elastic_net')" "${MS[train_elastic_net]}" 'scan floor' "${MS[scan]}" le 2.0
row "train('logistic_regression')" "${MS[train_logistic_regression]}" 'scan floor' "${MS[scan]}" le 3.0
row "train('linear_svm')" "${MS[train_linear_svm]}" 'scan floor' "${MS[scan]}" le 5.0
printf '%-44s %10.1f  %-22s %7s  %-8s %s\n' 'hand-written formula c0 + c1*x1 + ...' "${MS[formula]}" '-' '1.00x' '-' baseline
row "predict('m', ARRAY[x1, ..., x16])" "${MS[predict_array]}" 'formula' "${MS[formula]}" le 1.0
row "predict('m', t)" "${MS[predict_row]}" 'formula' "${MS[formula]}" le 1.1
printf '%-44s %10.1f  %-22s %7s  %-8s %s\n' 'linear_fit, 0 workers' "${MS[fit0]}" '-' '1.00x' '-' baseline
row 'linear_fit, 1 worker: speedup over 0' "${MS[fit0]}" '0 workers' "${MS[fit1]}" info - "${MS[fit1]}"
row 'linear_fit, 2 workers: speedup over 0' "${MS[fit0]}" '0 workers' "${MS[fit2]}" ge 1.5 "${MS[fit2]}"
row 'Python: psycopg2 fetch + sklearn fit' "${MS[python]}" "train linear_regr." "${MS[train_linear_regression]}" ge 10
row 'Python: fetch + LogisticRegression' "${MS[python_logistic]}" "train logistic_regr." "${MS[train_logistic_regression]}" ge 10
row 'Python: fetch + StandardScaler + LinearSVC' "${MS[python_svm]}" "train linear_svm" "${MS[train_linear_svm]}" ge 10
set -- $MEM_ROWS
if [ $# -ge 2 ]; then
    small=$1 big=${!#}
    res=$(awk -v s="${MEM[$small]}" -v b="${MEM[$big]}" 'BEGIN { print (b <= 1.25 * s + 8192) ? "PASS" : "FAIL" }')
    [ "$res" = FAIL ] && verdict=FAIL
    printf '%-44s %10s  %-22s %6.2fx  %-8s %s\n' "train() peak memory growth (VmHWM), $big rows" \
        "$((MEM[$big] / 1024)) MB" "$small rows: $((MEM[$small] / 1024)) MB" \
        "$(awk -v s="${MEM[$small]}" -v b="${MEM[$big]}" 'BEGIN { print b / (s > 0 ? s : 1) }')" flat "$res"
else
    echo 'training memory: not measured (MEM_ROWS needs two sizes)'
fi
echo
echo "parallel plan with 2 workers: $launched workers launched (the leader participates)"
echo "predict and the formula agree: relative difference of the sums $sums"
echo "train() phase_seconds, median of the timed runs:"
sed 's/^/  /' <<<"$phases"
echo
echo "$verdict"
[ "$verdict" = PASS ]
