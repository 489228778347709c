-- registry: version numbering, deploy, rollback, load, drop, save, the DROP
-- EXTENSION guard, and transactional behaviour
\set VERBOSITY default

CREATE TABLE rg_data AS
SELECT i,
       sin(i)::float8 AS x1,
       cos(i * 0.7)::float8 AS x2,
       (2 - 3 * sin(i) + 0.5 * cos(i * 0.7) + 0.05 * sin(i * 11.3))::float8 AS y
FROM generate_series(1, 300) AS i;

-- a helper view over the registry for one model (tests run as superuser)
CREATE VIEW rg_versions AS
SELECT m.name, v.version, v.operation, m.deployed_version = v.version AS deployed
FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id;
CREATE VIEW rg_history AS
SELECT m.name, d.id, d.action, d.from_version, d.to_version, d.reason, d.deployed_by
FROM modelmgr.models m JOIN modelmgr.deployments d ON d.model_id = m.id;

-- ---------------------------------------------------------------------------
-- Version numbers: 1, 2, 3 ... never reused after drop_version
-- ---------------------------------------------------------------------------
SELECT version, deployed FROM modelmgr.train('rg_main', 'linear_regression', 'rg_data', 'y', ARRAY['x1', 'x2']);
SELECT version, deployed FROM modelmgr.train('rg_main', 'linear_regression', 'rg_data', 'y', ARRAY['x1', 'x2'],
                                             params => '{"l2": 10}', deploy => 'never');
SELECT version, deployed FROM modelmgr.train('rg_main', 'linear_regression', 'rg_data', 'y', ARRAY['x1'],
                                             deploy => 'never');
SELECT * FROM rg_versions WHERE name = 'rg_main' ORDER BY version;
SELECT modelmgr.drop_version('rg_main', 3);
SELECT version FROM modelmgr.train('rg_main', 'linear_regression', 'rg_data', 'y', ARRAY['x1'], deploy => 'never');
SELECT * FROM rg_versions WHERE name = 'rg_main' ORDER BY version;
SELECT deployed_version, last_version FROM modelmgr.models WHERE name = 'rg_main';
-- a dropped version is gone for load, deploy and drop_version alike
SELECT modelmgr.load('rg_main', 3);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.deploy('rg_main', 3);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_version('rg_main', 3);
\echo :LAST_ERROR_SQLSTATE
-- never the deployed version
SELECT modelmgr.drop_version('rg_main', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS versions FROM rg_versions WHERE name = 'rg_main';

-- ---------------------------------------------------------------------------
-- deploy and the deployment record
-- ---------------------------------------------------------------------------
SELECT modelmgr.deploy('rg_main', 2);
SELECT modelmgr.deploy('rg_main', 4, 'shorter model');
SELECT deployed_version FROM modelmgr.models WHERE name = 'rg_main';
-- deploying the deployed version again changes and records nothing
SELECT modelmgr.deploy('rg_main', 4);
SELECT action, from_version, to_version, reason, deployed_by FROM rg_history WHERE name = 'rg_main' ORDER BY id;
-- predict(name, ...) follows the deployment from the next statement on
SELECT modelmgr.predict('rg_main', ARRAY[0.3]) = modelmgr.predict(modelmgr.load('rg_main', 4), ARRAY[0.3]) AS uses_v4;
SELECT modelmgr.predict('rg_main', ARRAY[0.3, 0.4]);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- rollback walks back through the deployment history
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train('rg_roll', 'linear_regression', 'rg_data', 'y', ARRAY['x1', 'x2']);
SELECT version FROM modelmgr.train('rg_roll', 'linear_regression', 'rg_data', 'y', ARRAY['x1', 'x2'],
                                   params => '{"l2": 1}', deploy => 'never');
SELECT version FROM modelmgr.train('rg_roll', 'linear_regression', 'rg_data', 'y', ARRAY['x1', 'x2'],
                                   params => '{"l2": 2}', deploy => 'never');
SELECT modelmgr.deploy('rg_roll', 2);
SELECT modelmgr.deploy('rg_roll', 3);
SELECT modelmgr.rollback('rg_roll');
SELECT deployed_version FROM modelmgr.models WHERE name = 'rg_roll';
SELECT modelmgr.rollback('rg_roll', 'back to the first');
SELECT deployed_version FROM modelmgr.models WHERE name = 'rg_roll';
SELECT modelmgr.rollback('rg_roll');
\echo :LAST_ERROR_SQLSTATE
SELECT deployed_version FROM modelmgr.models WHERE name = 'rg_roll';
SELECT action, from_version, to_version, reason FROM rg_history WHERE name = 'rg_roll' ORDER BY id;
-- a deploy after rollbacks pushes again: deploy 3, rollback lands on 1
SELECT modelmgr.deploy('rg_roll', 3);
SELECT modelmgr.rollback('rg_roll');
-- rollback skips dropped versions: 1 -> 2 -> 3, drop 2, rollback lands on 1
SELECT modelmgr.deploy('rg_roll', 2);
SELECT modelmgr.deploy('rg_roll', 3);
SELECT modelmgr.drop_version('rg_roll', 2);
SELECT modelmgr.rollback('rg_roll');
SELECT deployed_version FROM modelmgr.models WHERE name = 'rg_roll';
SELECT action, from_version, to_version FROM rg_history WHERE name = 'rg_roll' ORDER BY id;
-- rg_main went 1 -> 2 -> 4: rollback returns to 2
SELECT modelmgr.rollback('rg_main');
SELECT action, from_version, to_version, reason FROM rg_history WHERE name = 'rg_main' ORDER BY id;

-- ---------------------------------------------------------------------------
-- load returns a modelmgr.model value usable with predict and describe
-- ---------------------------------------------------------------------------
SELECT pg_typeof(modelmgr.load('rg_roll')) AS type,
       modelmgr.describe(modelmgr.load('rg_roll'))->>'checksum'
         = (SELECT v.checksum FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
            WHERE m.name = 'rg_roll' AND v.version = m.deployed_version) AS deployed_checksum,
       modelmgr.load('rg_roll')::bytea = modelmgr.load('rg_roll', 1)::bytea AS load_is_deployed,
       modelmgr.load('rg_roll', NULL)::bytea = modelmgr.load('rg_roll', 1)::bytea AS null_version_is_deployed,
       modelmgr.load('rg_roll', 3)::bytea <> modelmgr.load('rg_roll', 1)::bytea AS versions_differ;
SELECT modelmgr.predict(modelmgr.load('rg_roll', 3), ARRAY[0.5, -0.5])
         = modelmgr.predict(modelmgr.load('rg_roll', 3), d) AS array_equals_row,
       modelmgr.predict(modelmgr.load('rg_roll', 1), d) = modelmgr.predict('rg_roll', d) AS deployed_equals_name
FROM (SELECT 0.5::float8 AS x1, -0.5::float8 AS x2) d;
-- every stored artifact loads and round-trips through text and bytea
SELECT v.version,
       modelmgr.load('rg_roll', v.version)::text::modelmgr.model::bytea = v.artifact AS text_roundtrip,
       v.artifact::modelmgr.model::bytea = v.artifact AS bytea_roundtrip
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'rg_roll' ORDER BY 1;
SELECT modelmgr.load('rg_roll', 99);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('rg_roll', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('rg_no_such_model');
\echo :LAST_ERROR_SQLSTATE
-- a model with no deployed version loads only by version
SELECT version, deployed FROM modelmgr.train('rg_undeployed', 'linear_regression', 'rg_data', 'y', ARRAY['x1'],
                                             deploy => 'never');
SELECT modelmgr.load('rg_undeployed');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('rg_undeployed', ARRAY[1.0]);
\echo :LAST_ERROR_SQLSTATE
-- nothing was ever deployed: nothing to roll back to
SELECT modelmgr.rollback('rg_undeployed');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.describe(modelmgr.load('rg_undeployed', 1))->'coefficients' ? 'x1' AS loads_by_version;

-- ---------------------------------------------------------------------------
-- save: register a model value (from the linear_fit aggregate) as a version
-- ---------------------------------------------------------------------------
SELECT modelmgr.save('rg_saved', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['sine', 'cosine']) AS version
FROM rg_data;
SELECT v.version, v.operation, v.algorithm, v.features, v.target, v.source_relation, v.train_rows,
       m.deployed_version, m.task
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'rg_saved';
SELECT jsonb_path_query_array(modelmgr.describe(modelmgr.load('rg_saved')), '$.features[*].name') AS features,
       round((modelmgr.describe(modelmgr.load('rg_saved'))->'coefficients'->>'sine')::numeric, 2) AS sine,
       round((modelmgr.describe(modelmgr.load('rg_saved'))->'coefficients'->>'cosine')::numeric, 2) AS cosine;
-- the saved model predicts from rows whose columns carry the new names
SELECT round(modelmgr.predict('rg_saved', s)::numeric, 6)
         = round(modelmgr.predict('rg_saved', ARRAY[s.sine, s.cosine])::numeric, 6) AS by_new_names
FROM (SELECT x1 AS sine, x2 AS cosine FROM rg_data WHERE i = 7) s;
SELECT modelmgr.predict('rg_saved', d) FROM rg_data d WHERE i = 7;
\echo :LAST_ERROR_SQLSTATE
-- a second save is version 2, not deployed over the deployed version 1
SELECT modelmgr.save('rg_saved', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['sine', 'cosine']) AS version
FROM rg_data WHERE i <= 100;
SELECT * FROM rg_versions WHERE name = 'rg_saved' ORDER BY version;
-- features naming too few or too many columns
SELECT modelmgr.save('rg_saved', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['only_one']) FROM rg_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save('rg_saved', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['a', 'b', 'c']) FROM rg_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save('rg_saved', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['a', 'a']) FROM rg_data;
\echo :LAST_ERROR_SQLSTATE
SELECT last_version FROM modelmgr.models WHERE name = 'rg_saved';

-- ---------------------------------------------------------------------------
-- drop_model removes versions, deployments and grants
-- ---------------------------------------------------------------------------
CREATE ROLE regress_rg_reader;
SELECT modelmgr.grant_use('rg_roll', 'regress_rg_reader');
CREATE TEMP TABLE rg_dropped AS SELECT id FROM modelmgr.models WHERE name = 'rg_roll';
SELECT (SELECT count(*) FROM modelmgr.model_versions WHERE model_id = (SELECT id FROM rg_dropped)) AS versions,
       (SELECT count(*) FROM modelmgr.deployments WHERE model_id = (SELECT id FROM rg_dropped)) AS deployments,
       (SELECT count(*) FROM modelmgr.model_grants WHERE model_id = (SELECT id FROM rg_dropped)) AS grants;
SELECT modelmgr.drop_model('rg_roll');
SELECT (SELECT count(*) FROM modelmgr.models WHERE id = (SELECT id FROM rg_dropped)) AS models,
       (SELECT count(*) FROM modelmgr.model_versions WHERE model_id = (SELECT id FROM rg_dropped)) AS versions,
       (SELECT count(*) FROM modelmgr.deployments WHERE model_id = (SELECT id FROM rg_dropped)) AS deployments,
       (SELECT count(*) FROM modelmgr.model_grants WHERE model_id = (SELECT id FROM rg_dropped)) AS grants;
SELECT modelmgr.predict('rg_roll', ARRAY[0.5, -0.5]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_model('rg_roll');
\echo :LAST_ERROR_SQLSTATE
-- the name can be used again: a new model, starting at version 1
SELECT version, deployed FROM modelmgr.train('rg_roll', 'linear_regression', 'rg_data', 'y', ARRAY['x1']);
SELECT id <> (SELECT id FROM rg_dropped) AS new_id, last_version FROM modelmgr.models WHERE name = 'rg_roll';

-- ---------------------------------------------------------------------------
-- Transactions: every registry change rolls back with its transaction
-- ---------------------------------------------------------------------------
BEGIN;
SELECT version, deployed FROM modelmgr.train('rg_tx', 'linear_regression', 'rg_data', 'y', ARRAY['x1', 'x2']);
SELECT count(*) AS inside FROM rg_versions WHERE name = 'rg_tx';
ROLLBACK;
SELECT count(*) AS models FROM modelmgr.models WHERE name = 'rg_tx';
SELECT count(*) AS versions FROM rg_versions WHERE name = 'rg_tx';

-- a rolled-back deploy leaves the deployed version, its record and predict as they were
SELECT count(*) AS history_before FROM rg_history WHERE name = 'rg_main';
BEGIN;
SELECT modelmgr.deploy('rg_main', 1);
SELECT modelmgr.predict('rg_main', ARRAY[0.3, 0.4]) = modelmgr.predict(modelmgr.load('rg_main', 1), ARRAY[0.3, 0.4])
       AS inside_uses_v1;
ROLLBACK;
SELECT deployed_version FROM modelmgr.models WHERE name = 'rg_main';
SELECT count(*) AS history_after FROM rg_history WHERE name = 'rg_main';
SELECT modelmgr.predict('rg_main', ARRAY[0.3, 0.4]) = modelmgr.predict(modelmgr.load('rg_main', 2), ARRAY[0.3, 0.4])
       AS after_uses_v2;

-- a rolled-back version of an existing model leaves no row; numbers go on
-- from the last committed version
BEGIN;
SELECT version FROM modelmgr.train('rg_main', 'linear_regression', 'rg_data', 'y', ARRAY['x2'], deploy => 'always');
ROLLBACK;
SELECT deployed_version, last_version FROM modelmgr.models WHERE name = 'rg_main';
SELECT version FROM rg_versions WHERE name = 'rg_main' ORDER BY 1;

-- a rolled-back drop_version and drop_model keep the rows
BEGIN;
SELECT modelmgr.drop_version('rg_main', 4);
SELECT modelmgr.drop_model('rg_saved');
ROLLBACK;
SELECT name, count(*) AS versions FROM rg_versions WHERE name IN ('rg_main', 'rg_saved') GROUP BY 1 ORDER BY 1;

-- an error inside a subtransaction undoes only that subtransaction
BEGIN;
SELECT modelmgr.deploy('rg_main', 4);
SAVEPOINT s;
SELECT modelmgr.deploy('rg_main', 42);
ROLLBACK TO SAVEPOINT s;
SELECT deployed_version FROM modelmgr.models WHERE name = 'rg_main';
ROLLBACK;
SELECT deployed_version FROM modelmgr.models WHERE name = 'rg_main';

-- ---------------------------------------------------------------------------
-- The DROP EXTENSION guard
-- ---------------------------------------------------------------------------
-- (our helper views would block the drop themselves: out of the way first)
DROP VIEW rg_versions, rg_history;
SHOW modelmgr.allow_drop;
-- (models other test files may have left are set aside for the count)
BEGIN;
DELETE FROM modelmgr.models WHERE name NOT LIKE 'rg\_%';
DROP EXTENSION modelmgr;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- every spelling of the drop is refused (SQLSTATE only: the count varies)
\set VERBOSITY sqlstate
DROP EXTENSION modelmgr CASCADE;
DROP EXTENSION IF EXISTS plpgsql_not_installed, modelmgr;
DROP SCHEMA modelmgr CASCADE;
DROP SCHEMA "modelmgr", rg_no_such_schema CASCADE;
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS extension_still_there FROM pg_extension WHERE extname = 'modelmgr';
-- other DROP EXTENSION and DROP SCHEMA statements are not affected
CREATE SCHEMA rg_scratch_schema;
DROP SCHEMA rg_scratch_schema;
-- with modelmgr.allow_drop on, the drop goes through (and rolls back here)
BEGIN;
SET modelmgr.allow_drop = on;
DROP EXTENSION modelmgr;
SELECT count(*) AS inside_extensions FROM pg_extension WHERE extname = 'modelmgr';
ROLLBACK;
SHOW modelmgr.allow_drop;
-- without models the guard lets the drop through
BEGIN;
DELETE FROM modelmgr.models;
DROP EXTENSION modelmgr;
SELECT count(*) AS inside_extensions FROM pg_extension WHERE extname = 'modelmgr';
ROLLBACK;
-- DROP OWNED BY the extension's owner would drop the extension (and every
-- model) too: refused the same way.  Here the extension is recreated by a
-- superuser role of its own inside a transaction that is rolled back.
BEGIN;
SET LOCAL modelmgr.allow_drop = on;
DROP EXTENSION modelmgr;
CREATE ROLE regress_rg_admin SUPERUSER;
SET LOCAL ROLE regress_rg_admin;
CREATE EXTENSION modelmgr;
SELECT version FROM modelmgr.train('rg_owned', 'linear_regression', 'rg_data', 'y', ARRAY['x1']);
RESET ROLE;
SET LOCAL modelmgr.allow_drop = off;
-- (the SQLSTATE alone: this refusal's wording is not pinned here)
\set VERBOSITY sqlstate
DROP OWNED BY regress_rg_admin;
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- after the rollbacks the extension and every model are still there and work
SELECT extname, extversion FROM pg_extension WHERE extname = 'modelmgr';
SELECT name, deployed_version, last_version FROM modelmgr.models WHERE name LIKE 'rg\_%' ORDER BY 1;
SELECT modelmgr.predict('rg_main', ARRAY[0.3, 0.4]) = modelmgr.predict(modelmgr.load('rg_main', 2), ARRAY[0.3, 0.4]) AS works;

-- ---------------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------------
SELECT modelmgr.drop_model(name) FROM modelmgr.models WHERE name LIKE 'rg\_%' ORDER BY name;
SELECT count(*) AS left_over FROM modelmgr.models WHERE name LIKE 'rg\_%';
DROP ROLE regress_rg_reader;
DROP TABLE rg_data;
