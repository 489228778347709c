-- monitoring: drift baselines stored at training, monitor() (metrics, PSI over
-- deciles, KS on the percentile grid, statuses and their thresholds, errors),
-- model_health (latest status, worsening moving average), the BI views
-- (columns and types, one fact per row, rows) and who sees what in them.
-- The pg_regress cluster does not preload modelmgr: the live views return
-- their one status row.
\set VERBOSITY default

CREATE ROLE regress_mon_owner;      -- trains and owns the models
CREATE ROLE regress_mon_viewer;     -- a BI role: no USE at first
CREATE ROLE regress_mon_watcher;    -- a BI role in pg_monitor: sees every model
CREATE ROLE regress_mon_member;     -- a member of the owning role
GRANT pg_monitor TO regress_mon_watcher;
GRANT regress_mon_owner TO regress_mon_member;

-- deterministic data: y = 2 + 3 x1 - 2 x2 + 0.5 x3 + small noise; id is the
-- key, so features => NULL picks x1, x2, x3.  x1 is spread evenly over
-- [0, 1), x2 = cos, x3 over [0, 10).
CREATE TABLE mon_data (id integer PRIMARY KEY, x1 float8, x2 float8, x3 float8, y float8);
INSERT INTO mon_data
SELECT i, x1, x2, x3, 2 + 3 * x1 - 2 * x2 + 0.5 * x3 + 0.1 * sin(i * 17.1)
FROM (SELECT i, ((i * 7919) % 2003)::float8 / 2003 AS x1, cos(i * 0.7) AS x2,
             ((i * 104729) % 1009)::float8 / 100 AS x3
      FROM generate_series(1, 2000) AS i) s;
GRANT SELECT ON mon_data TO regress_mon_owner;

SET ROLE regress_mon_owner;
SELECT name, version, train_rows, test_rows, deployed
FROM modelmgr.train('mon_model', 'linear_regression', 'mon_data', 'y');
SELECT name, version, deployed
FROM modelmgr.train('mon_trend', 'linear_regression', 'mon_data', 'y', ARRAY['x1', 'x2', 'x3']);
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Baselines: per feature and for the predictions, 99 percentile edges and
-- the training sample's CDF at each (non-decreasing, in (0, 1])
-- ---------------------------------------------------------------------------
CREATE VIEW mon_baselines AS
SELECT m.name AS model, v.version, f.key AS quantity, f.value AS base, v.train_rows
FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id
CROSS JOIN LATERAL jsonb_each(v.baselines->'features') f
UNION ALL
SELECT m.name, v.version, '(prediction)', v.baselines->'prediction', v.train_rows
FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id;

SELECT quantity,
       jsonb_array_length(base->'edges') AS edges,
       jsonb_array_length(base->'cdf') AS cdf_points,
       (SELECT bool_and(e >= p) FROM (
            SELECT x::float8 AS e, lag(x::float8) OVER (ORDER BY o) AS p
            FROM jsonb_array_elements_text(base->'edges') WITH ORDINALITY AS t(x, o)) s) AS edges_sorted,
       (SELECT bool_and(c >= p) FROM (
            SELECT x::float8 AS c, lag(x::float8) OVER (ORDER BY o) AS p
            FROM jsonb_array_elements_text(base->'cdf') WITH ORDINALITY AS t(x, o)) s) AS cdf_sorted,
       (base->'cdf'->>0)::float8 > 0 AS first_cdf_above_0,
       (base->'cdf'->>98)::float8 <= 1 AS last_cdf_at_most_1,
       round((base->'cdf'->>49)::numeric, 2) AS cdf_at_median,
       (base->>'rows')::bigint = train_rows AS whole_training_sample,
       (base->>'null_fraction')::float8 AS null_fraction
FROM mon_baselines WHERE model = 'mon_model' ORDER BY quantity;
-- the edges are the training sample's percentiles: x1 is spread evenly over
-- [0, 1), x3 over [0, 10)
SELECT quantity, round((base->'edges'->>9)::numeric, 2) AS p10, round((base->'edges'->>49)::numeric, 2) AS p50,
       round((base->'edges'->>89)::numeric, 2) AS p90
FROM mon_baselines WHERE model = 'mon_model' AND quantity IN ('x1', 'x3') ORDER BY quantity;

-- a model never monitored: ok, and says so
SELECT model, version, status, reasons, last_evaluated_at, evaluations
FROM modelmgr.model_health WHERE model LIKE 'mon\_%' ORDER BY model;
SELECT model, health, last_evaluated_at FROM modelmgr.model_overview WHERE model LIKE 'mon\_%' ORDER BY model;

-- ---------------------------------------------------------------------------
-- monitor() on the training relation: metrics close to the test metrics,
-- PSI and KS small everywhere, status ok
-- ---------------------------------------------------------------------------
CREATE FUNCTION mon_drift(drift jsonb)
RETURNS TABLE (quantity text, psi numeric, ks numeric, null_fraction float8, status text)
LANGUAGE sql AS $$
    SELECT f.key, round((f.value->>'psi')::numeric, 3), round((f.value->>'ks')::numeric, 3),
           (f.value->>'null_fraction')::float8, f.value->>'status'
    FROM jsonb_each(drift->'features') f
    UNION ALL
    SELECT '(prediction)', round((drift#>>'{prediction,psi}')::numeric, 3),
           round((drift#>>'{prediction,ks}')::numeric, 3), NULL, drift#>>'{prediction,status}'
    ORDER BY 1
$$;

CREATE TEMP TABLE mon_run AS SELECT * FROM modelmgr.monitor('mon_model', 'mon_data');
SELECT model, version, rows, labelled_rows, status, reasons,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(metrics) k) AS metric_names,
       round((metrics->>'rmse')::numeric, 4) AS rmse, round((metrics->>'r2')::numeric, 4) AS r2
FROM mon_run;
SELECT d.quantity, d.psi < 0.01 AS psi_small, d.ks < 0.02 AS ks_small, d.null_fraction, d.status
FROM mon_run, mon_drift(drift) d;
-- recorded in modelmgr.evaluations, as returned
SELECT e.kind, e.relation, e.rows, e.labelled_rows, e.status, e.reasons,
       e.metrics = r.metrics AS same_metrics, e.drift = r.drift AS same_drift,
       e.evaluated_by = current_user AS by_me
FROM modelmgr.evaluations e JOIN mon_run r ON r.evaluation_id = e.id;
DROP TABLE mon_run;
SELECT model, version, status, reasons, last_evaluated_at IS NOT NULL AS evaluated, evaluations
FROM modelmgr.model_health WHERE model = 'mon_model';

-- ---------------------------------------------------------------------------
-- A shifted copy: x1 moved up by 3 standard deviations (y follows the same
-- law, so the model is still right): x1 and the predictions drift (alert),
-- x2 and x3 do not, and the reasons say so
-- ---------------------------------------------------------------------------
CREATE TABLE mon_shifted AS
SELECT id, x1s AS x1, x2, x3, 2 + 3 * x1s - 2 * x2 + 0.5 * x3 + 0.1 * sin(id * 17.1) AS y
FROM (SELECT *, x1 + 3 * (SELECT stddev_pop(x1) FROM mon_data) AS x1s FROM mon_data) s;
CREATE TEMP TABLE mon_run AS SELECT * FROM modelmgr.monitor('mon_model', 'mon_shifted');
SELECT rows, labelled_rows, status, reasons, round((metrics->>'rmse')::numeric, 4) AS rmse FROM mon_run;
SELECT d.* FROM mon_run, mon_drift(drift) d;
-- feature_drift shows the same numbers, one row per feature and one for the
-- predictions
SELECT f.feature, f.psi = (r.drift->'features'->f.feature->>'psi')::float8
                      OR (f.feature = '(prediction)' AND f.psi = (r.drift#>>'{prediction,psi}')::float8) AS same_psi,
       round(f.psi::numeric, 3) AS psi, round(f.ks::numeric, 3) AS ks, f.null_fraction, f.status
FROM modelmgr.feature_drift f JOIN mon_run r ON r.evaluation_id = f.evaluation_id
ORDER BY f.feature;
DROP TABLE mon_run;
SELECT model, version, status, reasons FROM modelmgr.model_health WHERE model = 'mon_model';
SELECT model, health FROM modelmgr.model_overview WHERE model = 'mon_model';

-- ---------------------------------------------------------------------------
-- No target column: no metrics, drift still measured
-- ---------------------------------------------------------------------------
CREATE TABLE mon_unlabelled AS SELECT id, x1, x2, x3 FROM mon_data;
CREATE TEMP TABLE mon_run AS SELECT * FROM modelmgr.monitor('mon_model', 'mon_unlabelled');
SELECT rows, labelled_rows, status, reasons, metrics IS NULL AS no_metrics,
       (SELECT count(*) FROM jsonb_object_keys(drift->'features')) AS drift_features,
       drift ? 'prediction' AS prediction_drift
FROM mon_run;
SELECT d.quantity, d.psi < 0.01 AS psi_small, d.ks < 0.02 AS ks_small, d.status FROM mon_run, mon_drift(drift) d;
-- no metric rows for it in metric_history, its drift rows in feature_drift
SELECT (SELECT count(*) FROM modelmgr.metric_history WHERE dataset = 'public.mon_unlabelled') AS metric_rows,
       (SELECT count(*) FROM modelmgr.feature_drift f JOIN mon_run r USING (evaluation_id)) AS drift_rows;
DROP TABLE mon_run;
-- a target that is NULL in every row is the same as no target
CREATE TABLE mon_null_target AS SELECT id, x1, x2, x3, NULL::float8 AS y FROM mon_data;
SELECT rows, labelled_rows, status, metrics FROM modelmgr.monitor('mon_model', 'mon_null_target');

-- ---------------------------------------------------------------------------
-- The model got worse (the target changed, the features did not): rmse 13%
-- above the version's test rmse is a warning (modelmgr.metric_warning 0.1),
-- an alert once modelmgr.metric_alert is below 13%
-- ---------------------------------------------------------------------------
CREATE TABLE mon_worse AS SELECT id, x1, x2, x3, y + 0.05 * sin(id * 3.3) AS y FROM mon_data;
SELECT (SELECT round((metrics#>>'{test,rmse}')::numeric, 4) FROM modelmgr.model_versions v
        JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'mon_model' AND v.version = 1) AS test_rmse;
SELECT status, reasons, round((metrics->>'rmse')::numeric, 4) AS rmse,
       (SELECT bool_and(d.status = 'ok') FROM mon_drift(drift) d) AS no_drift
FROM modelmgr.monitor('mon_model', 'mon_worse');
SELECT model, status, reasons FROM modelmgr.model_health WHERE model = 'mon_model';
SET modelmgr.metric_alert = 0.12;
SELECT status, reasons FROM modelmgr.monitor('mon_model', 'mon_worse');
SELECT model, status, reasons FROM modelmgr.model_health WHERE model = 'mon_model';
-- no degradation at all once the warning threshold is above it
SET modelmgr.metric_warning = 0.2;
SET modelmgr.metric_alert = 0.3;
SELECT status, reasons FROM modelmgr.monitor('mon_model', 'mon_worse');
RESET modelmgr.metric_warning;
RESET modelmgr.metric_alert;

-- ---------------------------------------------------------------------------
-- PSI thresholds: a mild shift of x1 (a quarter of a standard deviation) has
-- a PSI between 0.1 and 0.25: warning by default, alert when psi_alert is
-- lowered, ok when both thresholds are raised
-- ---------------------------------------------------------------------------
CREATE TABLE mon_mild AS
SELECT id, x1 + 0.25 * (SELECT stddev_pop(x1) FROM mon_data) AS x1, x2, x3 FROM mon_data;
SHOW modelmgr.psi_warning;
SHOW modelmgr.psi_alert;
SELECT status, reasons, round((drift#>>'{features,x1,psi}')::numeric, 3) AS x1_psi,
       drift#>>'{features,x1,status}' AS x1_status
FROM modelmgr.monitor('mon_model', 'mon_mild');
SET modelmgr.psi_alert = 0.12;
SELECT status, reasons, drift#>>'{features,x1,status}' AS x1_status FROM modelmgr.monitor('mon_model', 'mon_mild');
SET modelmgr.psi_warning = 0.5;
SET modelmgr.psi_alert = 1;
SELECT status, reasons, drift#>>'{features,x1,status}' AS x1_status FROM modelmgr.monitor('mon_model', 'mon_mild');
-- the big shift is still an alert there
SELECT status, drift#>>'{features,x1,status}' AS x1_status FROM modelmgr.monitor('mon_model', 'mon_shifted');
RESET modelmgr.psi_warning;
RESET modelmgr.psi_alert;
-- feature_drift recorded each run's status with the thresholds of that run
SELECT f.relation, f.status, count(*) AS runs
FROM modelmgr.feature_drift f
WHERE f.model = 'mon_model' AND f.feature = 'x1' AND f.relation IN ('public.mon_mild', 'public.mon_shifted')
GROUP BY 1, 2 ORDER BY 1, 2;

-- ---------------------------------------------------------------------------
-- The moving average: with modelmgr.health_window = 2, the mean rmse of the
-- last 2 evaluations against the 2 before.  Each run here is within 10% of
-- the test rmse (status ok), but the rmse rose 2.5x: model_health says alert
-- because of the moving average alone.
-- ---------------------------------------------------------------------------
SET modelmgr.health_window = 2;
-- targets = the model's own prediction plus noise of a chosen size
CREATE TABLE mon_tight AS
SELECT id, x1, x2, x3, modelmgr.predict('mon_trend', ARRAY[x1, x2, x3]) + 0.04 * sin(id * 17.1) AS y FROM mon_data;
CREATE TABLE mon_loose AS
SELECT id, x1, x2, x3, modelmgr.predict('mon_trend', ARRAY[x1, x2, x3]) + 0.1 * sin(id * 17.1) AS y FROM mon_data;
SELECT (SELECT round((metrics#>>'{test,rmse}')::numeric, 4) FROM modelmgr.model_versions v
        JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'mon_trend' AND v.version = 1) AS test_rmse;
SELECT status, round((metrics->>'rmse')::numeric, 4) AS rmse FROM modelmgr.monitor('mon_trend', 'mon_tight');
SELECT status, round((metrics->>'rmse')::numeric, 4) AS rmse FROM modelmgr.monitor('mon_trend', 'mon_tight');
SELECT status, round((metrics->>'rmse')::numeric, 4) AS rmse FROM modelmgr.monitor('mon_trend', 'mon_loose');
-- three evaluations: not yet two windows
SELECT model, status, reasons, evaluations FROM modelmgr.model_health WHERE model = 'mon_trend';
SELECT status, round((metrics->>'rmse')::numeric, 4) AS rmse FROM modelmgr.monitor('mon_trend', 'mon_loose');
SELECT model, status, reasons, evaluations FROM modelmgr.model_health WHERE model = 'mon_trend';
SELECT model, health FROM modelmgr.model_overview WHERE model = 'mon_trend';
-- the thresholds are modelmgr.metric_warning / metric_alert: a warning
-- when the rise is below metric_alert
SET modelmgr.metric_alert = 2;
SELECT model, status, reasons FROM modelmgr.model_health WHERE model = 'mon_trend';
RESET modelmgr.metric_alert;
-- a window of 1: the last run against the one before: both loose, no rise
SET modelmgr.health_window = 1;
SELECT model, status, reasons FROM modelmgr.model_health WHERE model = 'mon_trend';
-- evaluations without metrics do not count in the windows: after an
-- unlabelled run (status ok, no reasons) the four runs with metrics are
-- still compared
SET modelmgr.health_window = 2;
SELECT status FROM modelmgr.monitor('mon_trend', 'mon_unlabelled');
SELECT model, status, reasons, evaluations FROM modelmgr.model_health WHERE model = 'mon_trend';
RESET modelmgr.health_window;
-- window of 3 (the default) needs 6 evaluations with metrics: there are 4
SELECT model, status, reasons FROM modelmgr.model_health WHERE model = 'mon_trend';

-- ---------------------------------------------------------------------------
-- model_health follows the deployed version: a new deployed version is not
-- monitored yet; a rollback brings the old version's status back
-- ---------------------------------------------------------------------------
SET ROLE regress_mon_owner;
SELECT version, deployed FROM modelmgr.train('mon_model', 'linear_regression', 'mon_data', 'y',
    params => '{"l2": 1}', deploy => 'never');
SELECT modelmgr.deploy('mon_model', 2, 'regress: try the ridge version');
RESET ROLE;
SELECT model, version, status, reasons, last_evaluated_at, evaluations
FROM modelmgr.model_health WHERE model = 'mon_model';
SELECT status FROM modelmgr.monitor('mon_model', 'mon_data');
SELECT model, version, status, reasons, evaluations FROM modelmgr.model_health WHERE model = 'mon_model';
SET ROLE regress_mon_owner;
SELECT modelmgr.rollback('mon_model', 'regress: back to version 1');
RESET ROLE;
SELECT model, version, status, evaluations FROM modelmgr.model_health WHERE model = 'mon_model';
-- an older version can be monitored by number; it does not change the health
-- of the deployed one
SELECT version, status FROM modelmgr.monitor('mon_model', 'mon_shifted', 2);
SELECT model, version, status, evaluations FROM modelmgr.model_health WHERE model = 'mon_model';
-- nothing deployed: no health row, model_overview.health NULL
SET ROLE regress_mon_owner;
SELECT version, deployed FROM modelmgr.train('mon_idle', 'linear_regression', 'mon_data', 'y',
    ARRAY['x1'], deploy => 'never');
RESET ROLE;
SELECT count(*) AS health_rows FROM modelmgr.model_health WHERE model = 'mon_idle';
SELECT model, deployed_version, health FROM modelmgr.model_overview WHERE model = 'mon_idle';
-- but it can be monitored by version
SELECT version, status, labelled_rows FROM modelmgr.monitor('mon_idle', 'mon_data', 1);

-- a feature that is NULL in every scored row (a broken pipeline) is drift:
-- its baseline has no NULLs (the predictions then all use the imputed value)
CREATE TABLE mon_x1_null AS SELECT id, NULL::float8 AS x1, x2, x3 FROM mon_data;
SELECT d.quantity, d.null_fraction, d.status <> 'ok' AS flagged
FROM modelmgr.monitor('mon_idle', 'mon_x1_null', 1) r, mon_drift(r.drift) d
WHERE d.quantity = 'x1';

-- ---------------------------------------------------------------------------
-- monitor() errors, each with its SQLSTATE; a failed run records nothing
-- ---------------------------------------------------------------------------
SELECT count(*) AS evaluations_before FROM modelmgr.evaluations \gset
SELECT * FROM modelmgr.monitor('mon_no_such_model', 'mon_data');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.monitor('mon_model', 'mon_data', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.monitor('mon_model', 'mon_data', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.monitor('mon_model', 'mon_data', 99);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.monitor('mon_idle', 'mon_data');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE mon_no_x3 AS SELECT id, x1, x2, y FROM mon_data;
SELECT * FROM modelmgr.monitor('mon_model', 'mon_no_x3');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE mon_text_x3 AS SELECT id, x1, x2, x3::text AS x3, y FROM mon_data;
SELECT * FROM modelmgr.monitor('mon_model', 'mon_text_x3');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE mon_empty (LIKE mon_data);
SELECT * FROM modelmgr.monitor('mon_model', 'mon_empty');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.monitor('mon_model', 'mon_missing_table');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.monitor('mon_model', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.monitor(NULL, 'mon_data');
\echo :LAST_ERROR_SQLSTATE
-- no USE on the model (even with SELECT on the data): 42501
GRANT SELECT ON mon_data TO regress_mon_viewer, regress_mon_watcher;
SET ROLE regress_mon_viewer;
SELECT * FROM modelmgr.monitor('mon_model', 'mon_data');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- pg_monitor shows every model in the views but gives no USE
SET ROLE regress_mon_watcher;
SELECT * FROM modelmgr.monitor('mon_model', 'mon_data');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- USE on the model but no SELECT on the relation: the data is read with the
-- caller's rights
SELECT modelmgr.grant_use('mon_trend', 'regress_mon_viewer');
SET ROLE regress_mon_viewer;
SELECT * FROM modelmgr.monitor('mon_trend', 'mon_loose');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT modelmgr.revoke_use('mon_trend', 'regress_mon_viewer');
SELECT count(*) - :evaluations_before AS evaluations_added FROM modelmgr.evaluations;

-- ---------------------------------------------------------------------------
-- The views: names, columns and types (plain types only; never an
-- artifact or a baseline), each column commented
-- ---------------------------------------------------------------------------
SELECT c.relname AS view, a.attnum, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,
       col_description(c.oid, a.attnum) IS NOT NULL AS commented
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'modelmgr'::regnamespace AND c.relkind = 'v' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, 2;
-- granted: SELECT to PUBLIC, nothing else
SELECT c.relname AS view, array_agg(DISTINCT a.privilege_type ORDER BY a.privilege_type) AS public_privileges
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE c.relnamespace = 'modelmgr'::regnamespace AND c.relkind = 'v' AND a.grantee = 0
GROUP BY 1 ORDER BY 1;

-- model_overview: one row per model
SELECT model, task, owner, description, deployed_version, last_version, versions, deployed_algorithm,
       round(deployed_test_rmse::numeric, 4) AS test_rmse, round(deployed_test_r2::numeric, 4) AS test_r2,
       deployed_at IS NOT NULL AS has_deployed_at, health, last_evaluated_at IS NOT NULL AS evaluated,
       created_at IS NOT NULL AS has_created_at
FROM modelmgr.model_overview WHERE model LIKE 'mon\_%' ORDER BY model;
-- its health column is model_health's status
SELECT o.model, o.health, h.status, o.health IS NOT DISTINCT FROM h.status AS same,
       o.last_evaluated_at IS NOT DISTINCT FROM h.last_evaluated_at AS same_time
FROM modelmgr.model_overview o LEFT JOIN modelmgr.model_health h USING (model)
WHERE o.model LIKE 'mon\_%' ORDER BY 1;

-- version_history: one row per version
SELECT model, version, parent_version, operation, algorithm, params, source_relation, target, features,
       train_rows, test_rows, skipped_rows, size_bytes > 0 AS has_size, length(checksum) > 0 AS has_checksum,
       is_deployed, created_by, created_at IS NOT NULL AS has_created_at
FROM modelmgr.version_history WHERE model LIKE 'mon\_%' ORDER BY model, version;

-- deployment_history: one row per deploy, rollback or keep
SELECT model, action, from_version, to_version, candidate_version, reason, deployed_by,
       deployed_at IS NOT NULL AS has_deployed_at
FROM modelmgr.deployment_history WHERE model LIKE 'mon\_%' ORDER BY model, event_id;

-- metric_history: long format; the train and test metrics of each version,
-- then one row per metric of each monitor() run that had the target
SELECT model, version, dataset, metric, round(value::numeric, 4) AS value
FROM modelmgr.metric_history
WHERE model = 'mon_model' AND dataset IN ('train', 'test') ORDER BY version, dataset, metric;
SELECT model, version, dataset, count(*) AS runs,
       array_agg(DISTINCT metric ORDER BY metric) AS metrics
FROM modelmgr.metric_history
WHERE model LIKE 'mon\_%' AND dataset NOT IN ('train', 'test')
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
-- every monitor() run with metrics gives 5 rows (rows, mse, rmse, mae, r2)
SELECT (SELECT count(*) FROM modelmgr.metric_history
        WHERE model LIKE 'mon\_%' AND dataset NOT IN ('train', 'test'))
     = 5 * (SELECT count(*) FROM modelmgr.evaluations e JOIN modelmgr.models m ON m.id = e.model_id
            WHERE m.name LIKE 'mon\_%' AND e.metrics IS NOT NULL) AS five_per_labelled_run;

-- feature_drift: one row per feature plus (prediction) per run
SELECT f.model, f.relation, count(DISTINCT f.evaluation_id) AS runs, count(*) AS rows,
       array_agg(DISTINCT f.feature ORDER BY f.feature) AS features
FROM modelmgr.feature_drift f WHERE f.model LIKE 'mon\_%'
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS runs_without_4_rows FROM (
    SELECT evaluation_id FROM modelmgr.feature_drift
    WHERE model IN ('mon_model', 'mon_trend') GROUP BY 1 HAVING count(*) <> 4) s;

-- one fact per row: no key repeats in any view
SELECT 'model_overview' AS view, count(*) - count(DISTINCT model) AS repeated FROM modelmgr.model_overview
UNION ALL
SELECT 'model_health', count(*) - count(DISTINCT model) FROM modelmgr.model_health
UNION ALL
SELECT 'version_history', count(*) - count(DISTINCT (model, version)) FROM modelmgr.version_history
UNION ALL
SELECT 'deployment_history', count(*) - count(DISTINCT event_id) FROM modelmgr.deployment_history
UNION ALL
SELECT 'metric_history', count(*) - count(DISTINCT (model, version, dataset, metric, measured_at))
FROM modelmgr.metric_history
UNION ALL
SELECT 'feature_drift', count(*) - count(DISTINCT (evaluation_id, feature)) FROM modelmgr.feature_drift
ORDER BY 1;

-- model_health: one row per deployed model
SELECT model, version, status, reasons, last_evaluated_at IS NOT NULL AS evaluated, evaluations
FROM modelmgr.model_health WHERE model LIKE 'mon\_%' ORDER BY model;

-- the live views without preload: their one status row, and a NOTICE
SELECT model, version, calls, rows, total_time_ms, mean_time_ms, max_time_ms, last_call, status
FROM modelmgr.prediction_stats;
SELECT pid, model, algorithm, phase, rows_read, iteration, loss, started_at, elapsed_seconds, status
FROM modelmgr.training_progress;
SELECT modelmgr.reset_prediction_stats();

-- ---------------------------------------------------------------------------
-- Who sees what.  A role without USE sees none of these models in any view;
-- USE on one model shows that model; members of pg_monitor and of the
-- owning role see them all.  None of them can read the registry tables.
-- ---------------------------------------------------------------------------
CREATE FUNCTION mon_seen() RETURNS TABLE (view text, models text)
LANGUAGE sql AS $$
    WITH seen AS (
        SELECT 'model_overview' AS view, model FROM modelmgr.model_overview
        UNION ALL SELECT 'version_history', model FROM modelmgr.version_history
        UNION ALL SELECT 'deployment_history', model FROM modelmgr.deployment_history
        UNION ALL SELECT 'metric_history', model FROM modelmgr.metric_history
        UNION ALL SELECT 'feature_drift', model FROM modelmgr.feature_drift
        UNION ALL SELECT 'model_health', model FROM modelmgr.model_health)
    SELECT t.v, coalesce((SELECT string_agg(DISTINCT seen.model, ', ' ORDER BY seen.model) FROM seen
                          WHERE seen.view = t.v AND seen.model LIKE 'mon\_%'), '(none)')
    FROM unnest(ARRAY['model_overview', 'version_history', 'deployment_history',
                      'metric_history', 'feature_drift', 'model_health']) WITH ORDINALITY AS t(v, o)
    ORDER BY t.o
$$;

SELECT * FROM mon_seen();
SET ROLE regress_mon_viewer;
SELECT * FROM mon_seen();
RESET ROLE;
SELECT modelmgr.grant_use('mon_model', 'regress_mon_viewer');
SET ROLE regress_mon_viewer;
SELECT * FROM mon_seen();
RESET ROLE;
SET ROLE regress_mon_watcher;
SELECT * FROM mon_seen();
RESET ROLE;
SET ROLE regress_mon_member;
SELECT * FROM mon_seen();
RESET ROLE;
-- USE given to PUBLIC shows the model to every role
SELECT modelmgr.grant_use('mon_trend', 'public');
SET ROLE regress_mon_viewer;
SELECT * FROM mon_seen();
RESET ROLE;
SELECT modelmgr.revoke_use('mon_trend', 'public');
SELECT modelmgr.revoke_use('mon_model', 'regress_mon_viewer');
SET ROLE regress_mon_viewer;
SELECT * FROM mon_seen();
RESET ROLE;

-- the views read the registry for the user, who cannot read it directly,
-- nor reset the live statistics; pg_monitor does not open the artifacts
SET ROLE regress_mon_viewer;
SELECT count(*) FROM modelmgr.model_versions;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM modelmgr.models;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM modelmgr.evaluations;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.reset_prediction_stats();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_mon_watcher;
SELECT artifact FROM modelmgr.model_versions;
\echo :LAST_ERROR_SQLSTATE
SELECT baselines FROM modelmgr.model_versions;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM modelmgr.evaluations;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.reset_prediction_stats();
\echo :LAST_ERROR_SQLSTATE
SELECT length(modelmgr.export('mon_model'));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.describe(modelmgr.load('mon_model'));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.deploy('mon_model', 2);
\echo :LAST_ERROR_SQLSTATE
-- the views are not writable
DELETE FROM modelmgr.feature_drift;
\echo :LAST_ERROR_SQLSTATE
UPDATE modelmgr.model_health SET status = 'ok';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- ---------------------------------------------------------------------------
-- The views do not leak rows of invisible models to a cheap function in the
-- user's WHERE clause (they must be security barriers): no NOTICE below
-- ---------------------------------------------------------------------------
CREATE FUNCTION mon_peek(text) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    RAISE NOTICE 'saw %', $1;
    RETURN true;
END
$$;
SET ROLE regress_mon_viewer;
SELECT count(*) FROM modelmgr.model_overview WHERE mon_peek(model || ' ' || owner);
SELECT count(*) FROM modelmgr.version_history WHERE mon_peek(model);
SELECT count(*) FROM modelmgr.deployment_history WHERE mon_peek(reason);
SELECT count(*) FROM modelmgr.metric_history WHERE mon_peek(dataset || ' ' || metric || ' ' || round(value::numeric, 4));
SELECT count(*) FROM modelmgr.feature_drift WHERE mon_peek(relation || ' ' || feature);
SELECT count(*) FROM modelmgr.model_health WHERE mon_peek(model);
RESET ROLE;
-- the barrier is the security_barrier option of the views that filter with
-- can_see (model_health filters inside its C function)
SELECT c.relname AS view,
       EXISTS (SELECT 1 FROM pg_options_to_table(c.reloptions) o
               WHERE o.option_name = 'security_barrier' AND o.option_value::boolean) AS security_barrier
FROM pg_class c
WHERE c.relnamespace = 'modelmgr'::regnamespace AND c.relkind = 'v'
  AND pg_get_viewdef(c.oid) LIKE '%can_see%'
ORDER BY 1;

-- ---------------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------------
SELECT modelmgr.drop_model(name) FROM unnest(ARRAY['mon_model', 'mon_trend', 'mon_idle']) AS name;
-- the evaluations went with the models
SELECT count(*) AS leftover_models FROM modelmgr.models WHERE name LIKE 'mon\_%';
SELECT count(*) AS leftover_evaluations FROM modelmgr.evaluations e
WHERE NOT EXISTS (SELECT 1 FROM modelmgr.models m WHERE m.id = e.model_id);
DROP FUNCTION mon_seen(), mon_peek(text), mon_drift(jsonb);
DROP VIEW mon_baselines;
DROP TABLE mon_data, mon_shifted, mon_unlabelled, mon_null_target, mon_worse, mon_mild, mon_x1_null,
    mon_tight, mon_loose, mon_no_x3, mon_text_x3, mon_empty;
DROP ROLE regress_mon_owner, regress_mon_viewer, regress_mon_watcher, regress_mon_member;
