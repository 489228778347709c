/*
 * guard.c
 *	  The event trigger that refuses DROP EXTENSION modelmgr (and DROP SCHEMA
 *	  modelmgr, and DROP OWNED BY the extension's owner, which would take the
 *	  extension with them) while models exist, unless modelmgr.allow_drop is
 *	  on.  Dropping the extension deletes every
 *	  model and version, which no one should do by accident.
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "nodes/value.h"
#include "utils/acl.h"

#include "mm_pg.h"

PG_FUNCTION_INFO_V1(mm_guard_drop);

/* Does this DROP statement name the modelmgr extension or its schema? */
static bool
drops_modelmgr(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_EXTENSION && stmt->removeType != OBJECT_SCHEMA)
		return false;
	foreach(lc, stmt->objects)
	{
		Node	   *obj = lfirst(lc);

		if (IsA(obj, String) && strcmp(strVal(obj), "modelmgr") == 0)
			return true;
	}
	return false;
}

/* Does this DROP OWNED statement name the role that owns the extension? */
static bool
drops_owner(DropOwnedStmt *stmt)
{
	Oid			owner = mm_extension_owner();
	ListCell   *lc;

	foreach(lc, stmt->roles)
	{
		RoleSpec   *rs = lfirst(lc);

		if (get_rolespec_oid(rs, true) == owner)
			return true;
	}
	return false;
}

Datum
mm_guard_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	int64		models = 0;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("modelmgr.guard_drop() must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (mm_allow_drop)
		PG_RETURN_NULL();
	if (IsA(trigdata->parsetree, DropStmt))
	{
		if (!drops_modelmgr((DropStmt *) trigdata->parsetree))
			PG_RETURN_NULL();
	}
	else if (IsA(trigdata->parsetree, DropOwnedStmt))
	{
		if (!drops_owner((DropOwnedStmt *) trigdata->parsetree))
			PG_RETURN_NULL();
	}
	else
		PG_RETURN_NULL();

	SPI_connect();
	mm_registry_exec("SELECT pg_catalog.count(*) FROM modelmgr.models", 0, NULL, NULL,
					 NULL, true, 1);
	if (SPI_processed == 1)
	{
		bool		isnull;

		models = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();

	if (models > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop extension modelmgr: " INT64_FORMAT " models would be deleted", models),
				 errdetail("Dropping the extension deletes every model, version and deployment record."),
				 errhint("Keep them with pg_dump first; then SET modelmgr.allow_drop = on and drop again.")));
	PG_RETURN_NULL();
}
