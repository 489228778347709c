/*
 * registry.c
 *	  Reads and writes of the registry tables (models, model_versions,
 *	  deployments, model_grants), always as the extension owner.
 *
 * SQL entry points are SECURITY INVOKER: training reads data with the
 * caller's rights.  Only around registry statements do we switch to the
 * extension owner (SetUserIdAndSecContext, restricted operation), with fully
 * schema-qualified SQL and OPERATOR(pg_catalog.=), so that nothing a caller
 * plants in its search_path is ever called while we hold the owner's rights.
 * Callers must be connected to SPI.
 */
#include "postgres.h"

#include <inttypes.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "catalog/namespace.h"
#include "utils/rel.h"

#include "mm_pg.h"

static Oid	cached_owner = InvalidOid;
static LocalTransactionId cached_owner_lxid = InvalidLocalTransactionId;

/* The role that owns the modelmgr extension (cached per transaction). */
Oid
mm_extension_owner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			owner = InvalidOid;

	if (OidIsValid(cached_owner) && cached_owner_lxid == MyProc->lxid)
		return cached_owner;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("modelmgr"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"modelmgr\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION modelmgr.")));
	cached_owner = owner;
	cached_owner_lxid = MyProc->lxid;
	return owner;
}

void
mm_become_owner(Oid *save_userid, int *save_sec)
{
	Oid			owner = mm_extension_owner();

	GetUserIdAndSecContext(save_userid, save_sec);
	SetUserIdAndSecContext(owner, *save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

void
mm_restore_user(Oid save_userid, int save_sec)
{
	SetUserIdAndSecContext(save_userid, save_sec);
}

/*
 * Run one registry statement as the extension owner.  Returns the SPI
 * result code; results are in SPI_tuptable.
 */
int
mm_registry_exec(const char *sql, int nargs, Oid *types, Datum *values,
			  const char *nulls, bool read_only, long count)
{
	Oid			save_userid;
	int			save_sec;
	volatile int ret = 0;

	mm_become_owner(&save_userid, &save_sec);
	PG_TRY();
	{
		ret = SPI_execute_with_args(sql, nargs, types, values, nulls,
									read_only, count);
	}
	PG_FINALLY();
	{
		mm_restore_user(save_userid, save_sec);
	}
	PG_END_TRY();
	if (ret < 0)
		elog(ERROR, "modelmgr registry statement failed: %s",
			 SPI_result_code_string(ret));
	return ret;
}

void
mm_validate_model_name(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len > 200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must be 1 to 200 bytes long"),
				 errhint("Pick a short descriptive name such as 'house_price'.")));
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) name[i];

		if (c < 0x20 || c == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model name must not contain control characters")));
	}
}

/* Copy a string into the memory context that was current at SPI_connect. */
static char *
spi_strdup(const char *s)
{
	size_t		len;
	char	   *copy;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	copy = SPI_palloc(len + 1);
	memcpy(copy, s, len + 1);
	return copy;
}

/* Raise a clear error for a NULL argument that must not be NULL. */
void
mm_require_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
}

int32
mm_version_arg(FunctionCallInfo fcinfo, int argno)
{
	int32		version;

	if (PG_ARGISNULL(argno))
		return 0;
	version = PG_GETARG_INT32(argno);
	if (version <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must be a positive number, got %d", version)));
	return version;
}

int32
mm_version_or_deployed(const mm_model_row *row, int32 version, const char *hint)
{
	if (version != 0)
		return version;
	if (row->deployed_version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no deployed version", row->name),
				 errhint("%s", hint)));
	return row->deployed_version;
}

static char *
text_or_null(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Look up a model by name; returns false if there is none.  for_update
 * takes the row lock that serializes version numbering and deploys.
 * Strings are allocated in the caller's (pre-SPI) memory context.
 */
bool
mm_lookup_model(const char *name, bool for_update, mm_model_row *row)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	values[0] = CStringGetTextDatum(name);
	mm_registry_exec(for_update ?
				  "SELECT id, name, task, owner::pg_catalog.text, deployed_version, last_version "
				  "FROM modelmgr.models WHERE name OPERATOR(pg_catalog.=) $1 FOR UPDATE" :
				  "SELECT id, name, task, owner::pg_catalog.text, deployed_version, last_version "
				  "FROM modelmgr.models WHERE name OPERATOR(pg_catalog.=) $1",
				  1, types, values, NULL, !for_update, 1);
	if (SPI_processed == 0)
		return false;

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	row->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	row->name = spi_strdup(text_or_null(tup, desc, 2));
	row->task = spi_strdup(text_or_null(tup, desc, 3));
	row->owner = spi_strdup(text_or_null(tup, desc, 4));
	row->deployed_version = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
	if (isnull)
		row->deployed_version = 0;
	row->last_version = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
	return true;
}

void
mm_lookup_model_or_error(const char *name, bool for_update, mm_model_row *row)
{
	if (!mm_lookup_model(name, for_update, row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("Model names are case sensitive; check the spelling.")));
}

/* Owner, member of the owning role, or superuser. */
bool
mm_is_model_owner(const mm_model_row *row, Oid userid)
{
	Oid			owner;

	if (superuser_arg(userid))
		return true;
	owner = get_role_oid(row->owner, true);
	return OidIsValid(owner) && has_privs_of_role(userid, owner);
}

void
mm_require_owner(const mm_model_row *row, const char *action)
{
	if (!mm_is_model_owner(row, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s model \"%s\"", action, row->name),
				 errdetail("Only the model's owner (%s), members of that role and superusers may do that.",
						   row->owner)));
}

/* USE on a model: owner, or a grantee of grant_use (directly, via a role, or PUBLIC). */
void
mm_require_use(const mm_model_row *row)
{
	Oid			userid = GetUserId();
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	if (mm_is_model_owner(row, userid))
		return;
	values[0] = Int64GetDatum(row->id);
	mm_registry_exec("SELECT grantee::pg_catalog.text FROM modelmgr.model_grants "
				  "WHERE model_id OPERATOR(pg_catalog.=) $1",
				  1, types, values, NULL, true, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *grantee = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		Oid			roleid;

		if (strcmp(grantee, "public") == 0)
			return;
		roleid = get_role_oid(grantee, true);
		if (OidIsValid(roleid) && has_privs_of_role(userid, roleid))
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for model \"%s\"", row->name),
			 errhint("The model's owner can run SELECT modelmgr.grant_use('%s', '<role>').",
					 row->name)));
}

/* The artifact of one version, or NULL if that version does not exist. */
bytea *
mm_fetch_artifact(int64 model_id, int32 version, bool latest)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2];
	bool		isnull;
	Datum		d;
	bytea	   *result;

	values[0] = Int64GetDatum(model_id);
	values[1] = Int32GetDatum(version);
	mm_registry_exec("SELECT artifact FROM modelmgr.model_versions "
				  "WHERE model_id OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
				  2, types, values, NULL, !latest, 1);
	if (SPI_processed == 0)
		return NULL;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	d = PointerGetDatum(PG_DETOAST_DATUM(d));
	result = SPI_palloc(VARSIZE(DatumGetPointer(d)));
	memcpy(result, DatumGetPointer(d), VARSIZE(DatumGetPointer(d)));
	return result;
}

void
mm_record_deployment(int64 model_id, const char *action, int32 from_version,
					 int32 to_version, const char *reason)
{
	Oid			types[6] = {INT8OID, TEXTOID, INT4OID, INT4OID, TEXTOID, TEXTOID};
	Datum		values[6];
	char		nulls[6] = "      ";

	values[0] = Int64GetDatum(model_id);
	values[1] = CStringGetTextDatum(action);
	values[2] = Int32GetDatum(from_version);
	if (from_version <= 0)
		nulls[2] = 'n';
	values[3] = Int32GetDatum(to_version);
	values[4] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
	if (!reason)
		nulls[4] = 'n';
	values[5] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	mm_registry_exec("UPDATE modelmgr.models SET deployed_version = $4 "
				  "WHERE id OPERATOR(pg_catalog.=) $1",
				  6, types, values, nulls, false, 0);
	mm_registry_exec("INSERT INTO modelmgr.deployments "
				  "(model_id, action, from_version, to_version, reason, deployed_by) "
				  "VALUES ($1, $2, $3, $4, $5, $6::pg_catalog.name)",
				  6, types, values, nulls, false, 0);
}

/* Record that a decision kept the champion over a candidate. */
void
mm_record_keep(int64 model_id, int32 champion, int32 candidate, const char *reason)
{
	Oid			types[5] = {INT8OID, INT4OID, INT4OID, TEXTOID, TEXTOID};
	Datum		values[5];
	Oid			deployments = get_relname_relid("deployments", get_namespace_oid("modelmgr", false));

	/* a database still at 0.1.0 (before ALTER EXTENSION UPDATE) has no keep rows */
	if (get_attnum(deployments, "candidate_version") == InvalidAttrNumber)
		return;

	values[0] = Int64GetDatum(model_id);
	values[1] = Int32GetDatum(champion);
	values[2] = Int32GetDatum(candidate);
	values[3] = CStringGetTextDatum(reason);
	values[4] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	mm_registry_exec("INSERT INTO modelmgr.deployments "
					 "(model_id, action, from_version, to_version, candidate_version, reason, deployed_by) "
					 "VALUES ($1, 'keep', $2, $2, $3, $4, $5::pg_catalog.name)",
					 5, types, values, NULL, false, 0);
}

/*
 * Record a new version: create the model on first use, take the row lock,
 * number the version, insert it, and deploy it per the policy (the auto
 * decision is taken under the same lock).  The caller must be connected to
 * SPI.
 */
mm_saved_version
mm_save_version(const mm_new_version *nv, mm_deploy_policy policy,
				mm_auto_decider decide, void *arg)
{
	mm_model_row row;
	mm_saved_version result = {0, 0, false, NULL};
	Oid			types[21];
	Datum		values[21];
	char		nulls[22];
	char		checksum[17];
	char	   *user = GetUserNameFromId(GetUserId(), false);
	bool		deploy = false;
	bool		better = false;
	char	   *reason = NULL;
	char	   *comparison = NULL;

	/* create the model on first use (only then: each insert uses an id) */
	if (!mm_lookup_model(nv->model_name, false, &row))
	{
		Oid			t[3] = {TEXTOID, TEXTOID, TEXTOID};
		Datum		v[3];

		v[0] = CStringGetTextDatum(nv->model_name);
		v[1] = CStringGetTextDatum(nv->task);
		v[2] = CStringGetTextDatum(user);
		mm_registry_exec("INSERT INTO modelmgr.models (name, task, owner) "
					  "VALUES ($1, $2, $3::pg_catalog.name) ON CONFLICT (name) DO NOTHING",
					  3, t, v, NULL, false, 0);
	}
	mm_lookup_model_or_error(nv->model_name, true, &row);
	mm_require_owner(&row, "add versions to");
	result.model_id = row.id;
	if (strcmp(row.task, nv->task) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" is a %s model, not %s", row.name, row.task, nv->task),
				 errhint("Use another model name for a %s model.", nv->task)));

	{
		Oid			t[1] = {INT8OID};
		Datum		v[1];
		bool		isnull;

		v[0] = Int64GetDatum(row.id);
		mm_registry_exec("UPDATE modelmgr.models SET last_version = last_version OPERATOR(pg_catalog.+) 1 "
					  "WHERE id OPERATOR(pg_catalog.=) $1 RETURNING last_version",
					  1, t, v, NULL, false, 0);
		result.version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 1, &isnull));
	}

	snprintf(checksum, sizeof(checksum), "%016" PRIx64,
			 mm_artifact_checksum(VARDATA_ANY(nv->artifact), VARSIZE_ANY_EXHDR(nv->artifact)));
	memset(nulls, ' ', sizeof(nulls));
	nulls[21] = '\0';
#define SETARG(i, typ, val, isnull_) \
	do { types[i] = (typ); values[i] = (isnull_) ? (Datum) 0 : (val); nulls[i] = (isnull_) ? 'n' : ' '; } while (0)
	SETARG(0, INT8OID, Int64GetDatum(row.id), false);
	SETARG(1, INT4OID, Int32GetDatum(result.version), false);
	SETARG(2, INT4OID, Int32GetDatum(nv->parent_version), nv->parent_version <= 0);
	SETARG(3, TEXTOID, CStringGetTextDatum(nv->operation), false);
	SETARG(4, TEXTOID, CStringGetTextDatum(nv->algorithm), false);
	SETARG(5, JSONBOID, JsonbPGetDatum(nv->params), nv->params == NULL);
	SETARG(6, TEXTOID, nv->source_relation ? CStringGetTextDatum(nv->source_relation) : 0,
		   nv->source_relation == NULL);
	SETARG(7, TEXTOID, nv->target ? CStringGetTextDatum(nv->target) : 0, nv->target == NULL);
	SETARG(8, TEXTARRAYOID, nv->features, false);
	SETARG(9, INT8OID, Int64GetDatum(nv->seed), !nv->has_seed);
	SETARG(10, FLOAT8OID, Float8GetDatum(nv->test_fraction), nv->test_fraction < 0);
	SETARG(11, INT8OID, Int64GetDatum(nv->train_rows), nv->train_rows < 0);
	SETARG(12, INT8OID, Int64GetDatum(nv->test_rows), nv->test_rows < 0);
	SETARG(13, INT8OID, Int64GetDatum(nv->skipped_rows), nv->skipped_rows < 0);
	SETARG(14, JSONBOID, JsonbPGetDatum(nv->metrics), nv->metrics == NULL);
	SETARG(15, BYTEAOID, PointerGetDatum(nv->artifact), false);
	SETARG(16, INT4OID, Int32GetDatum((int32) VARSIZE_ANY_EXHDR(nv->artifact)), false);
	SETARG(17, TEXTOID, CStringGetTextDatum(checksum), false);
	SETARG(18, TEXTOID, CStringGetTextDatum(user), false);
	SETARG(19, JSONBOID, JsonbPGetDatum(nv->phase_seconds), nv->phase_seconds == NULL);
	SETARG(20, JSONBOID, JsonbPGetDatum(nv->baselines), nv->baselines == NULL);
#undef SETARG
	mm_registry_exec("INSERT INTO modelmgr.model_versions (model_id, version, parent_version, "
				  "operation, algorithm, params, source_relation, target, features, seed, "
				  "test_fraction, train_rows, test_rows, skipped_rows, metrics, artifact, "
				  "size_bytes, checksum, created_by, phase_seconds, baselines) VALUES ($1, $2, $3, $4, $5, "
				  "COALESCE($6, '{}'::pg_catalog.jsonb), $7, $8, $9, $10, $11, $12, $13, $14, "
				  "COALESCE($15, '{}'::pg_catalog.jsonb), $16, $17, $18, "
				  "$19::pg_catalog.name, $20, $21)",
				  21, types, values, nulls, false, 0);

	/* score against the champion whatever the policy, so it is on record */
	if (row.deployed_version > 0 && decide)
		better = decide(arg, row.id, row.deployed_version, &comparison);
	switch (policy)
	{
		case MM_DEPLOY_ALWAYS:
			deploy = true;
			reason = comparison ? psprintf("deploy => always; %s", comparison) :
				pstrdup("deploy => always");
			break;
		case MM_DEPLOY_NEVER:
			deploy = false;
			reason = comparison ? psprintf("deploy => never; %s", comparison) :
				pstrdup("deploy => never");
			break;
		case MM_DEPLOY_AUTO:
			if (row.deployed_version == 0)
			{
				deploy = true;
				reason = pstrdup("auto: no version was deployed");
			}
			else
			{
				deploy = better;
				reason = comparison ? psprintf("auto: %s", comparison) :
					psprintf("auto: a version made by %s is deployed only when no version is", nv->operation);
			}
			break;
	}
	if (deploy)
		mm_record_deployment(row.id, "deploy", row.deployed_version, result.version, reason);
	else if (row.deployed_version > 0)
	{
		mm_record_keep(row.id, row.deployed_version, result.version, reason);
		if (policy == MM_DEPLOY_AUTO)
			ereport(NOTICE,
					(errmsg("version %d of model \"%s\" was not deployed; version %d stays deployed",
							result.version, row.name, row.deployed_version),
					 errdetail("%s", reason),
					 errhint("Deploy it anyway with modelmgr.deploy('%s', %d).", row.name, result.version)));
	}
	result.reason = reason;
	result.deployed = deploy;
	return result;
}
