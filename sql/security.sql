-- security: caller's rights for data, owner-only model management, USE
-- grants, registry tables closed to users, search_path hijacking
\set VERBOSITY default

CREATE ROLE regress_owner;
CREATE ROLE regress_user;
CREATE ROLE regress_other;
CREATE ROLE regress_group;

CREATE TABLE sec_data AS
SELECT i,
       sin(i)::float8 AS x1,
       cos(i * 0.7)::float8 AS x2,
       (1 + 2 * sin(i) - cos(i * 0.7) + 0.05 * sin(i * 17.1))::float8 AS y
FROM generate_series(1, 200) AS i;
GRANT SELECT ON sec_data TO regress_owner, regress_user;

-- ---------------------------------------------------------------------------
-- Every SQL entry point is SECURITY INVOKER, and nothing is granted on the
-- registry tables: only the catalog view is open to everyone
-- ---------------------------------------------------------------------------
SELECT proname FROM pg_proc WHERE pronamespace = 'modelmgr'::regnamespace AND prosecdef;
SELECT c.relname, c.relkind,
       EXISTS (SELECT 1 FROM aclexplode(c.relacl) a
               WHERE a.grantee <> c.relowner) AS granted_to_others
FROM pg_class c
WHERE c.relnamespace = 'modelmgr'::regnamespace AND c.relkind IN ('r', 'S', 'v')
ORDER BY 1;
-- the functions are for everyone: roles can use the schema (the functions
-- check model access themselves)
SELECT r AS role, has_schema_privilege(r, 'modelmgr', 'USAGE') AS schema_usage
FROM unnest(ARRAY['regress_owner', 'regress_user', 'regress_other']) r ORDER BY 1;
-- (the rest of this file tests model-level access, whatever the schema ACL)
GRANT USAGE ON SCHEMA modelmgr TO regress_owner, regress_user, regress_other;

SET ROLE regress_user;
SELECT count(*) FROM modelmgr.models;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM modelmgr.model_versions;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM modelmgr.deployments;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM modelmgr.model_grants;
\echo :LAST_ERROR_SQLSTATE
UPDATE modelmgr.models SET owner = 'regress_user';
\echo :LAST_ERROR_SQLSTATE
SELECT nextval('modelmgr.models_id_seq');
\echo :LAST_ERROR_SQLSTATE
SELECT algorithm FROM modelmgr.algorithms ORDER BY 1;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- The owner trains through the functions (no table access needed)
-- ---------------------------------------------------------------------------
SET ROLE regress_owner;
SELECT version, deployed, train_rows + test_rows AS rows
FROM modelmgr.train('sec_model', 'linear_regression', 'sec_data', 'y', ARRAY['x1', 'x2']);
SELECT version, deployed
FROM modelmgr.train('sec_model', 'linear_regression', 'sec_data', 'y', ARRAY['x1', 'x2'],
                    params => '{"l2": 5}', deploy => 'never');
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]) IS NOT NULL AS owner_predicts,
       modelmgr.describe(modelmgr.load('sec_model', 2)) ? 'coefficients' AS owner_loads;
RESET ROLE;
SELECT m.owner, v.version, v.created_by FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id
WHERE m.name = 'sec_model' ORDER BY 2;

-- ---------------------------------------------------------------------------
-- Data is read with the caller's rights
-- ---------------------------------------------------------------------------
SET ROLE regress_other;
SELECT version FROM modelmgr.train('sec_other', 'linear_regression', 'sec_data', 'y', ARRAY['x1', 'x2']);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS sec_other_models FROM modelmgr.models WHERE name = 'sec_other';
-- column privileges are honoured
GRANT SELECT (x1, y) ON sec_data TO regress_other;
SET ROLE regress_other;
SELECT version FROM modelmgr.train('sec_other', 'linear_regression', 'sec_data', 'y', ARRAY['x1', 'x2']);
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('sec_other', 'linear_regression', 'sec_data', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT version, train_rows + test_rows AS rows
FROM modelmgr.train('sec_other', 'linear_regression', 'sec_data', 'y', ARRAY['x1']);
RESET ROLE;
GRANT SELECT ON sec_data TO regress_other;
SET ROLE regress_other;
SELECT version, train_rows + test_rows AS rows
FROM modelmgr.train('sec_other', 'linear_regression', 'sec_data', 'y', ARRAY['x1', 'x2']);
RESET ROLE;
SELECT owner FROM modelmgr.models WHERE name = 'sec_other';
-- row-level security is honoured: regress_other sees half the rows
CREATE TABLE sec_rls AS SELECT * FROM sec_data;
ALTER TABLE sec_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY sec_even ON sec_rls FOR SELECT TO regress_other USING (i % 2 = 0);
GRANT SELECT ON sec_rls TO regress_other;
SET ROLE regress_other;
SELECT train_rows + test_rows AS rows_seen_by_other
FROM modelmgr.train('sec_rls_other', 'linear_regression', 'sec_rls', 'y', ARRAY['x1', 'x2']);
RESET ROLE;
SELECT train_rows + test_rows AS rows_seen_by_superuser
FROM modelmgr.train('sec_rls_super', 'linear_regression', 'sec_rls', 'y', ARRAY['x1', 'x2']);

-- ---------------------------------------------------------------------------
-- predict and load need USE on the model
-- ---------------------------------------------------------------------------
SET ROLE regress_user;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.predict('sec_model', d) FROM sec_data d WHERE i = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('sec_model');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('sec_model', 2);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

SET ROLE regress_owner;
SELECT modelmgr.grant_use('sec_model', 'regress_user');
-- granting twice is harmless
SELECT modelmgr.grant_use('sec_model', 'regress_user');
RESET ROLE;
SELECT g.grantee, g.granted_by FROM modelmgr.model_grants g JOIN modelmgr.models m ON m.id = g.model_id
WHERE m.name = 'sec_model' ORDER BY 1;
SET ROLE regress_user;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]) = modelmgr.predict(modelmgr.load('sec_model', 1), ARRAY[0.5, 0.5])
       AS user_predicts;
SELECT count(*) AS rows, bool_and(modelmgr.predict('sec_model', d) IS NOT NULL) AS all_predicted
FROM sec_data d;
SELECT modelmgr.describe(modelmgr.load('sec_model', 2))->'attributes'->>'l2' AS l2_of_v2;
-- USE does not let a role manage the model
SELECT modelmgr.deploy('sec_model', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.rollback('sec_model');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_version('sec_model', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_model('sec_model');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.grant_use('sec_model', 'regress_other');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.revoke_use('sec_model', 'regress_user');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM modelmgr.train('sec_model', 'linear_regression', 'sec_data', 'y', ARRAY['x1', 'x2']);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.save('sec_model', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['x1', 'x2']) FROM sec_data;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT m.deployed_version, m.last_version, m.owner,
       (SELECT count(*) FROM modelmgr.model_versions v WHERE v.model_id = m.id) AS versions,
       (SELECT count(*) FROM modelmgr.model_grants g WHERE g.model_id = m.id) AS grants
FROM modelmgr.models m WHERE m.name = 'sec_model';

-- revoke_use takes USE back
SET ROLE regress_owner;
SELECT modelmgr.revoke_use('sec_model', 'regress_user');
RESET ROLE;
SET ROLE regress_user;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- USE for PUBLIC: everyone (the name is case-insensitive, like in GRANT)
SET ROLE regress_owner;
SELECT modelmgr.grant_use('sec_model', 'PUBLIC');
RESET ROLE;
SET ROLE regress_user;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]) IS NOT NULL AS user_via_public;
RESET ROLE;
SET ROLE regress_other;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]) IS NOT NULL AS other_via_public;
RESET ROLE;
SET ROLE regress_owner;
SELECT modelmgr.revoke_use('sec_model', 'public');
RESET ROLE;
SET ROLE regress_other;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- USE through membership in a grantee role
SET ROLE regress_owner;
SELECT modelmgr.grant_use('sec_model', 'regress_group');
RESET ROLE;
GRANT regress_group TO regress_other;
SET ROLE regress_other;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]) IS NOT NULL AS other_via_group;
RESET ROLE;
REVOKE regress_group FROM regress_other;
SET ROLE regress_other;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- a grantee that does not exist
SET ROLE regress_owner;
SELECT modelmgr.grant_use('sec_model', 'regress_no_such_role');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.revoke_use('sec_model', 'regress_no_such_role');
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.grant_use('sec_model', 'REGRESS_USER');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Members of the owning role (and superusers) manage the model
-- ---------------------------------------------------------------------------
GRANT regress_owner TO regress_user;
SET ROLE regress_user;
SELECT modelmgr.deploy('sec_model', 2);
SELECT version, deployed
FROM modelmgr.train('sec_model', 'linear_regression', 'sec_data', 'y', ARRAY['x1', 'x2'], deploy => 'never');
SELECT modelmgr.rollback('sec_model');
RESET ROLE;
REVOKE regress_owner FROM regress_user;
SET ROLE regress_user;
SELECT modelmgr.deploy('sec_model', 3);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT m.owner, m.deployed_version, v.version, v.created_by
FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id
WHERE m.name = 'sec_model' ORDER BY v.version;
SELECT d.action, d.from_version, d.to_version, d.deployed_by
FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id
WHERE m.name = 'sec_model' ORDER BY d.id;
-- a superuser may manage any model
SELECT modelmgr.deploy('sec_model', 3);
SELECT modelmgr.drop_version('sec_model', 2);

-- ---------------------------------------------------------------------------
-- USE is checked for the role asking, even when the same session has just
-- used the model as another role (pooled connections that SET ROLE per
-- request; SECURITY DEFINER functions)
-- ---------------------------------------------------------------------------
SET ROLE regress_owner;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]) IS NOT NULL AS owner_predicts;
SET ROLE regress_user;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]);
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.load('sec_model') IS NOT NULL AS loaded;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL ROLE regress_owner;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]) IS NOT NULL AS owner_predicts;
SET LOCAL ROLE regress_user;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
CREATE FUNCTION sec_owner_predict(x float8) RETURNS float8
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT modelmgr.predict('sec_model', ARRAY[x, x]) $$;
ALTER FUNCTION sec_owner_predict(float8) OWNER TO regress_owner;
GRANT EXECUTE ON FUNCTION sec_owner_predict(float8) TO regress_user;
SET ROLE regress_user;
-- the owner's function may predict for the user ...
SELECT sec_owner_predict(0.5) IS NOT NULL AS through_definer;
-- ... but that gives the user no USE of its own, in the same statement either
SELECT sec_owner_predict(0.5) IS NOT NULL AS through_definer, modelmgr.predict('sec_model', ARRAY[0.5, 0.5]);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- ---------------------------------------------------------------------------
-- search_path hijacking: objects planted in a schema searched before
-- pg_catalog must never be called by our internal SQL (which runs partly
-- as the extension owner)
-- ---------------------------------------------------------------------------
CREATE SCHEMA sec_evil;
GRANT USAGE ON SCHEMA sec_evil TO PUBLIC;
CREATE FUNCTION sec_evil.texteq(text, text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RAISE NOTICE 'hijacked: text = text as %', current_user; RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_evil.texteq);
CREATE FUNCTION sec_evil.nameeq(name, name) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RAISE NOTICE 'hijacked: name = name as %', current_user; RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = sec_evil.nameeq);
CREATE FUNCTION sec_evil.int8eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RAISE NOTICE 'hijacked: bigint = bigint as %', current_user; RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sec_evil.int8eq);
CREATE FUNCTION sec_evil.int4eq(integer, integer) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RAISE NOTICE 'hijacked: integer = integer as %', current_user; RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = sec_evil.int4eq);
CREATE FUNCTION sec_evil.int4pl(integer, integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RAISE NOTICE 'hijacked: integer + integer as %', current_user; RETURN $1 OPERATOR(pg_catalog.+) $2; END $$;
CREATE OPERATOR sec_evil.+ (LEFTARG = integer, RIGHTARG = integer, FUNCTION = sec_evil.int4pl);
CREATE FUNCTION sec_evil.now() RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
BEGIN RAISE NOTICE 'hijacked: now() as %', current_user; RETURN pg_catalog.now(); END $$;
CREATE FUNCTION sec_evil.count_step(bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF $1 OPERATOR(pg_catalog.=) 0 THEN RAISE NOTICE 'hijacked: count(*) as %', current_user; END IF;
    RETURN $1 OPERATOR(pg_catalog.+) 1;
END $$;
CREATE AGGREGATE sec_evil.count(*) (SFUNC = sec_evil.count_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION sec_evil.text(name) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RAISE NOTICE 'hijacked: text(name) as %', current_user; RETURN $1::pg_catalog.text; END $$;
CREATE FUNCTION sec_evil.float8(integer) RETURNS double precision LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RAISE NOTICE 'hijacked: float8(integer) as %', current_user; RETURN $1::pg_catalog.float8; END $$;

-- the trap is live: unqualified SQL under this search_path walks into it
SET search_path = sec_evil, pg_catalog, public;
SELECT 'a'::text = 'a'::text AS text_eq, 1::bigint = 1::bigint AS int8_eq, 2 + 2 AS int4_pl,
       now() IS NOT NULL AS now_called;
SELECT count(*) FROM sec_data;

-- the owner, under the trap: every entry point, no NOTICE may appear
SET ROLE regress_owner;
SET search_path = sec_evil, pg_catalog, public;
SELECT version, deployed FROM modelmgr.train('sec_hijack', 'linear_regression', 'sec_data', 'y', ARRAY['x1', 'x2']);
SELECT version, deployed FROM modelmgr.train('sec_hijack', 'linear_regression', 'sec_data', 'y', ARRAY['x1', 'x2'],
                                             params => '{"l2": 1}');
SELECT version, deployed FROM modelmgr.train('sec_hijack', 'linear_regression', 'sec_data', 'y', ARRAY['x1', 'x2'],
                                             params => '{"l2": 2}', deploy => 'always');
SELECT modelmgr.predict('sec_hijack', ARRAY[0.5, 0.5]) IS NOT NULL AS predicted;
SELECT modelmgr.predict('sec_hijack', d) IS NOT NULL AS predicted_row FROM sec_data d WHERE i < 2;
SELECT modelmgr.predict(modelmgr.load('sec_hijack', 1), ARRAY[0.5, 0.5]) IS NOT NULL AS predicted_loaded;
SELECT modelmgr.deploy('sec_hijack', 2);
SELECT modelmgr.rollback('sec_hijack');
SELECT modelmgr.grant_use('sec_hijack', 'regress_user');
SELECT modelmgr.grant_use('sec_hijack', 'public');
SELECT modelmgr.revoke_use('sec_hijack', 'public');
SELECT modelmgr.drop_version('sec_hijack', 1);
SELECT modelmgr.save('sec_hijack', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['x1', 'x2']) FROM sec_data;
SELECT modelmgr.load('sec_hijack', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a user with USE, under the trap
SET ROLE regress_user;
SET search_path = sec_evil, pg_catalog, public;
SELECT modelmgr.predict('sec_hijack', ARRAY[0.5, 0.5]) IS NOT NULL AS predicted;
SELECT modelmgr.predict('sec_model', ARRAY[0.5, 0.5]);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a superuser, under the trap: the DROP EXTENSION guard counts models too
SET search_path = sec_evil, pg_catalog, public;
\set VERBOSITY sqlstate
DROP EXTENSION modelmgr;
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SELECT modelmgr.drop_model('sec_hijack');
RESET search_path;
SHOW search_path;
SELECT count(*) AS sec_hijack_models FROM modelmgr.models WHERE name = 'sec_hijack';

-- ---------------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------------
SELECT modelmgr.drop_model(name) FROM modelmgr.models WHERE name LIKE 'sec\_%' ORDER BY name;
SELECT count(*) AS left_over FROM modelmgr.models WHERE name LIKE 'sec\_%';
SET client_min_messages = warning;
DROP SCHEMA sec_evil CASCADE;
RESET client_min_messages;
DROP FUNCTION sec_owner_predict(float8);
DROP TABLE sec_data, sec_rls;
REVOKE USAGE ON SCHEMA modelmgr FROM regress_owner, regress_user, regress_other;
DROP ROLE regress_owner, regress_user, regress_other, regress_group;
