-- bad_input: every bad argument gives a clear error with a real SQLSTATE,
-- injection attempts are harmless, and failed calls leave the registry as
-- it was
\set VERBOSITY default

CREATE TABLE bi_data AS
SELECT i,
       sin(i)::float8 AS x1,
       cos(i * 0.7)::float8 AS x2,
       ((i % 13) / 13.0)::float8 AS x3,
       'label ' || i AS label,
       (i % 3 = 0) AS flag,
       now() AS seen_at,
       (2 + sin(i) - cos(i * 0.7) + 0.05 * sin(i * 19.3))::float8 AS y,
       ('v' || (i % 4))::text AS category
FROM generate_series(1, 120) AS i;
CREATE TABLE bi_victim (keep integer);
INSERT INTO bi_victim VALUES (1);
CREATE TABLE bi_empty (x1 float8, y float8);
CREATE TABLE bi_null_target AS SELECT x1, x2, NULL::float8 AS y FROM bi_data;
CREATE TABLE bi_null_feature AS SELECT x1, NULL::float8 AS x_null, y FROM bi_data;
CREATE TABLE bi_nan_target AS SELECT x1, x2, CASE WHEN i = 50 THEN 'NaN'::float8 ELSE y END AS y FROM bi_data;
CREATE TABLE bi_inf_target AS SELECT x1, x2, CASE WHEN i = 50 THEN 'Infinity'::float8 ELSE y END AS y FROM bi_data;
CREATE TABLE bi_inf_feature AS SELECT CASE WHEN i = 7 THEN '-Infinity'::float8 ELSE x1 END AS x1, x2, y FROM bi_data;
CREATE TABLE bi_nan_numeric AS SELECT x1, CASE WHEN i = 9 THEN 'NaN'::numeric ELSE x2::numeric END AS x2, y FROM bi_data;
CREATE TABLE bi_few AS SELECT x1, x2, x3, x1 * x2 AS x4, x2 * x3 AS x5, y FROM bi_data WHERE i <= 3;
CREATE TABLE bi_const AS SELECT x1, 5.0::float8 AS x_const, x2, y FROM bi_data;
CREATE TABLE bi_collinear AS SELECT x1, x2, 2 * x1 - 3 * x2 AS x_comb, y FROM bi_data;
CREATE SEQUENCE bi_seq;
CREATE INDEX bi_data_i_idx ON bi_data (i);
CREATE TYPE bi_composite AS (a float8, b float8);

-- one good model to aim at
SELECT version, deployed FROM modelmgr.train('bi_model', 'linear_regression', 'bi_data', 'y', ARRAY['x1', 'x2']);

-- the registry before all the bad calls
CREATE TEMP TABLE bi_before AS
SELECT (SELECT count(*) FROM modelmgr.models) AS models,
       (SELECT count(*) FROM modelmgr.model_versions) AS versions,
       (SELECT count(*) FROM modelmgr.deployments) AS deployments,
       (SELECT count(*) FROM modelmgr.model_grants) AS grants,
       (SELECT string_agg(name || ':' || coalesce(deployed_version, 0) || '/' || last_version, ',' ORDER BY name)
        FROM modelmgr.models) AS state;

-- ---------------------------------------------------------------------------
-- The relation
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_no_such_table', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_no_such_schema.bi_data', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_seq', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data_i_idx', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_composite', 'a');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 0::oid::regclass, 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 999999999::oid::regclass, 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', NULL, 'y');
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- Target and features
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'no_such_column');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'Y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'xmin');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', ARRAY['x1', 'no_such_column']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', ARRAY['ctid']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', ARRAY['x1', 'label']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', ARRAY['seen_at']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'category', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'flag', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', ARRAY['x1', 'y']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', ARRAY['x1', 'x2', 'x1']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', ARRAY[]::text[]);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', ARRAY['x1', NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', ARRAY[['x1'], ['x2']]);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', NULL);
\echo :LAST_ERROR_SQLSTATE
-- a table with no usable feature column by default
CREATE TABLE bi_only_target (id serial PRIMARY KEY, note text, y float8);
INSERT INTO bi_only_target (note, y) VALUES ('a', 1), ('b', 2);
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_only_target', 'y');
\echo :LAST_ERROR_SQLSTATE
-- a dropped column is gone, also under its internal name
ALTER TABLE bi_const DROP COLUMN x2;
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_const', 'y', ARRAY['x1', 'x2']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_const', 'y', ARRAY['........pg.dropped.3........']);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- The data
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_empty', 'y', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_null_target', 'y', ARRAY['x1', 'x2']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_null_feature', 'y', ARRAY['x1', 'x_null']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_nan_target', 'y', ARRAY['x1', 'x2']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_inf_target', 'y', ARRAY['x1', 'x2']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_inf_feature', 'y', ARRAY['x1', 'x2']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_nan_numeric', 'y', ARRAY['x1', 'x2']);
\echo :LAST_ERROR_SQLSTATE
-- fewer rows than features (every row trains)
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_few', 'y', test_fraction => 0);
\echo :LAST_ERROR_SQLSTATE
-- a constant column, and a column that is a combination of others
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_const', 'y', ARRAY['x1', 'x_const']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_collinear', 'y', ARRAY['x1', 'x2', 'x_comb']);
\echo :LAST_ERROR_SQLSTATE
-- the hint's advice works: a ridge fit trains on the same data
SELECT name, version FROM modelmgr.train('bi_ridge_const', 'linear_regression', 'bi_const', 'y', ARRAY['x1', 'x_const'],
                                         params => '{"l2": 0.001}');
SELECT name, version FROM modelmgr.train('bi_ridge_collinear', 'linear_regression', 'bi_collinear', 'y',
                                         ARRAY['x1', 'x2', 'x_comb'], params => '{"l2": 0.001}');

-- ---------------------------------------------------------------------------
-- Algorithm and params
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train('bi_new', 'no_such_algorithm', 'bi_data', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'Linear_Regression', 'bi_data', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', NULL, 'bi_data', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '{"alpha": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '{"l2": "x"}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '{"l2": "0.1"}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '{"l2": -1}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '{"l2": null}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '{"l2": 1e400}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '{"l2": [1]}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '{"l2": {"value": 1}}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '{"fit_intercept": "yes"}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '{"fit_intercept": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '{"impute": "median"}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '[{"l2": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '1');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', params => '"l2"');
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- test_fraction, deploy, seed, group_by
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', test_fraction => -0.1);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', test_fraction => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', test_fraction => 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', test_fraction => 'Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', test_fraction => NULL);
\echo :LAST_ERROR_SQLSTATE
-- a fraction so close to 1 that every row is held out
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', test_fraction => 0.999999999);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', deploy => 'sometimes');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', deploy => 'ALWAYS');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', deploy => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', group_by => ARRAY['no_such_column']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', group_by => ARRAY[NULL]::text[]);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- Model names
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train(NULL, 'linear_regression', 'bi_data', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('', 'linear_regression', 'bi_data', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train(E'bi_bad\nname', 'linear_regression', 'bi_data', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train(E'bi_bad\tname', 'linear_regression', 'bi_data', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train(E'bi_bad\x7fname', 'linear_regression', 'bi_data', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train(repeat('n', 201), 'linear_regression', 'bi_data', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save('', modelmgr.load('bi_model'));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save(E'bi\rmodel', modelmgr.load('bi_model'));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save(NULL, modelmgr.load('bi_model'));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save('bi_new', NULL);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- Unknown models and versions
-- ---------------------------------------------------------------------------
SELECT modelmgr.predict('bi_no_such_model', ARRAY[1.0, 2.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('bi_no_such_model', d) FROM bi_data d WHERE i = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('BI_MODEL', ARRAY[1.0, 2.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('bi_no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.deploy('bi_no_such_model', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.rollback('bi_no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_version('bi_no_such_model', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_model('bi_no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.grant_use('bi_no_such_model', 'public');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.revoke_use('bi_no_such_model', 'public');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict(repeat('m', 300), ARRAY[1.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('bi_model', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.deploy('bi_model', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.deploy('bi_model', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.deploy('bi_model', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_version('bi_model', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_version('bi_model', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('bi_model', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('bi_model', -3);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.rollback('bi_model');
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- Bad feature values at predict time
-- ---------------------------------------------------------------------------
SELECT modelmgr.predict('bi_model', ARRAY[1.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('bi_model', ARRAY[1.0, 2.0, 3.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('bi_model', ARRAY[]::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('bi_model', ARRAY[[1.0, 2.0]]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('bi_model', ARRAY['NaN', 1.0]::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('bi_model', ARRAY[1.0, '-Infinity']::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('bi_model', ROW(1.0, 2.0));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('bi_model', s) FROM (SELECT x1, label AS x2 FROM bi_data WHERE i = 1) s;
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- Damaged model values
-- ---------------------------------------------------------------------------
SELECT '\x00'::bytea::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
SELECT ''::bytea::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
SELECT 'not base64!'::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
SELECT 'AAAA'::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
-- a real artifact with one byte changed, and cut short by one byte
SELECT overlay(artifact PLACING '\xff'::bytea FROM 40 FOR 1)::modelmgr.model
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'bi_model';
\echo :LAST_ERROR_SQLSTATE
SELECT substr(artifact, 1, length(artifact) - 1)::modelmgr.model
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'bi_model';
\echo :LAST_ERROR_SQLSTATE
SELECT (artifact || '\x00'::bytea)::modelmgr.model
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'bi_model';
\echo :LAST_ERROR_SQLSTATE
-- the undamaged artifact is accepted, so the checks above are about the damage
SELECT modelmgr.describe(artifact::modelmgr.model)->>'algorithm' AS undamaged
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'bi_model';

-- ---------------------------------------------------------------------------
-- Quoting and injection: names are data, never SQL
-- ---------------------------------------------------------------------------
-- model names are stored verbatim and work everywhere
SELECT name, version FROM modelmgr.train($$bi_x'; DROP TABLE bi_victim; --$$, 'linear_regression', 'bi_data', 'y', ARRAY['x1']);
SELECT name, version FROM modelmgr.train('bi_"quoted"', 'linear_regression', 'bi_data', 'y', ARRAY['x1']);
SELECT name, version FROM modelmgr.train($$bi_Robert'); DROP TABLE bi_victim;--$$, 'linear_regression', 'bi_data', 'y', ARRAY['x1']);
SELECT name, version FROM modelmgr.train($$bi_\'; SELECT pg_sleep(0); $x$ \\$$, 'linear_regression', 'bi_data', 'y', ARRAY['x1']);
SELECT name FROM modelmgr.models WHERE name LIKE 'bi\_%' AND name <> 'bi_model' ORDER BY 1;
SELECT name, modelmgr.predict(name, ARRAY[0.5]) = modelmgr.predict('bi_"quoted"', ARRAY[0.5]) AS predicts
FROM modelmgr.models WHERE name LIKE 'bi\_%' AND name NOT IN ('bi_model', 'bi_ridge_const', 'bi_ridge_collinear')
ORDER BY 1;
SELECT modelmgr.deploy($$bi_x'; DROP TABLE bi_victim; --$$, 1);
SELECT modelmgr.grant_use($$bi_Robert'); DROP TABLE bi_victim;--$$, 'public');
SELECT modelmgr.revoke_use($$bi_Robert'); DROP TABLE bi_victim;--$$, 'public');
SELECT count(*) AS victim_rows FROM bi_victim;
-- relation names go through regclass: quoting is the caller's, nothing else parses them
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data; DROP TABLE bi_victim', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', '"bi_data; DROP TABLE bi_victim"', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', $$bi_data" WHERE false; DROP TABLE bi_victim; --$$, 'y');
\echo :LAST_ERROR_SQLSTATE
-- a table whose real name is an injection attempt trains fine: it is quoted
CREATE TABLE "bi_t""; DROP TABLE bi_victim; --" AS SELECT x1, y FROM bi_data;
SELECT name, train_rows + test_rows AS rows
FROM modelmgr.train('bi_weird_table', 'linear_regression', '"bi_t""; DROP TABLE bi_victim; --"', 'y');
SELECT v.source_relation FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'bi_weird_table';
-- target and feature names are looked up as column names, never spliced into SQL
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', $$y"; DROP TABLE bi_victim; --$$);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y',
                                   ARRAY[$$x1"::float8 FROM bi_data; DROP TABLE bi_victim; --$$]);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', ARRAY['x1, x2']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('bi_new', 'linear_regression', 'bi_data', 'y', ARRAY['(SELECT 1)']);
\echo :LAST_ERROR_SQLSTATE
-- columns whose real names need quoting train fine
CREATE TABLE bi_odd_columns AS SELECT x1 AS "x'1", x2 AS "x""2", x3 AS "select", y AS "y; DROP TABLE bi_victim" FROM bi_data;
SELECT name, train_rows + test_rows AS rows
FROM modelmgr.train('bi_odd_columns', 'linear_regression', 'bi_odd_columns', 'y; DROP TABLE bi_victim');
SELECT v.target, v.features FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'bi_odd_columns';
SELECT modelmgr.predict('bi_odd_columns', t) IS NOT NULL AS predicts FROM bi_odd_columns t LIMIT 1;
-- role names are looked up, never spliced
SELECT modelmgr.grant_use('bi_model', $$public'; DROP TABLE bi_victim; --$$);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.grant_use('bi_model', '"public"');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.grant_use('bi_model', $$regress_x" WITH SUPERUSER; --$$);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.revoke_use('bi_model', $$x'); DELETE FROM modelmgr.model_grants; --$$);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.grant_use('bi_model', '');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS victim_rows FROM bi_victim;

-- ---------------------------------------------------------------------------
-- Nothing above changed the registry beyond the models made on purpose
-- ---------------------------------------------------------------------------
SELECT modelmgr.drop_model(name) FROM modelmgr.models
WHERE name LIKE 'bi\_%' AND name <> 'bi_model' ORDER BY name;
SELECT b.models = (SELECT count(*) FROM modelmgr.models) AS models_same,
       b.versions = (SELECT count(*) FROM modelmgr.model_versions) AS versions_same,
       b.deployments = (SELECT count(*) FROM modelmgr.deployments) AS deployments_same,
       b.grants = (SELECT count(*) FROM modelmgr.model_grants) AS grants_same,
       b.state = (SELECT string_agg(name || ':' || coalesce(deployed_version, 0) || '/' || last_version, ',' ORDER BY name)
                  FROM modelmgr.models) AS state_same
FROM bi_before b;
SELECT count(*) AS bi_new_models FROM modelmgr.models WHERE name = 'bi_new';

-- ---------------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------------
SELECT modelmgr.drop_model('bi_model');
SELECT count(*) AS left_over FROM modelmgr.models WHERE name LIKE 'bi\_%';
DROP TABLE bi_data, bi_victim, bi_empty, bi_null_target, bi_null_feature, bi_nan_target, bi_inf_target,
           bi_inf_feature, bi_nan_numeric, bi_few, bi_const, bi_collinear, bi_only_target,
           "bi_t""; DROP TABLE bi_victim; --", bi_odd_columns;
DROP SEQUENCE bi_seq;
DROP TYPE bi_composite;

-- ---------------------------------------------------------------------------
-- NULL arguments to predict: NULL in, NULL out (last, on a model of its own)
-- ---------------------------------------------------------------------------
CREATE TABLE bi_nulls AS SELECT sin(i)::float8 AS x1, (1 + 2 * sin(i) + 0.1 * cos(i * 3.1))::float8 AS y
FROM generate_series(1, 50) AS i;
SELECT version FROM modelmgr.train('bi_null_args', 'linear_regression', 'bi_nulls', 'y');
SELECT modelmgr.predict('bi_null_args', NULL::float8[]) IS NULL AS null_features;
SELECT modelmgr.predict(NULL::text, ARRAY[1.0]) IS NULL AS null_name;
SELECT modelmgr.predict('bi_null_args', NULL::record) IS NULL AS null_row;
SELECT modelmgr.predict(NULL::modelmgr.model, ARRAY[1.0]) IS NULL AS null_model;
SELECT modelmgr.predict(modelmgr.load('bi_null_args'), NULL::float8[]) IS NULL AS null_model_features;
SELECT modelmgr.predict(NULL::modelmgr.model, t) IS NULL AS null_model_row FROM bi_nulls t LIMIT 1;
-- NULLs among real rows
SELECT count(*) AS rows, count(p) AS predicted
FROM (SELECT modelmgr.predict(n, f) AS p
      FROM (VALUES ('bi_null_args', ARRAY[0.5]::float8[]), (NULL, ARRAY[0.5]), ('bi_null_args', NULL)) v(n, f)) s;
SELECT modelmgr.drop_model('bi_null_args');
DROP TABLE bi_nulls;
