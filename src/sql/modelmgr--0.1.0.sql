/* src/sql/modelmgr--0.1.0.sql: the modelmgr extension, version 0.1.0 */

\echo Use "CREATE EXTENSION modelmgr" to load this file. \quit

-- Everyone may call into the schema; the registry tables below stay closed.
GRANT USAGE ON SCHEMA modelmgr TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Types
-- ---------------------------------------------------------------------------

CREATE TYPE modelmgr.model;

CREATE FUNCTION modelmgr.model_in(cstring) RETURNS modelmgr.model
    AS 'MODULE_PATHNAME', 'mm_model_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.model_out(modelmgr.model) RETURNS cstring
    AS 'MODULE_PATHNAME', 'mm_model_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.model_recv(internal) RETURNS modelmgr.model
    AS 'MODULE_PATHNAME', 'mm_model_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.model_send(modelmgr.model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'mm_model_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE modelmgr.model (
    INPUT = modelmgr.model_in,
    OUTPUT = modelmgr.model_out,
    RECEIVE = modelmgr.model_recv,
    SEND = modelmgr.model_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = extended
);
COMMENT ON TYPE modelmgr.model IS
    'A trained model as a value: the checksummed modelmgr artifact format (doc/format.md). Text form is base64; casts to and from bytea.';
COMMENT ON FUNCTION modelmgr.model_in(cstring) IS 'Text input of modelmgr.model (base64 of the artifact, validated).';
COMMENT ON FUNCTION modelmgr.model_out(modelmgr.model) IS 'Text output of modelmgr.model (base64 of the artifact).';
COMMENT ON FUNCTION modelmgr.model_recv(internal) IS 'Binary input of modelmgr.model (the artifact bytes, validated).';
COMMENT ON FUNCTION modelmgr.model_send(modelmgr.model) IS 'Binary output of modelmgr.model (the artifact bytes).';

CREATE FUNCTION modelmgr.model_from_bytea(bytea) RETURNS modelmgr.model
    AS 'MODULE_PATHNAME', 'mm_model_from_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.model_to_bytea(modelmgr.model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'mm_model_to_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (bytea AS modelmgr.model) WITH FUNCTION modelmgr.model_from_bytea(bytea);
CREATE CAST (modelmgr.model AS bytea) WITH FUNCTION modelmgr.model_to_bytea(modelmgr.model);
COMMENT ON FUNCTION modelmgr.model_from_bytea(bytea) IS 'Cast bytea to modelmgr.model; the bytes are validated (format, checksum, shapes).';
COMMENT ON FUNCTION modelmgr.model_to_bytea(modelmgr.model) IS 'Cast modelmgr.model to bytea: the artifact bytes.';

CREATE FUNCTION modelmgr.describe(m modelmgr.model) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'mm_describe' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.describe(modelmgr.model) IS
    'Describe a model as jsonb: algorithm, task, target, features with imputation, tensors, parameter counts, coefficients of linear models, size and checksum.';

-- Aggregate state of linear_fit: a real type with text and binary I/O so
-- that parallel workers and Citus can ship it (DESIGN.md, Types).
CREATE TYPE modelmgr.linreg_state;
CREATE FUNCTION modelmgr.linreg_state_in(cstring) RETURNS modelmgr.linreg_state
    AS 'MODULE_PATHNAME', 'mm_linreg_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.linreg_state_out(modelmgr.linreg_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'mm_linreg_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.linreg_state_recv(internal) RETURNS modelmgr.linreg_state
    AS 'MODULE_PATHNAME', 'mm_linreg_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.linreg_state_send(modelmgr.linreg_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'mm_linreg_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE modelmgr.linreg_state (
    INPUT = modelmgr.linreg_state_in,
    OUTPUT = modelmgr.linreg_state_out,
    RECEIVE = modelmgr.linreg_state_recv,
    SEND = modelmgr.linreg_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE modelmgr.linreg_state IS
    'Transition state of modelmgr.linear_fit: row count, means and the R factor of the centered design. Text form is exact (base64 of the little-endian doubles).';
COMMENT ON FUNCTION modelmgr.linreg_state_in(cstring) IS 'Text input of modelmgr.linreg_state (validated).';
COMMENT ON FUNCTION modelmgr.linreg_state_out(modelmgr.linreg_state) IS 'Text output of modelmgr.linreg_state (exact, compact).';
COMMENT ON FUNCTION modelmgr.linreg_state_recv(internal) IS 'Binary input of modelmgr.linreg_state (validated).';
COMMENT ON FUNCTION modelmgr.linreg_state_send(modelmgr.linreg_state) IS 'Binary output of modelmgr.linreg_state.';

-- ---------------------------------------------------------------------------
-- Registry.  Only the extension owner can touch these tables; SQL entry
-- points are SECURITY INVOKER and switch to the owner inside C around
-- registry reads and writes (DESIGN.md, Security model).
-- ---------------------------------------------------------------------------

CREATE SEQUENCE modelmgr.models_id_seq;
CREATE TABLE modelmgr.models (
    id               bigint PRIMARY KEY DEFAULT nextval('modelmgr.models_id_seq'),
    name             text NOT NULL UNIQUE,
    task             text NOT NULL CHECK (task IN ('regression', 'binary', 'multiclass')),
    owner            name NOT NULL,
    description      text,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    deployed_version integer,
    last_version     integer NOT NULL DEFAULT 0
);
ALTER SEQUENCE modelmgr.models_id_seq OWNED BY modelmgr.models.id;

CREATE TABLE modelmgr.model_versions (
    model_id         bigint NOT NULL REFERENCES modelmgr.models (id) ON DELETE CASCADE,
    version          integer NOT NULL,
    parent_version   integer,
    operation        text NOT NULL CHECK (operation IN ('train', 'retrain', 'prune', 'quantize', 'import', 'save')),
    algorithm        text NOT NULL,
    params           jsonb NOT NULL DEFAULT '{}',
    source_relation  text,
    target           text,
    features         text[] NOT NULL,
    seed             bigint,
    test_fraction    double precision,
    train_rows       bigint,
    test_rows        bigint,
    skipped_rows     bigint,
    metrics          jsonb NOT NULL DEFAULT '{}',
    baselines        jsonb,
    artifact         bytea NOT NULL,
    size_bytes       integer NOT NULL,
    checksum         text NOT NULL,
    created_by       name NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    phase_seconds    jsonb,
    PRIMARY KEY (model_id, version)
);

CREATE SEQUENCE modelmgr.deployments_id_seq;
CREATE TABLE modelmgr.deployments (
    id               bigint PRIMARY KEY DEFAULT nextval('modelmgr.deployments_id_seq'),
    model_id         bigint NOT NULL REFERENCES modelmgr.models (id) ON DELETE CASCADE,
    action           text NOT NULL CHECK (action IN ('deploy', 'rollback')),
    from_version     integer,
    to_version       integer NOT NULL,
    reason           text,
    deployed_by      name NOT NULL,
    deployed_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);
ALTER SEQUENCE modelmgr.deployments_id_seq OWNED BY modelmgr.deployments.id;
CREATE INDEX ON modelmgr.deployments (model_id, id);

CREATE TABLE modelmgr.model_grants (
    model_id         bigint NOT NULL REFERENCES modelmgr.models (id) ON DELETE CASCADE,
    grantee          name NOT NULL,
    granted_by       name NOT NULL,
    granted_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (model_id, grantee)
);

SELECT pg_catalog.pg_extension_config_dump('modelmgr.models', '');
SELECT pg_catalog.pg_extension_config_dump('modelmgr.models_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('modelmgr.model_versions', '');
SELECT pg_catalog.pg_extension_config_dump('modelmgr.deployments', '');
SELECT pg_catalog.pg_extension_config_dump('modelmgr.deployments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('modelmgr.model_grants', '');

REVOKE ALL ON modelmgr.models, modelmgr.model_versions, modelmgr.deployments,
    modelmgr.model_grants FROM PUBLIC;
REVOKE ALL ON SEQUENCE modelmgr.models_id_seq, modelmgr.deployments_id_seq FROM PUBLIC;

COMMENT ON TABLE modelmgr.models IS 'One row per model: name, task, owning role (by name), deployed and last version numbers.';
COMMENT ON COLUMN modelmgr.models.owner IS 'Role that owns the model (stored by name so dumps restore cleanly). Owner, its members and superusers may change the model.';
COMMENT ON COLUMN modelmgr.models.deployed_version IS 'Version that predict(name, ...) uses; NULL when none is deployed.';
COMMENT ON COLUMN modelmgr.models.last_version IS 'Highest version number ever given out; version numbers are never reused.';
COMMENT ON TABLE modelmgr.model_versions IS 'Every version of every model: lineage, algorithm, params, data source, metrics and the artifact. Versions are immutable.';
COMMENT ON COLUMN modelmgr.model_versions.source_relation IS 'Qualified name of the relation trained on (a name, not an OID, so dumps restore).';
COMMENT ON COLUMN modelmgr.model_versions.metrics IS 'Train and test metrics, e.g. {"train": {"mse": ..}, "test": {..}}.';
COMMENT ON COLUMN modelmgr.model_versions.artifact IS 'The model in the modelmgr artifact format (doc/format.md).';
COMMENT ON COLUMN modelmgr.model_versions.checksum IS 'Hex of the artifact checksum (FNV-1a 64).';
COMMENT ON COLUMN modelmgr.model_versions.phase_seconds IS 'Seconds spent per training phase: read, fit, evaluate, save.';
COMMENT ON TABLE modelmgr.deployments IS 'Every deploy and rollback: who, when, from which version to which, and why.';
COMMENT ON TABLE modelmgr.model_grants IS 'Roles given USE on a model (predict, load) by modelmgr.grant_use.';
COMMENT ON SEQUENCE modelmgr.models_id_seq IS 'Model ids.';
COMMENT ON SEQUENCE modelmgr.deployments_id_seq IS 'Deployment event ids.';

-- ---------------------------------------------------------------------------
-- Catalog of algorithms (a view over C, no seed rows)
-- ---------------------------------------------------------------------------

CREATE FUNCTION modelmgr.algorithms_1_0(
    OUT algorithm text, OUT task text, OUT params jsonb, OUT description text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'mm_algorithms_1_0' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.algorithms_1_0() IS 'Backs the modelmgr.algorithms view.';
CREATE VIEW modelmgr.algorithms AS SELECT * FROM modelmgr.algorithms_1_0();
COMMENT ON VIEW modelmgr.algorithms IS 'Algorithms train() accepts, with their task and parameters (type, default, valid range).';
COMMENT ON COLUMN modelmgr.algorithms.algorithm IS 'Name to pass as train(algorithm => ...).';
COMMENT ON COLUMN modelmgr.algorithms.task IS 'regression, binary or multiclass.';
COMMENT ON COLUMN modelmgr.algorithms.params IS 'Accepted params: {"name": {"type", "default", "min", "max", "values", "description"}}.';
COMMENT ON COLUMN modelmgr.algorithms.description IS 'What the algorithm does.';
GRANT SELECT ON modelmgr.algorithms TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Training
-- ---------------------------------------------------------------------------

CREATE FUNCTION modelmgr.train(
    name          text,
    algorithm     text,
    relation      regclass,
    target        text,
    features      text[] DEFAULT NULL,
    params        jsonb DEFAULT '{}',
    test_fraction double precision DEFAULT 0.2,
    deploy        text DEFAULT 'auto',
    seed          bigint DEFAULT 0,
    group_by      text[] DEFAULT NULL)
RETURNS TABLE (name text, version integer, algorithm text, task text,
               train_rows bigint, test_rows bigint, metrics jsonb,
               deployed boolean, seconds double precision)
AS 'MODULE_PATHNAME', 'mm_train'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.train(text, text, regclass, text, text[], jsonb, double precision, text, bigint, text[]) IS
    'Train a new version of a model on a table or view (read with the caller''s rights); records metrics and deploys per the deploy policy (auto | always | never).';

-- linear_fit: a parallel, distributable aggregate building block.
CREATE FUNCTION modelmgr.linreg_transfn(modelmgr.linreg_state, double precision, double precision[])
    RETURNS modelmgr.linreg_state
    AS 'MODULE_PATHNAME', 'mm_linreg_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION modelmgr.linreg_transfn(modelmgr.linreg_state, double precision, double precision[], jsonb)
    RETURNS modelmgr.linreg_state
    AS 'MODULE_PATHNAME', 'mm_linreg_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION modelmgr.linreg_combine(modelmgr.linreg_state, modelmgr.linreg_state)
    RETURNS modelmgr.linreg_state
    AS 'MODULE_PATHNAME', 'mm_linreg_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION modelmgr.linreg_final(modelmgr.linreg_state)
    RETURNS modelmgr.model
    AS 'MODULE_PATHNAME', 'mm_linreg_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.linreg_transfn(modelmgr.linreg_state, double precision, double precision[]) IS 'Transition function of modelmgr.linear_fit.';
COMMENT ON FUNCTION modelmgr.linreg_transfn(modelmgr.linreg_state, double precision, double precision[], jsonb) IS 'Transition function of modelmgr.linear_fit with options.';
COMMENT ON FUNCTION modelmgr.linreg_combine(modelmgr.linreg_state, modelmgr.linreg_state) IS 'Combine function of modelmgr.linear_fit (QR of the stacked R factors).';
COMMENT ON FUNCTION modelmgr.linreg_final(modelmgr.linreg_state) IS 'Final function of modelmgr.linear_fit: solves for the coefficients.';

CREATE AGGREGATE modelmgr.linear_fit(y double precision, x double precision[]) (
    SFUNC = modelmgr.linreg_transfn,
    STYPE = modelmgr.linreg_state,
    COMBINEFUNC = modelmgr.linreg_combine,
    FINALFUNC = modelmgr.linreg_final,
    PARALLEL = SAFE
);
CREATE AGGREGATE modelmgr.linear_fit(y double precision, x double precision[], options jsonb) (
    SFUNC = modelmgr.linreg_transfn,
    STYPE = modelmgr.linreg_state,
    COMBINEFUNC = modelmgr.linreg_combine,
    FINALFUNC = modelmgr.linreg_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE modelmgr.linear_fit(double precision, double precision[]) IS
    'Least-squares linear regression of y on the array x, by one-pass mergeable QR; parallel safe. Rows with a NULL y or a NULL element in x are skipped.';
COMMENT ON AGGREGATE modelmgr.linear_fit(double precision, double precision[], jsonb) IS
    'linear_fit with options {"l2": ridge penalty, "fit_intercept": true|false}, taken from the first row.';

CREATE FUNCTION modelmgr.save(name text, model modelmgr.model, features text[] DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'mm_save' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.save(text, modelmgr.model, text[]) IS
    'Register a model value (e.g. from linear_fit) as a new version of model `name`; features names the array slots. Deployed if the model has no deployed version. Returns the version.';

-- ---------------------------------------------------------------------------
-- Prediction
-- ---------------------------------------------------------------------------

CREATE FUNCTION modelmgr.predict(name text, features double precision[]) RETURNS double precision
    AS 'MODULE_PATHNAME', 'mm_predict_name_array' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.predict(name text, r record) RETURNS double precision
    AS 'MODULE_PATHNAME', 'mm_predict_name_record' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.predict(m modelmgr.model, features double precision[]) RETURNS double precision
    AS 'MODULE_PATHNAME', 'mm_predict_model_array' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.predict(m modelmgr.model, r record) RETURNS double precision
    AS 'MODULE_PATHNAME', 'mm_predict_model_record' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.predict(text, double precision[]) IS
    'Predict with the deployed version of a model; features in the model''s feature order (NULL elements are imputed). Needs USE on the model.';
COMMENT ON FUNCTION modelmgr.predict(text, record) IS
    'Predict with the deployed version of a model from a whole row (t or t.*): features matched by column name. Needs USE on the model.';
COMMENT ON FUNCTION modelmgr.predict(modelmgr.model, double precision[]) IS
    'Predict with a model value (e.g. modelmgr.load(name, version)); features in the model''s feature order.';
COMMENT ON FUNCTION modelmgr.predict(modelmgr.model, record) IS
    'Predict with a model value from a whole row; features matched by column name.';

CREATE FUNCTION modelmgr.load(name text, version integer DEFAULT NULL) RETURNS modelmgr.model
    AS 'MODULE_PATHNAME', 'mm_load' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.load(text, integer) IS
    'A version of a model as a modelmgr.model value (the deployed one when version is NULL). Needs USE on the model.';

-- ---------------------------------------------------------------------------
-- Lifecycle
-- ---------------------------------------------------------------------------

CREATE FUNCTION modelmgr.deploy(name text, version integer, reason text DEFAULT NULL) RETURNS integer
    AS 'MODULE_PATHNAME', 'mm_deploy' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.deploy(text, integer, text) IS
    'Make a version the one predict() uses; recorded in modelmgr.deployments. Owner only. Returns the version.';
CREATE FUNCTION modelmgr.rollback(name text, reason text DEFAULT NULL) RETURNS integer
    AS 'MODULE_PATHNAME', 'mm_rollback' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.rollback(text, text) IS
    'Deploy again the version that was deployed before the current deployment (repeatable); recorded. Owner only. Returns the version now deployed.';
CREATE FUNCTION modelmgr.drop_version(name text, version integer) RETURNS void
    AS 'MODULE_PATHNAME', 'mm_drop_version' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.drop_version(text, integer) IS
    'Delete one version (never the deployed one). Its number is never reused. Owner only.';
CREATE FUNCTION modelmgr.drop_model(name text) RETURNS void
    AS 'MODULE_PATHNAME', 'mm_drop_model' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.drop_model(text) IS
    'Delete a model with all its versions, deployment history and grants. Owner only.';
CREATE FUNCTION modelmgr.grant_use(name text, role text) RETURNS void
    AS 'MODULE_PATHNAME', 'mm_grant_use' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.grant_use(text, text) IS
    'Let a role (or PUBLIC) predict with and load a model. Owner only.';
CREATE FUNCTION modelmgr.revoke_use(name text, role text) RETURNS void
    AS 'MODULE_PATHNAME', 'mm_revoke_use' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.revoke_use(text, text) IS
    'Take back USE on a model given by grant_use. Owner only.';

-- ---------------------------------------------------------------------------
-- DROP EXTENSION guard
-- ---------------------------------------------------------------------------

CREATE FUNCTION modelmgr.guard_drop() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'mm_guard_drop' LANGUAGE C;
COMMENT ON FUNCTION modelmgr.guard_drop() IS
    'Event trigger function: refuses DROP EXTENSION modelmgr (and DROP SCHEMA modelmgr, DROP OWNED BY its owner) while models exist, unless modelmgr.allow_drop is on.';
CREATE EVENT TRIGGER modelmgr_guard_drop ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION modelmgr.guard_drop();
COMMENT ON EVENT TRIGGER modelmgr_guard_drop IS
    'Refuses DROP EXTENSION modelmgr, DROP SCHEMA modelmgr and DROP OWNED BY the extension owner while models exist, unless modelmgr.allow_drop is on.';
COMMENT ON CAST (bytea AS modelmgr.model) IS 'Validate artifact bytes (format, checksum, shapes) as a model.';
COMMENT ON CAST (modelmgr.model AS bytea) IS 'The artifact bytes of a model.';
