# test/lib/common.sh: shared by test/run_tests.sh and demo/run.sh.
# Installs what is missing, builds and installs the extension, and manages
# throwaway PostgreSQL 15 clusters run as the postgres user in temp dirs on a
# private unix socket (no TCP), removed on exit.

PG_BIN=/usr/lib/postgresql/15/bin
export PATH="$PG_BIN:$PATH"
export OPENBLAS_NUM_THREADS=1
MM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

log() { printf '\n=== %s\n' "$*"; }

# Install the packages we need if any is missing (Debian 12, as root).
mm_install_deps() {
    local want=(postgresql-15 postgresql-server-dev-15 libopenblas-dev liblapacke-dev
                postgresql-15-cron libipc-run-perl libcmocka-dev clang
                python3-psycopg2 python3-numpy python3-sklearn make gcc)
    local missing=()
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "missing packages: ${missing[*]} (run as root to install them)" >&2
        return 1
    fi
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -o DPkg::Lock::Timeout=600 -q
    # the server first, then the headers pinned to exactly its version, so
    # apt never upgrades the server under a running cluster
    if ! dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q "install ok installed"; then
        apt-get install -y -q -o DPkg::Lock::Timeout=600 postgresql-15
    fi
    local pgver
    pgver=$(dpkg-query -W -f='${Version}' postgresql-15)
    local rest=()
    for p in "${missing[@]}"; do
        case "$p" in
            postgresql-15) ;;
            postgresql-server-dev-15) rest+=("postgresql-server-dev-15=$pgver") ;;
            *) rest+=("$p") ;;
        esac
    done
    [ ${#rest[@]} -gt 0 ] && apt-get install -y -q -o DPkg::Lock::Timeout=600 "${rest[@]}"
    # Debian starts a default cluster on install; we never use it
    return 0
}

mm_build_install() {
    log "building and installing modelmgr"
    make -C "$MM_ROOT" -s -j2 MM_EXTRA_CFLAGS="${MM_EXTRA_CFLAGS:--Werror}" >/dev/null
    make -C "$MM_ROOT" -s install >/dev/null
}

# mm_cluster_start VAR [shared_preload_libraries]
# Starts a cluster; sets VAR_dir, VAR_port and exports nothing else.
MM_CLUSTERS=()
mm_cluster_start() {
    local var=$1 preload=${2:-}
    local dir port
    dir=$(mktemp -d /tmp/modelmgr-pg.XXXXXX)
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust \
        --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log"; return 1; }
    # unix socket only, in our own dir: no port can clash with another
    # server, but still pick one no socket in that dir uses
    port=$((50000 + RANDOM % 10000))
    while [ -e "$dir/.s.PGSQL.$port" ]; do port=$((port + 1)); done
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "port = $port"
        echo "fsync = off"
        echo "max_worker_processes = 16"
        echo "max_parallel_workers = 8"
        [ -n "$preload" ] && echo "shared_preload_libraries = '$preload'"
        [ -n "$preload" ] && echo "cron.database_name = 'postgres'" && echo "cron.use_background_workers = on"
    } >>"$dir/data/postgresql.conf"
    runuser -u postgres -- env OPENBLAS_NUM_THREADS=1 "$PG_BIN/pg_ctl" -D "$dir/data" \
        -l "$dir/server.log" -w -t 60 start >/dev/null || { cat "$dir/server.log"; return 1; }
    MM_CLUSTERS+=("$dir")
    printf -v "${var}_dir" '%s' "$dir"
    printf -v "${var}_port" '%s' "$port"
}

mm_cluster_stop_all() {
    local d
    for d in "${MM_CLUSTERS[@]}"; do
        [ -d "$d/data" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null 2>&1
        rm -rf "$d"
    done
    MM_CLUSTERS=()
}
