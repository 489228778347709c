-- reliability: the bad-input catalog, part two (bad_input.sql is part one),
-- and the training memory limit.  Together the two files give every SQL
-- function and type of the extension its NULL, missing-object,
-- injection-string and out-of-range cases; this file adds the functions
-- bad_input.sql does not reach (retrain, linear_fit, the state and model
-- types, describe, gc, export, import, monitor, the views and helpers) and
-- the cases it lacks (one-row and array-typed inputs, oversized requests,
-- text-form damage, hostile import metadata, concurrent drop).  Every bad
-- call is an ERROR with a real SQLSTATE (echoed after it), names are data
-- and never SQL (rel_victim survives), and a digest of every registry row
-- is the same before and after the catalog.
\set VERBOSITY default

-- ---------------------------------------------------------------------------
-- Fixtures
-- ---------------------------------------------------------------------------
CREATE ROLE regress_rel_user;       -- an ordinary role
CREATE TABLE rel_data AS
SELECT i AS id,
       sin(i)::float8 AS x1,
       cos(i * 0.7)::float8 AS x2,
       ARRAY[sin(i), cos(i * 0.7)]::float8[] AS arr,
       'label ' || i AS label,
       (2 + sin(i) - cos(i * 0.7) + 0.05 * sin(i * 19.3))::float8 AS y
FROM generate_series(1, 200) AS i;
ALTER TABLE rel_data ADD PRIMARY KEY (id);
-- one row of exact values (its train/test split is the same on every platform)
CREATE TABLE rel_one (id integer, x1 float8, x2 float8, y float8);
INSERT INTO rel_one VALUES (1, 0.5, 0.25, 1.0);
CREATE TABLE rel_no_x2 AS SELECT id, x1, y FROM rel_data;
CREATE TABLE rel_no_y AS SELECT id, x1, x2 FROM rel_data;
CREATE TABLE rel_mon_nan AS SELECT id, CASE WHEN id = 5 THEN 'NaN'::float8 ELSE x1 END AS x1, x2, y FROM rel_data;
CREATE TABLE rel_mon_inf AS SELECT id, x1, CASE WHEN id = 5 THEN '-Infinity'::float8 ELSE x2 END AS x2, y FROM rel_data;
CREATE TABLE rel_mon_ynan AS SELECT id, x1, x2, CASE WHEN id % 2 = 0 THEN 'NaN'::float8 ELSE y END AS y FROM rel_data;
CREATE TABLE rel_mon_arr AS SELECT id, x1, arr AS x2, y FROM rel_data;
CREATE INDEX rel_data_x_idx ON rel_data (x1, x2);
CREATE SEQUENCE rel_seq;
CREATE TABLE rel_victim (keep integer);
INSERT INTO rel_victim VALUES (1);

-- Export envelopes from SQL (doc/format.md, "Export envelope"), to build
-- hostile but correctly sealed imports: as in export.sql
CREATE FUNCTION rel_u32(b bytea, pos integer) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT get_byte(b, pos)::bigint + 256 * get_byte(b, pos + 1)
         + 65536 * get_byte(b, pos + 2) + 16777216::bigint * get_byte(b, pos + 3)
$$;
CREATE FUNCTION rel_le(n bigint, width integer) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  out bytea := substr('\x0000000000000000'::bytea, 1, width);
BEGIN
  FOR i IN 0 .. width - 1 LOOP
    out := set_byte(out, i, ((n >> (8 * i)) & 255)::integer);
  END LOOP;
  RETURN out;
END $$;
CREATE FUNCTION rel_meta(b bytea) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT convert_from(substr(b, 13, rel_u32(b, 8)::integer), 'UTF8')::jsonb
$$;
CREATE FUNCTION rel_artifact(b bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT substr(b, 17 + rel_u32(b, 8)::integer, rel_u32(b, 12 + rel_u32(b, 8)::integer)::integer)
$$;
CREATE FUNCTION rel_fnv1a(b bytea) RETURNS bytea
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
CREATE FUNCTION rel_seal(meta jsonb, artifact bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT body || rel_fnv1a(body)
  FROM (SELECT 'MMEX'::bytea || rel_le(1, 2) || rel_le(0, 2)
               || rel_le(length(convert_to(meta::text, 'UTF8')), 4) || convert_to(meta::text, 'UTF8')
               || rel_le(length(artifact), 4) || artifact AS body) s
$$;
-- a linear_fit state as a value, through an aggregate without final function
CREATE AGGREGATE rel_state(float8, float8[]) (
    SFUNC = modelmgr.linreg_transfn, STYPE = modelmgr.linreg_state);
CREATE TABLE rel_states AS SELECT rel_state(y, ARRAY[x1, x2]) AS s FROM rel_data;
-- a server-side file for binary COPY, named after this backend (superuser)
SELECT '/tmp/mm_regress_reliability_' || pg_backend_pid() || '.copy' AS copyfile \gset
SELECT 'cat > ' || :'copyfile' AS copy_to,
       'cat ' || :'copyfile' || ' && rm -f ' || :'copyfile' AS copy_from_rm \gset

-- the registry under test: two versions (1 deployed), a grant, an evaluation
SELECT version, deployed
FROM modelmgr.train('rel_model', 'linear_regression', 'rel_data', 'y', ARRAY['x1', 'x2']);
SELECT version, deployed
FROM modelmgr.train('rel_model', 'linear_regression', 'rel_data', 'y', ARRAY['x1', 'x2'],
                    seed => 7, deploy => 'never');
SELECT modelmgr.grant_use('rel_model', 'regress_rel_user');
SELECT model, version, rows FROM modelmgr.monitor('rel_model', 'rel_data');

-- a digest of every row of every registry table, timestamps included
CREATE TEMP VIEW rel_registry AS
SELECT (SELECT md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM modelmgr.models t) AS models,
       (SELECT md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM modelmgr.model_versions t) AS versions,
       (SELECT md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM modelmgr.deployments t) AS deployments,
       (SELECT md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM modelmgr.model_grants t) AS grants,
       (SELECT md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM modelmgr.evaluations t) AS evaluations;
CREATE TEMP TABLE rel_before AS SELECT * FROM rel_registry;

-- ---------------------------------------------------------------------------
-- train: shapes of data and requests bad_input.sql does not try
-- ---------------------------------------------------------------------------
-- a one-row relation
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_one', 'y', ARRAY['x1'], test_fraction => 0);
\echo :LAST_ERROR_SQLSTATE
-- an array-typed column as a feature, and as the target
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_data', 'y', ARRAY['x1', 'arr']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_data', 'arr', ARRAY['x1']);
\echo :LAST_ERROR_SQLSTATE
-- 5000 feature names: each is looked up (a table has at most 1600 columns,
-- so the first name that is not a column stops it)
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_data', 'y',
                                   (SELECT array_agg('x' || g ORDER BY g) FROM generate_series(1, 5000) AS g));
\echo :LAST_ERROR_SQLSTATE
-- oversized params: 100000 keys, a 1000-digit number
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_data', 'y',
                                   params => (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 100000) AS g));
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_data', 'y',
                                   params => ('{"l2": ' || repeat('9', 1000) || '}')::jsonb);
\echo :LAST_ERROR_SQLSTATE
-- ill-typed and out-of-range arguments, refused before modelmgr sees them
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_data', 'y', params => 'l2 = 1');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_data', 'y', test_fraction => 'a fifth');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_data', 'y', seed => '9223372036854775808');
\echo :LAST_ERROR_SQLSTATE
-- a name of 101 two-byte characters is 202 bytes: too long
SELECT version FROM modelmgr.train(repeat('é', 101), 'linear_regression', 'rel_data', 'y');
\echo :LAST_ERROR_SQLSTATE
-- injection strings in params and group_by are data
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_data', 'y',
                                   params => $${"l2": "0; DROP TABLE rel_victim"}$$);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_data', 'y',
                                   params => $${"impute": "mean'; DROP TABLE rel_victim; --"}$$);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('rel_new', 'linear_regression', 'rel_data', 'y',
                                   group_by => ARRAY[$$x1"; DROP TABLE rel_victim; --$$]);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- retrain
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.retrain(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.retrain('rel_model', deploy => 'ALWAYS');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.retrain($$rel_model'; DROP TABLE rel_victim; --$$);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.retrain('rel_model', $$rel_data; DROP TABLE rel_victim$$);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.retrain('rel_model', '"rel_data; DROP TABLE rel_victim"');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.retrain('rel_model', 999999999::oid::regclass);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.retrain('rel_model', 'rel_seq');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.retrain('rel_model', 'rel_one');
\echo :LAST_ERROR_SQLSTATE
-- another relation without a feature, or without the target
SELECT version FROM modelmgr.retrain('rel_model', 'rel_no_x2');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.retrain('rel_model', 'rel_no_y');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.retrain('', 'rel_data');
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- save
-- ---------------------------------------------------------------------------
SELECT modelmgr.save('rel_new', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY[['a'], ['b']]) FROM rel_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save('rel_new', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['a', NULL]) FROM rel_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save('rel_new', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['a', '']) FROM rel_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save('rel_new', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['a', repeat('b', 64)]) FROM rel_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save('rel_new', modelmgr.linear_fit(y, ARRAY[x1, x2]),
                     (SELECT array_agg('f' || g) FROM generate_series(1, 5000) AS g)) FROM rel_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save(repeat('n', 201), modelmgr.linear_fit(y, ARRAY[x1, x2])) FROM rel_data;
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- linear_fit and its state type
-- ---------------------------------------------------------------------------
SELECT modelmgr.linear_fit(y, ARRAY[x1]) FROM rel_one;
\echo :LAST_ERROR_SQLSTATE
-- no rows, and rows that are all skipped (a NULL y or x, or a NULL in x):
-- no model, no error; the aggregate's helpers are NULL in, NULL out
SELECT modelmgr.linear_fit(y, ARRAY[x1]) IS NULL AS no_rows FROM rel_data WHERE false;
SELECT modelmgr.linear_fit(NULL, NULL) IS NULL AS all_null FROM rel_data;
SELECT modelmgr.linear_fit(y, ARRAY[x1, NULL]) IS NULL AS all_skipped FROM rel_data;
SELECT modelmgr.linreg_final(NULL) IS NULL AS final_null,
       modelmgr.linreg_combine(NULL, NULL) IS NULL AS combine_null;
-- x of 5000 elements, 4097 elements (one over the limit)
SELECT modelmgr.linear_fit(y, array_fill(x1, ARRAY[5000])) FROM rel_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, array_fill(x1, ARRAY[4097])) FROM rel_data;
\echo :LAST_ERROR_SQLSTATE
-- options: out of range, not an object, oversized, an injection string
SELECT modelmgr.linear_fit(y, ARRAY[x1], '{"l2": 1e400}') FROM rel_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, ARRAY[x1], '"l2"') FROM rel_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, ARRAY[x1], (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 100000) AS g))
FROM rel_data;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.linear_fit(y, ARRAY[x1], $${"l2": "0); DROP TABLE rel_victim; --"}$$) FROM rel_data;
\echo :LAST_ERROR_SQLSTATE
-- the state's text form: empty, not base64, and a real state damaged
-- (a NaN mean, a feature count its length does not hold, a negative row count)
SELECT ''::modelmgr.linreg_state;
\echo :LAST_ERROR_SQLSTATE
SELECT $$'); DROP TABLE rel_victim; --$$::modelmgr.linreg_state;
\echo :LAST_ERROR_SQLSTATE
SELECT replace(encode(overlay(decode(s::text, 'base64') PLACING '\x000000000000f87f'::bytea FROM 33 FOR 8),
                      'base64'), E'\n', '')::modelmgr.linreg_state FROM rel_states;
\echo :LAST_ERROR_SQLSTATE
SELECT replace(encode(overlay(decode(s::text, 'base64') PLACING '\x03000000'::bytea FROM 21 FOR 4),
                      'base64'), E'\n', '')::modelmgr.linreg_state FROM rel_states;
\echo :LAST_ERROR_SQLSTATE
SELECT replace(encode(overlay(decode(s::text, 'base64') PLACING '\xffffffffffffffff'::bytea FROM 25 FOR 8),
                      'base64'), E'\n', '')::modelmgr.linreg_state FROM rel_states;
\echo :LAST_ERROR_SQLSTATE
-- a state claiming 2^63-1 rows is consistent, but two of them cannot combine
CREATE TEMP TABLE rel_huge AS
SELECT replace(encode(overlay(decode(s::text, 'base64') PLACING '\xffffffffffffff7f'::bytea FROM 25 FOR 8),
                      'base64'), E'\n', '')::modelmgr.linreg_state AS s FROM rel_states;
SELECT modelmgr.linreg_combine(s, s) FROM rel_huge;
\echo :LAST_ERROR_SQLSTATE
-- the binary form (recv) validates too
CREATE TEMP TABLE rel_raw (b bytea);
CREATE TEMP TABLE rel_bin (s modelmgr.linreg_state);
INSERT INTO rel_raw SELECT substr(modelmgr.linreg_state_send(s), 1, 40) FROM rel_states;
COPY rel_raw TO PROGRAM :'copy_to' (FORMAT binary);
COPY rel_bin FROM PROGRAM :'copy_from_rm' (FORMAT binary);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS states_read FROM rel_bin;

-- ---------------------------------------------------------------------------
-- The model type, its casts and describe
-- ---------------------------------------------------------------------------
-- the text form of a real model with one character changed, and cut short
SELECT overlay(t PLACING CASE WHEN substr(t, 60, 1) = 'A' THEN 'B' ELSE 'A' END FROM 60 FOR 1)::modelmgr.model
FROM (SELECT modelmgr.load('rel_model')::text AS t) s;
\echo :LAST_ERROR_SQLSTATE
SELECT left(modelmgr.load('rel_model')::text, -4)::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
-- 4 MB of text
SELECT repeat('A', 4000000)::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
-- base64 with line breaks (what encode() writes) is not the text form
SELECT encode(modelmgr.load('rel_model')::bytea, 'base64')::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.describe($$x'; DROP TABLE rel_victim; --$$);
\echo :LAST_ERROR_SQLSTATE
-- NULL in, NULL out
SELECT modelmgr.describe(NULL) IS NULL AS describe_null,
       NULL::bytea::modelmgr.model IS NULL AS cast_null,
       modelmgr.load(NULL) IS NULL AS load_null;

-- ---------------------------------------------------------------------------
-- predict (all four forms) and load
-- ---------------------------------------------------------------------------
SELECT modelmgr.predict(modelmgr.load('rel_model'), ARRAY['NaN', 1]::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict(modelmgr.load('rel_model'), ARRAY[[1, 2]]::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict(modelmgr.load('rel_model'), array_fill(1.0::float8, ARRAY[100000]));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('rel_model', array_fill(1.0::float8, ARRAY[100000]));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict(modelmgr.load('rel_model'), s) FROM (SELECT x1, arr AS x2 FROM rel_data WHERE id = 1) s;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('rel_model', s) FROM (SELECT x1, arr AS x2 FROM rel_data WHERE id = 1) s;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('rel_model', s) FROM (SELECT 'NaN'::numeric AS x1, 1 AS x2) s;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict($$rel_model'; DROP TABLE rel_victim; --$$, ARRAY[1, 2]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load($$rel_model'); DROP TABLE rel_victim; --$$);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('rel_model', '1; DROP TABLE rel_victim');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('rel_model', '2147483648');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('rel_model', 2147483647);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- deploy, rollback, drop_version, drop_model, grant_use, revoke_use, gc
-- ---------------------------------------------------------------------------
SELECT modelmgr.deploy(NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.deploy('rel_model', '1 OR true');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.deploy('rel_model', 2147483647);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.rollback(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.rollback($$rel_model' OR true; --$$);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_version(NULL, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_version('rel_model', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_version($$rel_model'; DELETE FROM modelmgr.model_versions; --$$, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_model(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_model('');
\echo :LAST_ERROR_SQLSTATE
-- LIKE patterns are not patterns here
SELECT modelmgr.drop_model('%');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_model($$rel_model' OR name LIKE '%$$);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.grant_use(NULL, 'public');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.grant_use('rel_model', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.grant_use('rel_model', 'regress_' || repeat('r', 100));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.revoke_use(NULL, 'public');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.revoke_use('rel_model', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.revoke_use($$rel_model'; DROP TABLE rel_victim; --$$, 'regress_rel_user');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.gc(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.gc($$rel_model'; DROP TABLE rel_victim; --$$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.gc('rel_model', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.gc('rel_model', -2147483648);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM modelmgr.gc('rel_model', '0; DROP TABLE rel_victim');
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- export and import
-- ---------------------------------------------------------------------------
SELECT modelmgr.export(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.export($$rel_model'; DROP TABLE rel_victim; --$$);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.export('rel_model', '1; DROP TABLE rel_victim');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.export('rel_model', -1);
\echo :LAST_ERROR_SQLSTATE
-- a real export cut short (its lengths depend on the metadata, so only the
-- SQLSTATE is shown)
\set VERBOSITY sqlstate
SELECT modelmgr.import('rel_new', substr(e, 1, length(e) - 10)) FROM (SELECT modelmgr.export('rel_model') AS e) s;
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import(NULL, modelmgr.export('rel_model'));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('rel_new', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('rel_new', substr(modelmgr.export('rel_model'), 1, 11));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('rel_new', decode(repeat('00', 1000000), 'hex'));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import(repeat('n', 201), modelmgr.export('rel_model'));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import(E'rel\nnew', modelmgr.export('rel_model'));
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('rel_new', modelmgr.load('rel_model')::bytea);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- monitor
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.monitor(NULL, 'rel_data');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.monitor('rel_model', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.monitor('rel_model', 'rel_mon_nan');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.monitor('rel_model', 'rel_mon_inf');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.monitor('rel_model', 'rel_mon_arr');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.monitor('rel_model', 'rel_data_x_idx');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.monitor($$rel_model'; DROP TABLE rel_victim; --$$, 'rel_data');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.monitor('rel_model', $$rel_data; DROP TABLE rel_victim$$);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.monitor('rel_model', 'rel_data', '1; DROP TABLE rel_victim');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.monitor('rel_model', 'rel_data', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.monitor('rel_model', 'rel_data', 2147483647);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- Views and helper functions
-- ---------------------------------------------------------------------------
SELECT modelmgr.guard_drop();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows FROM modelmgr.version_history WHERE model = $$rel_model' OR true; --$$;
SELECT modelmgr.can_see(NULL) IS NULL AS can_see_null;
SET ROLE regress_rel_user;
SELECT modelmgr.can_see(-1) AS can_see_missing, modelmgr.can_see(9223372036854775807) AS can_see_max;
SELECT modelmgr.reset_prediction_stats();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Calls that succeed and must stay harmless: names stored verbatim, hostile
-- metadata of a correctly sealed import, NaN targets while monitoring; and
-- an artifact damaged at rest.  They work on models of their own, dropped at
-- the end of the section.
-- ---------------------------------------------------------------------------
SELECT modelmgr.save($$rel_tmp'; DROP TABLE rel_victim; --$$, modelmgr.linear_fit(y, ARRAY[x1, x2]),
                     ARRAY[$$x1" FROM rel_data; DROP TABLE rel_victim; --$$, 'x2']) FROM rel_data;
SELECT version, deployed FROM modelmgr.train($$rel_tmp'; DROP TABLE rel_victim; --$$, 'linear_regression',
                                             'rel_data', 'y', ARRAY['x1', 'x2'], deploy => 'never');
SELECT modelmgr.deploy($$rel_tmp'; DROP TABLE rel_victim; --$$, 2, $$'); DELETE FROM modelmgr.deployments; --$$);
SELECT modelmgr.rollback($$rel_tmp'; DROP TABLE rel_victim; --$$, $$$x$); DROP TABLE rel_victim; --$$);
SELECT version, features FROM modelmgr.version_history WHERE model = $$rel_tmp'; DROP TABLE rel_victim; --$$
ORDER BY version;
SELECT action, from_version, to_version, reason
FROM modelmgr.deployment_history WHERE model = $$rel_tmp'; DROP TABLE rel_victim; --$$
ORDER BY event_id;
SELECT modelmgr.import($$rel_tmp_import'); DROP TABLE rel_victim; --$$, modelmgr.export('rel_model'));
SELECT modelmgr.export($$rel_tmp_import'); DROP TABLE rel_victim; --$$) = modelmgr.export($$rel_tmp_import'); DROP TABLE rel_victim; --$$, 1)
    AS exports;
-- an import whose metadata names a hostile source relation, target or
-- params imports (the metadata is informational), and retrain refuses it
SELECT modelmgr.import('rel_tmp_source',
    rel_seal(jsonb_set(rel_meta(e), '{source_relation}', to_jsonb('rel_data; DROP TABLE rel_victim'::text)), rel_artifact(e)))
FROM (SELECT modelmgr.export('rel_model') AS e) s;
SELECT version FROM modelmgr.retrain('rel_tmp_source');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('rel_tmp_target',
    rel_seal(jsonb_set(rel_meta(e), '{target}', to_jsonb('y"; DROP TABLE rel_victim; --'::text)), rel_artifact(e)))
FROM (SELECT modelmgr.export('rel_model') AS e) s;
SELECT version FROM modelmgr.retrain('rel_tmp_target');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.import('rel_tmp_params',
    rel_seal(jsonb_set(rel_meta(e), '{params}', '{"l2": "DROP TABLE rel_victim"}'), rel_artifact(e)))
FROM (SELECT modelmgr.export('rel_model') AS e) s;
SELECT version FROM modelmgr.retrain('rel_tmp_params');
\echo :LAST_ERROR_SQLSTATE
-- NaN targets are not labelled rows: monitor scores the rest
SELECT modelmgr.save('rel_tmp_monitor', modelmgr.load('rel_model'));
SELECT rows, labelled_rows FROM modelmgr.monitor('rel_tmp_monitor', 'rel_mon_ynan');
-- damage at rest: a stored artifact with one bit flipped (as a bad disk or
-- a bad restore would leave it) is refused wherever it is read, never served
SELECT modelmgr.save('rel_tmp_rot', modelmgr.load('rel_model'));
UPDATE modelmgr.model_versions v SET artifact = set_byte(v.artifact, 99, get_byte(v.artifact, 99) # 1)
FROM modelmgr.models m WHERE m.id = v.model_id AND m.name = 'rel_tmp_rot';
SELECT modelmgr.predict('rel_tmp_rot', ARRAY[0.5, 0.25]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('rel_tmp_rot', d) FROM rel_data d WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('rel_tmp_rot');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.monitor('rel_tmp_rot', 'rel_data');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_model(name) FROM modelmgr.models WHERE name LIKE 'rel\_tmp%' ORDER BY name;
SELECT count(*) AS victim_rows FROM rel_victim;

-- ---------------------------------------------------------------------------
-- Concurrent drop, as far as one session shows it: a model dropped inside a
-- transaction is gone for the rest of it and back after ROLLBACK; a value
-- from load() keeps predicting after its version or model is dropped; a new
-- model under the old name is not confused with the old one.
-- ---------------------------------------------------------------------------
SELECT version FROM modelmgr.train('rel_conc', 'linear_regression', 'rel_data', 'y', ARRAY['x1', 'x2'],
                                   test_fraction => 0);
CREATE TEMP TABLE rel_held AS
SELECT modelmgr.load('rel_conc') AS m, modelmgr.predict('rel_conc', ARRAY[0.5, 0.25]) AS p;
BEGIN;
SELECT modelmgr.drop_model('rel_conc');
SELECT modelmgr.predict('rel_conc', ARRAY[0.5, 0.25]);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT modelmgr.predict('rel_conc', ARRAY[0.5, 0.25]) = p AS back_after_rollback FROM rel_held;
BEGIN;
SAVEPOINT before_drop;
SELECT modelmgr.drop_model('rel_conc');
SELECT modelmgr.load('rel_conc');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO SAVEPOINT before_drop;
SELECT modelmgr.load('rel_conc')::bytea = m::bytea AS same_after_savepoint FROM rel_held;
COMMIT;
-- version 1 dropped after it was loaded
SELECT version, deployed FROM modelmgr.train('rel_conc', 'linear_regression', 'rel_data', 'y', ARRAY['x1', 'x2'],
                                             test_fraction => 0, deploy => 'always');
SELECT modelmgr.drop_version('rel_conc', 1);
SELECT modelmgr.load('rel_conc', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict(m, ARRAY[0.5, 0.25]) = p AS value_predicts FROM rel_held;
-- the whole model dropped
SELECT modelmgr.drop_model('rel_conc');
SELECT modelmgr.predict('rel_conc', ARRAY[0.5, 0.25]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.export('rel_conc');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict(m, ARRAY[0.5, 0.25]) = p AS value_predicts FROM rel_held;
SELECT modelmgr.predict(m, d) = modelmgr.predict(m, ARRAY[d.x1, d.x2]) AS value_predicts_rows
FROM rel_held, rel_data d WHERE d.id = 3;
-- a new model under the same name, with one feature
SELECT version FROM modelmgr.train('rel_conc', 'linear_regression', 'rel_data', 'y', ARRAY['x1']);
SELECT modelmgr.predict('rel_conc', ARRAY[0.5, 0.25]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_model('rel_conc');

-- ---------------------------------------------------------------------------
-- Memory: modelmgr.max_training_memory (superuser only, at least 1024 kB)
-- bounds what a training holds; over it is a clear 54000 with a hint
-- ---------------------------------------------------------------------------
CREATE TABLE rel_mem_nulls AS
SELECT i AS id, sin(i)::float8 AS x1, CASE WHEN i % 2 = 0 THEN NULL ELSE cos(i * 0.7) END::float8 AS x2,
       (1 + sin(i) + 2 * cos(i * 0.7))::float8 AS y
FROM generate_series(1, 100000) AS i;
DO $$
BEGIN
    EXECUTE (SELECT format('CREATE TABLE rel_mem_wide AS SELECT i AS id, %s, sin(i * 0.37)::float8 AS y '
                           'FROM generate_series(1, 400) AS i',
                           string_agg(format('sin(i * %s + %s)::float8 AS c%s', j, j * j, j), ', ' ORDER BY j))
             FROM generate_series(1, 100) AS j);
END $$;
SET modelmgr.max_training_memory = '512kB';
\echo :LAST_ERROR_SQLSTATE
SET modelmgr.max_training_memory = 'lots';
\echo :LAST_ERROR_SQLSTATE
SET modelmgr.max_training_memory = '1MB';
-- rows with a NULL feature are buffered until the means are known
SELECT version FROM modelmgr.train('rel_mem', 'linear_regression', 'rel_mem_nulls', 'y', ARRAY['x1', 'x2']);
\echo :LAST_ERROR_SQLSTATE
-- 100 features: the metric samples alone are over 1 MB
SELECT version FROM modelmgr.train('rel_mem', 'linear_regression', 'rel_mem_wide', 'y');
\echo :LAST_ERROR_SQLSTATE
-- linear_fit's state for 200 features
SELECT modelmgr.linear_fit(y, ARRAY(SELECT sin(id * j + j * j) FROM generate_series(1, 200) AS j))
FROM rel_mem_wide;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rel_mem_models FROM modelmgr.models WHERE name = 'rel_mem';
-- an ordinary role can neither raise nor lower it
SET ROLE regress_rel_user;
SET modelmgr.max_training_memory = '2GB';
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('modelmgr.max_training_memory', '2GB', false);
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE regress_rel_user SET modelmgr.max_training_memory = '2GB';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SHOW modelmgr.max_training_memory;
-- back to the default, the same requests work
RESET modelmgr.max_training_memory;
SELECT version, train_rows + test_rows AS rows
FROM modelmgr.train('rel_mem', 'linear_regression', 'rel_mem_nulls', 'y', ARRAY['x1', 'x2']);
SELECT version, train_rows + test_rows AS rows
FROM modelmgr.train('rel_mem_wide', 'linear_regression', 'rel_mem_wide', 'y');
SELECT jsonb_array_length(modelmgr.describe(modelmgr.linear_fit(y, ARRAY(SELECT sin(id * j + j * j) FROM generate_series(1, 200) AS j)))->'features') AS features
FROM rel_mem_wide;
SELECT modelmgr.drop_model('rel_mem'), modelmgr.drop_model('rel_mem_wide');

-- ---------------------------------------------------------------------------
-- Nothing above changed the registry, the server is up, the victim is there
-- ---------------------------------------------------------------------------
SELECT b.models = a.models AS models_same, b.versions = a.versions AS versions_same,
       b.deployments = a.deployments AS deployments_same, b.grants = a.grants AS grants_same,
       b.evaluations = a.evaluations AS evaluations_same
FROM rel_before b, rel_registry a;
SELECT count(*) AS victim_rows FROM rel_victim;
SELECT modelmgr.predict('rel_model', ARRAY[0.5, 0.25]) IS NOT NULL AS still_serving;

-- ---------------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------------
SELECT modelmgr.drop_model('rel_model');
SELECT count(*) AS left_over FROM modelmgr.models WHERE name LIKE 'rel\_%';
DROP TABLE rel_data, rel_one, rel_no_x2, rel_no_y, rel_mon_nan, rel_mon_inf, rel_mon_ynan, rel_mon_arr,
           rel_victim, rel_states, rel_mem_nulls, rel_mem_wide;
DROP SEQUENCE rel_seq;
DROP AGGREGATE rel_state(float8, float8[]);
DROP FUNCTION rel_seal(jsonb, bytea), rel_fnv1a(bytea), rel_artifact(bytea), rel_meta(bytea),
              rel_le(bigint, integer), rel_u32(bytea, integer);
DROP ROLE regress_rel_user;
