-- classifier_behaviour: what predict, predict_label, predict_proba, classes,
-- weights, evaluate and retrain do with classifiers, categorical features
-- and NULLs, and the errors bad input gets (accuracy: sql/classifiers.sql)
\set VERBOSITY default

-- 300 deterministic rows: two numbers, a color (red 150, green 100, blue 50
-- rows) and a noisy score; the same labels as boolean, integer and text
CREATE TABLE cb_data AS
SELECT g, x1, x2, color, s,
       s > 0.3 AS yb,
       CASE WHEN s > 0.3 THEN 10 ELSE 9 END AS yi,
       CASE WHEN s > 0.5 THEN 'high' WHEN s < -0.3 THEN 'low' ELSE 'mid' END AS yt
FROM (SELECT g, x1, x2, color,
             x1 + 0.5 * x2 + 0.4 * sin(7 * g)
             + CASE color WHEN 'red' THEN 0.8 WHEN 'blue' THEN -0.8 ELSE 0 END AS s
      FROM (SELECT g, sin(g) AS x1, cos(1.3 * g) AS x2,
                   (ARRAY['red', 'red', 'red', 'green', 'green', 'blue'])[1 + g % 6] AS color
            FROM generate_series(1, 300) g) a) b;
SELECT color, count(*), sum(yb::int) AS yb_true FROM cb_data GROUP BY 1 ORDER BY 1;
SELECT yt, count(*) FROM cb_data GROUP BY 1 ORDER BY 1;

-- the three new algorithms are in the catalog with their params
SELECT algorithm, task, jsonb_object_keys(params) AS param
FROM modelmgr.algorithms
WHERE algorithm IN ('logistic_regression', 'softmax_regression', 'linear_svm') ORDER BY 1, 3;

-- ---------------------------------------------------------------------------
-- boolean, integer and text targets
-- ---------------------------------------------------------------------------
SELECT name, version, algorithm, task, train_rows + test_rows AS rows
FROM modelmgr.train('cb_bool', 'logistic_regression', 'cb_data', 'yb', ARRAY['x1', 'x2', 'color']);
SELECT name, version, algorithm, task, train_rows + test_rows AS rows
FROM modelmgr.train('cb_int', 'logistic_regression', 'cb_data', 'yi', ARRAY['x1', 'x2']);
SELECT name, version, algorithm, task, train_rows + test_rows AS rows
FROM modelmgr.train('cb_text', 'softmax_regression', 'cb_data', 'yt', ARRAY['x1', 'x2', 'color']);
SELECT name, version, algorithm, task, train_rows + test_rows AS rows
FROM modelmgr.train('cb_svm', 'linear_svm', 'cb_data', 'yt', ARRAY['x1', 'x2', 'color']);

-- classes: labels spelled as the target cast to text; integers in numeric
-- order (9 before 10), text sorted
SELECT m AS model, modelmgr.classes(m) AS classes
FROM unnest(ARRAY['cb_bool', 'cb_int', 'cb_text', 'cb_svm']) m;

-- predict gives the label for an integer target, 0/1 for a boolean one and
-- the 0-based index into classes() for a text one; probabilities in the
-- order of classes()
CREATE TABLE cb_rows (x1 float8, x2 float8, color text);
INSERT INTO cb_rows VALUES (0.9, 0.5, 'red'), (-0.9, -0.5, 'blue'), (0.1, 0.0, 'green');
SELECT r.*, modelmgr.predict('cb_bool', r) AS predict, modelmgr.predict_label('cb_bool', r) AS label,
       (SELECT array_agg(round(p::numeric, 4)) FROM unnest(modelmgr.predict_proba('cb_bool', r)) p) AS proba
FROM cb_rows r;
SELECT r.*, modelmgr.predict('cb_int', r) AS predict, modelmgr.predict_label('cb_int', r) AS label,
       (SELECT array_agg(round(p::numeric, 4)) FROM unnest(modelmgr.predict_proba('cb_int', r)) p) AS proba
FROM cb_rows r;
SELECT r.*, modelmgr.predict('cb_text', r) AS predict, modelmgr.predict_label('cb_text', r) AS label,
       (SELECT array_agg(round(p::numeric, 4)) FROM unnest(modelmgr.predict_proba('cb_text', r)) p) AS proba
FROM cb_rows r;
SELECT r.*, modelmgr.predict('cb_svm', r) AS predict, modelmgr.predict_label('cb_svm', r) AS label
FROM cb_rows r;
-- an array in the features' order, for a model without categorical features
SELECT modelmgr.predict('cb_int', ARRAY[0.9, 0.5]) AS predict,
       modelmgr.predict_label('cb_int', ARRAY[0.9, 0.5]) AS label,
       (SELECT array_agg(round(p::numeric, 4))
        FROM unnest(modelmgr.predict_proba('cb_int', ARRAY[0.9, 0.5])) p) AS proba;

-- on every row: probabilities sum to 1, the label is the most probable
-- class, and predict agrees with predict_label
SELECT m.model,
       bool_and(abs((SELECT sum(p) FROM unnest(pr) p) - 1) < 1e-12) AS sums_to_1,
       bool_and(lbl = cls[(SELECT i FROM unnest(pr) WITH ORDINALITY u(p, i)
                           ORDER BY p DESC LIMIT 1)]) AS label_is_argmax,
       bool_and(CASE m.model
                WHEN 'cb_bool' THEN pred = lbl::boolean::int
                WHEN 'cb_int' THEN pred = lbl::int
                ELSE cls[pred::int + 1] = lbl END) AS predict_matches_label
FROM (VALUES ('cb_bool'), ('cb_int'), ('cb_text')) m(model),
     LATERAL (SELECT modelmgr.predict_proba(m.model, d) AS pr, modelmgr.predict_label(m.model, d) AS lbl,
                     modelmgr.predict(m.model, d) AS pred, modelmgr.classes(m.model) AS cls
              FROM cb_data d) x
GROUP BY 1 ORDER BY 1;

-- ---------------------------------------------------------------------------
-- weights(): original units, one row per class and input column (softmax
-- and one-vs-rest SVM: every class; binary: the second class only)
-- ---------------------------------------------------------------------------
SELECT m AS model, w.class, count(*) AS weights,
       string_agg(w.feature || COALESCE('=' || w.category, ''), ', ' ORDER BY w.n) AS columns
FROM unnest(ARRAY['cb_bool', 'cb_text', 'cb_svm']) m,
     LATERAL modelmgr.weights(m) WITH ORDINALITY w(feature, category, class, weight, group_key, n)
GROUP BY 1, 2 ORDER BY 1, 2;

-- the weights reproduce the predictions: softmax of the linear scores is
-- predict_proba, the SVM's largest score is predict_label (its features are
-- standardized inside; the weights are in the original units)
SELECT model,
       bool_and(model <> 'cb_text' OR abs(p_weights - p_model) < 1e-12) AS proba_from_weights,
       bool_and(class <> label OR score = best) AS label_from_weights
FROM (SELECT m.model, sc.class, sc.score,
             exp(sc.score) / sum(exp(sc.score)) OVER (PARTITION BY m.model, d.g) AS p_weights,
             max(sc.score) OVER (PARTITION BY m.model, d.g) AS best,
             CASE WHEN m.model = 'cb_text'
                  THEN (modelmgr.predict_proba(m.model, d))[array_position(modelmgr.classes(m.model), sc.class)]
             END AS p_model,
             modelmgr.predict_label(m.model, d) AS label
      FROM (VALUES ('cb_text'), ('cb_svm')) m(model), cb_data d,
           LATERAL (SELECT w.class,
                           sum(CASE w.feature WHEN '(intercept)' THEN w.weight
                                              WHEN 'x1' THEN w.weight * d.x1
                                              WHEN 'x2' THEN w.weight * d.x2
                                              WHEN 'color' THEN CASE WHEN w.category = d.color
                                                                     THEN w.weight ELSE 0 END
                               END) AS score
                    FROM modelmgr.weights(m.model) w GROUP BY w.class) sc) q
GROUP BY 1 ORDER BY 1;

-- ---------------------------------------------------------------------------
-- categorical features: unseen categories and NULLs
-- ---------------------------------------------------------------------------
-- unpenalized: one-hot without the first level (blue), like R's factor
SELECT feature, category FROM modelmgr.weights('cb_bool') ORDER BY feature, category;
-- a category never seen in training does not fail: it is encoded like the
-- reference level, so its prediction is blue's
SELECT m AS model, r.color, round((modelmgr.predict_proba(m, r))[2]::numeric, 6) AS p_second,
       modelmgr.predict_proba(m, r) = modelmgr.predict_proba(m, ROW(0.2, -0.1, 'blue')::cb_rows)
           AS same_as_blue
FROM unnest(ARRAY['cb_bool', 'cb_text']) m,
     (VALUES (0.2::float8, -0.1::float8, 'purple'::text), (0.2, -0.1, 'blue'), (0.2, -0.1, 'red')) r(x1, x2, color)
ORDER BY m, r.color;

-- a NULL category is the most frequent training category (red), in
-- training rows and at predict time
CREATE TABLE cb_nulls AS SELECT * FROM cb_data;
UPDATE cb_nulls SET color = NULL WHERE g % 25 = 0;
SELECT name, version, train_rows + test_rows AS rows
FROM modelmgr.train('cb_nulls', 'logistic_regression', 'cb_nulls', 'yb', ARRAY['x1', 'x2', 'color']);
SELECT f->>'name' AS feature, f->'categories' AS categories,
       f->'categories'->>((f->>'impute')::int) AS imputed_with
FROM jsonb_array_elements(modelmgr.describe(modelmgr.load('cb_nulls'))->'features') f
WHERE f->>'kind' = 'categorical';
SELECT modelmgr.predict_proba('cb_nulls', ROW(0.2, -0.1, NULL)::cb_rows)
       = modelmgr.predict_proba('cb_nulls', ROW(0.2, -0.1, 'red')::cb_rows) AS null_is_red,
       modelmgr.predict_proba('cb_nulls', ROW(0.2, -0.1, NULL)::cb_rows)
       = modelmgr.predict_proba('cb_nulls', ROW(0.2, -0.1, 'green')::cb_rows) AS null_is_green;
-- "impute": "error" refuses the NULL at train time (and nothing is stored)
SELECT * FROM modelmgr.train('cb_refuse', 'logistic_regression', 'cb_nulls', 'yb',
                             ARRAY['x1', 'x2', 'color'], '{"impute": "error"}');
\echo :LAST_ERROR_SQLSTATE
-- ... and at predict time
SELECT version FROM modelmgr.train('cb_refuse', 'logistic_regression', 'cb_data', 'yb',
                                   ARRAY['x1', 'x2', 'color'], '{"impute": "error"}');
SELECT modelmgr.predict('cb_refuse', ROW(0.2, -0.1, NULL)::cb_rows);
\echo :LAST_ERROR_SQLSTATE
-- an array of numbers cannot hold a categorical feature
SELECT modelmgr.predict('cb_bool', ARRAY[0.2, -0.1, 1]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict_proba('cb_bool', ARRAY[0.2, -0.1, 1]);
\echo :LAST_ERROR_SQLSTATE

-- boolean and enum columns are categorical too (penalized: every level kept)
CREATE TYPE cb_size AS ENUM ('small', 'medium', 'large');
CREATE TABLE cb_typed AS
SELECT x1, yb, (ARRAY['large', 'small', 'medium']::cb_size[])[1 + g % 3] AS size, g % 4 = 0 AS flag
FROM cb_data;
SELECT name, version, train_rows + test_rows AS rows
FROM modelmgr.train('cb_typed', 'logistic_regression', 'cb_typed', 'yb', ARRAY['x1', 'size', 'flag'],
                    '{"l2": 1}');
SELECT feature, category FROM modelmgr.weights('cb_typed') ORDER BY feature, category;
-- categories are matched by their text: an enum or boolean value spelled as text is the same
SELECT modelmgr.predict_proba('cb_typed', r1) = modelmgr.predict_proba('cb_typed', r2) AS same
FROM (SELECT 0.3::float8 AS x1, 'medium'::cb_size AS size, true AS flag) r1,
     (SELECT 0.3::float8 AS x1, 'medium'::text AS size, 'true'::text AS flag) r2;

-- ---------------------------------------------------------------------------
-- separable classes
-- ---------------------------------------------------------------------------
CREATE TABLE cb_sep AS
SELECT g::float8 AS x, g > 10 AS y, CASE WHEN g <= 7 THEN 'a' WHEN g <= 14 THEN 'b' ELSE 'c' END AS k
FROM generate_series(1, 20) g;
-- unpenalized: a warning, the fit is kept with finite coefficients that
-- classify every row right
SELECT version, (metrics #>> '{train,accuracy}')::float8 AS train_accuracy
FROM modelmgr.train('cb_sep', 'logistic_regression', 'cb_sep', 'y', ARRAY['x'], test_fraction => 0);
SELECT version, (metrics #>> '{train,accuracy}')::float8 AS train_accuracy
FROM modelmgr.train('cb_sep3', 'softmax_regression', 'cb_sep', 'k', ARRAY['x'], test_fraction => 0);
SELECT m AS model, count(*) AS weights,
       bool_and(w.weight::text NOT IN ('NaN', 'Infinity', '-Infinity')) AS finite
FROM unnest(ARRAY['cb_sep', 'cb_sep3']) m, LATERAL modelmgr.weights(m) w GROUP BY 1 ORDER BY 1;
SELECT bool_and(modelmgr.predict_label('cb_sep', s) = s.y::text) AS cb_sep_right,
       bool_and(modelmgr.predict_label('cb_sep3', s) = s.k) AS cb_sep3_right
FROM cb_sep s;
-- with a penalty: no warning
SELECT version, (metrics #>> '{train,accuracy}')::float8 AS train_accuracy
FROM modelmgr.train('cb_sep_l2', 'logistic_regression', 'cb_sep', 'y', ARRAY['x'], '{"l2": 1}',
                    test_fraction => 0);
SELECT version, (metrics #>> '{train,accuracy}')::float8 AS train_accuracy
FROM modelmgr.train('cb_sep3_l2', 'softmax_regression', 'cb_sep', 'k', ARRAY['x'], '{"l2": 1}',
                    test_fraction => 0);

-- ---------------------------------------------------------------------------
-- metrics, evaluate, retrain
-- ---------------------------------------------------------------------------
-- test metrics of each kind of classifier (no probabilities: no log_loss;
-- more than two classes: no roc_auc)
SELECT m.name AS model, k.key, jsonb_typeof(v.metrics -> 'test' -> k.key) AS type
FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id AND v.version = m.deployed_version,
     LATERAL jsonb_object_keys(v.metrics -> 'test') k(key)
WHERE m.name IN ('cb_bool', 'cb_text', 'cb_svm')
ORDER BY 1, 2;

-- evaluate() on all rows agrees with the predictions: accuracy, log loss
-- and roc_auc (Mann-Whitney) recomputed here
SELECT round((e->>'accuracy')::numeric, 6) AS accuracy,
       abs((e->>'accuracy')::float8 - x.accuracy) < 1e-12 AS accuracy_ok,
       round((e->>'log_loss')::numeric, 6) AS log_loss,
       abs((e->>'log_loss')::float8 - x.log_loss) < 1e-9 AS log_loss_ok,
       round((e->>'roc_auc')::numeric, 6) AS roc_auc,
       abs((e->>'roc_auc')::float8 - x.auc) < 1e-12 AS roc_auc_ok,
       (e->>'rows')::int AS rows, e->'confusion_matrix' AS confusion_matrix
FROM modelmgr.evaluate('cb_bool', 'cb_data') e,
     (SELECT avg((lbl = yb::text)::int) AS accuracy,
             avg(-ln(CASE WHEN yb THEN p ELSE 1 - p END)) AS log_loss,
             (SELECT avg(CASE WHEN a.p > b.p THEN 1 WHEN a.p = b.p THEN 0.5 ELSE 0 END)
              FROM (SELECT (modelmgr.predict_proba('cb_bool', d))[2] AS p FROM cb_data d WHERE yb) a,
                   (SELECT (modelmgr.predict_proba('cb_bool', d))[2] AS p FROM cb_data d WHERE NOT yb) b) AS auc
      FROM (SELECT yb, modelmgr.predict_label('cb_bool', d) AS lbl,
                   (modelmgr.predict_proba('cb_bool', d))[2] AS p FROM cb_data d) q) x;

-- retrain compares champion and challenger by accuracy
SELECT version, champion_version, deployed, metric, champion_score = challenger_score AS tie,
       reason ~ '^auto: test accuracy' AS reason_names_accuracy
FROM modelmgr.retrain('cb_bool');
SELECT version, champion_version, deployed, metric, champion_score = challenger_score AS tie,
       reason ~ 'test accuracy' AS reason_names_accuracy
FROM modelmgr.retrain('cb_svm', 'cb_data', deploy => 'never');

-- ---------------------------------------------------------------------------
-- bad input
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train('cb_reg', 'linear_regression', 'cb_data', 's', ARRAY['x1', 'x2']);
-- probabilities: only logistic and softmax have them
SELECT modelmgr.predict_proba('cb_svm', ROW(0.2, -0.1, 'red')::cb_rows);
\echo :LAST_ERROR_SQLSTATE
-- labels, probabilities and classes are for classifiers
SELECT modelmgr.predict_label('cb_reg', ARRAY[0.2, -0.1]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict_proba('cb_reg', ARRAY[0.2, -0.1]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.classes('cb_reg') IS NULL AS no_classes;
-- one class only
CREATE VIEW cb_one AS SELECT * FROM cb_data WHERE yb;
SELECT * FROM modelmgr.train('cb_bad', 'logistic_regression', 'cb_one', 'yb', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'softmax_regression', 'cb_one', 'yb', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'linear_svm', 'cb_one', 'yb', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
-- logistic_regression is binary
SELECT * FROM modelmgr.train('cb_bad', 'logistic_regression', 'cb_data', 'yt', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
-- a text target is not a regression target, a float target not a class
SELECT * FROM modelmgr.train('cb_bad', 'linear_regression', 'cb_data', 'yt', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'logistic_regression', 'cb_data', 's', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'softmax_regression', 'cb_data', 's', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'linear_svm', 'cb_data', 's', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
-- a feature that is NULL in every row, numeric or categorical
CREATE VIEW cb_allnull AS SELECT *, NULL::float8 AS nothing, NULL::text AS no_color FROM cb_data;
SELECT * FROM modelmgr.train('cb_bad', 'logistic_regression', 'cb_allnull', 'yb', ARRAY['x1', 'nothing']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'softmax_regression', 'cb_allnull', 'yt', ARRAY['x1', 'no_color']);
\echo :LAST_ERROR_SQLSTATE
-- params: unknown keys and values out of range name the key
SELECT * FROM modelmgr.train('cb_bad', 'logistic_regression', 'cb_data', 'yb', ARRAY['x1'], '{"C": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'softmax_regression', 'cb_data', 'yt', ARRAY['x1'], '{"l1": 0.1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'logistic_regression', 'cb_data', 'yb', ARRAY['x1'], '{"l2": -1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'logistic_regression', 'cb_data', 'yb', ARRAY['x1'], '{"solver": "sgd"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'softmax_regression', 'cb_data', 'yt', ARRAY['x1'], '{"tol": 2}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'linear_svm', 'cb_data', 'yt', ARRAY['x1'], '{"C": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'linear_svm', 'cb_data', 'yt', ARRAY['x1'], '{"loss": "log"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.train('cb_bad', 'linear_svm', 'cb_data', 'yt', ARRAY['x1'], '{"max_iter": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS cb_bad_models FROM modelmgr.models WHERE name = 'cb_bad';

SELECT modelmgr.drop_model(name) FROM modelmgr.models WHERE name LIKE 'cb\_%' ORDER BY name;
DROP VIEW cb_one, cb_allnull;
DROP TABLE cb_data, cb_rows, cb_nulls, cb_sep, cb_typed;
DROP TYPE cb_size;
