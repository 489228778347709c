-- lifecycle: retrain (champion against challenger on the same fresh held-out
-- rows, every decision recorded), train()'s auto decisions when the deployed
-- version has other features (scored by reading the held-out rows again),
-- rollback over 'keep' rows, and gc
\set VERBOSITY default

-- deterministic data: y = 1 + 2 x1 - x2 + 0.8 x3 + small noise; i is the key
CREATE TABLE lc_data (
    i  integer PRIMARY KEY,
    x1 double precision,
    x2 double precision,
    x3 double precision,
    y  double precision);
INSERT INTO lc_data
SELECT i, sin(i), cos(i * 0.7), (i % 13) / 13.0,
       1 + 2 * sin(i) - cos(i * 0.7) + 0.8 * ((i % 13) / 13.0) + 0.05 * sin(i * 17.1)
FROM generate_series(1, 400) AS i;

-- helper views over the registry (tests run as superuser)
CREATE VIEW lc_versions AS
SELECT m.name, v.version, v.parent_version, v.operation, v.algorithm, v.params,
       v.source_relation, v.target, v.features, v.seed, v.test_fraction,
       v.version = m.deployed_version AS deployed
FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id;
CREATE VIEW lc_history AS
SELECT m.name, d.id, d.action, d.from_version, d.to_version, d.candidate_version, d.reason
FROM modelmgr.models m JOIN modelmgr.deployments d ON d.model_id = m.id;

-- ---------------------------------------------------------------------------
-- retrain: the deployed version's recipe on the current rows
-- ---------------------------------------------------------------------------
-- features => NULL picks x1, x2, x3 (i is the primary key); non-default
-- params, seed and test fraction, so that retrain visibly copies them
SELECT version, deployed FROM modelmgr.train('lc_model', 'linear_regression', 'lc_data', 'y',
    params => '{"l2": 0.01}', test_fraction => 0.25, seed => 7);

-- unchanged data: same split, same fit, the same mse to the last bit: a tie
-- keeps the champion, and the decision is recorded as 'keep'
SELECT name, version, champion_version, deployed, metric,
       champion_score = challenger_score AS tie,
       round(champion_score::numeric, 6) AS champion_mse, reason
FROM modelmgr.retrain('lc_model');
SELECT deployed_version, last_version FROM modelmgr.models WHERE name = 'lc_model';
SELECT action, from_version, to_version, candidate_version, reason
FROM lc_history WHERE name = 'lc_model' ORDER BY id;

-- the data changes: the champion (version 1) is now much worse on the fresh
-- held-out rows, and retrain deploys the challenger
UPDATE lc_data SET y = y + 3 * x3 - x2;
CREATE TEMP TABLE lc_result AS SELECT * FROM modelmgr.retrain('lc_model');
SELECT name, version, champion_version, deployed, metric,
       champion_score > challenger_score AS challenger_better,
       round(champion_score::numeric, 4) AS champion_mse,
       round(challenger_score::numeric, 6) AS challenger_mse, reason
FROM lc_result;
-- the challenger's score is its own test mse, as training recorded it
SELECT r.challenger_score = (v.metrics->'test'->>'mse')::float8 AS score_is_test_mse
FROM lc_result r
JOIN modelmgr.models m ON m.name = r.name
JOIN modelmgr.model_versions v ON v.model_id = m.id AND v.version = r.version;
DROP TABLE lc_result;

-- deploy => 'never' and 'always' still score both and record the comparison
SELECT version, champion_version, deployed, champion_score = challenger_score AS tie, reason
FROM modelmgr.retrain('lc_model', deploy => 'never');
SELECT version, champion_version, deployed, champion_score = challenger_score AS tie, reason
FROM modelmgr.retrain('lc_model', deploy => 'always');
SELECT deployed_version, last_version FROM modelmgr.models WHERE name = 'lc_model';
SELECT action, from_version, to_version, candidate_version, reason
FROM lc_history WHERE name = 'lc_model' ORDER BY id;

-- every retrained version: operation retrain, parent = the version deployed
-- when it ran, and the parent's algorithm, params, relation, target,
-- features, seed and test fraction
SELECT version, parent_version, operation, algorithm, params, source_relation, target,
       features, seed, test_fraction, deployed
FROM lc_versions WHERE name = 'lc_model' ORDER BY version;

-- the recorded feature list is used, not "every numeric column" again
ALTER TABLE lc_data ADD COLUMN x4 double precision DEFAULT 1.5;
SELECT version, champion_version, deployed FROM modelmgr.retrain('lc_model', deploy => 'never');
SELECT features FROM lc_versions WHERE name = 'lc_model' AND version = 6;
ALTER TABLE lc_data DROP COLUMN x4;

-- another relation: same recipe, read from there
CREATE TABLE lc_data_recent AS SELECT * FROM lc_data WHERE i > 100;
SELECT version, champion_version, deployed FROM modelmgr.retrain('lc_model', relation => 'lc_data_recent',
                                                                 deploy => 'never');
SELECT version, parent_version, operation, source_relation, features, seed, test_fraction
FROM lc_versions WHERE name = 'lc_model' AND version = 7;
SELECT train_rows + test_rows AS rows FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'lc_model' AND v.version = 7;

-- no held-out rows (test_fraction 0): nothing to compare on, the champion stays
SELECT version, deployed FROM modelmgr.train('lc_nosplit', 'linear_regression', 'lc_data', 'y',
    ARRAY['x1', 'x2', 'x3'], test_fraction => 0);
SELECT version, champion_version, deployed, champion_score, challenger_score, reason
FROM modelmgr.retrain('lc_nosplit');
SELECT action, from_version, to_version, candidate_version, reason
FROM lc_history WHERE name = 'lc_nosplit' ORDER BY id;

-- ---------------------------------------------------------------------------
-- retrain errors
-- ---------------------------------------------------------------------------
-- a version from save() records no source relation: pass one
SELECT modelmgr.save('lc_saved', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['x1', 'x2']) AS version
FROM lc_data;
SELECT * FROM modelmgr.retrain('lc_saved');
\echo :LAST_ERROR_SQLSTATE
SELECT version, champion_version, deployed FROM modelmgr.retrain('lc_saved', relation => 'lc_data',
                                                                 deploy => 'never');
SELECT version, parent_version, operation, params, source_relation, target, features, seed, test_fraction
FROM lc_versions WHERE name = 'lc_saved' ORDER BY version;

-- the source table was dropped since
CREATE TABLE lc_gone AS SELECT * FROM lc_data;
SELECT version FROM modelmgr.train('lc_orphan', 'linear_regression', 'lc_gone', 'y', ARRAY['x1', 'x2']);
DROP TABLE lc_gone;
SELECT * FROM modelmgr.retrain('lc_orphan');
\echo :LAST_ERROR_SQLSTATE
SELECT version, champion_version, deployed
FROM modelmgr.retrain('lc_orphan', relation => 'lc_data', deploy => 'never');
SELECT version, parent_version, operation, source_relation FROM lc_versions WHERE name = 'lc_orphan' ORDER BY version;

-- nothing deployed, no such model, bad arguments
SELECT version, deployed FROM modelmgr.train('lc_undeployed', 'linear_regression', 'lc_data', 'y',
    ARRAY['x1'], deploy => 'never');
SELECT * FROM modelmgr.retrain('lc_undeployed');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.retrain('lc_no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.retrain('lc_model', deploy => 'sometimes');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.retrain('lc_model', deploy => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.retrain(NULL);
\echo :LAST_ERROR_SQLSTATE

-- only the owner retrains (and gc's), even with SELECT on the data
CREATE ROLE regress_lc_other;
GRANT USAGE ON SCHEMA modelmgr TO regress_lc_other;
GRANT SELECT ON lc_data TO regress_lc_other;
SET ROLE regress_lc_other;
SELECT * FROM modelmgr.retrain('lc_model');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.retrain('lc_model', relation => 'lc_data');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.gc('lc_model');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT last_version FROM modelmgr.models WHERE name = 'lc_model';

-- ---------------------------------------------------------------------------
-- train() auto: a deployed version with other features is scored by reading
-- this training's held-out rows again and predicting them with both models
-- ---------------------------------------------------------------------------
SELECT version, deployed FROM modelmgr.train('lc_scan', 'linear_regression', 'lc_data', 'y', ARRAY['x1', 'x2']);
-- more features, better: deployed
SELECT version, deployed FROM modelmgr.train('lc_scan', 'linear_regression', 'lc_data', 'y', ARRAY['x1', 'x2', 'x3']);
-- fewer features, worse: kept
SELECT version, deployed FROM modelmgr.train('lc_scan', 'linear_regression', 'lc_data', 'y', ARRAY['x1']);
SELECT action, from_version, to_version, candidate_version, reason
FROM lc_history WHERE name = 'lc_scan' ORDER BY id;

-- the deployed version cannot be scored on the new relation: kept, with the reason
CREATE TABLE lc_two AS SELECT i, x1, x2, y FROM lc_data;
SELECT version, deployed FROM modelmgr.train('lc_scan', 'linear_regression', 'lc_two', 'y', ARRAY['x1', 'x2']);
-- ... or it predicts another target
SELECT version, deployed FROM modelmgr.train('lc_scan', 'linear_regression', 'lc_data', 'x3', ARRAY['x1', 'x2']);
-- ... or a feature it needs is not a number there
CREATE TABLE lc_words AS
SELECT i, x1, x2, CASE WHEN i % 2 = 0 THEN 'low' ELSE 'high' END AS x3, y FROM lc_data;
SELECT version, deployed FROM modelmgr.train('lc_scan', 'linear_regression', 'lc_words', 'y', ARRAY['x1', 'x2']);
SELECT action, from_version, to_version, candidate_version, reason
FROM lc_history WHERE name = 'lc_scan' AND id > (SELECT max(id) FROM lc_history WHERE name = 'lc_scan' AND action = 'deploy')
ORDER BY id;

-- the second read names every column quoted, whatever is in the names
CREATE TABLE lc_quoted AS SELECT i, x1 AS "x1 FROM lc_data", x2, x3 AS "X3", y FROM lc_data;
SELECT version, deployed FROM modelmgr.train('lc_quoted', 'linear_regression', 'lc_quoted', 'y', ARRAY['x2']);
SELECT version, deployed FROM modelmgr.train('lc_quoted', 'linear_regression', 'lc_quoted', 'y',
                                             ARRAY['x1 FROM lc_data', 'x2', 'X3']);
SELECT action, from_version, to_version, reason FROM lc_history WHERE name = 'lc_quoted' ORDER BY id;

-- NULL features in held-out rows: imputation differs between the two models,
-- so both are scored by reading the rows again, each with its own imputation
CREATE TABLE lc_holes AS
SELECT i, CASE WHEN i % 10 = 3 THEN NULL ELSE x1 END AS x1, x2,
       CASE WHEN i % 10 = 6 THEN NULL ELSE x3 END AS x3, y
FROM lc_data;
SELECT version, deployed FROM modelmgr.train('lc_holes', 'linear_regression', 'lc_holes', 'y', ARRAY['x1', 'x2', 'x3']);
SELECT test_rows, (SELECT count(*) FROM lc_holes WHERE x1 IS NULL OR x3 IS NULL) AS rows_with_nulls
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'lc_holes';
-- unchanged data: the same model scored the same way by both: a tie, kept
SELECT version, deployed, champion_score = challenger_score AS tie, reason FROM modelmgr.retrain('lc_holes');
-- the target moves: the challenger is deployed; its score is its own test mse
UPDATE lc_holes SET y = y + 2 * coalesce(x2, 0);
CREATE TEMP TABLE lc_result AS SELECT * FROM modelmgr.retrain('lc_holes');
SELECT r.version, r.deployed, r.champion_score > r.challenger_score AS challenger_better,
       abs(r.challenger_score - (v.metrics->'test'->>'mse')::float8) < 1e-9 * r.challenger_score AS score_is_test_mse,
       r.reason
FROM lc_result r
JOIN modelmgr.models m ON m.name = r.name
JOIN modelmgr.model_versions v ON v.model_id = m.id AND v.version = r.version;
DROP TABLE lc_result;
-- a champion trained on complete rows against a challenger trained on the
-- rows with holes, each imputing the held-out holes with its own means: the
-- champion is a little better there, and stays
SELECT version, deployed FROM modelmgr.train('lc_complete', 'linear_regression', 'lc_data', 'y', ARRAY['x1', 'x2', 'x3']);
UPDATE lc_holes SET y = y - 2 * coalesce(x2, 0);
SELECT version, deployed FROM modelmgr.train('lc_complete', 'linear_regression', 'lc_holes', 'y', ARRAY['x1', 'x2', 'x3']);
-- a champion that refuses NULL features cannot be scored on held-out rows with holes: kept
SELECT version, deployed FROM modelmgr.train('lc_strict', 'linear_regression', 'lc_data', 'y', ARRAY['x1', 'x2', 'x3'],
    params => '{"impute": "error"}');
SELECT version, deployed FROM modelmgr.train('lc_strict', 'linear_regression', 'lc_holes', 'y', ARRAY['x1', 'x2', 'x3']);
SELECT action, from_version, to_version, candidate_version FROM lc_history WHERE name = 'lc_strict' ORDER BY id;

-- ---------------------------------------------------------------------------
-- rollback replays deploys and rollbacks; 'keep' rows change nothing
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train('lc_roll', 'linear_regression', 'lc_data', 'y', ARRAY['x1', 'x2', 'x3']);
SELECT version, deployed FROM modelmgr.retrain('lc_roll', deploy => 'always');
SELECT version, deployed FROM modelmgr.retrain('lc_roll');
SELECT action, from_version, to_version, candidate_version FROM lc_history WHERE name = 'lc_roll' ORDER BY id;
SELECT modelmgr.rollback('lc_roll');
-- the keep row (to_version 2) is not a deployment of 2: nothing is left below 1
SELECT modelmgr.rollback('lc_roll');
\echo :LAST_ERROR_SQLSTATE
SELECT deployed_version FROM modelmgr.models WHERE name = 'lc_roll';

-- ---------------------------------------------------------------------------
-- gc: keep the newest `keep` versions, the deployed one, and their ancestors
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train('lc_gc', 'linear_regression', 'lc_data', 'y', ARRAY['x1', 'x2', 'x3']);
SELECT version FROM modelmgr.retrain('lc_gc', deploy => 'always');
SELECT version FROM modelmgr.train('lc_gc', 'linear_regression', 'lc_data', 'y', ARRAY['x1', 'x2'], deploy => 'always');
SELECT version FROM modelmgr.retrain('lc_gc', deploy => 'always');
SELECT version FROM modelmgr.retrain('lc_gc', deploy => 'never');
SELECT version FROM modelmgr.train('lc_gc', 'linear_regression', 'lc_data', 'y', ARRAY['x1'], deploy => 'never');
SELECT modelmgr.deploy('lc_gc', 2);
SELECT version FROM modelmgr.retrain('lc_gc', deploy => 'never');
SELECT version, parent_version, operation, deployed FROM lc_versions WHERE name = 'lc_gc' ORDER BY version;
-- newest is 7 (parent 2, whose parent is 1); 2 is deployed: 3, 4, 5 and 6 go
SELECT dropped FROM modelmgr.gc('lc_gc', keep => 1) AS dropped ORDER BY 1;
SELECT version, parent_version, operation, deployed FROM lc_versions WHERE name = 'lc_gc' ORDER BY version;
SELECT modelmgr.load('lc_gc', 4);
\echo :LAST_ERROR_SQLSTATE
-- rollback skips the dropped versions 4 and 3 and lands on 1
SELECT modelmgr.rollback('lc_gc');
-- version numbers are not reused
SELECT version FROM modelmgr.train('lc_gc', 'linear_regression', 'lc_data', 'y', ARRAY['x1', 'x2'], deploy => 'never');
-- keep => 0 keeps only the deployed version (and its ancestors: none)
SELECT dropped FROM modelmgr.gc('lc_gc', keep => 0) AS dropped ORDER BY 1;
SELECT version, parent_version, operation, deployed FROM lc_versions WHERE name = 'lc_gc' ORDER BY version;
-- nothing left to drop
SELECT count(*) AS dropped FROM modelmgr.gc('lc_gc');
SELECT version FROM modelmgr.train('lc_gc', 'linear_regression', 'lc_data', 'y', ARRAY['x1'], deploy => 'never');
SELECT deployed_version, last_version FROM modelmgr.models WHERE name = 'lc_gc';
-- errors
SELECT * FROM modelmgr.gc('lc_gc', keep => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.gc('lc_gc', keep => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.gc('lc_no_such_model');
\echo :LAST_ERROR_SQLSTATE
-- gc inside a transaction that rolls back drops nothing
BEGIN;
SELECT count(*) AS dropped FROM modelmgr.gc('lc_gc', keep => 0);
ROLLBACK;
SELECT count(*) AS versions FROM lc_versions WHERE name = 'lc_gc';

-- ---------------------------------------------------------------------------
-- clean up
-- ---------------------------------------------------------------------------
SELECT string_agg(name, ', ' ORDER BY name) AS dropped_models
FROM (SELECT name, modelmgr.drop_model(name) FROM modelmgr.models WHERE name LIKE 'lc\_%') s;
SELECT count(*) AS models_left FROM modelmgr.models WHERE name LIKE 'lc\_%';
REVOKE ALL ON lc_data FROM regress_lc_other;
REVOKE USAGE ON SCHEMA modelmgr FROM regress_lc_other;
DROP ROLE regress_lc_other;
DROP VIEW lc_versions, lc_history;
DROP TABLE lc_data, lc_data_recent, lc_two, lc_words, lc_quoted, lc_holes;
