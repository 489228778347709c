#!/usr/bin/env bash
# The modelmgr demo: installs what is missing, builds and installs the
# extension, starts a throwaway PostgreSQL 15 cluster, trains and uses a
# model, and removes the cluster again.  Usage (as root):  bash demo/run.sh
set -euo pipefail
source "$(dirname "$0")/../test/lib/common.sh"
trap mm_cluster_stop_all EXIT

mm_install_deps
mm_build_install
log "starting a throwaway PostgreSQL 15 cluster"
mm_cluster_start DEMO
echo "(data in $DEMO_dir, unix socket only, removed when the demo ends)"

PGHOST=$DEMO_dir PGPORT=$DEMO_port PGUSER=postgres \
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$MM_ROOT/demo/demo.sql"
log "demo finished; the cluster is removed now"
