-- demo/demo.sql: what demo/run.sh runs.  Readable on its own, too.
\pset footer off
\echo
\echo '1. Install the extension into the database.'
CREATE EXTENSION modelmgr;

\echo
\echo '2. Make a table of 50,000 house sales (size, bedrooms, age, distance to the'
\echo '   centre, and the price). Prices follow a known formula plus noise: 1,850 per'
\echo '   square metre, 9,000 per bedroom, -1,100 per year of age, -4,200 per km.'
CREATE TABLE houses AS
SELECT g AS id,
       round((40 + 160 * abs(sin(g * 0.7)))::numeric, 1)::float8          AS sqm,
       1 + (g * 7 % 5)                                                      AS bedrooms,
       (g * 13 % 60)                                                        AS age_years,
       round((0.5 + 25 * abs(cos(g * 1.3)))::numeric, 2)::float8           AS km_to_centre,
       NULL::float8                                                         AS price
FROM generate_series(1, 50000) AS g;
UPDATE houses SET price = round((60000 + 1850 * sqm + 9000 * bedrooms - 1100 * age_years
                                 - 4200 * km_to_centre + 15000 * sin(id * 3.1))::numeric, -2);
ALTER TABLE houses ADD PRIMARY KEY (id);
SELECT * FROM houses ORDER BY id LIMIT 5;

\echo
\echo '3. Train a linear regression on it. features => NULL means "every other numeric'
\echo '   column" (the key column id is left out by itself). 20% of the rows are held'
\echo '   out to test the model; the first version of a model is deployed right away.'
SELECT name, version, algorithm, train_rows, test_rows, deployed,
       round((metrics->'test'->>'r2')::numeric, 4)   AS test_r2,
       round((metrics->'test'->>'rmse')::numeric, 0) AS test_rmse
FROM modelmgr.train(name          => 'house_price',
                    algorithm     => 'linear_regression',
                    relation      => 'houses',
                    target        => 'price');

\echo
\echo '4. What did it learn? describe() shows the coefficients (close to the formula).'
SELECT key AS feature, round(value::numeric, 1) AS coefficient
FROM jsonb_each_text(modelmgr.describe(modelmgr.load('house_price'))->'coefficients');

\echo
\echo '5. Predict: from an array of feature values, or straight from table rows.'
SELECT round(modelmgr.predict('house_price', ARRAY[120, 3, 10, 5])::numeric, -2) AS price_of_120sqm_3bed_10y_5km;
SELECT id, price, round(modelmgr.predict('house_price', h)::numeric, -2) AS predicted
FROM houses AS h ORDER BY id LIMIT 5;

\echo
\echo '6. Retrain with a ridge penalty. The new version is deployed only if it beats the'
\echo '   deployed one on the same held-out rows, else version 1 keeps serving. Step 8'
\echo '   shows the reason recorded for the decision.'
SELECT name, version, deployed, round((metrics->'test'->>'rmse')::numeric, 0) AS test_rmse
FROM modelmgr.train('house_price', 'linear_regression', 'houses', 'price',
                    params => '{"l2": 1000}');

\echo
\echo '7. The version table: every version is kept, with its lineage. (Views like this one'
\echo '   are what BI tools read; they never show the model bytes themselves.)'
SELECT model, version, parent_version, operation, params, train_rows, test_rows, is_deployed
FROM modelmgr.version_history ORDER BY version;

\echo
\echo '8. Monitoring: the deployment history with who did what and why; then new data'
\echo '   arrives where houses got bigger, and monitor() compares it with the training data.'
SELECT action, from_version, to_version, candidate_version, reason, deployed_by
FROM modelmgr.deployment_history ORDER BY event_id;
CREATE TABLE new_sales AS
SELECT id, sqm * 1.6 AS sqm, bedrooms, age_years, km_to_centre, price * 1.3 AS price
FROM houses WHERE id % 7 = 0;
SELECT status, reasons FROM modelmgr.monitor('house_price', 'new_sales');
SELECT feature, round(psi::numeric, 3) AS psi, round(ks::numeric, 3) AS ks, status
FROM modelmgr.feature_drift ORDER BY feature;
SELECT model, version, status FROM modelmgr.model_health;

\echo
\echo '8b. Retrain on the current rows: champion and challenger are scored on the same'
\echo '    fresh held-out rows, and the decision is recorded either way.'
SELECT version, champion_version, deployed, round(champion_score::numeric) AS champion_mse,
       round(challenger_score::numeric) AS challenger_mse
FROM modelmgr.retrain('house_price');

\echo '9. Deploy version 1 by hand, then roll back to what was deployed before: both'
\echo '   steps are recorded in modelmgr.deployments, and predict() follows at once.'
SELECT modelmgr.deploy('house_price', 1, 'prefer the plain model') AS now_deployed;
SELECT modelmgr.rollback('house_price', 'changed our mind') AS now_deployed;
SELECT action, from_version, to_version, reason FROM modelmgr.deployment_history ORDER BY event_id;

\echo
\echo '10. The same fit as a parallel aggregate, one model per group, in one query.'
SELECT bedrooms,
       round((modelmgr.describe(m)->'coefficients'->>'x1')::numeric, 1) AS per_sqm
FROM (SELECT bedrooms, modelmgr.linear_fit(price, ARRAY[sqm, age_years, km_to_centre]) AS m
      FROM houses GROUP BY bedrooms) s
ORDER BY bedrooms;

\echo
\echo '11. A classifier with a categorical feature: is a house expensive (top third)?'
\echo '    The district is text, one-hot encoded inside the model; weights() reports'
\echo '    coefficients in original units, predict_proba the probabilities per class.'
CREATE VIEW house_classes AS
SELECT id, sqm, age_years, km_to_centre,
       (ARRAY['old town', 'harbour', 'hills', 'suburbs'])[1 + id % 4] AS district,
       price > 250000 AS expensive
FROM houses;
SELECT version, task, round((metrics->'test'->>'accuracy')::numeric, 3) AS test_accuracy,
       round((metrics->'test'->>'roc_auc')::numeric, 3) AS test_auc
FROM modelmgr.train('expensive', 'logistic_regression', 'house_classes', 'expensive',
                    features => ARRAY['sqm', 'age_years', 'km_to_centre', 'district']);
SELECT feature, category, round(weight::numeric, 4) AS weight FROM modelmgr.weights('expensive');
SELECT id, modelmgr.predict_label('expensive', h) AS label,
       round((modelmgr.predict_proba('expensive', h))[2]::numeric, 3) AS p_expensive
FROM house_classes h ORDER BY id LIMIT 3;

\echo
\echo '12. One model per district inside one version (group_by): each row is routed'
\echo '    to the model of its district.'
SELECT version, (SELECT count(*) FROM jsonb_object_keys(metrics->'groups')) AS groups
FROM modelmgr.train('price_by_district', 'linear_regression', 'house_classes', 'km_to_centre',
                    features => ARRAY['sqm', 'age_years'], group_by => ARRAY['district']);

\echo
\echo '13. A neural network, then a pruned and an int8 version of it, each scored on'
\echo '    the same held-out rows as its parent; compare() puts them side by side.'
SELECT version, round((metrics->'test'->>'accuracy')::numeric, 3) AS test_accuracy
FROM modelmgr.train('expensive_mlp', 'mlp_classifier', 'house_classes', 'expensive',
                    features => ARRAY['sqm', 'age_years', 'km_to_centre', 'district'],
                    params => '{"hidden_layers": "32", "max_epochs": 20}');
SELECT version, parent_version, operation, size_bytes,
       round((metrics->'delta'->>'accuracy')::numeric, 3) AS accuracy_change
FROM modelmgr.prune('expensive_mlp', 1, method => 'magnitude', sparsity => 0.5);
SELECT version, parent_version, operation, size_bytes,
       round((metrics->'delta'->>'accuracy')::numeric, 3) AS accuracy_change
FROM modelmgr.quantize('expensive_mlp', 2, dtype => 'int8');
SELECT property, v1_value, v2_value FROM modelmgr.compare('expensive_mlp', 1, 3)
WHERE property IN ('dtype', 'size_bytes', 'nonzero', 'test_accuracy');

\echo
\echo 'Done: trained, inspected, predicted, versioned, deployed and rolled back;'
\echo 'classified, grouped, pruned and quantized.'
\echo 'See README.md and doc/ for everything else.'
