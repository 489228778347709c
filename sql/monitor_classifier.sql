-- monitor_classifier: monitor() and evaluate() of classifiers and of
-- categorical features: categorical baselines, drift over categories (PSI
-- and Jensen-Shannon, a bucket for unseen categories, NULL as a bucket),
-- drift of the predicted classes, classification metrics with the error
-- rate against the test error rate, labels the model does not know,
-- evaluate() and what it records, model_health's moving average of the
-- error rate, boolean and char(n) spellings, errors with their SQLSTATEs.
\set VERBOSITY default

-- deterministic data: x spread evenly over [0, 10), color cycles through
-- red, green, blue; label is 'yes' when x plus a color effect plus a
-- deterministic noise is above 5 (the classes overlap: no separation)
CREATE TABLE mc_data (id integer PRIMARY KEY, x float8, color text, label text);
INSERT INTO mc_data
SELECT i, x, color,
       CASE WHEN x + CASE color WHEN 'red' THEN 2 WHEN 'blue' THEN -2 ELSE 0 END
                 + 3 * sin(i * 12.9898) > 5 THEN 'yes' ELSE 'no' END
FROM (SELECT i, ((i * 7919) % 1000)::float8 / 100 AS x,
             (ARRAY['red', 'green', 'blue'])[1 + i % 3] AS color
      FROM generate_series(1, 1500) AS i) s;

SELECT name, version, task, train_rows, test_rows, deployed
FROM modelmgr.train('mc_model', 'logistic_regression', 'mc_data', 'label', ARRAY['x', 'color']);
SELECT modelmgr.classes('mc_model');

-- ---------------------------------------------------------------------------
-- Baselines: the categorical feature and the predicted classes are shares
-- of categories; the numeric feature keeps its edges and CDF
-- ---------------------------------------------------------------------------
SELECT f.key AS feature, f.value->>'kind' AS kind,
       jsonb_array_length(f.value->'edges') AS edges,
       round((f.value->>'null_fraction')::numeric, 3) AS null_fraction,
       (SELECT string_agg(c.key || '=' || round(c.value::text::numeric, 2), ', ' ORDER BY c.key)
        FROM jsonb_each(f.value->'categories') c) AS shares
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id,
     jsonb_each(v.baselines->'features') f
WHERE m.name = 'mc_model' ORDER BY 1;
SELECT v.baselines->'prediction'->>'kind' AS kind,
       (SELECT array_agg(c ORDER BY c) FROM jsonb_object_keys(v.baselines->'prediction'->'categories') c) AS classes,
       round((SELECT sum(c.value::text::numeric) FROM jsonb_each(v.baselines->'prediction'->'categories') c), 6) AS total
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'mc_model';

-- the metrics the version was tested with
SELECT (metrics->'test'->>'rows')::int > 0 AS has_test_rows,
       (metrics->'test'->>'accuracy')::float8 BETWEEN 0.6 AND 0.99 AS test_accuracy_plausible
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'mc_model';

-- helpers: drift and metrics, rounded
CREATE FUNCTION mc_drift(drift jsonb)
RETURNS TABLE (quantity text, psi numeric, js numeric, ks numeric, null_fraction numeric,
               unseen_fraction numeric, status text, note text)
LANGUAGE sql AS $$
    SELECT f.key, round((f.value->>'psi')::numeric, 3), round((f.value->>'js')::numeric, 3),
           round((f.value->>'ks')::numeric, 3), round((f.value->>'null_fraction')::numeric, 3),
           round((f.value->>'unseen_fraction')::numeric, 3), f.value->>'status', f.value->>'note'
    FROM jsonb_each(drift->'features') f
    UNION ALL
    SELECT '(prediction)', round((drift#>>'{prediction,psi}')::numeric, 3),
           round((drift#>>'{prediction,js}')::numeric, 3), round((drift#>>'{prediction,ks}')::numeric, 3),
           NULL, NULL, drift#>>'{prediction,status}', drift#>>'{prediction,note}'
    ORDER BY 1
$$;
CREATE FUNCTION mc_metrics(metrics jsonb)
RETURNS TABLE (metric text, value text)
LANGUAGE sql AS $$
    SELECT key, CASE WHEN jsonb_typeof(value) = 'number' AND value::text ~ '[.e]'
                     THEN round(value::text::numeric, 3)::text ELSE value::text END
    FROM jsonb_each(metrics) ORDER BY 1
$$;

-- ---------------------------------------------------------------------------
-- monitor() on the training relation: no drift, metrics like the test's
-- ---------------------------------------------------------------------------
CREATE TABLE mc_runs (label text, evaluation_id bigint, rows bigint, labelled_rows bigint,
                      status text, reasons text[], metrics jsonb, drift jsonb);
INSERT INTO mc_runs
SELECT 'same', evaluation_id, rows, labelled_rows, status, reasons, metrics, drift
FROM modelmgr.monitor('mc_model', 'mc_data');
SELECT rows, labelled_rows, status, reasons FROM mc_runs WHERE label = 'same';
SELECT * FROM mc_drift((SELECT drift FROM mc_runs WHERE label = 'same'));
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(metrics) k) AS metric_keys,
       (metrics->>'rows')::int AS rows,
       (metrics->>'unknown_class_rows')::int AS unknown_class_rows,
       round((metrics->>'error_rate')::numeric + (metrics->>'accuracy')::numeric, 12) AS accuracy_plus_error,
       jsonb_array_length(metrics->'confusion_matrix') AS confusion_rows,
       (SELECT sum(c::text::int) FROM jsonb_array_elements(metrics->'confusion_matrix') r,
                                      jsonb_array_elements(r) c) AS confusion_total,
       (metrics->>'roc_auc')::float8 BETWEEN 0.7 AND 1 AS roc_auc_plausible,
       (metrics->>'log_loss')::float8 > 0 AS log_loss_positive
FROM mc_runs WHERE label = 'same';

-- ---------------------------------------------------------------------------
-- monitor() on shifted data: red grows to two thirds, a category unseen in
-- training (purple) takes a tenth, a twentieth of the colors are NULL, x
-- is shifted up by 3; some labels are NULL, some are a class the model does
-- not know ('maybe': counted, not scored)
-- ---------------------------------------------------------------------------
CREATE TABLE mc_shift AS
SELECT id, x + 3 AS x,
       CASE WHEN id % 20 = 0 THEN NULL
            WHEN id % 10 = 1 THEN 'purple'
            WHEN id % 5 IN (2, 3, 4) THEN 'red'
            ELSE color END AS color,
       CASE WHEN id % 25 = 0 THEN NULL WHEN id % 25 = 1 THEN 'maybe' ELSE label END AS label
FROM mc_data;
SELECT color, count(*) FROM mc_shift GROUP BY 1 ORDER BY 1;

INSERT INTO mc_runs
SELECT 'shift', evaluation_id, rows, labelled_rows, status, reasons, metrics, drift
FROM modelmgr.monitor('mc_model', 'mc_shift');
SELECT rows, labelled_rows, status, array_length(reasons, 1) AS reasons FROM mc_runs WHERE label = 'shift';
SELECT regexp_replace(r, '[0-9][0-9.e+-]*', 'N', 'g') AS reason
FROM mc_runs, unnest(reasons) r WHERE label = 'shift' ORDER BY 1;
SELECT * FROM mc_drift((SELECT drift FROM mc_runs WHERE label = 'shift'));
SELECT (metrics->>'rows')::int AS scored_rows, (metrics->>'unknown_class_rows')::int AS unknown_class_rows,
       (metrics->>'rows')::int + (metrics->>'unknown_class_rows')::int = labelled_rows AS counts_add_up
FROM mc_runs WHERE label = 'shift';
SELECT * FROM mc_metrics((SELECT metrics FROM mc_runs WHERE label = 'shift'));

-- the metrics agree with predict_label() on the scored rows
SELECT round(avg((modelmgr.predict_label('mc_model', s) = s.label)::int), 12)
       = round((r.metrics->>'accuracy')::numeric, 12) AS accuracy_agrees,
       count(*) FILTER (WHERE modelmgr.predict_label('mc_model', s) = 'yes' AND s.label = 'no')
       = (r.metrics->'confusion_matrix'->0->>1)::int AS false_positives_agree
FROM mc_shift s, mc_runs r
WHERE r.label = 'shift' AND s.label IN ('yes', 'no')
GROUP BY r.metrics;

-- the drift of color follows the definitions: shares of all rows over the
-- training categories, unseen and NULL; PSI with shares floored at 0.0001,
-- Jensen-Shannon in bits
CREATE VIEW mc_color_shares AS
WITH base AS (
    SELECT c.key AS bucket, c.value::text::float8 AS b
    FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id,
         jsonb_each(v.baselines#>'{features,color,categories}') c
    WHERE m.name = 'mc_model'
    UNION ALL SELECT '(unseen)', 0 UNION ALL SELECT '(null)', 0),
new AS (
    SELECT CASE WHEN color IS NULL THEN '(null)' WHEN color IN ('red', 'green', 'blue') THEN color
                ELSE '(unseen)' END AS bucket,
           count(*)::float8 / (SELECT count(*) FROM mc_shift) AS a
    FROM mc_shift GROUP BY 1)
SELECT bucket, b, coalesce(a, 0) AS a FROM base LEFT JOIN new USING (bucket);
SELECT round(sum((greatest(a, 1e-4) - greatest(b, 1e-4)) * ln(greatest(a, 1e-4) / greatest(b, 1e-4)))::numeric, 9)
       = round((SELECT drift#>>'{features,color,psi}' FROM mc_runs WHERE label = 'shift')::numeric, 9) AS psi_agrees,
       round((0.5 * sum(CASE WHEN a > 0 THEN a * log(2, (a / ((a + b) / 2))::numeric) ELSE 0 END)
            + 0.5 * sum(CASE WHEN b > 0 THEN b * log(2, (b / ((a + b) / 2))::numeric) ELSE 0 END))::numeric, 9)
       = round((SELECT drift#>>'{features,color,js}' FROM mc_runs WHERE label = 'shift')::numeric, 9) AS js_agrees
FROM mc_color_shares;

-- the same through the view: a categorical feature has no KS
SELECT d.feature, round(d.psi::numeric, 3) AS psi, round(d.ks::numeric, 3) AS ks,
       round(d.null_fraction::numeric, 3) AS null_fraction,
       d.status
FROM modelmgr.feature_drift d JOIN mc_runs r ON r.evaluation_id = d.evaluation_id
WHERE r.label = 'shift' ORDER BY d.feature;

-- thresholds are settings: with large alert thresholds the alerts become
-- warnings, and with large warning thresholds too, ok
SET modelmgr.psi_alert = 100;
SET modelmgr.metric_alert = 100;
SELECT status FROM modelmgr.monitor('mc_model', 'mc_shift');
SET modelmgr.psi_warning = 100;
SET modelmgr.metric_warning = 100;
SELECT status, reasons FROM modelmgr.monitor('mc_model', 'mc_shift');
RESET modelmgr.psi_alert;
RESET modelmgr.metric_alert;
RESET modelmgr.psi_warning;
RESET modelmgr.metric_warning;

-- ---------------------------------------------------------------------------
-- evaluate(): the metrics only, recorded with kind 'evaluate' and no drift
-- ---------------------------------------------------------------------------
SELECT * FROM mc_metrics(modelmgr.evaluate('mc_model', 'mc_data'));
SELECT modelmgr.evaluate('mc_model', 'mc_data')
       = (SELECT metrics FROM mc_runs WHERE label = 'same') AS same_as_monitor;
SELECT (modelmgr.evaluate('mc_model', 'mc_shift', 1)->>'unknown_class_rows')::int AS unknown_class_rows;
SELECT e.kind, e.version, e.relation, e.rows, e.labelled_rows, e.metrics IS NOT NULL AS has_metrics,
       e.drift IS NULL AS no_drift, e.evaluated_by = current_user AS by_me
FROM modelmgr.evaluations e JOIN modelmgr.models m ON m.id = e.model_id
WHERE m.name = 'mc_model' AND e.kind = 'evaluate' ORDER BY e.id;
-- evaluate() runs are not monitor() runs: model_health counts only monitor()
-- (its latest run had the relaxed thresholds above: ok)
SELECT model, version, status, evaluations FROM modelmgr.model_health WHERE model = 'mc_model';

-- a metric degradation: labels flipped in a third of the rows; the error
-- rate is compared with the version's test error rate
CREATE VIEW mc_flipped AS
SELECT id, x, color,
       CASE WHEN id % 3 = 0 THEN CASE label WHEN 'yes' THEN 'no' ELSE 'yes' END ELSE label END AS label
FROM mc_data;
SELECT status, regexp_replace(array_to_string(reasons, '; '), '[0-9][0-9.e+-]*', 'N', 'g') AS reasons
FROM modelmgr.monitor('mc_model', 'mc_flipped');
SELECT round((modelmgr.evaluate('mc_model', 'mc_flipped')->>'error_rate')::numeric, 2) > 0.3 AS worse;
SELECT e.kind, e.status, regexp_replace(array_to_string(e.reasons, '; '), '[0-9][0-9.e+-]*', 'N', 'g') AS reasons
FROM modelmgr.evaluations e JOIN modelmgr.models m ON m.id = e.model_id
WHERE m.name = 'mc_model' ORDER BY e.id DESC LIMIT 1;

-- ---------------------------------------------------------------------------
-- model_health: the latest monitor() run, and the moving average of the
-- error rate (window of 1: the last run against the one before)
-- ---------------------------------------------------------------------------
SELECT model, version, status,
       regexp_replace(reasons, '[0-9][0-9.e+-]*', 'N', 'g') AS reasons, evaluations
FROM modelmgr.model_health WHERE model = 'mc_model';
SELECT status FROM modelmgr.monitor('mc_model', 'mc_data');
SELECT status FROM modelmgr.monitor('mc_model', 'mc_flipped');
SET modelmgr.health_window = 1;
SELECT model, status, regexp_replace(reasons, '[0-9][0-9.e+-]*', 'N', 'g') AS reasons
FROM modelmgr.model_health WHERE model = 'mc_model';
RESET modelmgr.health_window;

-- ---------------------------------------------------------------------------
-- Spellings: a boolean target and a char(n) feature, read as their text
-- ---------------------------------------------------------------------------
CREATE TABLE mc_bool (id integer PRIMARY KEY, x float8, size char(6), flag boolean);
INSERT INTO mc_bool
SELECT i, x, size, x + CASE size WHEN 'small' THEN -1 WHEN 'large' THEN 1 ELSE 0 END
                     + 2 * sin(i * 3.7) > 0
FROM (SELECT i, cos(i * 0.37) AS x, (ARRAY['small', 'large', 'mid'])[1 + i % 3] AS size
      FROM generate_series(1, 600) AS i) s;
SELECT name, task, deployed
FROM modelmgr.train('mc_flag', 'logistic_regression', 'mc_bool', 'flag', ARRAY['x', 'size']);
SELECT modelmgr.classes('mc_flag');
SELECT status, labelled_rows, (metrics->>'unknown_class_rows')::int AS unknown_class_rows,
       (drift#>>'{features,size,unseen_fraction}')::float8 AS size_unseen,
       round((drift#>>'{features,size,psi}')::numeric, 3) AS size_psi
FROM modelmgr.monitor('mc_flag', 'mc_bool');

-- a multiclass model: three classes, macro averages, no ROC AUC
CREATE TABLE mc_multi AS
SELECT id, x, color, CASE WHEN x < 3.3 THEN 'low' WHEN x < 6.6 THEN 'mid' ELSE 'high' END AS band
FROM mc_data;
SELECT name, task FROM modelmgr.train('mc_band', 'softmax_regression', 'mc_multi', 'band', ARRAY['x', 'color'],
                                      params => '{"l2": 1}');
SELECT jsonb_array_length(m->'confusion_matrix') AS confusion_rows, m->'roc_auc' AS roc_auc,
       (m->>'accuracy')::float8 > 0.8 AS accurate
FROM modelmgr.evaluate('mc_band', 'mc_multi') m;

-- ---------------------------------------------------------------------------
-- Errors (nothing is recorded)
-- ---------------------------------------------------------------------------
CREATE TABLE mc_evaluations_before AS SELECT count(*) AS n FROM modelmgr.evaluations;
-- no target column
CREATE TABLE mc_unlabelled AS SELECT id, x, color FROM mc_data;
SELECT modelmgr.evaluate('mc_model', 'mc_unlabelled');
\echo :LAST_ERROR_SQLSTATE
-- monitor() works without it
SELECT labelled_rows, metrics FROM modelmgr.monitor('mc_model', 'mc_unlabelled');
-- a target that is NULL everywhere
CREATE TABLE mc_null_label AS SELECT id, x, color, NULL::text AS label FROM mc_data;
SELECT modelmgr.evaluate('mc_model', 'mc_null_label');
\echo :LAST_ERROR_SQLSTATE
-- labels that are none of the model's classes
CREATE TABLE mc_other_label AS SELECT id, x, color, 'maybe'::text AS label FROM mc_data;
SELECT modelmgr.evaluate('mc_model', 'mc_other_label');
\echo :LAST_ERROR_SQLSTATE
-- monitor() counts them and scores nothing
SELECT labelled_rows, metrics FROM modelmgr.monitor('mc_model', 'mc_other_label');
-- no rows
CREATE TABLE mc_empty (LIKE mc_data);
SELECT modelmgr.evaluate('mc_model', 'mc_empty');
\echo :LAST_ERROR_SQLSTATE
-- a missing categorical feature column
CREATE TABLE mc_no_color AS SELECT id, x, label FROM mc_data;
SELECT modelmgr.evaluate('mc_model', 'mc_no_color');
\echo :LAST_ERROR_SQLSTATE
-- a numeric feature that is text
CREATE TABLE mc_text_x AS SELECT id, x::text AS x, color, label FROM mc_data;
SELECT modelmgr.evaluate('mc_model', 'mc_text_x');
\echo :LAST_ERROR_SQLSTATE
-- a categorical feature of another type is read by its text spelling:
-- every value is an unseen category
CREATE TABLE mc_int_color AS SELECT id, x, (id % 3) AS color, label FROM mc_data;
SELECT (drift#>>'{features,color,unseen_fraction}')::float8 AS unseen_fraction,
       drift#>>'{features,color,status}' AS status
FROM modelmgr.monitor('mc_model', 'mc_int_color');
DELETE FROM modelmgr.evaluations e USING modelmgr.models m
WHERE m.id = e.model_id AND m.name = 'mc_model' AND e.relation = 'public.mc_int_color';
-- exact metrics keep every labelled row's prediction: within
-- modelmgr.max_training_memory (1 MB: 32768 rows of a binary model)
CREATE TABLE mc_big AS
SELECT i AS id, (i % 1000)::float8 / 100 AS x, (ARRAY['red', 'green', 'blue'])[1 + i % 3] AS color,
       CASE WHEN i % 2 = 0 THEN 'yes' ELSE 'no' END AS label
FROM generate_series(1, 40000) AS i;
SET modelmgr.max_training_memory = '1MB';
SELECT status FROM modelmgr.monitor('mc_model', 'mc_big');
\echo :LAST_ERROR_SQLSTATE
RESET modelmgr.max_training_memory;
SELECT rows, labelled_rows FROM modelmgr.monitor('mc_model', 'mc_big');
DELETE FROM modelmgr.evaluations e USING modelmgr.models m
WHERE m.id = e.model_id AND m.name = 'mc_model' AND e.relation = 'public.mc_big';
-- versions, names, NULLs
SELECT modelmgr.evaluate('mc_model', 'mc_data', 99);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.evaluate('mc_model', 'mc_data', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.evaluate('mc_nope', 'mc_data');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.evaluate(NULL, 'mc_data');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.evaluate('mc_model', 'mc_missing_table');
\echo :LAST_ERROR_SQLSTATE
-- a regression model needs a numeric target
CREATE TABLE mc_reg AS SELECT id, x, (2 * x + sin(id))::float8 AS y FROM mc_data;
SELECT name, task FROM modelmgr.train('mc_reg', 'linear_regression', 'mc_reg', 'y', ARRAY['x']);
CREATE TABLE mc_reg_text AS SELECT id, x, y::text AS y FROM mc_reg;
SELECT modelmgr.evaluate('mc_reg', 'mc_reg_text');
\echo :LAST_ERROR_SQLSTATE
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(m) k) AS regression_metrics,
       round((m->>'r2')::numeric, 2) AS r2
FROM modelmgr.evaluate('mc_reg', 'mc_reg') m;
SELECT (SELECT count(*) FROM modelmgr.evaluations) - n AS recorded_since FROM mc_evaluations_before;
