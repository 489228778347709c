-- export / import: self-describing, checksummed bytes; an imported version
-- predicts bit-identically, in this database and in another one; every way
-- the bytes can be wrong is an error with its SQLSTATE
\set VERBOSITY default
\set regress_db :DBNAME
SET extra_float_digits = 3;

-- a binary logistic regression artifact (test/fuzz/corpus/model/logistic.mmdl)
\set logistic_hex '4d4d444c010000000c010000010000000f0000000200020007000000636875726e65640200000057000000020000000600000074656e7572650101000000000000000000000000000000000000000000000000f03f00000000050000007370656e640101000000000000000000000000000000000000000000000000f03f000000000300000015000000020000000500000066616c73650400000074727565050000002400000004000000636f65660201000001000000020000000200000000000000000040bf0000803d050000002900000009000000696e746572636570740101000001000000010000000100000000000000000000000000e03f0600000008000000d718c5040881b1b9'

CREATE ROLE regress_exp_user;
CREATE ROLE regress_exp_owner;
GRANT USAGE ON SCHEMA modelmgr TO regress_exp_user, regress_exp_owner;

-- deterministic data (no random()): three features and a little noise
CREATE TABLE exp_data AS
SELECT i,
       (i % 23)::float8 / 7 AS x1,
       sin(i * 0.37)::float8 AS x2,
       ((i * 7919) % 101)::float8 AS x3,
       (2 + 0.5 * (i % 23) / 7 - 3 * sin(i * 0.37) + 0.01 * ((i * 7919) % 101)
          + 0.05 * cos(i * 1.3))::float8 AS y
FROM generate_series(1, 2000) AS i;

-- Helpers that read and write the envelope from SQL, straight from
-- doc/format.md (an independent implementation of the layout).
CREATE FUNCTION exp_u32(b bytea, pos integer) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT get_byte(b, pos)::bigint + 256 * get_byte(b, pos + 1)
         + 65536 * get_byte(b, pos + 2) + 16777216::bigint * get_byte(b, pos + 3)
$$;
CREATE FUNCTION exp_le(n bigint, width integer) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  out bytea := substr('\x0000000000000000'::bytea, 1, width);
BEGIN
  FOR i IN 0 .. width - 1 LOOP
    out := set_byte(out, i, ((n >> (8 * i)) & 255)::integer);
  END LOOP;
  RETURN out;
END $$;
CREATE FUNCTION exp_meta_text(b bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT convert_from(substr(b, 13, exp_u32(b, 8)::integer), 'UTF8')
$$;
CREATE FUNCTION exp_artifact(b bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT substr(b, 17 + exp_u32(b, 8)::integer, exp_u32(b, 12 + exp_u32(b, 8)::integer)::integer)
$$;
-- 64-bit FNV-1a, little-endian, in numeric arithmetic
CREATE FUNCTION exp_fnv1a(b bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  h numeric := 14695981039346656037;
  lo integer;
  out bytea := '\x0000000000000000';
BEGIN
  FOR i IN 0 .. length(b) - 1 LOOP
    lo := (h % 256)::integer;
    h := ((h - lo + (lo # get_byte(b, i))) * 1099511628211) % 18446744073709551616;
  END LOOP;
  FOR i IN 0 .. 7 LOOP
    out := set_byte(out, i, (h % 256)::integer);
    h := div(h, 256);
  END LOOP;
  RETURN out;
END $$;
-- an envelope around any metadata text and artifact, correctly sealed
CREATE FUNCTION exp_seal(meta text, artifact bytea, version integer DEFAULT 1) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT body || exp_fnv1a(body)
  FROM (SELECT 'MMEX'::bytea || exp_le(version, 2) || exp_le(0, 2)
               || exp_le(length(convert_to(meta, 'UTF8')), 4) || convert_to(meta, 'UTF8')
               || exp_le(length(artifact), 4) || artifact AS body) s
$$;

-- ---------------------------------------------------------------------------
-- A model with two versions: 1 deployed, 2 not
-- ---------------------------------------------------------------------------
SELECT version, deployed
FROM modelmgr.train('exp_src', 'linear_regression', 'exp_data', 'y', ARRAY['x1', 'x2', 'x3'],
                    params => '{"l2": 0.5}');
SELECT version, deployed
FROM modelmgr.train('exp_src', 'linear_regression', 'exp_data', 'y', ARRAY['x1', 'x2', 'x3'],
                    params => '{"l2": 50}', seed => 7, test_fraction => 0.25, deploy => 'never');

CREATE TABLE exp_blobs (label text PRIMARY KEY, data bytea NOT NULL);
INSERT INTO exp_blobs VALUES
    ('deployed', modelmgr.export('exp_src')),
    ('v2', modelmgr.export('exp_src', 2));
GRANT SELECT ON exp_blobs TO regress_exp_user, regress_exp_owner;

-- ---------------------------------------------------------------------------
-- The envelope: magic, version, flags, lengths, the artifact unchanged,
-- and a checksum that an independent implementation agrees with
-- ---------------------------------------------------------------------------
SELECT label,
       substr(data, 1, 4) = 'MMEX'::bytea AS magic,
       exp_u32(data, 4) & 65535 AS envelope_version,
       exp_u32(data, 4) >> 16 AS flags,
       length(data) = 24 + exp_u32(data, 8) + exp_u32(data, 12 + exp_u32(data, 8)::integer) AS lengths_add_up,
       exp_seal(exp_meta_text(data), exp_artifact(data)) = data AS resealed_identical
FROM exp_blobs ORDER BY label;
SELECT exp_artifact(data) = modelmgr.load('exp_src')::bytea AS artifact_is_v1
FROM exp_blobs WHERE label = 'deployed';
SELECT exp_artifact(data) = modelmgr.load('exp_src', 2)::bytea AS artifact_is_v2
FROM exp_blobs WHERE label = 'v2';
-- the same version exports to the same bytes
SELECT modelmgr.export('exp_src') = modelmgr.export('exp_src', 1) AS deterministic;

-- the metadata: every field, checked against the registry
SELECT jsonb_object_keys(exp_meta_text(data)::jsonb) AS key
FROM exp_blobs WHERE label = 'deployed' ORDER BY 1;
SELECT m->'modelmgr_export' AS export_version, m->'format_version' AS format_version,
       m->'model' AS model, m->'version' AS version, m->'task' AS task,
       m->'algorithm' AS algorithm, m->'operation' AS operation
FROM (SELECT exp_meta_text(data)::jsonb AS m FROM exp_blobs) s ORDER BY m->'version';
SELECT m->'params' AS params, m->'source_relation' AS source_relation, m->'target' AS target,
       m->'features' AS features, m->'seed' AS seed, m->'test_fraction' AS test_fraction
FROM (SELECT exp_meta_text(data)::jsonb AS m FROM exp_blobs) s ORDER BY m->'version';
SELECT (m->>'train_rows')::bigint = v.train_rows AS train_rows,
       (m->>'test_rows')::bigint = v.test_rows AS test_rows,
       (m->>'skipped_rows')::bigint = v.skipped_rows AS skipped_rows,
       m->'metrics' = v.metrics AS metrics,
       m->>'checksum' = v.checksum AS checksum,
       m->>'created_by' = v.created_by::text AS created_by,
       (m->>'created_at')::timestamptz = v.created_at AS created_at,
       m->>'created_at' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS created_at_is_utc
FROM (SELECT exp_meta_text(data)::jsonb AS m FROM exp_blobs) s
JOIN modelmgr.model_versions v ON v.version = (m->>'version')::integer
JOIN modelmgr.models mo ON mo.id = v.model_id AND mo.name = 'exp_src'
ORDER BY v.version;

-- ---------------------------------------------------------------------------
-- Import into another name in the same database: bit-identical predictions
-- ---------------------------------------------------------------------------
SELECT modelmgr.import('exp_copy', data) AS version FROM exp_blobs WHERE label = 'deployed';
SELECT count(*) AS rows,
       count(*) FILTER (WHERE modelmgr.predict('exp_src', ARRAY[x1, x2, x3])
                            = modelmgr.predict('exp_copy', ARRAY[x1, x2, x3])) AS identical,
       count(*) FILTER (WHERE modelmgr.predict('exp_src', d)
                            IS DISTINCT FROM modelmgr.predict('exp_copy', d)) AS mismatches
FROM exp_data d;
-- rows the model never saw, NULLs (imputed) included
SELECT count(*) FILTER (WHERE modelmgr.predict('exp_src', ARRAY[a, b, c])
                              IS DISTINCT FROM modelmgr.predict('exp_copy', ARRAY[a, b, c])) AS mismatches
FROM (SELECT g * 0.013 - 40 AS a, CASE WHEN g % 7 = 0 THEN NULL ELSE cos(g)::float8 END AS b,
             g::float8 AS c
      FROM generate_series(1, 3000) g) s;

-- a second import is version 2, not deployed (the first one stays)
SELECT modelmgr.import('exp_copy', data) AS version FROM exp_blobs WHERE label = 'deployed';
SELECT m.name, m.task, m.owner = current_user AS owned_by_importer, m.deployed_version, m.last_version
FROM modelmgr.models m WHERE m.name = 'exp_copy';
SELECT c.version, c.operation, c.parent_version, c.algorithm, c.params, c.source_relation,
       c.target, c.features, c.seed, c.test_fraction, c.phase_seconds,
       c.train_rows = s.train_rows AND c.test_rows = s.test_rows
         AND c.skipped_rows = s.skipped_rows AS rows_carried,
       c.metrics = s.metrics AS metrics_carried,
       c.artifact = s.artifact AS same_artifact, c.checksum = s.checksum AS same_checksum,
       c.size_bytes = s.size_bytes AS same_size
FROM modelmgr.model_versions c
JOIN modelmgr.models cm ON cm.id = c.model_id AND cm.name = 'exp_copy'
JOIN modelmgr.models sm ON sm.name = 'exp_src'
JOIN modelmgr.model_versions s ON s.model_id = sm.id AND s.version = 1
ORDER BY c.version;

-- a specific version: v2 of exp_src becomes v3 of exp_copy
SELECT modelmgr.import('exp_copy', data) AS version FROM exp_blobs WHERE label = 'v2';
SELECT c.params, c.seed, c.test_fraction, c.metrics = s.metrics AS metrics_carried,
       c.artifact = s.artifact AS same_artifact
FROM modelmgr.model_versions c
JOIN modelmgr.models cm ON cm.id = c.model_id AND cm.name = 'exp_copy'
JOIN modelmgr.models sm ON sm.name = 'exp_src'
JOIN modelmgr.model_versions s ON s.model_id = sm.id AND s.version = 2
WHERE c.version = 3;
SELECT count(*) FILTER (WHERE modelmgr.predict(modelmgr.load('exp_src', 2), ARRAY[x1, x2, x3])
                              IS DISTINCT FROM modelmgr.predict(modelmgr.load('exp_copy', 3), ARRAY[x1, x2, x3]))
       AS mismatches
FROM exp_data;
-- an imported version exports again to the same artifact (lineage starts anew)
SELECT exp_artifact(modelmgr.export('exp_copy', 3)) = exp_artifact(data) AS same_artifact,
       (SELECT jsonb_agg(e - 'created_at')
        FROM jsonb_array_elements(exp_meta_text(modelmgr.export('exp_copy', 3))::jsonb->'lineage') e) AS lineage
FROM exp_blobs WHERE label = 'v2';

-- ---------------------------------------------------------------------------
-- Lineage: parent_version back to the root; a dropped version ends it
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.retrain('exp_src', deploy => 'never');
SELECT e->'version' AS version, e->'parent_version' AS parent, e->'operation' AS operation,
       e->'algorithm' AS algorithm, e->>'created_at' ~ 'Z$' AS utc
FROM jsonb_array_elements(exp_meta_text(modelmgr.export('exp_src', 3))::jsonb->'lineage') e;
SELECT modelmgr.deploy('exp_src', 2);
SELECT modelmgr.drop_version('exp_src', 1);
SELECT exp_meta_text(modelmgr.export('exp_src', 3))::jsonb->'lineage' @> '[{"version": 3}]' AS has_self,
       jsonb_array_length(exp_meta_text(modelmgr.export('exp_src', 3))::jsonb->'lineage') AS entries;

-- ---------------------------------------------------------------------------
-- Another database: export here, import there, same predictions
-- ---------------------------------------------------------------------------
SELECT encode(data, 'hex') AS blob FROM exp_blobs WHERE label = 'deployed' \gset
SELECT md5(exp_artifact(data)) AS src_artifact_md5 FROM exp_blobs WHERE label = 'deployed' \gset
SELECT count(*) AS src_rows, sum(p)::text AS src_sum, md5(string_agg(p::text, ',' ORDER BY i)) AS src_md5
FROM (SELECT i, modelmgr.predict(modelmgr.load('exp_copy', 1), ARRAY[x1, x2, x3]) AS p FROM exp_data) s \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_mm_export_target;
RESET client_min_messages;
CREATE DATABASE regress_mm_export_target;
\c regress_mm_export_target
SET extra_float_digits = 3;
CREATE EXTENSION modelmgr;
CREATE TABLE exp_data AS
SELECT i,
       (i % 23)::float8 / 7 AS x1,
       sin(i * 0.37)::float8 AS x2,
       ((i * 7919) % 101)::float8 AS x3
FROM generate_series(1, 2000) AS i;
SELECT modelmgr.import('exp_moved', decode(:'blob', 'hex')) AS version;
SELECT name, deployed_version FROM modelmgr.models;
SELECT operation, parent_version, algorithm, source_relation, target, features, params,
       md5(artifact) = :'src_artifact_md5' AS same_artifact
FROM modelmgr.model_versions;
SELECT count(*) = :src_rows AS same_rows, sum(p)::text = :'src_sum' AS same_sum,
       md5(string_agg(p::text, ',' ORDER BY i)) = :'src_md5' AS same_predictions
FROM (SELECT i, modelmgr.predict('exp_moved', ARRAY[x1, x2, x3]) AS p FROM exp_data) s;
-- and back: an export of the import carries the same artifact
SELECT md5(substr(e, 17 + m, length(e) - 24 - m)) = :'src_artifact_md5' AS round_trip
FROM (SELECT e, get_byte(e, 8) + 256 * get_byte(e, 9) + 65536 * get_byte(e, 10) AS m
      FROM modelmgr.export('exp_moved') e) s;
\c :regress_db
DROP DATABASE regress_mm_export_target;
SET extra_float_digits = 3;

-- ---------------------------------------------------------------------------
-- Errors: bytes that are not an export, damaged or hand-made ones
-- ---------------------------------------------------------------------------
SELECT modelmgr.import('exp_bad', '\xdeadbeef'::bytea);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', ''::bytea);
\echo :LAST_ERROR_SQLSTATE
-- (truncations of an envelope of known size: the messages give lengths)
SELECT length(exp_seal('{}', decode(:'logistic_hex', 'hex'))) AS fixed_length;
SELECT modelmgr.import('exp_bad', substr(exp_seal('{}', decode(:'logistic_hex', 'hex')), 1, 293));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', substr(exp_seal('{}', decode(:'logistic_hex', 'hex')), 1, 15));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', substr(exp_seal('{}', decode(:'logistic_hex', 'hex')), 1, 11));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', data || '\x00'::bytea) FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
-- one flipped bit in the metadata, in the artifact, in the checksum
SELECT modelmgr.import('exp_bad', set_byte(data, 40, get_byte(data, 40) # 1)) FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', set_byte(data, length(data) - 30, get_byte(data, length(data) - 30) # 128))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', set_byte(data, length(data) - 1, get_byte(data, length(data) - 1) # 1))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
-- a newer envelope version, even correctly sealed: upgrade
SELECT modelmgr.import('exp_bad', set_byte(data, 4, 2)) FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(exp_meta_text(data), exp_artifact(data), 2))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
-- a model artifact is not an export
SELECT modelmgr.import('exp_bad', modelmgr.load('exp_src', 2)::bytea);
\echo :LAST_ERROR_SQLSTATE
-- an intact envelope around a damaged artifact
SELECT modelmgr.import('exp_bad', exp_seal(exp_meta_text(data),
                                           set_byte(exp_artifact(data), 30, get_byte(exp_artifact(data), 30) # 1)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
-- intact envelopes whose metadata is wrong
SELECT modelmgr.import('exp_bad', exp_seal('{"modelmgr_export": 1,', exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal('[1, 2]', exp_artifact(data))) FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal((exp_meta_text(data)::jsonb - 'algorithm')::text, exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(jsonb_set(exp_meta_text(data)::jsonb, '{algorithm}', '"lasso"')::text,
                                           exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(jsonb_set(exp_meta_text(data)::jsonb, '{task}', '"binary"')::text,
                                           exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(jsonb_set(exp_meta_text(data)::jsonb, '{features}', '["x1", "x3", "x2"]')::text,
                                           exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(jsonb_set(exp_meta_text(data)::jsonb, '{features}', '["x1", "x2"]')::text,
                                           exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(jsonb_set(exp_meta_text(data)::jsonb, '{format_version}', '2')::text,
                                           exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(jsonb_set(exp_meta_text(data)::jsonb, '{modelmgr_export}', '2')::text,
                                           exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(jsonb_set(exp_meta_text(data)::jsonb, '{seed}', '"seven"')::text,
                                           exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(jsonb_set(exp_meta_text(data)::jsonb, '{train_rows}', '1.5')::text,
                                           exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(jsonb_set(exp_meta_text(data)::jsonb, '{test_fraction}', '1.5')::text,
                                           exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(jsonb_set(exp_meta_text(data)::jsonb, '{params}', '[]')::text,
                                           exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
-- what jsonb would refuse with errors of its own is a damaged export too
SELECT modelmgr.import('exp_bad', exp_seal('{"modelmgr_export": 1e1000000}', exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal(repeat('[', 1000) || repeat(']', 1000), exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', exp_seal('{"modelmgr_export": 1, "x": "\u0000"}', exp_artifact(data)))
FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS exp_bad_models FROM modelmgr.models WHERE name = 'exp_bad';
-- the smallest metadata import accepts: the rest is recorded as NULL or {}
SELECT modelmgr.import('exp_minimal', exp_seal(
         '{"modelmgr_export": 1, "format_version": 1, "algorithm": "linear_regression",'
         ' "task": "regression", "features": ["x1", "x2", "x3"]}', exp_artifact(data))) AS version
FROM exp_blobs WHERE label = 'deployed';
SELECT v.operation, v.params, v.metrics, v.source_relation, v.target, v.seed, v.test_fraction,
       v.train_rows, v.test_rows, v.skipped_rows
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id AND m.name = 'exp_minimal';

-- NULL arguments, bad names
SELECT modelmgr.import(NULL, data) FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_bad', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('', data) FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.export(NULL);
\echo :LAST_ERROR_SQLSTATE

-- export of what is not there
SELECT modelmgr.export('exp_nonexistent');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.export('exp_src', 99);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.export('exp_src', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.export('exp_src', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('exp_undeployed', 'linear_regression', 'exp_data', 'y',
                                   ARRAY['x1', 'x2'], deploy => 'never');
SELECT modelmgr.export('exp_undeployed');
\echo :LAST_ERROR_SQLSTATE
SELECT length(modelmgr.export('exp_undeployed', 1)) > 0 AS exported;

-- a model of another task under the same name
SELECT modelmgr.save('exp_binary', decode(:'logistic_hex', 'hex')::modelmgr.model) AS version;
SELECT modelmgr.import('exp_binary', data) FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
-- which exports and imports like any other (classes and all)
SELECT modelmgr.import('exp_binary_copy', modelmgr.export('exp_binary')) AS version;
SELECT m.task, v.algorithm, v.features,
       v.artifact = modelmgr.load('exp_binary')::bytea AS same_artifact
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id AND m.name = 'exp_binary_copy';

-- ---------------------------------------------------------------------------
-- Privileges: export needs USE, import into an existing model needs owner
-- ---------------------------------------------------------------------------
SET ROLE regress_exp_owner;
SELECT modelmgr.import('exp_owned', data) AS version FROM exp_blobs WHERE label = 'deployed';
RESET ROLE;
SET ROLE regress_exp_user;
SELECT modelmgr.export('exp_src');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.export('exp_owned');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('exp_owned', data) FROM exp_blobs WHERE label = 'deployed';
\echo :LAST_ERROR_SQLSTATE
-- a new name is the importer's own model
SELECT modelmgr.import('exp_user_copy', data) AS version FROM exp_blobs WHERE label = 'deployed';
SELECT exp_artifact(modelmgr.export('exp_user_copy')) = exp_artifact(data) AS same_artifact
FROM exp_blobs WHERE label = 'deployed';
RESET ROLE;
SELECT owner FROM modelmgr.models WHERE name = 'exp_user_copy';
SELECT modelmgr.grant_use('exp_src', 'regress_exp_user');
SET ROLE regress_exp_user;
SELECT exp_meta_text(modelmgr.export('exp_src'))::jsonb->'version' AS exported_version;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------------
SELECT modelmgr.drop_model(name)
FROM unnest(ARRAY['exp_src', 'exp_copy', 'exp_minimal', 'exp_undeployed', 'exp_binary',
                  'exp_binary_copy', 'exp_user_copy', 'exp_owned']) AS name;
SELECT count(*) AS leftover FROM modelmgr.models WHERE name LIKE 'exp\_%';
DROP TABLE exp_blobs, exp_data;
DROP FUNCTION exp_seal(text, bytea, integer), exp_fnv1a(bytea), exp_artifact(bytea),
    exp_meta_text(bytea), exp_le(bigint, integer), exp_u32(bytea, integer);
REVOKE USAGE ON SCHEMA modelmgr FROM regress_exp_user, regress_exp_owner;
DROP ROLE regress_exp_user, regress_exp_owner;
