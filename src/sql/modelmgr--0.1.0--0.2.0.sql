/* src/sql/modelmgr--0.1.0--0.2.0.sql: lifecycle (retrain, gc, export, import) */

\echo Use "ALTER EXTENSION modelmgr UPDATE TO '0.2.0'" to load this file. \quit

-- Every auto decision is recorded, also the ones that keep the champion:
-- action 'keep' with the version that was considered.
ALTER TABLE modelmgr.deployments ADD COLUMN candidate_version integer;
ALTER TABLE modelmgr.deployments DROP CONSTRAINT deployments_action_check;
ALTER TABLE modelmgr.deployments ADD CONSTRAINT deployments_action_check
    CHECK (action IN ('deploy', 'rollback', 'keep'));
COMMENT ON COLUMN modelmgr.deployments.action IS
    'deploy (to_version now serves), rollback (back to to_version), or keep (candidate_version was not deployed; to_version stays).';
COMMENT ON TABLE modelmgr.deployments IS 'Every deploy, rollback and keep decision: who, when, from which version to which, and why.';
COMMENT ON COLUMN modelmgr.deployments.candidate_version IS
    'For keep: the new version that lost against the deployed one.';

CREATE FUNCTION modelmgr.retrain(
    name     text,
    relation regclass DEFAULT NULL,
    deploy   text DEFAULT 'auto')
RETURNS TABLE (name text, version integer, champion_version integer, deployed boolean,
               metric text, champion_score double precision,
               challenger_score double precision, reason text)
AS 'MODULE_PATHNAME', 'mm_retrain'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.retrain(text, regclass, text) IS
    'Train the deployed version again (same algorithm, params, features, target, seed and test fraction) on the current rows of its relation (or another one), score champion and challenger on the same fresh held-out rows, and deploy per the policy. Owner only.';

CREATE FUNCTION modelmgr.gc(name text, keep integer DEFAULT 5)
RETURNS SETOF integer
AS 'MODULE_PATHNAME', 'mm_gc'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.gc(text, integer) IS
    'Drop old versions of a model, keeping the newest `keep`, the deployed one and every ancestor of a kept version. Returns the dropped version numbers. Owner only.';

CREATE FUNCTION modelmgr.export(name text, version integer DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'mm_export'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.export(text, integer) IS
    'A version (the deployed one when NULL) as self-describing bytes: format version, algorithm, schema, params, metrics, lineage and the artifact, checksummed. Needs USE on the model.';

CREATE FUNCTION modelmgr.import(name text, data bytea)
RETURNS integer
AS 'MODULE_PATHNAME', 'mm_import'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.import(text, bytea) IS
    'Validate bytes from modelmgr.export and add them as a new version (operation import) of model `name`; deployed when the model has no deployed version. Returns the version.';

COMMENT ON FUNCTION modelmgr.grant_use(text, text) IS
    'Let a role (or PUBLIC) predict with, load and export a model. Owner only.';
COMMENT ON TABLE modelmgr.model_grants IS 'Roles given USE on a model (predict, load, export) by modelmgr.grant_use.';

-- ---------------------------------------------------------------------------
-- Monitoring: evaluations, monitor(), live statistics, BI views
-- ---------------------------------------------------------------------------

CREATE SEQUENCE modelmgr.evaluations_id_seq;
CREATE TABLE modelmgr.evaluations (
    id               bigint PRIMARY KEY DEFAULT nextval('modelmgr.evaluations_id_seq'),
    model_id         bigint NOT NULL REFERENCES modelmgr.models (id) ON DELETE CASCADE,
    version          integer NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('monitor', 'evaluate')),
    relation         text NOT NULL,
    rows             bigint NOT NULL,
    labelled_rows    bigint NOT NULL,
    metrics          jsonb,
    drift            jsonb,
    status           text NOT NULL CHECK (status IN ('ok', 'warning', 'alert')),
    reasons          text[] NOT NULL DEFAULT '{}',
    evaluated_by     name NOT NULL,
    evaluated_at     timestamptz NOT NULL DEFAULT pg_catalog.now()
);
ALTER SEQUENCE modelmgr.evaluations_id_seq OWNED BY modelmgr.evaluations.id;
CREATE INDEX ON modelmgr.evaluations (model_id, version, id);
SELECT pg_catalog.pg_extension_config_dump('modelmgr.evaluations', '');
SELECT pg_catalog.pg_extension_config_dump('modelmgr.evaluations_id_seq', '');
REVOKE ALL ON modelmgr.evaluations FROM PUBLIC;
REVOKE ALL ON SEQUENCE modelmgr.evaluations_id_seq FROM PUBLIC;
COMMENT ON TABLE modelmgr.evaluations IS 'Every monitor() run: version, relation, rows, metrics (when the target is present), drift per feature and of the predictions, status and reasons.';
COMMENT ON SEQUENCE modelmgr.evaluations_id_seq IS 'Evaluation ids.';
COMMENT ON COLUMN modelmgr.evaluations.drift IS '{"features": {"<name>": {"psi", "ks", "null_fraction", "status"}}, "prediction": {"psi", "ks", "status"}}';
COMMENT ON COLUMN modelmgr.evaluations.reasons IS 'Why the status is not ok, one sentence each.';
COMMENT ON COLUMN modelmgr.model_versions.baselines IS 'Drift baselines from the training sample: per feature and for the predictions, percentile edges and the CDF at each.';

CREATE FUNCTION modelmgr.monitor(name text, relation regclass, version integer DEFAULT NULL)
RETURNS TABLE (evaluation_id bigint, model text, version integer, rows bigint,
               labelled_rows bigint, status text, reasons text[], metrics jsonb, drift jsonb)
AS 'MODULE_PATHNAME', 'mm_monitor'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.monitor(text, regclass, integer) IS
    'Score a relation with a version (the deployed one by default): metrics when the target column is present, drift per feature and of the predictions (PSI over deciles, KS) against the training baselines. Recorded in modelmgr.evaluations. Needs USE on the model.';

-- Which models the current user may see in the views: owner (or member of
-- the owning role), a USE grantee, pg_monitor members and superusers.
CREATE FUNCTION modelmgr.can_see(model_id bigint) RETURNS boolean
AS 'MODULE_PATHNAME', 'mm_can_see' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.can_see(bigint) IS
    'True when the current user owns the model (or is a member of its owning role), has USE on it, is a member of pg_monitor, or is a superuser. The views show only such models.';

CREATE VIEW modelmgr.version_history WITH (security_barrier) AS
SELECT m.name AS model, v.version, v.parent_version, v.operation, v.algorithm,
       v.params::text AS params, v.source_relation, v.target,
       pg_catalog.array_to_string(v.features, ', ') AS features,
       v.train_rows, v.test_rows, v.skipped_rows, v.size_bytes, v.checksum,
       COALESCE(v.version OPERATOR(pg_catalog.=) m.deployed_version, false) AS is_deployed,
       v.created_by::text AS created_by, v.created_at
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id OPERATOR(pg_catalog.=) v.model_id
WHERE modelmgr.can_see(m.id);

CREATE VIEW modelmgr.deployment_history WITH (security_barrier) AS
SELECT m.name AS model, d.id AS event_id, d.action, d.from_version, d.to_version,
       d.candidate_version, d.reason, d.deployed_by::text AS deployed_by, d.deployed_at
FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id OPERATOR(pg_catalog.=) d.model_id
WHERE modelmgr.can_see(m.id);

-- security_barrier on a wrapper: a UNION's branches would otherwise take
-- the caller's (leaky) predicates below the can_see filter
CREATE VIEW modelmgr.metric_history WITH (security_barrier) AS
SELECT * FROM (
SELECT m.name AS model, v.version, s.key AS dataset, x.key AS metric,
       (x.value::text)::double precision AS value, v.created_at AS measured_at
FROM modelmgr.model_versions v
JOIN modelmgr.models m ON m.id OPERATOR(pg_catalog.=) v.model_id
CROSS JOIN LATERAL pg_catalog.jsonb_each(v.metrics) s
CROSS JOIN LATERAL pg_catalog.jsonb_each(s.value) x
WHERE modelmgr.can_see(m.id) AND pg_catalog.jsonb_typeof(s.value) OPERATOR(pg_catalog.=) 'object'
  AND pg_catalog.jsonb_typeof(x.value) OPERATOR(pg_catalog.=) 'number'
UNION ALL
SELECT m.name, e.version, e.relation, x.key, (x.value::text)::double precision, e.evaluated_at
FROM modelmgr.evaluations e
JOIN modelmgr.models m ON m.id OPERATOR(pg_catalog.=) e.model_id
CROSS JOIN LATERAL pg_catalog.jsonb_each(e.metrics) x
WHERE modelmgr.can_see(m.id) AND pg_catalog.jsonb_typeof(x.value) OPERATOR(pg_catalog.=) 'number'
) h;

CREATE VIEW modelmgr.feature_drift WITH (security_barrier) AS
SELECT * FROM (
SELECT m.name AS model, e.version, e.id AS evaluation_id, e.relation, f.key AS feature,
       (f.value OPERATOR(pg_catalog.->>) 'psi')::double precision AS psi,
       (f.value OPERATOR(pg_catalog.->>) 'ks')::double precision AS ks,
       (f.value OPERATOR(pg_catalog.->>) 'null_fraction')::double precision AS null_fraction,
       f.value OPERATOR(pg_catalog.->>) 'status' AS status, e.evaluated_at AS measured_at,
       (f.value OPERATOR(pg_catalog.->>) 'js')::double precision AS js,
       (f.value OPERATOR(pg_catalog.->>) 'unseen_fraction')::double precision AS unseen_fraction
FROM modelmgr.evaluations e
JOIN modelmgr.models m ON m.id OPERATOR(pg_catalog.=) e.model_id
CROSS JOIN LATERAL pg_catalog.jsonb_each(e.drift OPERATOR(pg_catalog.->) 'features') f
WHERE modelmgr.can_see(m.id)
UNION ALL
SELECT m.name, e.version, e.id, e.relation, '(prediction)',
       (e.drift OPERATOR(pg_catalog.#>>) '{prediction,psi}')::double precision,
       (e.drift OPERATOR(pg_catalog.#>>) '{prediction,ks}')::double precision,
       NULL::double precision,
       e.drift OPERATOR(pg_catalog.#>>) '{prediction,status}', e.evaluated_at,
       (e.drift OPERATOR(pg_catalog.#>>) '{prediction,js}')::double precision,
       NULL::double precision
FROM modelmgr.evaluations e
JOIN modelmgr.models m ON m.id OPERATOR(pg_catalog.=) e.model_id
WHERE modelmgr.can_see(m.id) AND e.drift OPERATOR(pg_catalog.?) 'prediction'
) d;

CREATE FUNCTION modelmgr.model_health_1_0(
    OUT model text, OUT version integer, OUT status text, OUT reasons text,
    OUT last_evaluated_at timestamptz, OUT evaluations bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mm_model_health_1_0' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.model_health_1_0() IS 'Backs the modelmgr.model_health view.';
CREATE VIEW modelmgr.model_health AS SELECT * FROM modelmgr.model_health_1_0();

CREATE VIEW modelmgr.model_overview WITH (security_barrier) AS
SELECT m.name AS model, m.task, m.owner::text AS owner, m.description,
       m.deployed_version, m.last_version,
       (SELECT pg_catalog.count(*) FROM modelmgr.model_versions v
        WHERE v.model_id OPERATOR(pg_catalog.=) m.id) AS versions,
       dv.algorithm AS deployed_algorithm,
       (dv.metrics OPERATOR(pg_catalog.#>>) '{test,rmse}')::double precision AS deployed_test_rmse,
       (dv.metrics OPERATOR(pg_catalog.#>>) '{test,r2}')::double precision AS deployed_test_r2,
       (SELECT pg_catalog.max(d.deployed_at) FROM modelmgr.deployments d
        WHERE d.model_id OPERATOR(pg_catalog.=) m.id AND d.action OPERATOR(pg_catalog.<>) 'keep') AS deployed_at,
       h.status AS health, h.last_evaluated_at, m.created_at,
       (dv.metrics OPERATOR(pg_catalog.#>>) '{test,accuracy}')::double precision AS deployed_test_accuracy,
       (dv.metrics OPERATOR(pg_catalog.#>>) '{test,f1}')::double precision AS deployed_test_f1
FROM modelmgr.models m
LEFT JOIN modelmgr.model_versions dv
       ON dv.model_id OPERATOR(pg_catalog.=) m.id AND dv.version OPERATOR(pg_catalog.=) m.deployed_version
LEFT JOIN modelmgr.model_health h ON h.model OPERATOR(pg_catalog.=) m.name
WHERE modelmgr.can_see(m.id);


GRANT SELECT ON modelmgr.model_overview, modelmgr.version_history, modelmgr.deployment_history,
    modelmgr.metric_history, modelmgr.feature_drift, modelmgr.model_health TO PUBLIC;

COMMENT ON VIEW modelmgr.model_overview IS 'One row per model you may see: deployed version, its algorithm and test metrics, health, when it was deployed and last evaluated.';
COMMENT ON VIEW modelmgr.version_history IS 'One row per version: lineage (parent, operation), algorithm, params, data source, row counts, size, who and when; never the artifact.';
COMMENT ON VIEW modelmgr.deployment_history IS 'One row per deploy, rollback or keep decision, with its reason.';
COMMENT ON VIEW modelmgr.metric_history IS 'Long format: one metric value per row, from training (dataset train/test) and from monitor() runs (dataset = relation).';
COMMENT ON VIEW modelmgr.feature_drift IS 'One row per feature (and "(prediction)") per monitor() run: PSI (deciles for numbers, category shares for categorical features and classes), KS on the percentile grid (numbers), Jensen-Shannon divergence (categories), status.';
COMMENT ON VIEW modelmgr.model_health IS 'One row per model with a deployed version: ok, warning or alert, with the reasons (drift, metric degradation against the version''s own test metrics, a worsening moving average over the last evaluations).';

-- column comments of the views (BI tools show them)
COMMENT ON COLUMN modelmgr.model_overview.model IS 'Model name.';
COMMENT ON COLUMN modelmgr.model_overview.task IS 'regression, binary or multiclass.';
COMMENT ON COLUMN modelmgr.model_overview.owner IS 'Role that owns the model.';
COMMENT ON COLUMN modelmgr.model_overview.description IS 'Free text description, if any.';
COMMENT ON COLUMN modelmgr.model_overview.deployed_version IS 'Version predict() uses; NULL when none is deployed.';
COMMENT ON COLUMN modelmgr.model_overview.last_version IS 'Highest version number given out.';
COMMENT ON COLUMN modelmgr.model_overview.versions IS 'Versions stored now (dropped ones not counted).';
COMMENT ON COLUMN modelmgr.model_overview.deployed_algorithm IS 'Algorithm of the deployed version.';
COMMENT ON COLUMN modelmgr.model_overview.deployed_test_rmse IS 'Held-out RMSE of the deployed version at training time.';
COMMENT ON COLUMN modelmgr.model_overview.deployed_test_r2 IS 'Held-out R2 of the deployed version at training time.';
COMMENT ON COLUMN modelmgr.model_overview.deployed_at IS 'When the current deployment (deploy or rollback) happened.';
COMMENT ON COLUMN modelmgr.model_overview.health IS 'ok, warning or alert (see model_health); NULL when nothing is deployed.';
COMMENT ON COLUMN modelmgr.model_overview.last_evaluated_at IS 'When monitor() last ran on the deployed version.';
COMMENT ON COLUMN modelmgr.model_overview.created_at IS 'When the model was created.';
COMMENT ON COLUMN modelmgr.version_history.model IS 'Model name.';
COMMENT ON COLUMN modelmgr.version_history.version IS 'Version number (never reused).';
COMMENT ON COLUMN modelmgr.version_history.parent_version IS 'Version this one was derived from (retrain, prune, quantize).';
COMMENT ON COLUMN modelmgr.version_history.operation IS 'train, retrain, prune, quantize, import or save.';
COMMENT ON COLUMN modelmgr.version_history.algorithm IS 'Algorithm name.';
COMMENT ON COLUMN modelmgr.version_history.params IS 'Effective parameters as JSON text.';
COMMENT ON COLUMN modelmgr.version_history.source_relation IS 'Relation trained on (qualified name).';
COMMENT ON COLUMN modelmgr.version_history.target IS 'Target column.';
COMMENT ON COLUMN modelmgr.version_history.features IS 'Feature columns, comma separated, in model order.';
COMMENT ON COLUMN modelmgr.version_history.train_rows IS 'Rows trained on.';
COMMENT ON COLUMN modelmgr.version_history.test_rows IS 'Held-out rows.';
COMMENT ON COLUMN modelmgr.version_history.skipped_rows IS 'Rows skipped for a NULL target.';
COMMENT ON COLUMN modelmgr.version_history.size_bytes IS 'Artifact size in bytes.';
COMMENT ON COLUMN modelmgr.version_history.checksum IS 'Artifact checksum (hex).';
COMMENT ON COLUMN modelmgr.version_history.is_deployed IS 'True for the deployed version.';
COMMENT ON COLUMN modelmgr.version_history.created_by IS 'Role that created the version.';
COMMENT ON COLUMN modelmgr.version_history.created_at IS 'When the version was created.';
COMMENT ON COLUMN modelmgr.deployment_history.model IS 'Model name.';
COMMENT ON COLUMN modelmgr.deployment_history.event_id IS 'Order of events.';
COMMENT ON COLUMN modelmgr.deployment_history.action IS 'deploy, rollback or keep.';
COMMENT ON COLUMN modelmgr.deployment_history.from_version IS 'Version deployed before.';
COMMENT ON COLUMN modelmgr.deployment_history.to_version IS 'Version deployed after.';
COMMENT ON COLUMN modelmgr.deployment_history.candidate_version IS 'For keep: the version that was not deployed.';
COMMENT ON COLUMN modelmgr.deployment_history.reason IS 'Why: the comparison, the policy, or the text given to deploy/rollback.';
COMMENT ON COLUMN modelmgr.deployment_history.deployed_by IS 'Role that acted.';
COMMENT ON COLUMN modelmgr.deployment_history.deployed_at IS 'When.';
COMMENT ON COLUMN modelmgr.metric_history.model IS 'Model name.';
COMMENT ON COLUMN modelmgr.metric_history.version IS 'Version measured.';
COMMENT ON COLUMN modelmgr.metric_history.dataset IS 'train or test (at training time), or the relation monitor() scored.';
COMMENT ON COLUMN modelmgr.metric_history.metric IS 'Metric name, e.g. rmse, r2, mae, mse, rows.';
COMMENT ON COLUMN modelmgr.metric_history.value IS 'Metric value.';
COMMENT ON COLUMN modelmgr.metric_history.measured_at IS 'When it was measured.';
COMMENT ON COLUMN modelmgr.feature_drift.model IS 'Model name.';
COMMENT ON COLUMN modelmgr.feature_drift.version IS 'Version monitored.';
COMMENT ON COLUMN modelmgr.feature_drift.evaluation_id IS 'The monitor() run (modelmgr.evaluations.id).';
COMMENT ON COLUMN modelmgr.feature_drift.relation IS 'Relation scored.';
COMMENT ON COLUMN modelmgr.feature_drift.feature IS 'Feature name, or (prediction) for the predictions.';
COMMENT ON COLUMN modelmgr.feature_drift.psi IS 'Population Stability Index over training deciles.';
COMMENT ON COLUMN modelmgr.feature_drift.ks IS 'Kolmogorov-Smirnov statistic on the 99-point percentile grid.';
COMMENT ON COLUMN modelmgr.feature_drift.null_fraction IS 'Fraction of NULLs in the scored rows.';
COMMENT ON COLUMN modelmgr.feature_drift.status IS 'ok, warning or alert by modelmgr.psi_warning / psi_alert.';
COMMENT ON COLUMN modelmgr.feature_drift.measured_at IS 'When monitor() ran.';
COMMENT ON COLUMN modelmgr.model_health.model IS 'Model name.';
COMMENT ON COLUMN modelmgr.model_health.version IS 'Deployed version.';
COMMENT ON COLUMN modelmgr.model_health.status IS 'ok, warning or alert.';
COMMENT ON COLUMN modelmgr.model_health.reasons IS 'Why, one sentence each, separated by semicolons.';
COMMENT ON COLUMN modelmgr.model_health.last_evaluated_at IS 'When monitor() last ran on this version.';
COMMENT ON COLUMN modelmgr.model_health.evaluations IS 'monitor() runs of this version.';

-- live statistics (shared memory; preload modelmgr to turn them on)
CREATE FUNCTION modelmgr.prediction_stats_1_0(
    OUT model text, OUT version integer, OUT calls bigint, OUT rows bigint,
    OUT total_time_ms double precision, OUT mean_time_ms double precision,
    OUT max_time_ms double precision, OUT last_call timestamptz, OUT status text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mm_prediction_stats_1_0' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.prediction_stats_1_0() IS 'Backs the modelmgr.prediction_stats view.';
CREATE FUNCTION modelmgr.reset_prediction_stats() RETURNS void
AS 'MODULE_PATHNAME', 'mm_reset_prediction_stats' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION modelmgr.reset_prediction_stats() FROM PUBLIC;
COMMENT ON FUNCTION modelmgr.reset_prediction_stats() IS 'Forget the live prediction statistics of the current database. Not granted to PUBLIC.';
CREATE FUNCTION modelmgr.training_progress_1_0(
    OUT pid integer, OUT model text, OUT algorithm text, OUT phase text, OUT rows_read bigint,
    OUT iteration bigint, OUT loss double precision, OUT started_at timestamptz,
    OUT elapsed_seconds double precision, OUT status text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mm_training_progress_1_0' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.training_progress_1_0() IS 'Backs the modelmgr.training_progress view.';

-- the live views show a model's rows only to those who may see the model
-- (a status row, when statistics are off, to everyone)
CREATE VIEW modelmgr.prediction_stats WITH (security_barrier) AS
SELECT s.* FROM modelmgr.prediction_stats_1_0() s
WHERE s.model IS NULL OR EXISTS (
    SELECT 1 FROM modelmgr.models m
    WHERE m.name OPERATOR(pg_catalog.=) s.model AND modelmgr.can_see(m.id));
CREATE VIEW modelmgr.training_progress WITH (security_barrier) AS
SELECT t.* FROM modelmgr.training_progress_1_0() t
WHERE t.model IS NULL OR pg_catalog.pg_has_role('pg_monitor', 'USAGE') OR EXISTS (
    SELECT 1 FROM modelmgr.models m
    WHERE m.name OPERATOR(pg_catalog.=) t.model AND modelmgr.can_see(m.id));
GRANT SELECT ON modelmgr.prediction_stats, modelmgr.training_progress TO PUBLIC;
COMMENT ON VIEW modelmgr.prediction_stats IS 'Live predict() counts per model and version (calls = statements, rows, time); needs shared_preload_libraries = ''modelmgr'', else one status row says so.';
COMMENT ON VIEW modelmgr.training_progress IS 'Running trainings: model, algorithm, phase, rows read, iteration, loss, elapsed time; needs shared_preload_libraries = ''modelmgr'', else one status row says so.';
COMMENT ON COLUMN modelmgr.prediction_stats.model IS 'Model name as predict() named it.';
COMMENT ON COLUMN modelmgr.prediction_stats.version IS 'Version used.';
COMMENT ON COLUMN modelmgr.prediction_stats.calls IS 'Statements that predicted with this version.';
COMMENT ON COLUMN modelmgr.prediction_stats.rows IS 'predict() calls (rows).';
COMMENT ON COLUMN modelmgr.prediction_stats.total_time_ms IS 'Time of those statements from their first prediction to their end, in ms.';
COMMENT ON COLUMN modelmgr.prediction_stats.mean_time_ms IS 'total_time_ms / calls.';
COMMENT ON COLUMN modelmgr.prediction_stats.max_time_ms IS 'Longest such statement, in ms.';
COMMENT ON COLUMN modelmgr.prediction_stats.last_call IS 'When a statement last predicted with it.';
COMMENT ON COLUMN modelmgr.prediction_stats.status IS 'ok, or why there are no live statistics (modelmgr not preloaded).';
COMMENT ON COLUMN modelmgr.training_progress.pid IS 'Backend running the training.';
COMMENT ON COLUMN modelmgr.training_progress.model IS 'Model being trained.';
COMMENT ON COLUMN modelmgr.training_progress.algorithm IS 'Algorithm.';
COMMENT ON COLUMN modelmgr.training_progress.phase IS 'read, fit, evaluate or save.';
COMMENT ON COLUMN modelmgr.training_progress.rows_read IS 'Rows read so far.';
COMMENT ON COLUMN modelmgr.training_progress.iteration IS 'Iteration of an iterative algorithm, else NULL.';
COMMENT ON COLUMN modelmgr.training_progress.loss IS 'Current loss of an iterative algorithm, else NULL.';
COMMENT ON COLUMN modelmgr.training_progress.started_at IS 'When the training started.';
COMMENT ON COLUMN modelmgr.training_progress.elapsed_seconds IS 'Seconds since it started.';
COMMENT ON COLUMN modelmgr.training_progress.status IS 'ok, or why there is no progress information (modelmgr not preloaded).';

-- Classifiers (issue 3): probabilities, labels, classes, weights, evaluate
CREATE FUNCTION modelmgr.predict_proba(name text, features double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'mm_predict_proba_name_array' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.predict_proba(name text, r record) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'mm_predict_proba_name_record' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.predict_proba(m modelmgr.model, r record) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'mm_predict_proba_model_record' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.predict_label(name text, features double precision[]) RETURNS text
    AS 'MODULE_PATHNAME', 'mm_predict_label_name_array' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.predict_label(name text, r record) RETURNS text
    AS 'MODULE_PATHNAME', 'mm_predict_label_name_record' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION modelmgr.predict_label(m modelmgr.model, r record) RETURNS text
    AS 'MODULE_PATHNAME', 'mm_predict_label_model_record' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.predict_proba(text, double precision[]) IS
    'Class probabilities of the deployed version of a classifier (logistic or softmax), in the order of modelmgr.classes(name); features in the model''s order.';
COMMENT ON FUNCTION modelmgr.predict_proba(text, record) IS
    'Class probabilities of the deployed version of a classifier for a row whose columns are named like the features, in the order of modelmgr.classes(name).';
COMMENT ON FUNCTION modelmgr.predict_proba(modelmgr.model, record) IS
    'Class probabilities of a model value (from load or linear_fit) for a row, in the order of its classes.';
COMMENT ON FUNCTION modelmgr.predict_label(text, double precision[]) IS
    'Predicted class of the deployed version, spelled as the target column''s values cast to text; features in the model''s order.';
COMMENT ON FUNCTION modelmgr.predict_label(text, record) IS
    'Predicted class of the deployed version for a row, spelled as the target column''s values cast to text.';
COMMENT ON FUNCTION modelmgr.predict_label(modelmgr.model, record) IS
    'Predicted class of a model value for a row, spelled as the target column''s values cast to text.';

CREATE FUNCTION modelmgr.classes(name text, version integer DEFAULT NULL) RETURNS text[]
    AS 'MODULE_PATHNAME', 'mm_classes' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.classes(text, integer) IS
    'Class labels of a classifier version (default: the deployed one) in the order predict_proba reports them; NULL for regression models.';

CREATE FUNCTION modelmgr.weights(name text, version integer DEFAULT NULL)
RETURNS TABLE (feature text, category text, class text, weight double precision, group_key text[])
    AS 'MODULE_PATHNAME', 'mm_weights' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION modelmgr.weights(text, integer) IS
    'Coefficients of a linear model version (default: the deployed one) in the original units of the features: one row per input column (feature, and category for one-hot columns) and class, plus (intercept) rows; models trained with group_by give the rows of every group, group_key holding its values.';

CREATE FUNCTION modelmgr.evaluate(name text, relation regclass, version integer DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'mm_evaluate' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.evaluate(text, regclass, integer) IS
    'The task''s metrics of a version (default: the deployed one) on a labelled relation (read with the caller''s rights), recorded in modelmgr.evaluations with kind evaluate.';
COMMENT ON COLUMN modelmgr.algorithms.task IS 'regression, binary (two classes), multiclass (two or more), or classification (either, by the number of classes in the target).';

-- Compression (issue 4): prune, quantize, compare
CREATE FUNCTION modelmgr.prune(name text, version integer, method text DEFAULT 'magnitude',
                               sparsity double precision DEFAULT 0.5, relation regclass DEFAULT NULL)
RETURNS TABLE (name text, version integer, parent_version integer, operation text,
               size_bytes integer, parent_size_bytes integer, metrics jsonb)
    AS 'MODULE_PATHNAME', 'mm_prune_version' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.prune(text, integer, text, double precision, regclass) IS
    'New version with weights pruned (magnitude per layer | global_magnitude | structured hidden units) to the given sparsity, stored sparsely; scored with its parent on the parent''s held-out rows (or on relation). Owner only; never deployed automatically.';
CREATE FUNCTION modelmgr.quantize(name text, version integer, dtype text DEFAULT 'int8',
                                  scheme text DEFAULT NULL, granularity text DEFAULT NULL,
                                  relation regclass DEFAULT NULL)
RETURNS TABLE (name text, version integer, parent_version integer, operation text,
               size_bytes integer, parent_size_bytes integer, metrics jsonb)
    AS 'MODULE_PATHNAME', 'mm_quantize_version' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.quantize(text, integer, text, text, text, regclass) IS
    'New version with weights quantized to int8 (scheme symmetric (default) | asymmetric, granularity channel (default) | tensor; served by int8 kernels) or float16 (no scheme or granularity); scored with its parent on the parent''s held-out rows (or on relation). Owner only; never deployed automatically.';
CREATE FUNCTION modelmgr.compare(name text, v1 integer, v2 integer, sample_rows integer DEFAULT 1000)
RETURNS TABLE (property text, v1_value text, v2_value text, change double precision)
    AS 'MODULE_PATHNAME', 'mm_compare' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION modelmgr.compare(text, integer, integer, integer) IS
    'Two versions side by side: algorithm, weight dtype, artifact size, parameter and non-zero counts, recorded test metrics, and prediction time per row over a sample of the source relation; change = v2 - v1. Needs USE.';

COMMENT ON COLUMN modelmgr.feature_drift.js IS 'Categorical features and classifier predictions: Jensen-Shannon divergence (bits, 0..1) of the category shares against training; NULL for numbers.';
COMMENT ON COLUMN modelmgr.feature_drift.unseen_fraction IS 'Categorical features: share of rows with a category the training rows did not have; NULL otherwise.';
COMMENT ON COLUMN modelmgr.model_overview.deployed_test_accuracy IS 'Classifiers: accuracy of the deployed version on its held-out rows; NULL for regression models.';
COMMENT ON COLUMN modelmgr.model_overview.deployed_test_f1 IS 'Classifiers: f1 (second class for binary, macro for multiclass) of the deployed version on its held-out rows; NULL for regression models.';
