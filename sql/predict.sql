-- predict: the predict() overloads and how they resolve, whole-row and
-- subquery-row prediction by column name, the errors for rows and arrays
-- that do not fit the model, imputation of NULL features, predict with a
-- model value from load(), and STABLE behaviour: one version per statement,
-- the next statement sees a new deploy.
\set VERBOSITY default

-- version 1: y = 1 + 2a - 3b exactly (deployed: the first version);
-- version 2: y2 = 10 + a + b exactly (not deployed)
CREATE TABLE pr_data (id int PRIMARY KEY, a float8, b float8, label text);
INSERT INTO pr_data SELECT g, sin(g), cos(0.7 * g), 'row ' || g FROM generate_series(1, 200) g;
ALTER TABLE pr_data ADD COLUMN y float8, ADD COLUMN y2 float8;
UPDATE pr_data SET y = 1 + 2 * a - 3 * b, y2 = 10 + a + b;
SELECT name, version, train_rows, deployed
FROM modelmgr.train('pr_model', 'linear_regression', 'pr_data', 'y', ARRAY['a', 'b'], test_fraction => 0);
SELECT name, version, train_rows, deployed
FROM modelmgr.train('pr_model', 'linear_regression', 'pr_data', 'y2', ARRAY['a', 'b'], test_fraction => 0,
                    deploy => 'never');

-- ---------------------------------------------------------------------------
-- the overloads: (name | model value) x (float8[] | record), all float8,
-- STABLE and PARALLEL SAFE, like load()
-- ---------------------------------------------------------------------------
\df modelmgr.predict
SELECT p.oid::regprocedure AS function, p.provolatile, p.proparallel, p.prorettype::regtype
FROM pg_proc p
WHERE p.pronamespace = 'modelmgr'::regnamespace AND p.proname IN ('predict', 'load')
ORDER BY 1::text;

-- array literals of every numeric type resolve to the float8[] form
-- (version 1 at (1, 2) is 1 + 2 - 6 = -3, at (1.5, 2) it is -2)
SELECT round(modelmgr.predict('pr_model', ARRAY[1, 2])::numeric, 9) AS int_array,
       round(modelmgr.predict('pr_model', ARRAY[1.5, 2])::numeric, 9) AS numeric_array,
       round(modelmgr.predict('pr_model', ARRAY[1.5, 2]::float8[])::numeric, 9) AS float8_array,
       round(modelmgr.predict('pr_model', ARRAY[1.5, 2]::real[])::numeric, 9) AS real_array,
       round(modelmgr.predict('pr_model', ARRAY[1, 2]::bigint[])::numeric, 9) AS bigint_array,
       round(modelmgr.predict('pr_model', ARRAY[1, 2]::smallint[])::numeric, 9) AS smallint_array;
SELECT pg_typeof(modelmgr.predict('pr_model', ARRAY[1, 2])) AS int_array,
       pg_typeof(modelmgr.predict('pr_model', ARRAY[1.5, 2])) AS numeric_array,
       pg_typeof(modelmgr.predict('pr_model', t)) AS whole_row,
       pg_typeof(modelmgr.predict(modelmgr.load('pr_model', 1), ARRAY[1, 2])) AS model_value
FROM pr_data t WHERE id = 1;
-- an untyped literal matches both forms: it needs a cast
SELECT modelmgr.predict('pr_model', '{1,2}');
\echo :LAST_ERROR_SQLSTATE
SELECT round(modelmgr.predict('pr_model', '{1,2}'::float8[])::numeric, 9) AS cast_literal;

-- ---------------------------------------------------------------------------
-- rows: features matched by column name
-- ---------------------------------------------------------------------------
-- a whole table row, t or t.*, with other columns (id, label, y, y2) ignored
SELECT id, round(modelmgr.predict('pr_model', t)::numeric, 9) AS whole_row,
       round(modelmgr.predict('pr_model', t.*)::numeric, 9) AS star,
       round(modelmgr.predict('pr_model', ARRAY[a, b])::numeric, 9) AS array_form,
       round((1 + 2 * a - 3 * b)::numeric, 9) AS truth
FROM pr_data t WHERE id IN (1, 2) ORDER BY id;
-- every row: the row form is the array form, and both are the truth
SELECT count(*) AS rows,
       count(*) FILTER (WHERE modelmgr.predict('pr_model', t) <> modelmgr.predict('pr_model', ARRAY[a, b])) AS row_differs_from_array,
       count(*) FILTER (WHERE abs(modelmgr.predict('pr_model', t) - y) > 1e-12) AS wrong
FROM pr_data t;
-- a subquery row: column order does not matter, names do
SELECT round(modelmgr.predict('pr_model', s)::numeric, 9) AS subquery_row,
       modelmgr.predict('pr_model', s) = modelmgr.predict('pr_model', ARRAY[1, 2]) AS same_as_array
FROM (SELECT 2 AS b, 1 AS a) s;
SELECT modelmgr.predict('pr_model', s) = modelmgr.predict('pr_model', ARRAY[s.a, s.b]) AS swapped_names_matched
FROM (SELECT b AS a, a AS b FROM pr_data WHERE id = 3) s;
-- column types: integers, numeric and real are numbers; boolean is not (as in training)
SELECT round(modelmgr.predict('pr_model', s)::numeric, 9) AS mixed_types
FROM (SELECT 1::smallint AS a, 2.0::numeric AS b) s;
SELECT round(modelmgr.predict('pr_model', s)::numeric, 9) AS real_and_real
FROM (SELECT 2::real AS a, 1::real AS b) s;
SELECT round(modelmgr.predict('pr_model', s)::numeric, 9) AS real_and_bool
FROM (SELECT 2::real AS a, true AS b) s;
\echo :LAST_ERROR_SQLSTATE
-- an anonymous ROW(...) has no column names
SELECT modelmgr.predict('pr_model', ROW(1, 2));
\echo :LAST_ERROR_SQLSTATE
-- a row without a feature column
SELECT modelmgr.predict('pr_model', s) FROM (SELECT a, y FROM pr_data WHERE id = 1) s;
\echo :LAST_ERROR_SQLSTATE
-- a feature column that is not a number
SELECT modelmgr.predict('pr_model', s) FROM (SELECT a, label AS b FROM pr_data WHERE id = 1) s;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('pr_model', s) FROM (SELECT a, b::text AS b FROM pr_data WHERE id = 1) s;
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- arrays: in the model's feature order
-- ---------------------------------------------------------------------------
SELECT modelmgr.predict('pr_model', ARRAY[1, 2, 3]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('pr_model', ARRAY[1]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('pr_model', '{}'::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('pr_model', ARRAY[[1, 2], [3, 4]]);
\echo :LAST_ERROR_SQLSTATE
-- lower bounds other than 1 are fine
SELECT round(modelmgr.predict('pr_model', '[0:1]={1,2}'::float8[])::numeric, 9) AS shifted_bounds;
-- NaN and infinity are refused
SELECT modelmgr.predict('pr_model', ARRAY[1, 'NaN']::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('pr_model', ARRAY['-Infinity', 2]::float8[]);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- NULL features are imputed with the training mean recorded in the model:
-- the same answer, bit for bit, as passing the recorded means
-- ---------------------------------------------------------------------------
CREATE TABLE pr_means AS
SELECT (d -> 'features' -> 0 ->> 'impute')::float8 AS mean_a, (d -> 'features' -> 1 ->> 'impute')::float8 AS mean_b
FROM modelmgr.describe(modelmgr.load('pr_model', 1)) d;
SELECT abs(mean_a - (SELECT avg(a) FROM pr_data)) < 1e-15 AS impute_a_is_mean,
       abs(mean_b - (SELECT avg(b) FROM pr_data)) < 1e-15 AS impute_b_is_mean
FROM pr_means;
SELECT modelmgr.predict('pr_model', ARRAY[NULL, 2]::float8[]) = modelmgr.predict('pr_model', ARRAY[mean_a, 2]) AS null_a,
       modelmgr.predict('pr_model', ARRAY[1, NULL]::float8[]) = modelmgr.predict('pr_model', ARRAY[1, mean_b]) AS null_b,
       modelmgr.predict('pr_model', ARRAY[NULL, NULL]::float8[]) = modelmgr.predict('pr_model', ARRAY[mean_a, mean_b]) AS both_null,
       modelmgr.predict('pr_model', ARRAY[NULL, 2]::float8[]) <> modelmgr.predict('pr_model', ARRAY[0, 2]) AS not_zero
FROM pr_means;
-- in a row, a NULL column is imputed the same way
SELECT modelmgr.predict('pr_model', s) = modelmgr.predict('pr_model', ARRAY[NULL, 2]::float8[]) AS null_column_imputed
FROM (SELECT NULL::float8 AS a, 2 AS b) s;

-- ---------------------------------------------------------------------------
-- a model value: any version, through load()
-- ---------------------------------------------------------------------------
SELECT round(modelmgr.predict(modelmgr.load('pr_model', 1), ARRAY[1, 2])::numeric, 9) AS v1_array,
       round(modelmgr.predict(modelmgr.load('pr_model', 2), ARRAY[1, 2])::numeric, 9) AS v2_array,
       round(modelmgr.predict(modelmgr.load('pr_model'), ARRAY[1, 2])::numeric, 9) AS deployed_array,
       round(modelmgr.predict(modelmgr.load('pr_model', 2), s)::numeric, 9) AS v2_row
FROM (SELECT 1 AS a, 2 AS b) s;
-- a value that went through text still predicts the same
SELECT modelmgr.predict(modelmgr.load('pr_model', 2)::text::modelmgr.model, t) = modelmgr.predict(modelmgr.load('pr_model', 2), t) AS same
FROM pr_data t WHERE id = 5;
-- several model values in one column (the per-call cache must follow them)
SELECT v, round(modelmgr.predict(modelmgr.load('pr_model', v), ARRAY[1, 2])::numeric, 9) AS prediction
FROM (VALUES (1), (2), (1), (2)) AS versions(v);
-- the same errors as with a name
SELECT modelmgr.predict(modelmgr.load('pr_model', 1), ARRAY[1, 2, 3]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict(modelmgr.load('pr_model', 1), ROW(1, 2));
\echo :LAST_ERROR_SQLSTATE
-- load() errors
SELECT modelmgr.load('pr_model', 3);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('pr_model', 0);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- STABLE: one version per statement; the next statement sees a deploy
-- ---------------------------------------------------------------------------
SELECT count(DISTINCT modelmgr.predict('pr_model', ARRAY[1, 2])) AS distinct_predictions,
       round(min(modelmgr.predict('pr_model', ARRAY[1, 2]))::numeric, 9) AS prediction
FROM generate_series(1, 1000);
-- a deploy in the middle of a statement does not change its answers ...
SELECT g, round(modelmgr.predict('pr_model', ARRAY[1, 2])::numeric, 9) AS prediction,
       CASE WHEN g = 2 THEN modelmgr.deploy('pr_model', 2, 'regress: mid-statement') END AS deployed
FROM generate_series(1, 3) g;
-- ... the next statement uses the new version
SELECT round(modelmgr.predict('pr_model', ARRAY[1, 2])::numeric, 9) AS after_deploy,
       round(modelmgr.predict('pr_model', t)::numeric, 9) = round((10 + t.a + t.b)::numeric, 9) AS row_after_deploy
FROM pr_data t WHERE id = 1;
-- in a transaction: its own deploy is seen by its next statement, and a
-- rollback brings the old version back
BEGIN;
SELECT modelmgr.deploy('pr_model', 1);
SELECT round(modelmgr.predict('pr_model', ARRAY[1, 2])::numeric, 9) AS in_transaction;
ROLLBACK;
SELECT round(modelmgr.predict('pr_model', ARRAY[1, 2])::numeric, 9) AS after_rollback;
-- in PL/pgSQL one call site runs once per statement: each sees the deploy
-- made by the statement before it
CREATE FUNCTION pr_deploy_and_predict() RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
    result float8[] := '{}';
BEGIN
    FOR v IN 1..2 LOOP
        PERFORM modelmgr.deploy('pr_model', v);
        result := result || round(modelmgr.predict('pr_model', ARRAY[1, 2])::numeric, 9)::float8;
    END LOOP;
    RETURN result;
END $$;
SELECT pr_deploy_and_predict();
-- the deploys made in the function stand: version 2
SELECT deployed_version FROM modelmgr.models WHERE name = 'pr_model';

-- parallel workers resolve the same version as the leader, even one the
-- leader's transaction deployed and has not committed
CREATE TABLE pr_big AS SELECT g AS id, sin(g)::float8 AS a, cos(0.7 * g)::float8 AS b FROM generate_series(1, 100000) g;
VACUUM ANALYZE pr_big;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM pr_big t WHERE abs(modelmgr.predict('pr_model', t) - (10 + a + b)) > 1e-12;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE abs(modelmgr.predict('pr_model', t) - (10 + a + b)) > 1e-12) AS wrong_row,
       count(*) FILTER (WHERE abs(modelmgr.predict('pr_model', ARRAY[a, b]) - (10 + a + b)) > 1e-12) AS wrong_array
FROM pr_big t;
BEGIN;
SELECT modelmgr.deploy('pr_model', 1, 'regress: uncommitted');
EXPLAIN (COSTS OFF)
SELECT count(*) FROM pr_big t WHERE abs(modelmgr.predict('pr_model', t) - (1 + 2 * a - 3 * b)) > 1e-12;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE abs(modelmgr.predict('pr_model', t) - (1 + 2 * a - 3 * b)) > 1e-12) AS wrong_row,
       count(*) FILTER (WHERE abs(modelmgr.predict('pr_model', ARRAY[a, b]) - (1 + 2 * a - 3 * b)) > 1e-12) AS wrong_array
FROM pr_big t;
ROLLBACK;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- ---------------------------------------------------------------------------
-- models that cannot be used by name
-- ---------------------------------------------------------------------------
-- no deployed version
SELECT name, version, deployed
FROM modelmgr.train('pr_undeployed', 'linear_regression', 'pr_data', 'y', ARRAY['a', 'b'], test_fraction => 0,
                    deploy => 'never');
SELECT modelmgr.predict('pr_undeployed', ARRAY[1, 2]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('pr_undeployed', t) FROM pr_data t WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('pr_undeployed');
\echo :LAST_ERROR_SQLSTATE
-- but its version is there as a value
SELECT round(modelmgr.predict(modelmgr.load('pr_undeployed', 1), ARRAY[1, 2])::numeric, 9) AS by_value;
-- unknown model (names are case sensitive)
SELECT modelmgr.predict('pr_no_such_model', ARRAY[1, 2]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('PR_MODEL', ARRAY[1, 2]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('pr_no_such_model', t) FROM pr_data t WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('pr_no_such_model');
\echo :LAST_ERROR_SQLSTATE

-- clean up
SELECT modelmgr.drop_model('pr_model');
SELECT modelmgr.drop_model('pr_undeployed');
DROP FUNCTION pr_deploy_and_predict();
DROP TABLE pr_data, pr_big, pr_means;

-- ---------------------------------------------------------------------------
-- NULL arguments give NULL.  Last in this file, on a model made inside a
-- transaction that is rolled back, so that nothing is left behind if this
-- goes wrong.
-- ---------------------------------------------------------------------------
BEGIN;
SELECT modelmgr.save('pr_null', modelmgr.linear_fit(y, ARRAY[x]), ARRAY['a']) AS version
FROM (VALUES (1.0::float8, 1.0::float8), (2, 3), (4, 2)) AS v(y, x);
SELECT modelmgr.predict('pr_null', NULL::float8[]) IS NULL AS null_array,
       modelmgr.predict('pr_null', NULL::record) IS NULL AS null_row,
       modelmgr.predict(NULL::text, ARRAY[1]) IS NULL AS null_name,
       modelmgr.predict(NULL::text, ROW(1)) IS NULL AS null_name_row,
       modelmgr.predict(NULL::modelmgr.model, ARRAY[1]) IS NULL AS null_model,
       modelmgr.predict(NULL::modelmgr.model, ROW(1)) IS NULL AS null_model_row,
       modelmgr.predict(modelmgr.load('pr_null'), NULL::float8[]) IS NULL AS null_array_model_value,
       modelmgr.predict(modelmgr.load('pr_null'), NULL::record) IS NULL AS null_row_model_value,
       modelmgr.load(NULL) IS NULL AS load_null;
ROLLBACK;
