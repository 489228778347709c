-- model_type: the modelmgr.model type.  Text I/O (base64) and binary I/O
-- round-trip exactly, casts to and from bytea, every way in validates the
-- artifact bytes, and describe() shows the model.
\set VERBOSITY default

-- a small model in the registry: y = 1 + 2a - 3b exactly
CREATE TABLE mt_data AS
SELECT g AS id, sin(g)::float8 AS a, cos(0.7 * g)::float8 AS b
FROM generate_series(1, 50) g;
ALTER TABLE mt_data ADD COLUMN y float8;
UPDATE mt_data SET y = 1 + 2 * a - 3 * b;
SELECT name, version, algorithm, task, train_rows, test_rows, deployed
FROM modelmgr.train('mt_model', 'linear_regression', 'mt_data', 'y', ARRAY['a', 'b'],
                    test_fraction => 0);
CREATE TABLE mt_models (id int, m modelmgr.model);
INSERT INTO mt_models VALUES (1, modelmgr.load('mt_model', 1));

-- ---------------------------------------------------------------------------
-- text form: base64 of the artifact, on one line, and an exact round trip
-- ---------------------------------------------------------------------------
SELECT m::text ~ '^[A-Za-z0-9+/]+=*$' AS one_line_base64,
       decode(m::text, 'base64') = m::bytea AS is_base64_of_artifact,
       m::text::modelmgr.model::bytea = m::bytea AS text_round_trip,
       m::text::modelmgr.model::text = m::text AS text_round_trip_text
FROM mt_models;
-- the artifact bytes: magic "MMDL", the registry's copy, size and checksum
SELECT substring(m::bytea FROM 1 FOR 4) = 'MMDL'::bytea AS magic,
       m::bytea = v.artifact AS same_as_registry,
       octet_length(m::bytea) = v.size_bytes AS size_matches,
       modelmgr.describe(m) ->> 'checksum' = v.checksum AS checksum_matches,
       (modelmgr.describe(m) ->> 'size_bytes')::int = v.size_bytes AS described_size
FROM mt_models,
     modelmgr.model_versions v JOIN modelmgr.models o ON o.id = v.model_id
WHERE o.name = 'mt_model' AND v.version = 1;
-- bytea casts: model -> bytea -> model is exact
SELECT m::bytea::modelmgr.model::bytea = m::bytea AS bytea_round_trip FROM mt_models;

-- ---------------------------------------------------------------------------
-- COPY, text and binary, through a server-side file named after this backend
-- (COPY ... PROGRAM: the test runs as superuser)
-- ---------------------------------------------------------------------------
SELECT '/tmp/mm_regress_model_type_' || pg_backend_pid() || '.copy' AS copyfile \gset
SELECT 'cat > ' || :'copyfile' AS copy_to,
       'cat ' || :'copyfile' AS copy_from,
       'cat ' || :'copyfile' || ' && rm -f ' || :'copyfile' AS copy_from_rm \gset
-- text format (what pg_dump does)
CREATE TABLE mt_copy (id int, m modelmgr.model);
COPY mt_models TO PROGRAM :'copy_to';
COPY mt_copy FROM PROGRAM :'copy_from_rm';
SELECT a.m::bytea = b.m::bytea AS copy_text_round_trip
FROM mt_models a JOIN mt_copy b USING (id);
-- binary send/recv: a model column out and back in, and the binary form is
-- the artifact bytes (read back into a bytea column)
CREATE TABLE mt_bin (m modelmgr.model);
CREATE TABLE mt_raw (b bytea);
COPY (SELECT m FROM mt_models) TO PROGRAM :'copy_to' (FORMAT binary);
COPY mt_raw FROM PROGRAM :'copy_from' (FORMAT binary);
COPY mt_bin FROM PROGRAM :'copy_from_rm' (FORMAT binary);
SELECT (SELECT m::bytea FROM mt_bin) = (SELECT m::bytea FROM mt_models) AS binary_round_trip,
       (SELECT b FROM mt_raw) = (SELECT m::bytea FROM mt_models) AS send_is_artifact;
-- recv validates: damaged bytes in a binary COPY are refused
TRUNCATE mt_raw;
INSERT INTO mt_raw SELECT substring(m::bytea FROM 1 FOR 100) FROM mt_models;
COPY mt_raw TO PROGRAM :'copy_to' (FORMAT binary);
COPY mt_bin FROM PROGRAM :'copy_from_rm' (FORMAT binary);
\echo :LAST_ERROR_SQLSTATE
TRUNCATE mt_raw;
INSERT INTO mt_raw VALUES ('\x00010203');
COPY mt_raw TO PROGRAM :'copy_to' (FORMAT binary);
COPY mt_bin FROM PROGRAM :'copy_from_rm' (FORMAT binary);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS binary_rows FROM mt_bin;

-- ---------------------------------------------------------------------------
-- bytea -> model validates
-- ---------------------------------------------------------------------------
-- garbage
SELECT '\x00010203'::bytea::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
-- empty
SELECT ''::bytea::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
-- truncated: inside the header, in the middle, one byte short
SELECT substring(m::bytea FROM 1 FOR 10)::modelmgr.model FROM mt_models;
\echo :LAST_ERROR_SQLSTATE
SELECT substring(m::bytea FROM 1 FOR 100)::modelmgr.model FROM mt_models;
\echo :LAST_ERROR_SQLSTATE
SELECT substring(m::bytea FROM 1 FOR octet_length(m::bytea) - 1)::modelmgr.model FROM mt_models;
\echo :LAST_ERROR_SQLSTATE
-- one byte too many
SELECT (m::bytea || '\x00'::bytea)::modelmgr.model FROM mt_models;
\echo :LAST_ERROR_SQLSTATE
-- one flipped bit: in the magic, in the body, in the checksum itself
SELECT set_byte(m::bytea, 0, get_byte(m::bytea, 0) # 1)::modelmgr.model FROM mt_models;
\echo :LAST_ERROR_SQLSTATE
SELECT set_byte(m::bytea, 100, get_byte(m::bytea, 100) # 1)::modelmgr.model FROM mt_models;
\echo :LAST_ERROR_SQLSTATE
SELECT set_byte(m::bytea, octet_length(m::bytea) - 1,
                get_byte(m::bytea, octet_length(m::bytea) - 1) # 128)::modelmgr.model FROM mt_models;
\echo :LAST_ERROR_SQLSTATE
-- every single-byte flip anywhere is refused (checksum over everything)
CREATE FUNCTION mt_accepts(b bytea) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM b::modelmgr.model;
    RETURN true;
EXCEPTION WHEN OTHERS THEN
    RETURN false;
END $$;
SELECT count(*) AS positions, count(*) FILTER (WHERE mt_accepts(set_byte(m::bytea, i, get_byte(m::bytea, i) # 255))) AS accepted
FROM mt_models, generate_series(0, octet_length(m::bytea) - 1) i;
SELECT mt_accepts(m::bytea) AS intact_accepted FROM mt_models;

-- ---------------------------------------------------------------------------
-- text -> model: invalid base64 is a syntax error (22P02); valid base64 of
-- bytes that are not a model is a data exception (22000)
-- ---------------------------------------------------------------------------
SELECT 'not base64!'::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
SELECT 'TU1ETA='::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
SELECT (' ' || m::text)::modelmgr.model FROM mt_models;
\echo :LAST_ERROR_SQLSTATE
SELECT ''::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
SELECT 'AAAA'::modelmgr.model;
\echo :LAST_ERROR_SQLSTATE
-- a valid base64 text of a damaged artifact
SELECT translate(encode(set_byte(m::bytea, 100, get_byte(m::bytea, 100) # 1), 'base64'), E'\n', '')::modelmgr.model
FROM mt_models;
\echo :LAST_ERROR_SQLSTATE
-- NULL in, NULL out
SELECT NULL::text::modelmgr.model IS NULL AS null_text, NULL::bytea::modelmgr.model IS NULL AS null_bytea,
       modelmgr.describe(NULL) IS NULL AS null_describe;

-- ---------------------------------------------------------------------------
-- describe()
-- ---------------------------------------------------------------------------
SELECT d ->> 'algorithm' AS algorithm, d ->> 'task' AS task, d ->> 'target' AS target,
       d -> 'format_version' AS format_version, d -> 'parameters' AS parameters,
       d -> 'nonzero' AS nonzero
FROM mt_models, modelmgr.describe(m) d;
SELECT f ->> 'name' AS feature, f ->> 'kind' AS kind, round((f ->> 'impute')::numeric, 6) AS impute,
       round((d -> 'coefficients' ->> (f ->> 'name'))::numeric, 6) AS coefficient
FROM mt_models, modelmgr.describe(m) d, jsonb_array_elements(d -> 'features') WITH ORDINALITY AS e(f, i)
ORDER BY i;
-- the imputation value is the training mean
SELECT abs((SELECT avg(a) FROM mt_data) - (d -> 'features' -> 0 ->> 'impute')::float8) < 1e-15 AS impute_a_is_mean,
       abs((SELECT avg(b) FROM mt_data) - (d -> 'features' -> 1 ->> 'impute')::float8) < 1e-15 AS impute_b_is_mean
FROM mt_models, modelmgr.describe(m) d;
SELECT round((d ->> 'intercept')::numeric, 6) AS intercept,
       (SELECT array_agg(t ->> 'name' || ' ' || (t ->> 'dtype') || ' ' || (t ->> 'rows') || 'x' || (t ->> 'cols') ORDER BY t ->> 'name')
        FROM jsonb_array_elements(d -> 'tensors') t) AS tensors,
       d ->> 'checksum' ~ '^[0-9a-f]{16}$' AS checksum_is_hex
FROM mt_models, modelmgr.describe(m) d;
-- describe reads a model value, not the registry: equal for both paths
SELECT modelmgr.describe(m) = modelmgr.describe(m::text::modelmgr.model) AS same_description FROM mt_models;

-- ---------------------------------------------------------------------------
-- a wide model stored out of line (TOAST) reads back intact
-- ---------------------------------------------------------------------------
CREATE TABLE mt_wide_data AS
SELECT g, ARRAY(SELECT sin(g * (j + 1) * 0.37 + j)::float8 FROM generate_series(1, 120) j) AS x
FROM generate_series(1, 300) g;
CREATE TABLE mt_wide (m modelmgr.model);
ALTER TABLE mt_wide ALTER COLUMN m SET STORAGE EXTERNAL;
INSERT INTO mt_wide SELECT modelmgr.linear_fit(x[1] + x[120], x) FROM mt_wide_data;
SELECT octet_length(m::bytea) > 2048 AS large,
       (SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class WHERE oid = 'mt_wide'::regclass) AS stored_out_of_line,
       m::text::modelmgr.model::bytea = m::bytea AS text_round_trip,
       (modelmgr.describe(m) -> 'parameters')::int AS parameters,
       jsonb_array_length(modelmgr.describe(m) -> 'features') AS features
FROM mt_wide;
SELECT round((modelmgr.describe(m) -> 'coefficients' ->> 'x1')::numeric, 6) AS x1,
       round((modelmgr.describe(m) -> 'coefficients' ->> 'x2')::numeric, 6) AS x2,
       round((modelmgr.describe(m) -> 'coefficients' ->> 'x120')::numeric, 6) AS x120
FROM mt_wide;

-- clean up
SELECT modelmgr.drop_model('mt_model');
DROP FUNCTION mt_accepts(bytea);
DROP TABLE mt_data, mt_models, mt_copy, mt_bin, mt_raw, mt_wide_data, mt_wide;
