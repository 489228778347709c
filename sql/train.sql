-- train: modelmgr.train() end to end (features, NULLs, split, metrics,
-- params, relation kinds, quoting, deploy policies)
\set VERBOSITY default

-- well-conditioned deterministic data: y = 3 + 2 x1 - x2 + 0.5 x3 + noise
CREATE TABLE tr_data AS
SELECT i,
       sin(i)::float8 AS x1,
       cos(i * 0.7)::float8 AS x2,
       ((i % 17) / 17.0)::float8 AS x3,
       (3 + 2 * sin(i) - cos(i * 0.7) + 0.5 * ((i % 17) / 17.0) + 0.1 * sin(i * 13.7))::float8 AS y
FROM generate_series(1, 500) AS i;

-- ---------------------------------------------------------------------------
-- The catalog of algorithms
-- ---------------------------------------------------------------------------
SELECT algorithm, task FROM modelmgr.algorithms ORDER BY 1;
SELECT p.key AS param, p.value->>'type' AS type, p.value->'default' AS "default",
       p.value->'min' AS min, p.value->'values' AS "values"
FROM modelmgr.algorithms a, jsonb_each(a.params) p
WHERE a.algorithm = 'linear_regression'
ORDER BY 1;

-- ---------------------------------------------------------------------------
-- The returned row, the stored version and the metrics
-- ---------------------------------------------------------------------------
SELECT name, version, algorithm, task, train_rows, test_rows,
       train_rows + test_rows AS total_rows, deployed, seconds > 0 AS timed,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(metrics) k) AS splits
FROM modelmgr.train('tr_basic', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2', 'x3']);

-- what the registry recorded
SELECT v.version, v.operation, v.algorithm, v.params, v.source_relation, v.target,
       v.features, v.seed, v.test_fraction, v.skipped_rows,
       v.train_rows + v.test_rows AS total_rows,
       v.size_bytes = octet_length(v.artifact) AS size_ok,
       v.checksum ~ '^[0-9a-f]{16}$' AS checksum_ok,
       v.created_by,
       v.phase_seconds ?& ARRAY['read', 'fit', 'evaluate', 'save'] AS phases,
       (SELECT bool_and(jsonb_typeof(s.value) = 'number' AND s.value::text::float8 >= 0)
        FROM jsonb_each(v.phase_seconds) s) AS phases_nonnegative,
       m.task, m.owner, m.deployed_version, m.last_version
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'tr_basic';

-- both splits carry mse, rmse, mae, r2 and their row counts
SELECT s.key AS split,
       s.value ?& ARRAY['mse', 'rmse', 'mae', 'r2', 'rows'] AS has_metrics,
       (s.value->>'rows')::bigint = CASE s.key WHEN 'train' THEN v.train_rows ELSE v.test_rows END AS rows_match,
       abs((s.value->>'rmse')::float8 - sqrt((s.value->>'mse')::float8)) < 1e-12 AS rmse_is_sqrt_mse,
       (s.value->>'r2')::float8 BETWEEN 0.99 AND 1 AS r2_good,
       (s.value->>'mae')::float8 > 0 AND (s.value->>'mae')::float8 <= (s.value->>'rmse')::float8 AS mae_le_rmse,
       round((s.value->>'mse')::numeric, 6) AS mse,
       round((s.value->>'r2')::numeric, 6) AS r2
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id,
     jsonb_each(v.metrics) s
WHERE m.name = 'tr_basic'
ORDER BY 1;

-- The train and test metrics together must account for every row: the sums
-- of |y - yhat| and (y - yhat)^2 over all rows, computed in SQL with the
-- trained model, equal mae*rows and mse*rows summed over both splits
-- (MAE is exact below 10000 rows per split).
WITH v AS (
    SELECT v.* FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
    WHERE m.name = 'tr_basic' AND v.version = 1),
direct AS (
    SELECT sum(abs(y - modelmgr.predict('tr_basic', d))) AS abs_sum,
           sum((y - modelmgr.predict('tr_basic', d)) ^ 2) AS sq_sum
    FROM tr_data d)
SELECT abs(direct.abs_sum - ((v.metrics->'train'->>'mae')::float8 * v.train_rows
                             + (v.metrics->'test'->>'mae')::float8 * v.test_rows)) / direct.abs_sum < 1e-9 AS mae_accounts,
       abs(direct.sq_sum - ((v.metrics->'train'->>'mse')::float8 * v.train_rows
                            + (v.metrics->'test'->>'mse')::float8 * v.test_rows)) / direct.sq_sum < 1e-9 AS mse_accounts,
       (v.metrics->'train'->>'mae')::float8 <> (v.metrics->'test'->>'mae')::float8 AS splits_differ
FROM v, direct;

-- the coefficients recover the generating formula
SELECT round((modelmgr.describe(modelmgr.load('tr_basic'))->>'intercept')::numeric, 2) AS intercept,
       round((modelmgr.describe(modelmgr.load('tr_basic'))->'coefficients'->>'x1')::numeric, 2) AS x1,
       round((modelmgr.describe(modelmgr.load('tr_basic'))->'coefficients'->>'x2')::numeric, 2) AS x2,
       round((modelmgr.describe(modelmgr.load('tr_basic'))->'coefficients'->>'x3')::numeric, 2) AS x3;

-- test_fraction => 0: every row trains, no "test" key, and the train metrics
-- are exactly what SQL computes over all rows with the model
SELECT train_rows, test_rows, metrics ? 'test' AS has_test, metrics ? 'train' AS has_train, deployed
FROM modelmgr.train('tr_all', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2', 'x3'],
                    test_fraction => 0);
WITH r AS (SELECT y, modelmgr.predict('tr_all', d) AS yhat FROM tr_data d),
direct AS (
    SELECT avg((y - yhat) ^ 2) AS mse, avg(abs(y - yhat)) AS mae,
           1 - sum((y - yhat) ^ 2) / (SELECT sum((y - a) ^ 2) FROM tr_data, (SELECT avg(y) AS a FROM tr_data) s) AS r2
    FROM r),
m AS (
    SELECT v.metrics->'train' AS t, v.test_rows FROM modelmgr.model_versions v
    JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'tr_all')
SELECT m.test_rows,
       abs((t->>'mse')::float8 - direct.mse) / direct.mse < 1e-9 AS mse_exact,
       abs((t->>'mae')::float8 - direct.mae) / direct.mae < 1e-9 AS mae_exact,
       abs((t->>'r2')::float8 - direct.r2) < 1e-9 AS r2_exact,
       (t->>'mae_sample_rows')::int AS mae_sample_rows
FROM m, direct;

-- ---------------------------------------------------------------------------
-- features => NULL: every other numeric column except primary key, identity,
-- serial and generated columns (and never text)
-- ---------------------------------------------------------------------------
CREATE DOMAIN tr_posnum AS numeric CHECK (VALUE >= 0);
CREATE TABLE tr_cols (
    id      integer PRIMARY KEY,
    ident   bigint GENERATED ALWAYS AS IDENTITY,
    ser     serial,
    bigser  bigserial,
    label   text,
    a       float8,
    b       integer,
    c       numeric,
    d       real,
    e       smallint,
    f       bigint,
    g       tr_posnum,
    flag    boolean,
    y       float8,
    gen     float8 GENERATED ALWAYS AS (a * 2 + 1) STORED
);
INSERT INTO tr_cols (id, label, a, b, c, d, e, f, g, flag, y)
SELECT i, 'row ' || i, sin(i), i % 7, cos(i)::numeric(20, 15), sin(i * 0.3)::real, i % 5, i % 11,
       abs(cos(i * 1.3))::numeric(20, 15), i % 2 = 0,
       1 + sin(i) + 0.1 * (i % 7) - cos(i) + 0.01 * (i % 11) + 0.05 * sin(i * 9.1)
FROM generate_series(1, 300) AS i;
SELECT train_rows + test_rows AS rows
FROM modelmgr.train('tr_cols', 'linear_regression', 'tr_cols', 'y');
SELECT v.features, v.target FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'tr_cols';
SELECT jsonb_path_query_array(modelmgr.describe(modelmgr.load('tr_cols')), '$.features[*].name') AS model_features;
-- a whole row predicts: columns matched by name whatever their order and type
SELECT count(*) AS rows,
       max(abs(modelmgr.predict('tr_cols', t)
               - modelmgr.predict('tr_cols', ARRAY[a, b, c, d, e, f, g]::float8[]))) = 0 AS row_equals_array
FROM tr_cols t;

-- ---------------------------------------------------------------------------
-- NULL target rows are skipped and counted; NULL features are imputed with
-- the training mean, recorded in the model and used at predict time
-- ---------------------------------------------------------------------------
CREATE TABLE tr_nulls AS
SELECT i,
       CASE WHEN i % 10 = 3 THEN NULL ELSE sin(i) END::float8 AS x1,
       CASE WHEN i % 13 = 5 THEN NULL ELSE cos(i * 0.7) END::float8 AS x2,
       CASE WHEN i % 9 = 4 THEN NULL
            ELSE 3 + 2 * sin(i) - cos(i * 0.7) + 0.1 * sin(i * 13.7) END::float8 AS y
FROM generate_series(1, 400) AS i;
-- rows with a NULL target hold far-off features: they must not move the means
UPDATE tr_nulls SET x1 = 1000, x2 = -1000 WHERE y IS NULL;
SELECT count(*) FILTER (WHERE y IS NULL) AS null_target,
       count(*) FILTER (WHERE y IS NOT NULL AND (x1 IS NULL OR x2 IS NULL)) AS null_feature_rows
FROM tr_nulls;
SELECT train_rows, test_rows
FROM modelmgr.train('tr_nulls', 'linear_regression', 'tr_nulls', 'y', ARRAY['x1', 'x2'],
                    test_fraction => 0);
SELECT v.skipped_rows, v.train_rows FROM modelmgr.model_versions v
JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'tr_nulls';
-- impute values are the means over the training rows (non-NULL target)
SELECT f->>'name' AS feature,
       abs((f->>'impute')::float8 - CASE f->>'name' WHEN 'x1' THEN s.m1 ELSE s.m2 END) < 1e-12 AS impute_is_mean,
       round((f->>'impute')::numeric, 9) AS impute
FROM jsonb_array_elements(modelmgr.describe(modelmgr.load('tr_nulls'))->'features') f,
     (SELECT avg(x1) AS m1, avg(x2) AS m2 FROM tr_nulls WHERE y IS NOT NULL) s
ORDER BY 1;
-- predict with a NULL feature is predict with the mean
SELECT modelmgr.predict('tr_nulls', ARRAY[NULL, 0.5]::float8[])
         = modelmgr.predict('tr_nulls', ARRAY[(modelmgr.describe(modelmgr.load('tr_nulls'))->'features'->0->>'impute')::float8, 0.5])
         AS null_x1_is_mean,
       modelmgr.predict('tr_nulls', ARRAY[0.25, NULL]::float8[])
         = modelmgr.predict('tr_nulls', ARRAY[0.25, (modelmgr.describe(modelmgr.load('tr_nulls'))->'features'->1->>'impute')::float8])
         AS null_x2_is_mean,
       modelmgr.predict('tr_nulls', ARRAY[NULL, NULL]::float8[]) IS NOT NULL AS all_null_predicts;
-- the imputed rows were trained on as if they held the mean: the SSE over the
-- rows SQL reconstructs that way equals mse * train_rows
WITH imp AS (
    SELECT avg(x1) AS m1, avg(x2) AS m2 FROM tr_nulls WHERE y IS NOT NULL),
r AS (
    SELECT y, modelmgr.predict('tr_nulls', ARRAY[coalesce(x1, imp.m1), coalesce(x2, imp.m2)]) AS yhat
    FROM tr_nulls, imp WHERE y IS NOT NULL)
SELECT abs(sum((y - yhat) ^ 2) / count(*)
           - (SELECT (v.metrics->'train'->>'mse')::float8 FROM modelmgr.model_versions v
              JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'tr_nulls'))
       < 1e-12 AS mse_of_imputed_rows
FROM r;
-- a whole row with NULLs predicts like the array with NULLs
SELECT bool_and(modelmgr.predict('tr_nulls', t) = modelmgr.predict('tr_nulls', ARRAY[x1, x2])) AS row_like_array
FROM tr_nulls t;

-- "impute": "error" refuses NULL features, at training and at predict time
SELECT version FROM modelmgr.train('tr_noimpute', 'linear_regression', 'tr_nulls', 'y', ARRAY['x1', 'x2'],
                                   params => '{"impute": "error"}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS tr_noimpute_models FROM modelmgr.models WHERE name = 'tr_noimpute';
SELECT version, deployed
FROM modelmgr.train('tr_noimpute', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2'],
                    params => '{"impute": "error"}');
SELECT jsonb_path_query_array(modelmgr.describe(modelmgr.load('tr_noimpute')), '$.features[*].impute') AS impute;
SELECT modelmgr.predict('tr_noimpute', ARRAY[0.1, NULL]::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('tr_noimpute', ARRAY[0.1, 0.2]::float8[]) IS NOT NULL AS predicts_without_nulls;

-- ---------------------------------------------------------------------------
-- The split: deterministic, a function of the row contents and the seed,
-- independent of the scan order
-- ---------------------------------------------------------------------------
CREATE TABLE tr_order_a AS SELECT x1, x2, x3, y FROM tr_data ORDER BY i;
CREATE TABLE tr_order_b AS SELECT x1, x2, x3, y FROM tr_data ORDER BY (i * 263) % 501 DESC;
-- the two tables really are stored in different orders
SELECT (SELECT array_agg(y) FROM (SELECT y FROM tr_order_a LIMIT 5) s)
         <> (SELECT array_agg(y) FROM (SELECT y FROM tr_order_b LIMIT 5) s) AS orders_differ;
SELECT name, train_rows, test_rows
FROM modelmgr.train('tr_split_a', 'linear_regression', 'tr_order_a', 'y', seed => 42)
UNION ALL
SELECT name, train_rows, test_rows
FROM modelmgr.train('tr_split_b', 'linear_regression', 'tr_order_b', 'y', seed => 42)
UNION ALL
SELECT name, train_rows, test_rows
FROM modelmgr.train('tr_split_c', 'linear_regression', 'tr_order_a', 'y', seed => 7)
ORDER BY 1;
-- same seed: the same rows in each split, so the same fit and metrics
-- (up to rounding from the accumulation order); another seed: another split
WITH d AS (
    SELECT m.name, modelmgr.describe(modelmgr.load(m.name)) AS d, v.metrics, v.seed
    FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id
    WHERE m.name IN ('tr_split_a', 'tr_split_b', 'tr_split_c'))
SELECT b.name, b.seed,
       abs((a.d->>'intercept')::float8 - (b.d->>'intercept')::float8) < 1e-12
       AND abs((a.d->'coefficients'->>'x1')::float8 - (b.d->'coefficients'->>'x1')::float8) < 1e-12
       AND abs((a.d->'coefficients'->>'x2')::float8 - (b.d->'coefficients'->>'x2')::float8) < 1e-12
       AND abs((a.d->'coefficients'->>'x3')::float8 - (b.d->'coefficients'->>'x3')::float8) < 1e-12 AS same_fit_as_a,
       abs((a.metrics->'test'->>'mse')::float8 - (b.metrics->'test'->>'mse')::float8) < 1e-12
       AND abs((a.metrics->'test'->>'mae')::float8 - (b.metrics->'test'->>'mae')::float8) < 1e-12 AS same_test_metrics_as_a
FROM d a, d b
WHERE a.name = 'tr_split_a' AND b.name <> 'tr_split_a'
ORDER BY 1;
-- the same call twice gives the very same version contents
SELECT version, train_rows, test_rows
FROM modelmgr.train('tr_split_a', 'linear_regression', 'tr_order_a', 'y', seed => 42);
SELECT count(DISTINCT v.artifact) AS distinct_artifacts, count(DISTINCT v.metrics) AS distinct_metrics,
       count(*) AS versions
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'tr_split_a';

-- ---------------------------------------------------------------------------
-- params: l2 (ridge) and fit_intercept, checked against closed forms on one
-- feature: ridge slope = Sxy / (Sxx + l2); through the origin = Sxy0 / Sxx0
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train('tr_ols1', 'linear_regression', 'tr_data', 'y', ARRAY['x1'], test_fraction => 0);
SELECT version FROM modelmgr.train('tr_ridge1', 'linear_regression', 'tr_data', 'y', ARRAY['x1'],
                                   params => '{"l2": 50}', test_fraction => 0);
SELECT version FROM modelmgr.train('tr_origin1', 'linear_regression', 'tr_data', 'y', ARRAY['x1'],
                                   params => '{"fit_intercept": false}', test_fraction => 0);
SELECT version FROM modelmgr.train('tr_origin_ridge1', 'linear_regression', 'tr_data', 'y', ARRAY['x1'],
                                   params => '{"fit_intercept": false, "l2": 50}', test_fraction => 0);
WITH s AS (
    SELECT regr_sxy(y, x1) AS sxy, regr_sxx(y, x1) AS sxx, avg(x1) AS mx, avg(y) AS my,
           sum(x1 * y) AS sxy0, sum(x1 * x1) AS sxx0
    FROM tr_data),
expect AS (
    SELECT 'tr_ols1' AS name, sxy / sxx AS slope, my - sxy / sxx * mx AS intercept FROM s
    UNION ALL SELECT 'tr_ridge1', sxy / (sxx + 50), my - sxy / (sxx + 50) * mx FROM s
    UNION ALL SELECT 'tr_origin1', sxy0 / sxx0, 0 FROM s
    UNION ALL SELECT 'tr_origin_ridge1', sxy0 / (sxx0 + 50), 0 FROM s),
got AS (
    SELECT name, modelmgr.describe(modelmgr.load(name)) AS d FROM expect)
SELECT e.name,
       abs((g.d->'coefficients'->>'x1')::float8 - e.slope) < 1e-12 AS slope_ok,
       abs((g.d->>'intercept')::float8 - e.intercept) < 1e-12 AS intercept_ok,
       round((g.d->'coefficients'->>'x1')::numeric, 6) AS slope,
       round((g.d->>'intercept')::numeric, 6) AS intercept,
       g.d->'attributes' AS attributes
FROM expect e JOIN got g USING (name)
ORDER BY 1;
-- ridge shrinks every coefficient toward 0; the params are recorded with defaults
SELECT version FROM modelmgr.train('tr_ridge3', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2', 'x3'],
                                   params => '{"l2": 100}', test_fraction => 0);
SELECT c.key AS feature,
       abs(r.value::text::float8) < abs(c.value::text::float8) AS shrunk
FROM jsonb_each(modelmgr.describe(modelmgr.load('tr_all'))->'coefficients') c
JOIN jsonb_each(modelmgr.describe(modelmgr.load('tr_ridge3'))->'coefficients') r USING (key)
ORDER BY 1;
SELECT m.name, v.params FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name IN ('tr_ridge3', 'tr_origin_ridge1', 'tr_all') ORDER BY 1;

-- ---------------------------------------------------------------------------
-- Relations: a view, a materialized view, another schema with quoted
-- mixed-case names
-- ---------------------------------------------------------------------------
CREATE VIEW tr_view AS SELECT x1, x2, y FROM tr_data WHERE i <= 300;
CREATE MATERIALIZED VIEW tr_matview AS SELECT x1, x3, y FROM tr_data WHERE i > 100;
SELECT name, train_rows + test_rows AS rows
FROM modelmgr.train('tr_view', 'linear_regression', 'tr_view', 'y')
UNION ALL
SELECT name, train_rows + test_rows
FROM modelmgr.train('tr_matview', 'linear_regression', 'tr_matview', 'y')
ORDER BY 1;
SELECT m.name, v.source_relation, v.features FROM modelmgr.model_versions v
JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name IN ('tr_view', 'tr_matview') ORDER BY 1;

CREATE SCHEMA "Tr Schema";
CREATE TABLE "Tr Schema"."My Table" ("Row Id" serial PRIMARY KEY, "Sq Ft" float8, "Beds" integer, "Price" float8);
INSERT INTO "Tr Schema"."My Table" ("Sq Ft", "Beds", "Price")
SELECT 50 + 10 * (i % 23), 1 + i % 4, 1000 + 20 * (50 + 10 * (i % 23)) + 300 * (1 + i % 4) + 5 * sin(i)
FROM generate_series(1, 200) AS i;
SELECT name, train_rows + test_rows AS rows
FROM modelmgr.train('tr_quoted', 'linear_regression', '"Tr Schema"."My Table"', 'Price');
SELECT v.source_relation, v.target, v.features FROM modelmgr.model_versions v
JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'tr_quoted';
SELECT round((modelmgr.describe(modelmgr.load('tr_quoted'))->'coefficients'->>'Sq Ft')::numeric, 2) AS sq_ft,
       round((modelmgr.describe(modelmgr.load('tr_quoted'))->'coefficients'->>'Beds')::numeric, 2) AS beds;
SELECT round(modelmgr.predict('tr_quoted', t)::numeric, 0) AS price
FROM "Tr Schema"."My Table" t WHERE "Row Id" = 1;
-- explicit features with their stored spelling; column names are case sensitive
SELECT version, train_rows + test_rows AS rows
FROM modelmgr.train('tr_quoted', 'linear_regression', '"Tr Schema"."My Table"', 'Price', ARRAY['Sq Ft']);
SELECT version FROM modelmgr.train('tr_quoted', 'linear_regression', '"Tr Schema"."My Table"', 'price');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('tr_quoted', 'linear_regression', '"Tr Schema"."My Table"', 'Price', ARRAY['sq ft']);
\echo :LAST_ERROR_SQLSTATE
SELECT last_version FROM modelmgr.models WHERE name = 'tr_quoted';

-- ---------------------------------------------------------------------------
-- Deploy policies and the deployment record
-- ---------------------------------------------------------------------------
-- v1: auto with nothing deployed -> deployed
SELECT version, deployed FROM modelmgr.train('tr_policy', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2', 'x3']);
-- v2: never
SELECT version, deployed FROM modelmgr.train('tr_policy', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2', 'x3'],
                                             deploy => 'never');
-- v3: always (even a much worse ridge model)
SELECT version, deployed FROM modelmgr.train('tr_policy', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2', 'x3'],
                                             params => '{"l2": 1000}', deploy => 'always');
-- v4: auto, same data and seed as the deployed v3: equal, the champion stays
SELECT version, deployed FROM modelmgr.train('tr_policy', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2', 'x3'],
                                             params => '{"l2": 1000}');
-- v5: auto, worse than the deployed v3 -> not deployed
SELECT version, deployed FROM modelmgr.train('tr_policy', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2', 'x3'],
                                             params => '{"l2": 100000}');
-- v6: auto, better than the deployed v3 -> deployed
SELECT version, deployed FROM modelmgr.train('tr_policy', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2', 'x3']);
-- v7: auto with other features than the deployed v6: cannot compare, the champion stays
SELECT version, deployed FROM modelmgr.train('tr_policy', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2']);
-- v8: auto without held-out rows: nothing to compare on, the champion stays
SELECT version, deployed FROM modelmgr.train('tr_policy', 'linear_regression', 'tr_data', 'y', ARRAY['x1', 'x2', 'x3'],
                                             test_fraction => 0);
SELECT m.deployed_version, m.last_version FROM modelmgr.models m WHERE m.name = 'tr_policy';
SELECT d.action, d.from_version, d.to_version, d.deployed_by,
       regexp_replace(d.reason, '[0-9.]+(e[-+][0-9]+)? vs [0-9.]+(e[-+][0-9]+)?', '<mse> vs <mse>') AS reason,
       d.deployed_at <= now() AS timestamped
FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id
WHERE m.name = 'tr_policy'
ORDER BY d.id;
-- the auto reason compares the two test MSEs as recorded: better when
-- deployed, not better when kept
SELECT d.action, (regexp_match(d.reason, 'test mse ([^ ]+) vs'))[1]::float8
         < (regexp_match(d.reason, 'vs ([^ ]+) of version'))[1]::float8 AS better
FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id
WHERE m.name = 'tr_policy' AND d.reason LIKE 'auto: test mse%'
ORDER BY d.id;
-- predict(name, ...) follows the deployed version
SELECT modelmgr.predict('tr_policy', ARRAY[0.5, 0.5, 0.5])
         = modelmgr.predict(modelmgr.load('tr_policy', 6), ARRAY[0.5, 0.5, 0.5]) AS uses_v6,
       modelmgr.predict('tr_policy', ARRAY[0.5, 0.5, 0.5])
         <> modelmgr.predict(modelmgr.load('tr_policy', 3), ARRAY[0.5, 0.5, 0.5]) AS not_v3;

-- ---------------------------------------------------------------------------
-- group_by: one sub-model per value of e, in one version (group_by.sql tests it in depth)
-- ---------------------------------------------------------------------------
SELECT version, jsonb_typeof(metrics->'groups') AS groups
FROM modelmgr.train('tr_grouped', 'linear_regression', 'tr_cols', 'y', ARRAY['a', 'c'],
                    group_by => ARRAY['e']);
SELECT count(*) AS tr_grouped_models FROM modelmgr.models WHERE name = 'tr_grouped';

-- ---------------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------------
SELECT modelmgr.drop_model(name) FROM modelmgr.models WHERE name LIKE 'tr\_%' ORDER BY name;
SELECT count(*) AS left_over FROM modelmgr.models WHERE name LIKE 'tr\_%';
DROP SCHEMA "Tr Schema" CASCADE;
DROP MATERIALIZED VIEW tr_matview;
DROP VIEW tr_view;
DROP TABLE tr_data, tr_cols, tr_nulls, tr_order_a, tr_order_b;
DROP DOMAIN tr_posnum;
