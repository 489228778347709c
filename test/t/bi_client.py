#!/usr/bin/python3
"""bi_client.py: a BI tool's view of modelmgr, from a real client (psycopg2).

Run by test/t/008_bi_client.pl with /usr/bin/python3 (the python3 first on
PATH may lack psycopg2).  Connects as a read-only role and

  - reads every monitoring view, checking its column names and types twice:
    from the result's cursor.description (type OIDs resolved through
    pg_type) and from pg_attribute, against the expected list below;
  - checks that no view has an artifact or baseline column (nor a bytea or
    modelmgr.model one);
  - checks which models the role sees in each view (--visible), and that the
    others (--hidden) appear nowhere;
  - checks the facts a dashboard needs (with --expect-facts: the model in
    alert and why, drift rows per feature, metric trend, live statistics,
    a training in progress);
  - checks that the role cannot read the registry tables, load or export a
    model without USE, or change anything (INSERT/UPDATE/DELETE on a view,
    deploy, rollback, monitor, train, grant_use, reset_prediction_stats).

Prints one line per check, "ok - ..." or "not ok - ...", a check known to
fail because of an open bug ends with "# TODO <why>" and does not count as a
failure; the last line is "bi_client: <n> checks, <m> failed".  Exit status
0 when nothing failed (TODO checks aside), 1 otherwise, 2 when it cannot
connect.
"""

import argparse
import sys

import psycopg2
import psycopg2.extras

# Every view a BI tool reads: column names in order, with their types as
# format_type() spells them.  Stable names and plain types: changing this
# list is changing the BI contract (doc/monitoring.md).
T, I4, I8, F8, TS, B, J = ("text", "integer", "bigint", "double precision",
                           "timestamp with time zone", "boolean", "jsonb")
EXPECTED = {
    "model_overview": [
        ("model", T), ("task", T), ("owner", T), ("description", T),
        ("deployed_version", I4), ("last_version", I4), ("versions", I8),
        ("deployed_algorithm", T), ("deployed_test_rmse", F8), ("deployed_test_r2", F8),
        ("deployed_at", TS), ("health", T), ("last_evaluated_at", TS), ("created_at", TS),
        ("deployed_test_accuracy", F8), ("deployed_test_f1", F8)],
    "version_history": [
        ("model", T), ("version", I4), ("parent_version", I4), ("operation", T),
        ("algorithm", T), ("params", T), ("source_relation", T), ("target", T),
        ("features", T), ("train_rows", I8), ("test_rows", I8), ("skipped_rows", I8),
        ("size_bytes", I4), ("checksum", T), ("is_deployed", B), ("created_by", T),
        ("created_at", TS)],
    "deployment_history": [
        ("model", T), ("event_id", I8), ("action", T), ("from_version", I4),
        ("to_version", I4), ("candidate_version", I4), ("reason", T),
        ("deployed_by", T), ("deployed_at", TS)],
    "metric_history": [
        ("model", T), ("version", I4), ("dataset", T), ("metric", T), ("value", F8),
        ("measured_at", TS)],
    "feature_drift": [
        ("model", T), ("version", I4), ("evaluation_id", I8), ("relation", T),
        ("feature", T), ("psi", F8), ("ks", F8), ("null_fraction", F8), ("status", T),
        ("measured_at", TS), ("js", F8), ("unseen_fraction", F8)],
    "model_health": [
        ("model", T), ("version", I4), ("status", T), ("reasons", T),
        ("last_evaluated_at", TS), ("evaluations", I8)],
    "prediction_stats": [
        ("model", T), ("version", I4), ("calls", I8), ("rows", I8),
        ("total_time_ms", F8), ("mean_time_ms", F8), ("max_time_ms", F8),
        ("last_call", TS), ("status", T)],
    "training_progress": [
        ("pid", I4), ("model", T), ("algorithm", T), ("phase", T), ("rows_read", I8),
        ("iteration", I8), ("loss", F8), ("started_at", TS), ("elapsed_seconds", F8),
        ("status", T)],
    # the catalog of algorithms (not per model); params is the JSON schema
    # of the algorithm's parameters
    "algorithms": [
        ("algorithm", T), ("task", T), ("params", J), ("description", T)],
}
FORBIDDEN_NAME_PARTS = ("artifact", "baseline")
FORBIDDEN_TYPES = ("bytea", "modelmgr.model")

# Views whose rows name a model, so visibility applies to them.
MODEL_VIEWS = ["model_overview", "version_history", "deployment_history",
               "metric_history", "feature_drift", "model_health", "prediction_stats"]


class Checker:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self.todo_failed = 0

    def check(self, ok, desc, detail=None, todo=None):
        self.n += 1
        line = ("ok" if ok else "not ok") + " - " + desc
        if todo:
            line += " # TODO " + todo
            if not ok:
                self.todo_failed += 1
        elif not ok:
            self.failed += 1
        print(line)
        if not ok and detail is not None:
            for d in str(detail).splitlines():
                print("#   " + d)
        sys.stdout.flush()
        return ok


def query(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def sqlstate_of(conn, sql, args=None):
    """Run sql; return None when it succeeds, else (sqlstate, message)."""
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            if cur.description is not None:
                cur.fetchall()
        return None
    except psycopg2.Error as e:
        return (e.pgcode, (e.pgerror or str(e)).strip())


def check_view(c, conn, view):
    """Read the whole view; check its columns, types and forbidden columns."""
    want = EXPECTED[view]
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM modelmgr.%s" % view)
        rows = cur.fetchall()
        desc = cur.description
    names = [d.name for d in desc]
    c.check(names == [n for n, _ in want], "%s: column names" % view,
            "got  %s\nwant %s" % (names, [n for n, _ in want]))

    # types, from the result's type OIDs
    oids = sorted({d.type_code for d in desc})
    typname = dict(query(conn, "SELECT oid::int, format_type(oid, NULL) FROM pg_type "
                               "WHERE oid = ANY(%s::oid[])", (oids,)))
    got_types = [(d.name, typname.get(d.type_code, "?%s" % d.type_code)) for d in desc]
    c.check(got_types == want, "%s: column types in the result (cursor.description)" % view,
            "got  %s\nwant %s" % (got_types, want))

    # types, from the catalog
    cat = query(conn, "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) "
                      "FROM pg_attribute a WHERE a.attrelid = %s::regclass "
                      "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                ("modelmgr." + view,))
    c.check([tuple(r) for r in cat] == want, "%s: column types in pg_attribute" % view,
            "got  %s\nwant %s" % (cat, want))

    # every column documented (BI tools show the comments)
    undocumented = query(conn, "SELECT a.attname::text FROM pg_attribute a "
                               "WHERE a.attrelid = %s::regclass AND a.attnum > 0 "
                               "AND NOT a.attisdropped "
                               "AND col_description(a.attrelid, a.attnum) IS NULL",
                         ("modelmgr." + view,))
    c.check(not undocumented, "%s: every column has a comment" % view, undocumented)

    bad = [(n, t) for n, t in got_types
           if any(p in n for p in FORBIDDEN_NAME_PARTS) or t in FORBIDDEN_TYPES]
    c.check(not bad, "%s: no artifact or baseline column" % view, bad)
    return [dict(zip(names, r)) for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", required=True)
    ap.add_argument("--dbname", default="postgres")
    ap.add_argument("--user", required=True)
    ap.add_argument("--visible", default="", help="models the role must see, comma separated")
    ap.add_argument("--hidden", default="", help="models the role must not see, comma separated")
    ap.add_argument("--use", default="", help="models the role has USE on (load/export work)")
    ap.add_argument("--expect-facts", action="store_true",
                    help="check the dashboard facts of the scenario of 008_bi_client.pl")
    ap.add_argument("--training", default="", help="a model being trained right now")
    opts = ap.parse_args()
    visible = [m for m in opts.visible.split(",") if m]
    hidden = [m for m in opts.hidden.split(",") if m]
    use = [m for m in opts.use.split(",") if m]

    try:
        conn = psycopg2.connect(host=opts.host, port=opts.port, dbname=opts.dbname,
                                user=opts.user, application_name="bi_client")
    except psycopg2.Error as e:
        print("not ok - connect as %s: %s" % (opts.user, e))
        print("bi_client: 1 checks, 1 failed")
        return 2
    conn.autocommit = True
    c = Checker()

    who = query(conn, "SELECT current_user::text, r.rolsuper FROM pg_roles r "
                      "WHERE r.rolname = current_user")[0]
    c.check(who[0] == opts.user and not who[1], "connected as %s, not a superuser" % opts.user, who)

    # ---- every view: columns, types, rows -----------------------------------
    views = {}
    for view in EXPECTED:
        views[view] = check_view(c, conn, view)
    c.check(len(views["algorithms"]) >= 1, "algorithms: lists the algorithms",
            views["algorithms"])

    # live views: preloaded, so no status row saying it is not
    for view in ("prediction_stats", "training_progress"):
        off = [r for r in views[view] if r["status"] != "ok"]
        c.check(not off, "%s: every row has status ok (modelmgr is preloaded)" % view, off)

    # ---- visibility ------------------------------------------------------------
    for view in MODEL_VIEWS:
        seen = {r["model"] for r in views[view]}
        leaked = sorted(seen & set(hidden))
        c.check(not leaked, "%s: shows none of the models %s may not see" % (view, opts.user),
                leaked)
    overview = {r["model"] for r in views["model_overview"]}
    c.check(overview == set(visible), "model_overview: exactly the models %s" % sorted(visible),
            sorted(overview))
    health = {r["model"] for r in views["model_health"]}
    deployed = {r["model"] for r in views["model_overview"] if r["deployed_version"] is not None}
    c.check(health == deployed, "model_health: one row per visible deployed model",
            "got %s, want %s" % (sorted(health), sorted(deployed)))

    # ---- the facts a dashboard shows ------------------------------------------
    if opts.expect_facts:
        facts(c, views, opts)

    # ---- reading what is not the views: refused --------------------------------
    for table in ("models", "model_versions", "deployments", "evaluations", "model_grants"):
        r = sqlstate_of(conn, "SELECT * FROM modelmgr.%s LIMIT 1" % table)
        c.check(r is not None and r[0] == "42501",
                "SELECT from modelmgr.%s fails with 42501" % table, r)
    r = sqlstate_of(conn, "SELECT artifact FROM modelmgr.model_versions LIMIT 1")
    c.check(r is not None and r[0] == "42501", "SELECT artifact from model_versions fails with 42501", r)
    for m in visible + hidden:
        for fn in ("load", "export"):
            sql = ("SELECT modelmgr.describe(modelmgr.load(%s))" if fn == "load"
                   else "SELECT length(modelmgr.export(%s))")
            r = sqlstate_of(conn, sql, (m,))
            if m in use:
                c.check(r is None, "modelmgr.%s('%s') works (USE was granted)" % (fn, m), r)
            else:
                c.check(r is not None and r[0] == "42501",
                        "modelmgr.%s('%s') fails with 42501 (no USE)" % (fn, m), r)
        if m not in use:
            r = sqlstate_of(conn, "SELECT modelmgr.predict(%s, ARRAY[1, 2, 3]::float8[])", (m,))
            c.check(r is not None and r[0] == "42501",
                    "modelmgr.predict('%s', ...) fails with 42501 (no USE)" % m, r)

    # ---- changing anything: refused ---------------------------------------------
    writes = [
        ("INSERT INTO modelmgr.model_overview (model) VALUES ('bi_fake')", None),
        ("UPDATE modelmgr.model_health SET status = 'ok'", None),
        ("DELETE FROM modelmgr.feature_drift", None),
        ("DELETE FROM modelmgr.metric_history", None),
        ("INSERT INTO modelmgr.evaluations (model_id, version, kind, relation, rows, labelled_rows, "
         "status, evaluated_by) VALUES (1, 1, 'monitor', 'x', 1, 1, 'ok', current_user)", "42501"),
        ("UPDATE modelmgr.models SET deployed_version = 1", "42501"),
        ("SELECT nextval('modelmgr.evaluations_id_seq')", "42501"),
        ("SELECT modelmgr.reset_prediction_stats()", "42501"),
        ("TRUNCATE modelmgr.evaluations", "42501"),
    ]
    for m in visible + hidden:
        writes += [
            ("SELECT modelmgr.deploy('%s', 1)" % m, "42501"),
            ("SELECT modelmgr.rollback('%s')" % m, "42501"),
            ("SELECT modelmgr.grant_use('%s', current_user)" % m, "42501"),
            ("SELECT modelmgr.drop_model('%s')" % m, "42501"),
            ("SELECT * FROM modelmgr.retrain('%s')" % m, "42501"),
        ]
        if m not in use:
            writes.append(("SELECT * FROM modelmgr.monitor('%s', 'public.sales')" % m, "42501"))
    writes.append(("SELECT * FROM modelmgr.train('bi_own', 'linear_regression', 'public.sales', 'price')",
                   "42501"))
    for sql, want in writes:
        r = sqlstate_of(conn, sql)
        if want is None:
            c.check(r is not None, "refused: %s (%s)" % (sql, r[0] if r else "it worked"), r)
        else:
            c.check(r is not None and r[0] == want, "refused with %s: %s" % (want, sql), r)

    conn.close()
    print("bi_client: %d checks, %d failed%s" % (
        c.n, c.failed, (", %d known failures (TODO)" % c.todo_failed) if c.todo_failed else ""))
    return 0 if c.failed == 0 else 1


def facts(c, views, opts):
    """The scenario of 008_bi_client.pl, as a dashboard would show it."""
    ov = {r["model"]: r for r in views["model_overview"]}
    hp = ov.get("house_price")
    c.check(hp is not None and hp["deployed_version"] == 2 and hp["last_version"] == 2
            and hp["versions"] == 2 and hp["deployed_algorithm"] == "linear_regression"
            and hp["health"] == "alert" and hp["last_evaluated_at"] is not None
            and hp["deployed_test_rmse"] > 0 and hp["deployed_at"] is not None,
            "model_overview: house_price, version 2 of 2 deployed, health alert", hp)

    # models in alert, with reasons
    alerts = [r for r in views["model_health"] if r["status"] == "alert"]
    hph = [r for r in alerts if r["model"] == "house_price"]
    c.check(len(hph) == 1 and 'feature "sqft" drifted' in hph[0]["reasons"]
            and "predictions drifted" in hph[0]["reasons"] and hph[0]["evaluations"] == 2,
            "model_health: house_price in alert because sqft and the predictions drifted", hph)

    vh = sorted((r["version"], r["operation"], r["parent_version"], r["is_deployed"])
                for r in views["version_history"] if r["model"] == "house_price")
    c.check(vh == [(1, "train", None, False), (2, "retrain", 1, True)],
            "version_history: house_price 1 train, 2 retrain of 1 (deployed)", vh)

    dh = [(r["action"], r["from_version"], r["to_version"])
          for r in sorted(views["deployment_history"], key=lambda r: r["event_id"])
          if r["model"] == "house_price"]
    c.check(dh == [("deploy", None, 1), ("deploy", 1, 2)],
            "deployment_history: house_price deployed 1, then the retrained 2", dh)

    # drift over time per feature: one row per feature and (prediction) per run
    fd = [r for r in views["feature_drift"] if r["model"] == "house_price"]
    runs = {}
    for r in fd:
        runs.setdefault(r["evaluation_id"], []).append(r["feature"])
    c.check(len(runs) == 2 and all(sorted(f) == ["(prediction)", "age", "beds", "sqft"]
                                   for f in runs.values()),
            "feature_drift: 2 runs of house_price, one row per feature and (prediction) each", runs)
    drifted = sorted((r["relation"], r["feature"], r["status"]) for r in fd if r["status"] != "ok")
    c.check(drifted == [("public.sales_last_day", "(prediction)", "alert"),
                        ("public.sales_last_day", "sqft", "alert")],
            "feature_drift: only sqft and the predictions drifted, on sales_last_day", drifted)

    # metric trend: train/test of each version and the monitor runs, long format
    mh = [r for r in views["metric_history"] if r["model"] == "house_price"]
    datasets = sorted({(r["version"], r["dataset"]) for r in mh})
    c.check(datasets == [(1, "test"), (1, "train"), (2, "public.sales"),
                         (2, "public.sales_last_day"), (2, "test"), (2, "train")],
            "metric_history: train/test per version and one dataset per monitored relation", datasets)
    rmse = [r for r in mh if r["metric"] == "rmse"]
    c.check(len(rmse) == 6 and all(isinstance(r["value"], float) and r["value"] > 0 for r in rmse),
            "metric_history: an rmse row per dataset, a positive float each", rmse)

    # live statistics
    ps = {(r["model"], r["version"]): r for r in views["prediction_stats"]}
    hp2 = ps.get(("house_price", 2))
    c.check(hp2 is not None and hp2["rows"] == 3000 and hp2["calls"] == 2
            and hp2["total_time_ms"] > 0 and hp2["max_time_ms"] > 0 and hp2["last_call"] is not None,
            "prediction_stats: house_price version 2, 2 statements, 3000 rows", hp2)

    if opts.training:
        tp = [r for r in views["training_progress"] if r["model"] == opts.training]
        c.check(len(tp) == 1 and tp[0]["phase"] == "read" and tp[0]["algorithm"] == "linear_regression"
                and tp[0]["pid"] > 0 and tp[0]["elapsed_seconds"] >= 0,
                "training_progress: %s is reading its rows" % opts.training, tp)


if __name__ == "__main__":
    sys.exit(main())
