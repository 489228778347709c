-- group_by: one sub-model per group inside one version, rows routed by group
SET client_min_messages = warning;
CREATE TABLE gb_houses AS
SELECT g AS id,
       (ARRAY['north', 'south', 'east'])[1 + g % 3] AS region,
       CASE WHEN g % 7 = 0 THEN 'old' ELSE 'new' END AS era,
       (800 + (g * 37) % 2200)::float8 AS sqft,
       1 + g % 5 AS beds,
       -- each region has its own price per square foot
       (CASE g % 3 WHEN 0 THEN 100 WHEN 1 THEN 200 ELSE 300 END) * (800 + (g * 37) % 2200)
         + 5000 * (1 + g % 5) + ((g * 7919) % 1000) AS price,
       CASE WHEN g % 3 = 0 THEN (g * 37) % 2200 > 1200
            WHEN g % 3 = 1 THEN (g * 37) % 2200 > 600
            ELSE (g * 37) % 2200 > 1800 END AS big
FROM generate_series(1, 3000) g;
RESET client_min_messages;

-- one version, three groups; the per-region slopes come back exactly
SELECT version, task, train_rows + test_rows AS rows, round((metrics->'test'->>'r2')::numeric, 6) AS r2,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(metrics->'groups') k) AS groups
FROM modelmgr.train('gb_price', 'linear_regression', 'gb_houses', 'price',
                    ARRAY['sqft', 'beds'], group_by => ARRAY['region']);
SELECT group_key, feature, round(weight::numeric, 1) AS weight
FROM modelmgr.weights('gb_price') WHERE feature = 'sqft' ORDER BY group_key;
SELECT count(*) AS versions FROM modelmgr.version_history WHERE model = 'gb_price';

-- predict routes each row to its region's sub-model: equal to a per-region model
SELECT version FROM modelmgr.train('gb_all', 'linear_regression',
    'gb_houses', 'price', ARRAY['sqft', 'beds']);
SELECT region, count(*) AS rows,
       max(abs(modelmgr.predict('gb_price', h) - price)) < 1000 AS close
FROM gb_houses h GROUP BY region ORDER BY region;
-- the grouped model beats one model for all regions
SELECT (SELECT avg((modelmgr.predict('gb_price', h) - price) ^ 2) FROM gb_houses h)
     < (SELECT avg((modelmgr.predict('gb_all', h) - price) ^ 2) FROM gb_houses h) AS grouped_better;

-- a group unseen in training is a clear error
SELECT modelmgr.predict('gb_price', s) FROM (SELECT 'west' AS region, 1000.0 AS sqft, 2 AS beds) s;
\echo :LAST_ERROR_SQLSTATE
-- the row must carry the group column; an array cannot
SELECT modelmgr.predict('gb_price', s) FROM (SELECT 1000.0 AS sqft, 2 AS beds) s;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('gb_price', ARRAY[1000.0, 2]);
\echo :LAST_ERROR_SQLSTATE

-- describe lists the groups
SELECT d->'group_columns' AS group_columns, jsonb_array_length(d->'groups') AS groups,
       (SELECT array_agg(g->'keys'->>0 ORDER BY g->'keys'->>0) FROM jsonb_array_elements(d->'groups') g) AS keys
FROM (SELECT modelmgr.describe(modelmgr.load('gb_price')) AS d) s;

-- two group columns, a classifier whose groups differ in class balance
SELECT version, task, round((metrics->'test'->>'accuracy')::numeric, 2) >= 0.95 AS accurate,
       (SELECT count(*) FROM jsonb_object_keys(metrics->'groups')) AS groups
FROM modelmgr.train('gb_big', 'logistic_regression', 'gb_houses', 'big', ARRAY['sqft'],
                    group_by => ARRAY['region', 'era'], params => '{"l2": 0.01}');
SELECT modelmgr.classes('gb_big');
SELECT region, era, modelmgr.predict_label('gb_big', h) AS label, big,
       round((modelmgr.predict_proba('gb_big', h))[2]::numeric, 1) AS p_true
FROM gb_houses h WHERE id IN (SELECT min(id) FROM gb_houses GROUP BY region, era, big) ORDER BY id;
-- predict_label agrees with the class of the largest probability on every row
SELECT count(*) FILTER (WHERE modelmgr.predict_label('gb_big', h) <>
       (CASE WHEN (modelmgr.predict_proba('gb_big', h))[2] > 0.5 THEN 'true' ELSE 'false' END)) AS disagree
FROM gb_houses h;
SELECT count(DISTINCT group_key) AS groups FROM modelmgr.weights('gb_big');
-- evaluate and monitor route too
SELECT round((modelmgr.evaluate('gb_big', 'gb_houses')->>'accuracy')::numeric, 2) >= 0.95 AS accurate;
SELECT status FROM modelmgr.monitor('gb_big', 'gb_houses');

-- retrain keeps the group columns; the grouped champion is scored per group
SELECT version, deployed, metric, champion_score = challenger_score AS same_score
FROM modelmgr.retrain('gb_big');
SELECT (SELECT jsonb_array_length(d->'group_columns') FROM
        (SELECT modelmgr.describe(modelmgr.load('gb_big', 2)) AS d) s) AS group_columns;

-- a group whose training rows have one class
CREATE TABLE gb_one AS SELECT g, CASE WHEN g <= 50 THEN 'a' ELSE 'b' END AS grp,
       g::float8 AS x, CASE WHEN g <= 50 THEN true ELSE g % 2 = 0 END AS y
FROM generate_series(1, 100) g;
SELECT version FROM modelmgr.train('gb_one', 'logistic_regression', 'gb_one', 'y', ARRAY['x'],
                                   group_by => ARRAY['grp']);
\echo :LAST_ERROR_SQLSTATE
-- bad group_by arguments
SELECT version FROM modelmgr.train('gb_bad', 'linear_regression', 'gb_houses', 'price',
                                   ARRAY['sqft'], group_by => ARRAY['nope']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('gb_bad', 'linear_regression', 'gb_houses', 'price',
                                   ARRAY['sqft', 'beds'], group_by => ARRAY['beds']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('gb_bad', 'linear_regression', 'gb_houses', 'price',
                                   ARRAY['sqft'], group_by => ARRAY['price']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('gb_bad', 'linear_regression', 'gb_houses', 'price',
                                   ARRAY['sqft'], group_by => ARRAY['region', 'region']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('gb_bad', 'linear_regression', 'gb_houses', 'price',
                                   ARRAY['sqft'], group_by => ARRAY['era', NULL]);
\echo :LAST_ERROR_SQLSTATE
-- a softmax model whose groups have two or three of the classes
CREATE TABLE gb_multi AS SELECT g, CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END AS parity,
       (g % 30)::float8 AS x,
       CASE WHEN g % 2 = 0 THEN (CASE WHEN g % 30 < 15 THEN 'low' ELSE 'high' END)
            ELSE (CASE WHEN g % 30 < 10 THEN 'low' WHEN g % 30 < 20 THEN 'mid' ELSE 'high' END) END AS level
FROM generate_series(1, 600) g;
SELECT version, task FROM modelmgr.train('gb_multi', 'softmax_regression', 'gb_multi', 'level', ARRAY['x'],
                                         group_by => ARRAY['parity'], params => '{"l2": 0.1}');
SELECT modelmgr.classes('gb_multi');
SELECT parity, x, level, modelmgr.predict_label('gb_multi', m) AS label,
       array_length(modelmgr.predict_proba('gb_multi', m), 1) AS n_proba,
       (modelmgr.predict_proba('gb_multi', m))[3] = 0 AS no_mid
FROM gb_multi m WHERE g IN (2, 3, 34, 35, 47) ORDER BY g;
SELECT round((modelmgr.evaluate('gb_multi', 'gb_multi')->>'accuracy')::numeric, 2) >= 0.9 AS accurate;

-- NULL group values form a group of their own
CREATE TABLE gb_null AS SELECT g, CASE WHEN g % 4 = 0 THEN NULL ELSE 'x' || (g % 2) END AS grp,
       g::float8 AS x, 3 * g + (g % 4 = 0)::int * 100 AS y
FROM generate_series(1, 200) g;
SELECT version, (SELECT count(*) FROM jsonb_object_keys(metrics->'groups')) AS groups
FROM modelmgr.train('gb_null', 'linear_regression', 'gb_null', 'y', ARRAY['x'], group_by => ARRAY['grp']);
SELECT grp IS NULL AS null_group, round(modelmgr.predict('gb_null', t)::numeric, 3) AS prediction, y
FROM gb_null t WHERE g IN (4, 5) ORDER BY g;
