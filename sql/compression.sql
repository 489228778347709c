-- compression: MLPs on scikit-learn's digits, then prune(), quantize() and
-- compare(): new versions with their lineage, sizes, non-zero counts and
-- held-out metrics, and the errors bad input gets.  The accuracy and size
-- targets at full scale are bench/compress.sh's.  Accuracies are shown as
-- thresholds or rounded: the MLPs train through OpenBLAS gemm, whose last
-- bits differ between CPUs.
\set VERBOSITY default

-- 1797 images of 8 x 8 pixels p0 .. p63 (0 .. 16) and their digit 0 .. 9
-- (test/data/digits/make_digits.py)
SELECT format('CREATE TABLE cm_digits (id integer PRIMARY KEY, %s, digit integer)',
              string_agg(format('p%s float8', i), ', ' ORDER BY i))
FROM generate_series(0, 63) i \gexec
\copy cm_digits FROM 'test/data/digits/digits.csv' WITH (FORMAT csv, HEADER)
SELECT count(*) AS rows, count(DISTINCT digit) AS classes, min(p36), max(p36), sum(p36) FROM cm_digits;

-- ---------------------------------------------------------------------------
-- Training: the default MLP (one hidden layer of 100 relu units, adam)
-- reaches 0.95 test accuracy; an MLP regressor fits a smooth function
-- ---------------------------------------------------------------------------
SELECT name, version, algorithm, task, train_rows, test_rows, deployed,
       (metrics #>> '{test,accuracy}')::float8 >= 0.95 AS test_accuracy_at_least_95
FROM modelmgr.train('cm_digits', 'mlp_classifier', 'cm_digits', 'digit', test_fraction => 0.25, seed => 0);
-- features => NULL: the 64 pixels (id is the key); the effective parameters
SELECT cardinality(string_to_array(features, ', ')) AS features, params
FROM modelmgr.version_history WHERE model = 'cm_digits' AND version = 1;

CREATE TABLE cm_smooth AS
SELECT g AS id, x1, x2, x1 * x2 + sin(2 * x1) + 0.5 * x2 ^ 2 AS y
FROM (SELECT g, sin(g * 0.37) AS x1, cos(g * 0.61) AS x2 FROM generate_series(1, 600) g) s;
SELECT name, version, algorithm, task, train_rows, test_rows,
       (metrics #>> '{test,r2}')::float8 > 0.9 AS test_r2_above_09
FROM modelmgr.train('cm_smooth', 'mlp_regressor', 'cm_smooth', 'y', ARRAY['x1', 'x2'],
                    params => '{"hidden_layers": "16"}');
-- predict on rows: close to the target everywhere, and NULL classes
SELECT sqrt(avg((modelmgr.predict('cm_smooth', s) - y) ^ 2)) < 0.3 AS rmse_all_rows_below_03,
       modelmgr.classes('cm_smooth') IS NULL AS no_classes
FROM cm_smooth s;

-- ---------------------------------------------------------------------------
-- Determinism: the same seed gives the same artifact, byte for byte; another
-- seed gives another split and other initial weights
-- ---------------------------------------------------------------------------
SELECT version, test_rows
FROM modelmgr.train('cm_seed', 'mlp_classifier', 'cm_digits', 'digit',
                    params => '{"hidden_layers": "16", "max_epochs": 50, "tol": 0.01, "n_iter_no_change": 2}',
                    test_fraction => 0.25, seed => 0, deploy => 'never')
UNION ALL
SELECT version, test_rows
FROM modelmgr.train('cm_seed', 'mlp_classifier', 'cm_digits', 'digit',
                    params => '{"hidden_layers": "16", "max_epochs": 50, "tol": 0.01, "n_iter_no_change": 2}',
                    test_fraction => 0.25, seed => 0, deploy => 'never')
UNION ALL
SELECT version, test_rows
FROM modelmgr.train('cm_seed', 'mlp_classifier', 'cm_digits', 'digit',
                    params => '{"hidden_layers": "16", "max_epochs": 50, "tol": 0.01, "n_iter_no_change": 2}',
                    test_fraction => 0.25, seed => 1, deploy => 'never')
ORDER BY 1;
SELECT a.seed AS seed_a, b.seed AS seed_b, a.checksum = b.checksum AS same_checksum,
       a.artifact = b.artifact AS same_artifact
FROM modelmgr.model_versions a
JOIN modelmgr.model_versions b ON b.model_id = a.model_id
WHERE a.model_id = (SELECT id FROM modelmgr.models WHERE name = 'cm_seed')
  AND (a.version, b.version) IN ((1, 2), (1, 3))
ORDER BY b.version;

-- ---------------------------------------------------------------------------
-- predict, predict_label and predict_proba on MLP rows: the label is the
-- digit (an integer target: predict gives the label itself), probabilities
-- in classes() order sum to 1 and their largest is the label's
-- ---------------------------------------------------------------------------
SELECT modelmgr.classes('cm_digits');
SELECT id, digit, modelmgr.predict('cm_digits', d) AS predict, modelmgr.predict_label('cm_digits', d) AS label,
       round(sum_p::numeric, 6) AS sum_proba,
       (modelmgr.classes('cm_digits'))[argmax] = modelmgr.predict_label('cm_digits', d) AS argmax_is_label
FROM cm_digits d,
     LATERAL (SELECT sum(p) AS sum_p, (array_agg(i ORDER BY p DESC, i))[1] AS argmax
              FROM unnest(modelmgr.predict_proba('cm_digits', d)) WITH ORDINALITY AS u(p, i)) pr
WHERE id <= 10 ORDER BY id;
-- the array form takes the pixels in the model's order
SELECT modelmgr.predict_label('cm_digits', ARRAY[p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12,
         p13, p14, p15, p16, p17, p18, p19, p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p30, p31, p32,
         p33, p34, p35, p36, p37, p38, p39, p40, p41, p42, p43, p44, p45, p46, p47, p48, p49, p50, p51, p52,
         p53, p54, p55, p56, p57, p58, p59, p60, p61, p62, p63]) = modelmgr.predict_label('cm_digits', d) AS same
FROM cm_digits d WHERE id = 3;

-- ---------------------------------------------------------------------------
-- prune: 7400 weights (W1 100 x 64, W2 10 x 100) and 110 biases, never
-- pruned.  Every compressed version is scored with its parent on the
-- parent's 458 held-out rows, rebuilt from the recorded split.
-- ---------------------------------------------------------------------------
-- magnitude, each weight tensor on its own: 5120 of 6400 and 800 of 1000
-- weights become zero, 1590 non-zero parameters are left, stored as CSR
SELECT name, version, parent_version, operation, size_bytes, parent_size_bytes,
       size_bytes < parent_size_bytes AS smaller, metrics -> 'params' AS params,
       metrics -> 'nonzero' AS nonzero, metrics -> 'parent_nonzero' AS parent_nonzero,
       metrics ->> 'dtype' AS dtype
FROM modelmgr.prune('cm_digits', 1, 'magnitude', 0.8);
SELECT t ->> 'name' AS tensor, t -> 'rows' AS rows, t -> 'cols' AS cols, t ->> 'dtype' AS dtype,
       t ->> 'layout' AS layout, t -> 'stored' AS stored
FROM jsonb_array_elements(modelmgr.describe(modelmgr.load('cm_digits', 2)) -> 'tensors') t;
-- global: one threshold over both tensors; the same total, spread by magnitude
SELECT version, parent_version, operation, size_bytes, size_bytes < parent_size_bytes AS smaller,
       metrics -> 'params' AS params, metrics -> 'nonzero' AS nonzero
FROM modelmgr.prune('cm_digits', 1, 'global_magnitude', 0.8);
SELECT sum((t ->> 'stored')::int) FILTER (WHERE t ->> 'name' IN ('W1', 'W2')) AS weights_stored,
       string_agg(t ->> 'layout', ', ' ORDER BY t ->> 'name') AS layouts
FROM jsonb_array_elements(modelmgr.describe(modelmgr.load('cm_digits', 3)) -> 'tensors') t;
-- structured: half of the 100 hidden units go, with their bias and their
-- column of W2; the tensors shrink and stay dense
SELECT version, parent_version, operation, size_bytes, size_bytes < parent_size_bytes AS smaller,
       metrics -> 'params' AS params, metrics -> 'nonzero' AS nonzero
FROM modelmgr.prune('cm_digits', 1, 'structured', 0.5);
SELECT t ->> 'name' AS tensor, t -> 'rows' AS rows, t -> 'cols' AS cols, t ->> 'layout' AS layout
FROM jsonb_array_elements(modelmgr.describe(modelmgr.load('cm_digits', 4)) -> 'tensors') t;
-- what the metrics hold: both versions on the same held-out rows, the parent's
-- as recorded at training, and delta = version - parent
SELECT v.version, jsonb_object_keys(v.metrics) AS key
FROM modelmgr.model_versions v
WHERE v.model_id = (SELECT id FROM modelmgr.models WHERE name = 'cm_digits') AND v.version = 2
ORDER BY 2;
SELECT c.version, c.metrics #> '{test,rows}' AS test_rows,
       c.metrics #> '{parent_test,accuracy}' = p.metrics #> '{test,accuracy}' AS parent_as_recorded,
       abs((c.metrics #>> '{delta,accuracy}')::float8
           - ((c.metrics #>> '{test,accuracy}')::float8 - (c.metrics #>> '{parent_test,accuracy}')::float8)) < 1e-12 AS delta_is_difference,
       (c.metrics #>> '{test,accuracy}')::float8 > 0.5 AS accuracy_above_05
FROM modelmgr.model_versions c
JOIN modelmgr.model_versions p ON p.model_id = c.model_id AND p.version = c.parent_version
WHERE c.model_id = (SELECT id FROM modelmgr.models WHERE name = 'cm_digits')
ORDER BY 1;

-- ---------------------------------------------------------------------------
-- quantize: int8 symmetric per channel (the defaults), int8 asymmetric per
-- tensor, float16; biases stay float64.  Weights that round to zero are no
-- longer counted as non-zero.  int8 loses (almost) nothing here.
-- ---------------------------------------------------------------------------
SELECT version, parent_version, operation, size_bytes, parent_size_bytes,
       round(size_bytes::numeric / parent_size_bytes, 2) AS ratio, metrics ->> 'dtype' AS dtype,
       metrics -> 'params' AS params, (metrics ->> 'nonzero')::int <= 7510 AS nonzero_at_most_params,
       abs((metrics #>> '{delta,accuracy}')::float8) <= 0.01 AS accuracy_within_1_point
FROM modelmgr.quantize('cm_digits', 1);
SELECT version, parent_version, operation, size_bytes, round(size_bytes::numeric / parent_size_bytes, 2) AS ratio,
       metrics ->> 'dtype' AS dtype, abs((metrics #>> '{delta,accuracy}')::float8) <= 0.01 AS accuracy_within_1_point
FROM modelmgr.quantize('cm_digits', 1, 'int8', 'asymmetric', 'tensor');
SELECT version, parent_version, operation, size_bytes, round(size_bytes::numeric / parent_size_bytes, 2) AS ratio,
       metrics ->> 'dtype' AS dtype, abs((metrics #>> '{delta,accuracy}')::float8) <= 0.01 AS accuracy_within_1_point
FROM modelmgr.quantize('cm_digits', 1, dtype => 'float16');
SELECT t ->> 'name' AS tensor, t ->> 'dtype' AS dtype, t ->> 'layout' AS layout
FROM jsonb_array_elements(modelmgr.describe(modelmgr.load('cm_digits', 5)) -> 'tensors') t;
-- the int8 version predicts through its own kernels, as a loaded value and
-- deployed; its labels agree with the float64 version's on nearly every row
SELECT count(*) FILTER (WHERE modelmgr.predict_label(modelmgr.load('cm_digits', 5), d)
                              = modelmgr.predict_label(modelmgr.load('cm_digits', 1), d)) >= 1780 AS agree_on_99_percent
FROM cm_digits d;
SELECT modelmgr.deploy('cm_digits', 5, 'int8 test');
SELECT bool_and(modelmgr.predict_label('cm_digits', d) = modelmgr.predict_label(modelmgr.load('cm_digits', 5), d))
       AS deployed_int8_is_used
FROM cm_digits d WHERE id <= 100;
SELECT modelmgr.deploy('cm_digits', 1, 'back to float64');

-- ---------------------------------------------------------------------------
-- prune, then quantize: the lineage is in version_history
-- ---------------------------------------------------------------------------
SELECT version, parent_version, operation, size_bytes, metrics -> 'params' AS params,
       (metrics ->> 'nonzero')::int <= 1590 AS nonzero_at_most_pruned
FROM modelmgr.quantize('cm_digits', 2);
SELECT version, parent_version, operation, algorithm, params, size_bytes, is_deployed
FROM modelmgr.version_history WHERE model = 'cm_digits' ORDER BY version;

-- ---------------------------------------------------------------------------
-- compare: one property per row, change = v2 - v1 (test metrics rounded,
-- the time per prediction only shown to be measured)
-- ---------------------------------------------------------------------------
SELECT property,
       CASE WHEN property = 'predict_us_per_row' THEN (v1_value::float8 > 0)::text
            WHEN property LIKE 'test\_%' THEN round(v1_value::numeric, 2)::text ELSE v1_value END AS v1,
       CASE WHEN property = 'predict_us_per_row' THEN (v2_value::float8 > 0)::text
            WHEN property LIKE 'test\_%' THEN round(v2_value::numeric, 2)::text ELSE v2_value END AS v2,
       CASE WHEN property = 'predict_us_per_row' THEN NULL
            WHEN property LIKE 'test\_%' THEN round(change::numeric, 2) ELSE change::numeric END AS change
FROM modelmgr.compare('cm_digits', 1, 4);
SELECT property, v1_value, v2_value, change
FROM modelmgr.compare('cm_digits', 1, 5, sample_rows => 50)
WHERE property IN ('algorithm', 'dtype', 'size_bytes', 'params');

-- ---------------------------------------------------------------------------
-- Linear models: magnitude pruning zeroes the smallest coefficients (the
-- intercept is never pruned); weights() shows exact zeros
-- ---------------------------------------------------------------------------
CREATE TABLE cm_lin AS
SELECT g AS id, sin(g) AS a, cos(g) AS b, sin(3 * g) AS c,
       1 + 3 * sin(g) - 0.01 * cos(g) + 0.5 * sin(3 * g) + 0.001 * sin(17 * g) AS y
FROM generate_series(1, 200) g;
SELECT version, (metrics #>> '{test,r2}')::float8 > 0.999 AS fits
FROM modelmgr.train('cm_lin', 'linear_regression', 'cm_lin', 'y', ARRAY['a', 'b', 'c']);
-- 3 weights: sparsity 0.34 zeroes round(1.02) = 1 of them, 0.5 round(1.5) = 2
-- (half to even)
SELECT version, parent_version, operation, metrics -> 'params' AS params, metrics -> 'nonzero' AS nonzero,
       size_bytes <= parent_size_bytes AS not_larger
FROM modelmgr.prune('cm_lin', 1, 'magnitude', 0.34);
SELECT version, parent_version, operation, metrics -> 'params' AS params, metrics -> 'nonzero' AS nonzero
FROM modelmgr.prune('cm_lin', 1, 'magnitude', 0.5);
SELECT w.feature, round(w.weight::numeric, 2) AS v1, round(w2.weight::numeric, 2) AS v2,
       w2.weight = 0 AS v2_exact_zero, round(w3.weight::numeric, 2) AS v3, w3.weight = 0 AS v3_exact_zero
FROM modelmgr.weights('cm_lin', 1) w
JOIN modelmgr.weights('cm_lin', 2) w2 USING (feature)
JOIN modelmgr.weights('cm_lin', 3) w3 USING (feature)
ORDER BY w.feature;
-- structured pruning removes hidden units, which linear models do not have
SELECT * FROM modelmgr.prune('cm_lin', 1, 'structured', 0.5);
\echo :LAST_ERROR_SQLSTATE
-- a sparsity below 1 can still round to every weight: refused
SELECT * FROM modelmgr.prune('cm_lin', 1, 'magnitude', 0.9);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.prune('cm_lin', 1, 'global_magnitude', 0.9999);
\echo :LAST_ERROR_SQLSTATE
-- quantizing a linear model works the same way
SELECT version, parent_version, operation, metrics ->> 'dtype' AS dtype, metrics -> 'nonzero' AS nonzero
FROM modelmgr.quantize('cm_lin', 1);

-- ---------------------------------------------------------------------------
-- Bad input
-- ---------------------------------------------------------------------------
SELECT * FROM modelmgr.prune('cm_digits', 1, 'magnitude', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.prune('cm_digits', 1, 'magnitude', -0.1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.prune('cm_digits', 1, 'magnitude', 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.prune('cm_digits', 1, 'random', 0.5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.prune('cm_digits', 1, NULL, 0.5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.prune('cm_digits', NULL, 'magnitude', 0.5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.prune('cm_digits', 99, 'magnitude', 0.5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.prune('cm_no_such_model', 1, 'magnitude', 0.5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.quantize('cm_digits', 1, 'int4');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.quantize('cm_digits', 1, 'int8', 'affine');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.quantize('cm_digits', 1, 'int8', 'symmetric', 'row');
\echo :LAST_ERROR_SQLSTATE
-- already quantized: int8 and float16 versions
SELECT * FROM modelmgr.quantize('cm_digits', 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.quantize('cm_digits', 7, 'int8');
\echo :LAST_ERROR_SQLSTATE
-- int8 weights cannot be pruned (prune first, then quantize)
SELECT * FROM modelmgr.prune('cm_digits', 5, 'magnitude', 0.5);
\echo :LAST_ERROR_SQLSTATE
-- nothing was saved by the failures
SELECT last_version FROM modelmgr.models WHERE name = 'cm_digits';

-- ---------------------------------------------------------------------------
-- The parent's source relation is gone: name another one with the same
-- columns (here the same rows, so the same held-out rows)
-- ---------------------------------------------------------------------------
CREATE TABLE cm_digits_old (LIKE cm_digits INCLUDING ALL);
INSERT INTO cm_digits_old SELECT * FROM cm_digits;
SELECT version, test_rows
FROM modelmgr.train('cm_old', 'mlp_classifier', 'cm_digits_old', 'digit',
                    params => '{"hidden_layers": "16", "max_epochs": 50, "tol": 0.01, "n_iter_no_change": 2}',
                    test_fraction => 0.25, seed => 0);
DROP TABLE cm_digits_old;
SELECT * FROM modelmgr.prune('cm_old', 1, 'magnitude', 0.5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.quantize('cm_old', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT version, parent_version, operation, metrics #> '{test,rows}' AS test_rows,
       metrics #> '{parent_test,accuracy}' = (SELECT metrics #> '{test,accuracy}' FROM modelmgr.model_versions
                                              WHERE model_id = (SELECT id FROM modelmgr.models WHERE name = 'cm_old')
                                                AND version = 1) AS parent_as_recorded
FROM modelmgr.prune('cm_old', 1, 'magnitude', 0.5, relation => 'cm_digits');
SELECT version, parent_version, operation, metrics #> '{test,rows}' AS test_rows
FROM modelmgr.quantize('cm_old', 1, relation => 'cm_digits');
-- the version keeps its recorded source
SELECT version, source_relation FROM modelmgr.version_history WHERE model = 'cm_old' ORDER BY 1;
-- a relation without the training columns
CREATE TABLE cm_pixels (id integer, p0 float8);
SELECT * FROM modelmgr.prune('cm_old', 1, 'magnitude', 0.5, relation => 'cm_pixels');
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- Only the owner adds versions; USE is enough to compare
-- ---------------------------------------------------------------------------
CREATE ROLE regress_compress_user;
GRANT USAGE ON SCHEMA modelmgr TO regress_compress_user;
GRANT SELECT ON cm_digits TO regress_compress_user;
SET ROLE regress_compress_user;
SELECT * FROM modelmgr.prune('cm_digits', 1, 'magnitude', 0.5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.quantize('cm_digits', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT property FROM modelmgr.compare('cm_digits', 1, 5);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT modelmgr.grant_use('cm_digits', 'regress_compress_user');
SET ROLE regress_compress_user;
SELECT count(*) AS properties FROM modelmgr.compare('cm_digits', 1, 5, sample_rows => 20);
SELECT * FROM modelmgr.prune('cm_digits', 1, 'magnitude', 0.5);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT last_version FROM modelmgr.models WHERE name = 'cm_digits';

-- ---------------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------------
SELECT modelmgr.drop_model(name) FROM modelmgr.models WHERE name LIKE 'cm\_%' ORDER BY name;
DROP TABLE cm_digits, cm_smooth, cm_lin, cm_pixels;
REVOKE USAGE ON SCHEMA modelmgr FROM regress_compress_user;
DROP ROLE regress_compress_user;
