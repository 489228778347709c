-- upgrade: walk the update chain from 0.1.0 in a database of its own; the
-- registry survives every step unchanged, the new functions work on the old
-- models, and the updated extension has exactly the objects of a fresh
-- CREATE EXTENSION
\set VERBOSITY default
\set regress_db :DBNAME

-- ---------------------------------------------------------------------------
-- A database at 0.1.0 with models in it
-- ---------------------------------------------------------------------------
CREATE DATABASE regress_mm_upgrade;
\c regress_mm_upgrade
\set VERBOSITY default
CREATE EXTENSION modelmgr VERSION '0.1.0';

-- The catalog footprint of the extension in the current database, one line
-- per fact, by name (never by OID): member objects with their comments,
-- functions with their signature, result, volatility, parallel safety,
-- strictness, security and C symbol, columns, constraints, indexes, view
-- definitions, privileges, event triggers, and the tables pg_dump keeps.
CREATE FUNCTION public.mm_footprint() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT regexp_replace(line, '\s+', ' ', 'g') FROM (
  WITH ext AS (SELECT oid, extconfig FROM pg_extension WHERE extname = 'modelmgr'),
  members AS (
    SELECT d.classid, d.objid, d.objsubid
    FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
  SELECT 'member: ' || pg_describe_object(classid, objid, objsubid)
         || ' -- ' || coalesce(obj_description(objid, (SELECT relname FROM pg_class WHERE oid = classid)), '(no comment)')
  FROM members
  UNION ALL
  SELECT format('function: %s(%s) returns %s; %s %s %s %s %s',
                p.oid::regproc, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
                p.provolatile, p.proparallel, p.proisstrict, p.prosecdef, p.prosrc)
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
  UNION ALL
  SELECT format('acl: %s %s', p.oid::regprocedure, p.proacl)
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
  UNION ALL
  SELECT format('column: %s.%s %s%s default %s -- %s', c.relname, a.attname,
                format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                pg_get_expr(ad.adbin, ad.adrelid), col_description(c.oid, a.attnum))
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
  UNION ALL
  SELECT format('column order: %s (%s)', c.relname,
                (SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  UNION ALL
  SELECT format('constraint: %s %s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  JOIN pg_constraint k ON k.conrelid = c.oid
  UNION ALL
  SELECT format('index: %s', pg_get_indexdef(i.indexrelid))
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  JOIN pg_index i ON i.indrelid = c.oid
  UNION ALL
  SELECT format('view: %s %s', c.relname, pg_get_viewdef(c.oid))
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  WHERE c.relkind = 'v'
  UNION ALL
  SELECT format('acl: %s %s', c.relname, c.relacl)
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  UNION ALL
  SELECT format('dumped: %s', c.relname)
  FROM ext, unnest(ext.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
  UNION ALL
  SELECT format('event trigger: %s %s %s %s %s', t.evtname, t.evtevent, t.evtfoid::regproc, t.evtenabled, t.evttags)
  FROM members m JOIN pg_event_trigger t ON m.classid = 'pg_event_trigger'::regclass AND t.oid = m.objid
  UNION ALL
  SELECT format('schema acl: %s', n.nspacl) FROM pg_namespace n WHERE n.nspname = 'modelmgr'
  ) AS facts(line)
$$;
-- the same function in the fresh database: carry its definition over
SELECT pg_get_functiondef('public.mm_footprint'::regproc) AS footprint_function \gset

SELECT extversion FROM pg_extension WHERE extname = 'modelmgr';
SELECT proname FROM pg_proc WHERE pronamespace = 'modelmgr'::regnamespace
  AND proname IN ('retrain', 'gc', 'export', 'import') ORDER BY 1;

CREATE TABLE up_data AS
SELECT i,
       sin(i)::float8 AS x1,
       cos(i * 0.7)::float8 AS x2,
       (1 + 2 * sin(i) - cos(i * 0.7) + 0.05 * sin(i * 17.1))::float8 AS y
FROM generate_series(1, 300) AS i;
SELECT version, deployed FROM modelmgr.train('up_model', 'linear_regression', 'up_data', 'y', ARRAY['x1', 'x2']);
SELECT version, deployed FROM modelmgr.train('up_model', 'linear_regression', 'up_data', 'y', ARRAY['x1', 'x2'],
                                             params => '{"l2": 5}', deploy => 'always');
SELECT modelmgr.rollback('up_model');
SELECT modelmgr.deploy('up_model', 2, 'ridge after all');
SELECT modelmgr.save('up_saved', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['x1', 'x2']) FROM up_data;
CREATE ROLE regress_up_user;
SELECT modelmgr.grant_use('up_model', 'regress_up_user');

-- Between installing the new library and ALTER EXTENSION ... UPDATE the
-- 0.1.0 objects run on it: a training that is not deployed works as in
-- 0.1.0 (the 0.1.0 deployments table has no place for a 'keep' row).
SELECT version, deployed FROM modelmgr.train('up_model', 'linear_regression', 'up_data', 'y', ARRAY['x1'],
                                             deploy => 'never');
SELECT action, from_version, to_version, reason FROM modelmgr.deployments ORDER BY id;

-- the state before the update, kept in psql variables
SELECT md5(string_agg(format('%s %s %s %s %s %s', name, task, owner, description, deployed_version, last_version),
                      E'\n' ORDER BY name)) AS models_before,
       (SELECT md5(string_agg(format('%s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s', m.name, v.version,
                                     v.parent_version, v.operation, v.algorithm, v.params, v.source_relation,
                                     v.target, v.features, v.seed, v.test_fraction, v.train_rows, v.metrics,
                                     md5(v.artifact), v.checksum, v.created_at),
                              E'\n' ORDER BY m.name, v.version))
        FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id) AS versions_before,
       (SELECT md5(string_agg(format('%s %s %s %s %s %s %s %s', d.id, m.name, d.action, d.from_version,
                                     d.to_version, d.reason, d.deployed_by, d.deployed_at),
                              E'\n' ORDER BY d.id))
        FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id) AS deployments_before,
       (SELECT md5(string_agg(format('%s %s', model_id, grantee), E'\n' ORDER BY model_id, grantee))
        FROM modelmgr.model_grants) AS grants_before,
       (SELECT md5(string_agg(format('%s %s %s', i, modelmgr.predict('up_model', d), modelmgr.predict('up_saved', d)),
                              E'\n' ORDER BY i))
        FROM up_data d) AS predictions_before,
       (SELECT last_value FROM modelmgr.models_id_seq) AS models_seq_before,
       (SELECT last_value FROM modelmgr.deployments_id_seq) AS deployments_seq_before
FROM modelmgr.models \gset

-- ---------------------------------------------------------------------------
-- ALTER EXTENSION ... UPDATE walks the chain to the default version
-- ---------------------------------------------------------------------------
SELECT source, target, path FROM pg_extension_update_paths('modelmgr') WHERE path IS NOT NULL ORDER BY 1, 2;
ALTER EXTENSION modelmgr UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'modelmgr';
SELECT proname FROM pg_proc WHERE pronamespace = 'modelmgr'::regnamespace
  AND proname IN ('retrain', 'gc', 'export', 'import') ORDER BY 1;
-- updating again is a no-op
ALTER EXTENSION modelmgr UPDATE;

-- the registry is unchanged, row for row, and every prediction is the same
SELECT md5(string_agg(format('%s %s %s %s %s %s', name, task, owner, description, deployed_version, last_version),
                      E'\n' ORDER BY name)) = :'models_before' AS models_same,
       (SELECT md5(string_agg(format('%s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s', m.name, v.version,
                                     v.parent_version, v.operation, v.algorithm, v.params, v.source_relation,
                                     v.target, v.features, v.seed, v.test_fraction, v.train_rows, v.metrics,
                                     md5(v.artifact), v.checksum, v.created_at),
                              E'\n' ORDER BY m.name, v.version))
        FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id) = :'versions_before' AS versions_same,
       (SELECT md5(string_agg(format('%s %s %s %s %s %s %s %s', d.id, m.name, d.action, d.from_version,
                                     d.to_version, d.reason, d.deployed_by, d.deployed_at),
                              E'\n' ORDER BY d.id))
        FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id) = :'deployments_before' AS deployments_same,
       (SELECT md5(string_agg(format('%s %s', model_id, grantee), E'\n' ORDER BY model_id, grantee))
        FROM modelmgr.model_grants) = :'grants_before' AS grants_same,
       (SELECT md5(string_agg(format('%s %s %s', i, modelmgr.predict('up_model', d), modelmgr.predict('up_saved', d)),
                              E'\n' ORDER BY i))
        FROM up_data d) = :'predictions_before' AS predictions_same,
       (SELECT last_value FROM modelmgr.models_id_seq) = :models_seq_before AS models_seq_same,
       (SELECT last_value FROM modelmgr.deployments_id_seq) = :deployments_seq_before AS deployments_seq_same
FROM modelmgr.models;
SELECT name, deployed_version, last_version FROM modelmgr.models ORDER BY name;
SELECT m.name, d.action, d.from_version, d.to_version, d.candidate_version, d.reason
FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id ORDER BY d.id;
SELECT pg_get_constraintdef(oid) AS action_check FROM pg_constraint
WHERE conrelid = 'modelmgr.deployments'::regclass AND conname = 'deployments_action_check';

-- the new functions work on models made before the update
SELECT version, champion_version, deployed, reason FROM modelmgr.retrain('up_model');
SELECT m.name, d.action, d.from_version, d.to_version, d.candidate_version
FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id ORDER BY d.id DESC LIMIT 1;
SELECT version, parent_version, operation FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'up_model' ORDER BY version;
SELECT dropped FROM modelmgr.gc('up_model', keep => 1) AS dropped ORDER BY 1;
SELECT modelmgr.import('up_copy', modelmgr.export('up_model')) AS imported_version;
SELECT bool_and(modelmgr.predict('up_copy', d) = modelmgr.predict('up_model', d)) AS copy_predicts_the_same
FROM up_data d;
-- a grant made before the update still lets its grantee predict
SET ROLE regress_up_user;
SELECT round(modelmgr.predict('up_model', ARRAY[0.5, 0.5])::numeric, 6) = round(modelmgr.predict(modelmgr.load('up_model', 2), ARRAY[0.5, 0.5])::numeric, 6) AS grantee_predicts;
RESET ROLE;

-- every object of the updated extension has a comment
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS uncommented
FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'modelmgr')
  AND d.deptype = 'e'
  AND obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)) IS NULL
ORDER BY 1;

SELECT string_agg(line, E'\n' ORDER BY line) AS updated_footprint FROM public.mm_footprint() AS line \gset

-- ---------------------------------------------------------------------------
-- A fresh CREATE EXTENSION in another database ends with the same objects
-- ---------------------------------------------------------------------------
CREATE DATABASE regress_mm_fresh;
\c regress_mm_fresh
\set VERBOSITY default
CREATE EXTENSION modelmgr;
SELECT extversion FROM pg_extension WHERE extname = 'modelmgr';
:footprint_function;
SELECT string_agg(line, E'\n' ORDER BY line) AS fresh_footprint FROM public.mm_footprint() AS line \gset

-- (CREATE EXTENSION runs 0.1.0 and then the same update script today; this
-- guards the day a release ships a full modelmgr--X.Y.Z.sql of its own)
SELECT :'updated_footprint' = :'fresh_footprint' AS same_objects,
       position('function: modelmgr.retrain(' IN :'fresh_footprint') > 0 AS has_retrain,
       position('column order: deployments (id, model_id, action, from_version, to_version, reason, deployed_by, deployed_at, candidate_version)'
                IN :'fresh_footprint') > 0 AS deployments_columns;
-- what differs, if anything
SELECT 'only after update' AS side, line
FROM (SELECT unnest(string_to_array(:'updated_footprint', E'\n'))
      EXCEPT SELECT unnest(string_to_array(:'fresh_footprint', E'\n'))) AS d(line)
UNION ALL
SELECT 'only in fresh', line
FROM (SELECT unnest(string_to_array(:'fresh_footprint', E'\n'))
      EXCEPT SELECT unnest(string_to_array(:'updated_footprint', E'\n'))) AS d(line)
ORDER BY 1, 2;

-- ---------------------------------------------------------------------------
-- clean up: back to the test database
-- ---------------------------------------------------------------------------
\c :regress_db
\set VERBOSITY default
SELECT current_database() = :'regress_db' AS back_home;
DROP DATABASE regress_mm_fresh;
DROP DATABASE regress_mm_upgrade;
DROP ROLE regress_up_user;
SELECT count(*) AS leftover_databases FROM pg_database WHERE datname LIKE 'regress\_mm\_%';
