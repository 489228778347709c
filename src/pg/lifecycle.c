/*
 * lifecycle.c
 *	  deploy, rollback, drop_version, drop_model, grant_use, revoke_use and
 *	  save: each one transactional, owner-only, and recorded where it changes
 *	  what is deployed.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"
#include "funcapi.h"

#include "mm_pg.h"

PG_FUNCTION_INFO_V1(mm_deploy);
PG_FUNCTION_INFO_V1(mm_rollback);
PG_FUNCTION_INFO_V1(mm_drop_version);
PG_FUNCTION_INFO_V1(mm_drop_model);
PG_FUNCTION_INFO_V1(mm_grant_use);
PG_FUNCTION_INFO_V1(mm_revoke_use);
PG_FUNCTION_INFO_V1(mm_save);
PG_FUNCTION_INFO_V1(mm_gc);


static char *
name_arg(FunctionCallInfo fcinfo, int argno)
{
	mm_require_arg(fcinfo, argno, "model name");
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static void
owner_exec(const char *sql, int nargs, Oid *types, Datum *values)
{
	mm_registry_exec(sql, nargs, types, values, NULL, false, 0);
}

static bool
version_exists(int64 model_id, int32 version)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2];

	values[0] = Int64GetDatum(model_id);
	values[1] = Int32GetDatum(version);
	owner_exec("SELECT 1 FROM modelmgr.model_versions WHERE model_id OPERATOR(pg_catalog.=) $1 "
			   "AND version OPERATOR(pg_catalog.=) $2", 2, types, values);
	return SPI_processed > 0;
}

static void
require_version(const mm_model_row *row, int32 version)
{
	if (!version_exists(row->id, version))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", version, row->name),
				 errhint("The model's versions run from 1 to %d; dropped versions are gone for good.",
						 row->last_version)));
}

Datum
mm_deploy(PG_FUNCTION_ARGS)
{
	char	   *name = name_arg(fcinfo, 0);
	int32		version;
	char	   *reason = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	mm_model_row row;

	mm_require_arg(fcinfo, 1, "version");
	version = PG_GETARG_INT32(1);
	SPI_connect();
	mm_lookup_model_or_error(name, true, &row);
	mm_require_owner(&row, "deploy");
	require_version(&row, version);
	if (row.deployed_version != version)
		mm_record_deployment(row.id, "deploy", row.deployed_version, version,
							 reason ? reason : "manual deploy");
	SPI_finish();
	PG_RETURN_INT32(version);
}

/*
 * rollback: replay the deployment history as a stack (deploy pushes,
 * rollback pops) and deploy the entry below the top that still exists, so
 * repeated rollbacks walk further back.
 */
Datum
mm_rollback(PG_FUNCTION_ARGS)
{
	char	   *name = name_arg(fcinfo, 0);
	char	   *reason = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	mm_model_row row;
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	int32	   *stack;
	int			depth = 0;
	int32		target = 0;

	SPI_connect();
	mm_lookup_model_or_error(name, true, &row);
	mm_require_owner(&row, "roll back");
	values[0] = Int64GetDatum(row.id);
	owner_exec("SELECT action, to_version FROM modelmgr.deployments "
			   "WHERE model_id OPERATOR(pg_catalog.=) $1 ORDER BY id", 1, types, values);
	stack = palloc(sizeof(int32) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *action = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		bool		isnull;
		int32		to = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 2, &isnull));

		if (strcmp(action, "keep") == 0)
			continue;			/* a decision that changed nothing */
		if (strcmp(action, "rollback") == 0)
		{
			if (depth > 0)
				depth--;
			/* a rollback lands on the entry now on top */
			if (depth == 0 || stack[depth - 1] != to)
				stack[depth++] = to;
		}
		else
			stack[depth++] = to;
	}
	/* below the current deployment, find the newest version that still exists */
	for (int i = depth - 2; i >= 0; i--)
	{
		if (stack[i] != row.deployed_version && version_exists(row.id, stack[i]))
		{
			target = stack[i];
			break;
		}
	}
	if (target == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no earlier deployment to roll back to", name),
				 errhint("Deploy a version explicitly with modelmgr.deploy('%s', <version>).", name)));
	mm_record_deployment(row.id, "rollback", row.deployed_version, target,
						 reason ? reason : "manual rollback");
	SPI_finish();
	PG_RETURN_INT32(target);
}

Datum
mm_drop_version(PG_FUNCTION_ARGS)
{
	char	   *name = name_arg(fcinfo, 0);
	int32		version;
	mm_model_row row;
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2];

	mm_require_arg(fcinfo, 1, "version");
	version = PG_GETARG_INT32(1);
	SPI_connect();
	mm_lookup_model_or_error(name, true, &row);
	mm_require_owner(&row, "drop versions of");
	require_version(&row, version);
	if (row.deployed_version == version)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" is deployed", version, name),
				 errhint("Deploy another version (or roll back) first, or drop the whole model with modelmgr.drop_model('%s').", name)));
	values[0] = Int64GetDatum(row.id);
	values[1] = Int32GetDatum(version);
	owner_exec("DELETE FROM modelmgr.model_versions WHERE model_id OPERATOR(pg_catalog.=) $1 "
			   "AND version OPERATOR(pg_catalog.=) $2", 2, types, values);
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
mm_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name = name_arg(fcinfo, 0);
	mm_model_row row;
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	SPI_connect();
	mm_lookup_model_or_error(name, true, &row);
	mm_require_owner(&row, "drop");
	values[0] = Int64GetDatum(row.id);
	owner_exec("DELETE FROM modelmgr.models WHERE id OPERATOR(pg_catalog.=) $1", 1, types, values);
	SPI_finish();
	PG_RETURN_VOID();
}

/* The grantee name as stored: 'public' or an existing role's name. */
static char *
grantee_arg(FunctionCallInfo fcinfo, bool must_exist)
{
	char	   *role;

	mm_require_arg(fcinfo, 1, "role");
	role = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strlen(role) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" does not exist", role),
				 errdetail("Role names are at most %d bytes long.", NAMEDATALEN - 1)));
	/* PUBLIC in any spelling, unless a role of exactly that name exists */
	if (pg_strcasecmp(role, "public") == 0 && !OidIsValid(get_role_oid(role, true)))
		return "public";
	if (must_exist && !OidIsValid(get_role_oid(role, true)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" does not exist", role),
				 errhint("Role names are case sensitive here: pass the name as stored, e.g. 'analyst'.")));
	return role;
}

Datum
mm_grant_use(PG_FUNCTION_ARGS)
{
	char	   *name = name_arg(fcinfo, 0);
	char	   *role = grantee_arg(fcinfo, true);
	mm_model_row row;
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];

	SPI_connect();
	mm_lookup_model_or_error(name, true, &row);
	mm_require_owner(&row, "grant use of");
	values[0] = Int64GetDatum(row.id);
	values[1] = CStringGetTextDatum(role);
	values[2] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	owner_exec("INSERT INTO modelmgr.model_grants (model_id, grantee, granted_by) "
			   "VALUES ($1, $2::pg_catalog.name, $3::pg_catalog.name) ON CONFLICT DO NOTHING",
			   3, types, values);
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
mm_revoke_use(PG_FUNCTION_ARGS)
{
	/* a grant to a role dropped since can still be revoked by its name */
	char	   *name = name_arg(fcinfo, 0);
	char	   *role = grantee_arg(fcinfo, false);
	mm_model_row row;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];

	SPI_connect();
	mm_lookup_model_or_error(name, true, &row);
	mm_require_owner(&row, "revoke use of");
	values[0] = Int64GetDatum(row.id);
	values[1] = CStringGetTextDatum(role);
	owner_exec("DELETE FROM modelmgr.model_grants WHERE model_id OPERATOR(pg_catalog.=) $1 "
			   "AND grantee OPERATOR(pg_catalog.=) $2::pg_catalog.name RETURNING 1", 2, types, values);
	if (SPI_processed == 0 && strcmp(role, "public") != 0 &&
		!OidIsValid(get_role_oid(role, true)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" does not exist", role),
				 errhint("Role names are case sensitive here: pass the name as stored, e.g. 'analyst'.")));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * save(name, model, features): register a model value as a new version
 * (operation 'save'), renaming its features when given.  Deployed when the
 * model has no deployed version yet.
 */
Datum
mm_save(PG_FUNCTION_ARGS)
{
	char	   *name = name_arg(fcinfo, 0);
	bytea	   *m;
	mm_model   *model;
	mm_new_version nv;
	mm_saved_version saved;
	Datum	   *fnames = NULL;
	int			nfnames = 0;
	StringInfoData metrics;
	ArrayBuildState *astate = NULL;

	mm_validate_model_name(name);
	mm_require_arg(fcinfo, 1, "model");
	m = PG_GETARG_BYTEA_PP(1);
	model = mm_parse_artifact(VARDATA_ANY(m), VARSIZE_ANY_EXHDR(m));

	if (!PG_ARGISNULL(2))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(2);
		bool	   *nulls;

		if (ARR_NDIM(arr) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("features must be a one-dimensional text array")));
		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &fnames, &nulls, &nfnames);
		if ((uint32) nfnames != model->n_features)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("features names %d columns, but the model has %u features",
							nfnames, model->n_features)));
		for (int i = 0; i < nfnames; i++)
		{
			char	   *fname;

			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("feature names must not be NULL")));
			fname = TextDatumGetCString(fnames[i]);
			if (fname[0] == '\0' || strlen(fname) >= NAMEDATALEN)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("feature name \"%s\" must be 1 to %d bytes long", fname, NAMEDATALEN - 1)));
			for (int j = 0; j < i; j++)
				if (strcmp(fname, model->features[j].name) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("feature name \"%s\" appears twice", fname)));
			model->features[i].name = fname;
		}
	}
	for (uint32 i = 0; i < model->n_features; i++)
		astate = accumArrayResult(astate, CStringGetTextDatum(model->features[i].name),
								  false, TEXTOID, CurrentMemoryContext);

	/* training statistics the aggregate recorded, if any */
	initStringInfo(&metrics);
	appendStringInfoString(&metrics, "{\"train\": {");
	{
		bool		first = true;

		for (uint32 i = 0; i < model->n_attrs; i++)
		{
			const char *an = model->attrs[i].name;

			if (strncmp(an, "train_", 6) != 0)
				continue;
			appendStringInfo(&metrics, "%s\"%s\": ", first ? "" : ", ", an + 6);
			mm_json_number(&metrics, model->attrs[i].value);
			first = false;
		}
	}
	appendStringInfoString(&metrics, "}}");

	memset(&nv, 0, sizeof(nv));
	nv.model_name = name;
	nv.task = mm_task_name(model->task);
	nv.operation = "save";
	nv.algorithm = mm_algorithm_name(model->algorithm);
	nv.params = NULL;
	nv.target = model->target;
	nv.features = makeArrayResult(astate, CurrentMemoryContext);
	nv.test_fraction = -1;
	nv.train_rows = (int64) mm_model_attr(model, "train_rows", -1);
	nv.test_rows = -1;
	nv.skipped_rows = -1;
	nv.metrics = mm_jsonb_from_cstring(metrics.data);
	nv.artifact = mm_serialize_model(model);

	SPI_connect();
	saved = mm_save_version(&nv, MM_DEPLOY_AUTO, NULL, NULL);
	SPI_finish();
	mm_model_free(model);
	PG_RETURN_INT32(saved.version);
}

/*
 * gc(name, keep): drop every version except the newest `keep`, the
 * deployed one, and all ancestors (parent_version, transitively) of those,
 * so lineage stays whole.  Returns the dropped version numbers.
 */
Datum
mm_gc(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = name_arg(fcinfo, 0);
	int32		keep;
	mm_model_row row;
	Oid			types[2] = {INT8OID, INT4ARRAYOID};
	Datum		values[2];
	int			n;
	int32	   *versions;
	int32	   *parents;
	bool	   *kept;
	int			ndropped = 0;
	Datum	   *dropped;
	MemoryContext fncxt = CurrentMemoryContext;

	mm_require_arg(fcinfo, 1, "keep");
	keep = PG_GETARG_INT32(1);
	if (keep < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("keep must be 0 or more, got %d", keep)));
	SPI_connect();
	mm_lookup_model_or_error(name, true, &row);
	mm_require_owner(&row, "drop versions of");
	values[0] = Int64GetDatum(row.id);
	owner_exec("SELECT version, parent_version FROM modelmgr.model_versions "
			   "WHERE model_id OPERATOR(pg_catalog.=) $1 ORDER BY version DESC", 1, types, values);
	n = (int) SPI_processed;
	versions = palloc(sizeof(int32) * (n + 1));
	parents = palloc(sizeof(int32) * (n + 1));
	kept = palloc0(sizeof(bool) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		versions[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		parents[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		if (isnull)
			parents[i] = 0;
		kept[i] = i < keep || versions[i] == row.deployed_version;
	}
	/* ancestors of kept versions, to a fixed point (parents are older) */
	for (int i = 0; i < n; i++)
	{
		if (!kept[i] || parents[i] == 0)
			continue;
		for (int j = i + 1; j < n; j++)
			if (versions[j] == parents[i])
				kept[j] = true;
	}
	dropped = MemoryContextAlloc(fncxt, sizeof(Datum) * (n + 1));
	for (int i = 0; i < n; i++)
		if (!kept[i])
			dropped[ndropped++] = Int32GetDatum(versions[i]);
	if (ndropped > 0)
	{
		values[1] = PointerGetDatum(construct_array(dropped, ndropped, INT4OID, 4, true, TYPALIGN_INT));
		owner_exec("DELETE FROM modelmgr.model_versions WHERE model_id OPERATOR(pg_catalog.=) $1 "
				   "AND version OPERATOR(pg_catalog.=) ANY ($2)", 2, types, values);
	}
	SPI_finish();

	MemoryContextSwitchTo(fncxt);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC | MAT_SRF_BLESS);
	for (int i = ndropped - 1; i >= 0; i--)
	{
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &dropped[i], &isnull);
	}
	return (Datum) 0;
}
