-- linear_fit: the least-squares aggregate modelmgr.linear_fit(y, x float8[]
-- [, options jsonb]), its options, its errors, its parallel plan (and that
-- parallel = serial), per-group fits saved as models, and its state type
-- modelmgr.linreg_state.  All data is deterministic (sin/cos of the row
-- number), never random().
\set VERBOSITY default

-- [intercept, coefficients in feature order] of a model
CREATE FUNCTION lf_params(m modelmgr.model) RETURNS float8[]
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT ARRAY[(d ->> 'intercept')::float8] ||
           ARRAY(SELECT (d -> 'coefficients' ->> (f ->> 'name'))::float8
                 FROM jsonb_array_elements(d -> 'features') WITH ORDINALITY AS e(f, i)
                 ORDER BY i)
    FROM modelmgr.describe(m) d
$$;
-- same length and every element within a relative tolerance
CREATE FUNCTION lf_close(a float8[], b float8[], tol float8) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT cardinality(a) = cardinality(b) AND bool_and(abs(x - y) <= tol * abs(y))
    FROM unnest(a, b) AS u(x, y)
$$;

-- does the plan of a statement run an aggregate in parallel workers?
CREATE FUNCTION lf_plan(q text, OUT gather boolean, OUT partial_aggregate boolean, OUT finalize_aggregate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        plan := plan || line || E'\n';
    END LOOP;
    gather := plan ~ 'Gather';
    partial_aggregate := plan ~ 'Partial (Hash|Group)?Aggregate';
    finalize_aggregate := plan ~ 'Finalize (Hash|Group)?Aggregate';
END $$;

-- well conditioned synthetic data: y = 1 + 2a - 3b + 0.5c exactly, and a
-- noisy y2 with the same truth
CREATE TABLE lf_data AS
SELECT g, sin(g)::float8 AS a, cos(0.7 * g)::float8 AS b, ((g % 13) - 6) / 6.0::float8 AS c
FROM generate_series(1, 1000) g;
ALTER TABLE lf_data ADD COLUMN y float8, ADD COLUMN y2 float8;
UPDATE lf_data SET y = 1 + 2 * a - 3 * b + 0.5 * c,
                   y2 = 1 + 2 * a - 3 * b + 0.5 * c + 0.1 * sin(1.3 * g);

-- ---------------------------------------------------------------------------
-- the fit: coefficients against the truth, describe() of the result
-- ---------------------------------------------------------------------------
SELECT round((d ->> 'intercept')::numeric, 6) AS intercept,
       round((d -> 'coefficients' ->> 'x1')::numeric, 6) AS x1,
       round((d -> 'coefficients' ->> 'x2')::numeric, 6) AS x2,
       round((d -> 'coefficients' ->> 'x3')::numeric, 6) AS x3,
       d -> 'attributes' -> 'train_rows' AS train_rows,
       round((d -> 'attributes' ->> 'train_r2')::numeric, 9) AS train_r2,
       d -> 'attributes' -> 'fit_intercept' AS fit_intercept,
       d -> 'attributes' -> 'l2' AS l2
FROM (SELECT modelmgr.describe(modelmgr.linear_fit(y, ARRAY[a, b, c])) AS d FROM lf_data) s;
SELECT d ->> 'algorithm' AS algorithm, d ->> 'task' AS task, d ->> 'target' AS target,
       (SELECT array_agg(f ->> 'name') FROM jsonb_array_elements(d -> 'features') f) AS features,
       d -> 'parameters' AS parameters
FROM (SELECT modelmgr.describe(modelmgr.linear_fit(y, ARRAY[a, b, c])) AS d FROM lf_data) s;
-- the result is a modelmgr.model
SELECT pg_typeof(modelmgr.linear_fit(y, ARRAY[a, b, c])) FROM lf_data;

-- one feature against PostgreSQL's own regr_* aggregates (an independent
-- implementation), on noisy data: slope, intercept, R2 and MSE
SELECT lf_close(lf_params(m), ARRAY[regr_intercept, regr_slope], 1e-10) AS same_as_regr,
       abs((modelmgr.describe(m) -> 'attributes' ->> 'train_r2')::float8 - regr_r2) < 1e-12 AS same_r2,
       abs((modelmgr.describe(m) -> 'attributes' ->> 'train_mse')::float8 - regr_syy * (1 - regr_r2) / regr_count)
           < 1e-12 * regr_syy / regr_count AS same_mse
FROM (SELECT modelmgr.linear_fit(y2, ARRAY[a]) AS m, regr_intercept(y2, a), regr_slope(y2, a),
             regr_r2(y2, a), regr_syy(y2, a), regr_count(y2, a)
      FROM lf_data) s;

-- ---------------------------------------------------------------------------
-- options
-- ---------------------------------------------------------------------------
-- ridge, one feature: minimizes SSE + l2 * b^2 with a free intercept, so
-- b = Sxy / (Sxx + l2) and intercept = mean(y) - b * mean(x)
SELECT lf_close(lf_params(m), ARRAY[avg_y - (sxy / (sxx + 50)) * avg_x, sxy / (sxx + 50)], 1e-10) AS ridge_closed_form,
       (modelmgr.describe(m) -> 'attributes' ->> 'l2')::float8 AS l2
FROM (SELECT modelmgr.linear_fit(y2, ARRAY[a], '{"l2": 50}') AS m, regr_sxy(y2, a) AS sxy, regr_sxx(y2, a) AS sxx,
             avg(y2) AS avg_y, avg(a) AS avg_x
      FROM lf_data) s;
-- through the origin, one feature: b = sum(xy) / (sum(x^2) + l2)
SELECT lf_close(lf_params(m0), ARRAY[0, sxy / sxx], 1e-10) AS no_intercept_closed_form,
       lf_close(lf_params(m1), ARRAY[0, sxy / (sxx + 50)], 1e-10) AS no_intercept_ridge_closed_form,
       (modelmgr.describe(m0) -> 'attributes' ->> 'fit_intercept')::int AS fit_intercept
FROM (SELECT modelmgr.linear_fit(y2, ARRAY[a], '{"fit_intercept": false}') AS m0,
             modelmgr.linear_fit(y2, ARRAY[a], '{"fit_intercept": false, "l2": 50}') AS m1,
             sum(y2 * a) AS sxy, sum(a * a) AS sxx
      FROM lf_data) s;
-- through the origin on data whose truth has no intercept
SELECT round((d ->> 'intercept')::numeric, 6) AS intercept,
       round((d -> 'coefficients' ->> 'x1')::numeric, 6) AS x1,
       round((d -> 'coefficients' ->> 'x2')::numeric, 6) AS x2,
       round((d -> 'coefficients' ->> 'x3')::numeric, 6) AS x3
FROM (SELECT modelmgr.describe(modelmgr.linear_fit(y - 1, ARRAY[a, b, c], '{"fit_intercept": false}')) AS d
      FROM lf_data) s;
-- empty or NULL options are the defaults
SELECT lf_params(modelmgr.linear_fit(y2, ARRAY[a, b, c], '{}')) = lf_params(modelmgr.linear_fit(y2, ARRAY[a, b, c])) AS empty_options,
       lf_params(modelmgr.linear_fit(y2, ARRAY[a, b, c], NULL)) = lf_params(modelmgr.linear_fit(y2, ARRAY[a, b, c])) AS null_options,
       lf_params(modelmgr.linear_fit(y2, ARRAY[a, b, c], '{"l2": 0, "fit_intercept": true}')) = lf_params(modelmgr.linear_fit(y2, ARRAY[a, b, c])) AS explicit_defaults
FROM lf_data;
-- bad options
SELECT modelmgr.linear_fit(y, ARRAY[a, b], '{"l1": 0.1}') FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, ARRAY[a, b], '{"l2": -1}') FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, ARRAY[a, b], '{"l2": "0.1"}') FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, ARRAY[a, b], '{"fit_intercept": "no"}') FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, ARRAY[a, b], '[0.1]') FROM lf_data;
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- NULLs: rows with a NULL y, a NULL x or a NULL element in x are skipped
-- (train_rows counts the rows used); the fit on the rest is still exact
-- ---------------------------------------------------------------------------
SELECT d -> 'attributes' -> 'train_rows' AS train_rows,
       round((d ->> 'intercept')::numeric, 6) AS intercept,
       round((d -> 'coefficients' ->> 'x1')::numeric, 6) AS x1,
       round((d -> 'coefficients' ->> 'x2')::numeric, 6) AS x2,
       round((d -> 'coefficients' ->> 'x3')::numeric, 6) AS x3
FROM (SELECT modelmgr.describe(modelmgr.linear_fit(
                 CASE WHEN g % 10 = 0 THEN NULL ELSE y END,
                 CASE WHEN g % 10 = 7 THEN NULL
                      ELSE ARRAY[a, CASE WHEN g % 10 = 5 THEN NULL ELSE b END, c] END)) AS d
      FROM lf_data) s;
-- no usable row at all: NULL, like other aggregates
SELECT modelmgr.linear_fit(y, ARRAY[a, b]) IS NULL AS no_rows FROM lf_data WHERE false;
SELECT modelmgr.linear_fit(NULL, ARRAY[a, b]) IS NULL AS all_skipped FROM lf_data;

-- ---------------------------------------------------------------------------
-- bad input
-- ---------------------------------------------------------------------------
-- arrays of different lengths
SELECT modelmgr.linear_fit(y, CASE WHEN g = 500 THEN ARRAY[a, b] ELSE ARRAY[a, b, c] END) FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
-- two-dimensional, empty
SELECT modelmgr.linear_fit(y, ARRAY[[a, b], [c, c]]) FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, '{}'::float8[]) FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
-- NaN and infinity, in y and in x
SELECT modelmgr.linear_fit(CASE WHEN g = 500 THEN 'NaN' ELSE y END, ARRAY[a, b]) FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(CASE WHEN g = 500 THEN '-Infinity' ELSE y END, ARRAY[a, b]) FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, ARRAY[a, CASE WHEN g = 500 THEN 'NaN' ELSE b END]) FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, ARRAY[a, b, CASE WHEN g = 500 THEN 'Infinity' ELSE c END]) FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
-- fewer rows than parameters
SELECT modelmgr.linear_fit(y, ARRAY[a, b, c]) FROM lf_data WHERE g <= 3;
\echo :LAST_ERROR_SQLSTATE
-- rank deficient: the error names the element of x
SELECT modelmgr.linear_fit(y, ARRAY[a, 2, b]) FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, ARRAY[a, b, a]) FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, ARRAY[a, b, c, a - 2 * c]) FROM lf_data;
\echo :LAST_ERROR_SQLSTATE
-- a constant column is fine through the origin (it is the intercept then)
SELECT round((d -> 'coefficients' ->> 'x2')::numeric, 6) AS constant_column_coefficient
FROM (SELECT modelmgr.describe(modelmgr.linear_fit(y, ARRAY[a, 2, b, c], '{"fit_intercept": false}')) AS d FROM lf_data) s;
-- a ridge penalty makes collinear columns solvable; x3 = 2 * x1 gets twice
-- the coefficient of x1 (the minimum-norm split)
SELECT round((d -> 'coefficients' ->> 'x3')::numeric / (d -> 'coefficients' ->> 'x1')::numeric, 9) AS ratio_x3_x1,
       round((d -> 'coefficients' ->> 'x2')::numeric, 3) AS x2
FROM (SELECT modelmgr.describe(modelmgr.linear_fit(y, ARRAY[a, b, 2 * a], '{"l2": 0.001}')) AS d FROM lf_data) s;

-- ---------------------------------------------------------------------------
-- parallel: the aggregate runs as Partial Aggregate in workers and its
-- states are combined; the result equals the serial one to 1e-9 relative
-- ---------------------------------------------------------------------------
CREATE TABLE lf_big AS
SELECT g, g % 4 AS region, sin(g)::float8 AS a, cos(0.7 * g)::float8 AS b, ((g % 13) - 6) / 6.0::float8 AS c
FROM generate_series(1, 200000) g;
ALTER TABLE lf_big ADD COLUMN y float8;
UPDATE lf_big SET y = region + 2 * a - 3 * b + 0.5 * (region + 1) * c + 0.1 * sin(1.3 * g);
VACUUM ANALYZE lf_big;
-- the aggregate and save() are declared as the design says
SELECT p.proname, p.prokind, p.proparallel, p.provolatile
FROM pg_proc p
WHERE p.pronamespace = 'modelmgr'::regnamespace AND p.proname IN ('linear_fit', 'save')
ORDER BY p.proname, p.pronargs;

SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT modelmgr.linear_fit(y, ARRAY[a, b, c]) FROM lf_big;
CREATE TABLE lf_parallel AS SELECT modelmgr.linear_fit(y, ARRAY[a, b, c]) AS m FROM lf_big;
SELECT * FROM lf_plan('SELECT region, modelmgr.linear_fit(y, ARRAY[a, b, c]) FROM lf_big GROUP BY region');
CREATE TABLE lf_parallel_groups AS
SELECT region, modelmgr.linear_fit(y, ARRAY[a, b, c]) AS m FROM lf_big GROUP BY region;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT modelmgr.linear_fit(y, ARRAY[a, b, c]) FROM lf_big;
CREATE TABLE lf_serial AS SELECT modelmgr.linear_fit(y, ARRAY[a, b, c]) AS m FROM lf_big;
CREATE TABLE lf_serial_groups AS
SELECT region, modelmgr.linear_fit(y, ARRAY[a, b, c]) AS m FROM lf_big GROUP BY region;
RESET max_parallel_workers_per_gather;
SELECT lf_close(lf_params(p.m), lf_params(s.m), 1e-9) AS parallel_equals_serial,
       modelmgr.describe(p.m) -> 'attributes' -> 'train_rows' AS parallel_rows,
       modelmgr.describe(s.m) -> 'attributes' -> 'train_rows' AS serial_rows,
       abs((modelmgr.describe(p.m) -> 'attributes' ->> 'train_r2')::float8 -
           (modelmgr.describe(s.m) -> 'attributes' ->> 'train_r2')::float8) < 1e-9 AS same_r2
FROM lf_parallel p, lf_serial s;
SELECT region, lf_close(lf_params(p.m), lf_params(s.m), 1e-9) AS parallel_equals_serial,
       modelmgr.describe(p.m) -> 'attributes' -> 'train_rows' AS rows
FROM lf_parallel_groups p JOIN lf_serial_groups s USING (region)
ORDER BY region;

-- ---------------------------------------------------------------------------
-- one model per group with save(): save writes, so it is PARALLEL UNSAFE and
-- a statement that calls it never runs in parallel.  The pattern: aggregate
-- in one statement (parallel), save in the next.
-- ---------------------------------------------------------------------------
SET max_parallel_workers_per_gather = 2;
SELECT * FROM lf_plan('CREATE TEMP TABLE lf_fits AS
    SELECT region, modelmgr.linear_fit(y, ARRAY[a, b, c]) AS m FROM lf_big GROUP BY region');
CREATE TEMP TABLE lf_fits AS
SELECT region, modelmgr.linear_fit(y, ARRAY[a, b, c]) AS m FROM lf_big GROUP BY region;
SELECT region, modelmgr.save('lf_region_' || region, m, ARRAY['a', 'b', 'c']) AS version
FROM lf_fits ORDER BY region;
-- A materialized CTE gives the same models in one statement, but the whole
-- statement (aggregate included) then runs serially because of save().
SELECT * FROM lf_plan('WITH fits AS MATERIALIZED (
        SELECT region, modelmgr.linear_fit(y, ARRAY[a, b, c]) AS m FROM lf_big GROUP BY region)
    SELECT region, modelmgr.save(''lf_region_'' || region, m, ARRAY[''a'', ''b'', ''c'']) FROM fits');
WITH fits AS MATERIALIZED (
    SELECT region, modelmgr.linear_fit(y, ARRAY[a, b, c]) AS m FROM lf_big GROUP BY region)
SELECT region, modelmgr.save('lf_region_' || region, m, ARRAY['a', 'b', 'c']) AS version
FROM fits ORDER BY region;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
-- each region's truth: intercept = region, c's coefficient 0.5 * (region + 1)
SELECT region,
       round((d ->> 'intercept')::numeric, 2) AS intercept,
       round((d -> 'coefficients' ->> 'a')::numeric, 2) AS a,
       round((d -> 'coefficients' ->> 'b')::numeric, 2) AS b,
       round((d -> 'coefficients' ->> 'c')::numeric, 2) AS c,
       lf_close(lf_params(modelmgr.load('lf_region_' || region, 1)),
                lf_params(modelmgr.load('lf_region_' || region, 2)), 1e-9) AS versions_agree
FROM generate_series(0, 3) region,
     modelmgr.describe(modelmgr.load('lf_region_' || region, 1)) d
ORDER BY region;
-- the saved models predict by feature name, deployed on first save
SELECT region, abs(modelmgr.predict('lf_region_' || region, ARRAY[1, 2, 3]) -
                   (lf_params(m))[1] - (lf_params(m))[2] * 1 - (lf_params(m))[3] * 2 - (lf_params(m))[4] * 3) < 1e-9 AS predicts
FROM lf_fits ORDER BY region;
-- save() checks the feature names against the model
SELECT modelmgr.save('lf_bad', m, ARRAY['a', 'b']) FROM lf_fits WHERE region = 0;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save('lf_bad', m, ARRAY['a', 'b', 'a']) FROM lf_fits WHERE region = 0;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save('lf_bad', NULL::modelmgr.model, ARRAY['a', 'b', 'c']);
\echo :LAST_ERROR_SQLSTATE
-- without names the features are x1..xp
SELECT modelmgr.save('lf_unnamed', m) FROM lf_fits WHERE region = 0;
SELECT jsonb_object_keys(modelmgr.describe(modelmgr.load('lf_unnamed')) -> 'coefficients') AS feature ORDER BY 1;

-- ---------------------------------------------------------------------------
-- the state type modelmgr.linreg_state, reached through an aggregate with
-- the same transition function and no final function
-- ---------------------------------------------------------------------------
CREATE AGGREGATE lf_state(float8, float8[]) (
    SFUNC = modelmgr.linreg_transfn, STYPE = modelmgr.linreg_state);
CREATE AGGREGATE lf_state(float8, float8[], jsonb) (
    SFUNC = modelmgr.linreg_transfn, STYPE = modelmgr.linreg_state);
CREATE TABLE lf_states AS
SELECT 'all' AS part, lf_state(y2, ARRAY[a, b, c]) AS s FROM lf_data
UNION ALL SELECT 'first', lf_state(y2, ARRAY[a, b, c]) FROM lf_data WHERE g <= 400
UNION ALL SELECT 'rest', lf_state(y2, ARRAY[a, b, c]) FROM lf_data WHERE g > 400
UNION ALL SELECT 'big', lf_state(y, ARRAY[a, b, c]) FROM lf_big
UNION ALL SELECT 'ridge', lf_state(y2, ARRAY[a, b, c], '{"l2": 1}') FROM lf_data
UNION ALL SELECT 'one', lf_state(y2, ARRAY[a]) FROM lf_data;
-- finalizing the state is the aggregate
SELECT modelmgr.linreg_final(s)::bytea = (SELECT modelmgr.linear_fit(y2, ARRAY[a, b, c])::bytea FROM lf_data) AS final_is_linear_fit
FROM lf_states WHERE part = 'all';
-- the text form is exact: the state read back finalizes to the same bytes,
-- and prints the same text; it is compact (its size does not grow with rows)
SELECT part,
       s::text::modelmgr.linreg_state::text = s::text AS text_round_trip,
       modelmgr.linreg_final(s::text::modelmgr.linreg_state)::bytea = modelmgr.linreg_final(s)::bytea AS same_model,
       length(s::text) AS text_length
FROM lf_states WHERE part IN ('all', 'big', 'ridge') ORDER BY part;
-- combining two partial states gives the fit of all rows (1e-9 relative)
SELECT lf_close(lf_params(modelmgr.linreg_final(modelmgr.linreg_combine(f.s, r.s))),
                lf_params(modelmgr.linreg_final(a.s)), 1e-9) AS combined_equals_whole,
       modelmgr.describe(modelmgr.linreg_final(modelmgr.linreg_combine(f.s, r.s))) -> 'attributes' -> 'train_rows' AS rows
FROM lf_states f, lf_states r, lf_states a
WHERE f.part = 'first' AND r.part = 'rest' AND a.part = 'all';
-- combining leaves its inputs alone outside an aggregate
SELECT modelmgr.linreg_combine(f.s, r.s)::text <> f.s::text AS new_state,
       f.s::text = (SELECT s::text FROM lf_states WHERE part = 'first') AS input_unchanged
FROM lf_states f, lf_states r WHERE f.part = 'first' AND r.part = 'rest';
-- NULL is the empty state
SELECT modelmgr.linreg_combine(s, NULL)::text = s::text AS null_right,
       modelmgr.linreg_combine(NULL, s)::text = s::text AS null_left,
       modelmgr.linreg_combine(NULL, NULL) IS NULL AS both_null,
       modelmgr.linreg_final(NULL) IS NULL AS final_null
FROM lf_states WHERE part = 'first';
-- states that cannot be combined
SELECT modelmgr.linreg_combine(a.s, o.s) FROM lf_states a, lf_states o WHERE a.part = 'all' AND o.part = 'one';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linreg_combine(a.s, o.s) FROM lf_states a, lf_states o WHERE a.part = 'all' AND o.part = 'ridge';
\echo :LAST_ERROR_SQLSTATE
-- the transition function only runs inside an aggregate
SELECT modelmgr.linreg_transfn(NULL, 1, ARRAY[1.0]);
\echo :LAST_ERROR_SQLSTATE
-- binary send/recv through COPY (FORMAT binary) to a server-side file
SELECT '/tmp/mm_regress_linear_fit_' || pg_backend_pid() || '.copy' AS copyfile \gset
SELECT 'cat > ' || :'copyfile' AS copy_to,
       'cat ' || :'copyfile' || ' && rm -f ' || :'copyfile' AS copy_from_rm \gset
CREATE TABLE lf_states_copy (LIKE lf_states);
COPY lf_states TO PROGRAM :'copy_to' (FORMAT binary);
COPY lf_states_copy FROM PROGRAM :'copy_from_rm' (FORMAT binary);
SELECT count(*) AS states, bool_and(c.s::text = o.s::text) AS binary_round_trip
FROM lf_states o JOIN lf_states_copy c USING (part);
-- bad text is refused with 22P02: not base64, base64 of garbage, truncated,
-- a non-finite l2 in the header, a NaN in the body, trailing bytes
SELECT 'not a state'::modelmgr.linreg_state;
\echo :LAST_ERROR_SQLSTATE
SELECT 'AAAA'::modelmgr.linreg_state;
\echo :LAST_ERROR_SQLSTATE
SELECT left(s::text, 96)::modelmgr.linreg_state FROM lf_states WHERE part = 'all';
\echo :LAST_ERROR_SQLSTATE
SELECT translate(encode(overlay(decode(s::text, 'base64') PLACING '\x000000000000f87f'::bytea FROM 5 FOR 8), 'base64'),
                 E'\n', '')::modelmgr.linreg_state
FROM lf_states WHERE part = 'all';
\echo :LAST_ERROR_SQLSTATE
SELECT translate(encode(overlay(decode(s::text, 'base64') PLACING '\x000000000000f87f'::bytea FROM 41 FOR 8), 'base64'),
                 E'\n', '')::modelmgr.linreg_state
FROM lf_states WHERE part = 'all';
\echo :LAST_ERROR_SQLSTATE
SELECT (s::text || 'AAAA')::modelmgr.linreg_state FROM lf_states WHERE part = 'all';
\echo :LAST_ERROR_SQLSTATE

-- clean up
SELECT modelmgr.drop_model(name) FROM modelmgr.models
WHERE name = ANY (ARRAY['lf_region_0', 'lf_region_1', 'lf_region_2', 'lf_region_3', 'lf_unnamed'])
ORDER BY name;
DROP AGGREGATE lf_state(float8, float8[]);
DROP AGGREGATE lf_state(float8, float8[], jsonb);
DROP TABLE IF EXISTS lf_data, lf_big, lf_parallel, lf_serial, lf_parallel_groups, lf_serial_groups, lf_fits,
    lf_states, lf_states_copy;
DROP FUNCTION lf_close(float8[], float8[], float8), lf_params(modelmgr.model), lf_plan(text);
