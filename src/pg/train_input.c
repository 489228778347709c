/*
 * train_input.c
 *	  What train() reads: the relation, the target and the feature columns.
 *
 * features => NULL means every other numeric column except primary-key,
 * identity and serial columns (and group_by columns).  The query that reads
 * the rows is built here with quoted identifiers and runs with the caller's
 * rights (SECURITY INVOKER), so a role without SELECT cannot train.  For a
 * plain table, mm_scan_columns reads the same rows straight from the heap
 * when that provably gives what the query would (same snapshot, same
 * privilege and row-security checks, same casts), and runs the query
 * otherwise.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "catalog/dependency.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "parser/parse_coerce.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "mm_model.h"
#include "mm_pg.h"
#include "mm_train_input.h"

bool
mm_is_number_type(Oid type)
{
	type = getBaseType(type);
	return type == INT2OID || type == INT4OID || type == INT8OID ||
		type == FLOAT4OID || type == FLOAT8OID || type == NUMERICOID;
}

bool
mm_is_category_type(Oid type)
{
	char		category;
	bool		preferred;

	type = getBaseType(type);
	get_type_category_preferred(type, &category, &preferred);
	return category == TYPCATEGORY_STRING || category == TYPCATEGORY_BOOLEAN ||
		category == TYPCATEGORY_ENUM;
}

const char *
mm_text_bytes(Datum d, int *len, text **copy)
{
	text	   *t = (text *) PG_DETOAST_DATUM_PACKED(d);

	*copy = (Pointer) t != DatumGetPointer(d) ? t : NULL;
	*len = VARSIZE_ANY_EXHDR(t);
	return VARDATA_ANY(t);
}

/* attnum of a column by exact name, or 0 */
static AttrNumber
find_column(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	return 0;
}

static void
column_missing(const char *relname, const char *col, const char *role)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" of relation %s does not exist", col, relname),
			 errdetail("It was given as the %s.", role),
			 errhint("Column names are case sensitive here: pass them as stored, e.g. 'price'.")));
}

/* A feature column: a number, or a categorical type; true if categorical. */
static bool
check_feature_type(TupleDesc desc, AttrNumber attnum, const char *relname,
				   const char *algorithm)
{
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);

	if (mm_is_number_type(att->atttypid))
		return false;
	if (mm_is_category_type(att->atttypid))
		return true;
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("feature column \"%s\" of relation %s has type %s, which %s cannot use",
					NameStr(att->attname), relname, format_type_be(att->atttypid), algorithm),
			 errdetail("Features are numbers, or text, boolean and enum columns (one-hot encoded)."),
			 errhint("Use a view that converts it, or leave it out.")));
	return false;
}

/* A classification target: boolean, integer or text-like; its label kind. */
static int
check_class_target(TupleDesc desc, AttrNumber attnum, const char *relname,
				   const char *algorithm)
{
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
	Oid			type = getBaseType(att->atttypid);

	if (type == BOOLOID)
		return MM_LABEL_BOOLEAN;
	if (type == INT2OID || type == INT4OID || type == INT8OID)
		return MM_LABEL_INTEGER;
	if (mm_is_category_type(type))
		return MM_LABEL_TEXT;
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("target column \"%s\" of relation %s has type %s; %s needs a boolean, integer or text target",
					NameStr(att->attname), relname, format_type_be(att->atttypid), algorithm),
			 errhint("Classes are labels: use a view that casts the target to integer or text.")));
	return MM_LABEL_TEXT;
}

static void
require_numeric(TupleDesc desc, AttrNumber attnum, const char *relname,
				const char *role, const char *algorithm)
{
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);

	if (!mm_is_number_type(att->atttypid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s column \"%s\" of relation %s has type %s; %s needs a numeric %s",
						role, NameStr(att->attname), relname,
						format_type_be(att->atttypid), algorithm, role),
				 errhint("Use a view that converts it to a number, or leave it out.")));
}

/* Text array argument as a list of C strings; NULL elements are refused. */
static List *
text_array_list(ArrayType *arr, const char *what)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional text array", what)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", what)));
		result = lappend(result, TextDatumGetCString(elems[i]));
	}
	return result;
}

long
mm_fetch_rows(int ncols, Size *batch_bytes)
{
	/* a fetched heap tuple of float8s, its header and the table's pointer */
	Size		row_bytes = (Size) ncols * 8 + 64;
	Size		budget = mm_training_memory_limit() / 16;
	long		rows = (long) Min(budget / row_bytes, (Size) 10000);

	if (rows < 100)
		rows = 100;
	if (batch_bytes)
		*batch_bytes = (Size) rows * row_bytes;
	return rows;
}

void
mm_scan_rows(const char *query, int ncols, mm_row_fn row_fn, void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum	   *values = NULL;
	bool	   *nulls = NULL;
	int			width = 0;
	long		batch = mm_fetch_rows(ncols, NULL);
	SPIPlanPtr	plan;
	Portal		portal;
	bool		more = true;

	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", query, SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	while (more)
	{
		SPITupleTable *tt;
		MemoryContext old;

		SPI_cursor_fetch(portal, true, batch);
		if (SPI_processed == 0)
			break;
		tt = SPI_tuptable;
		old = MemoryContextSwitchTo(cxt);
		/* heap_deform_tuple fills every column of the result */
		if (values == NULL || width < tt->tupdesc->natts)
		{
			width = Max(Max(ncols, tt->tupdesc->natts), 1);
			values = palloc(sizeof(Datum) * width);
			nulls = palloc(sizeof(bool) * width);
		}
		for (uint64 i = 0; i < SPI_processed && more; i++)
		{
			CHECK_FOR_INTERRUPTS();
			heap_deform_tuple(tt->vals[i], tt->tupdesc, values, nulls);
			more = row_fn(arg, values, nulls);
		}
		MemoryContextSwitchTo(old);
		SPI_freetuptable(tt);
	}
	SPI_cursor_close(portal);
	MemoryContextSwitchTo(cxt);
}

/* ---- reading columns straight from the heap --------------------------- */

/*
 * How one column of a direct scan becomes the value col::float8 or
 * col::text would give: as stored (the cast is a no-op or binary
 * coercible), through the cast function, or through the type's output
 * function (a cast to text by I/O conversion).
 */
typedef enum ScanConv
{
	SCAN_AS_IS,
	SCAN_FUNCTION,
	SCAN_OUTPUT
} ScanConv;

typedef struct ScanColumn
{
	AttrNumber	attnum;
	ScanConv	conv;
	FmgrInfo	flinfo;			/* SCAN_FUNCTION: the cast; SCAN_OUTPUT: the
								 * type's output function */
	Oid			collation;		/* the cast's input collation */
} ScanColumn;

/*
 * How the parser would turn a column of type type into target (float8 or
 * text) for an explicit cast: false when it is not one of the ways a
 * direct scan reproduces (then the caller falls back to SQL).  This is
 * find_coercion_pathway, as coerce_type calls it: domains are looked
 * through; a cast function must be built in (so it does not look at the
 * call expression the executor would pass it), take one argument, be
 * strict and be executable by the user (the executor checks EXECUTE).
 */
static bool
ScanConversion(Oid type, Oid target, ScanColumn *col)
{
	CoercionPathType path;
	Oid			funcid = InvalidOid;

	if (type == target)
	{
		col->conv = SCAN_AS_IS;
		return true;
	}
	path = find_coercion_pathway(target, type, COERCION_EXPLICIT, &funcid);
	switch (path)
	{
		case COERCION_PATH_RELABELTYPE:
			col->conv = SCAN_AS_IS;
			return true;
		case COERCION_PATH_FUNC:
			{
				HeapTuple	tup;
				Form_pg_proc proc;
				bool		ok;

				if (funcid >= FirstNormalObjectId)
					return false;
				tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
				if (!HeapTupleIsValid(tup))
					return false;
				proc = (Form_pg_proc) GETSTRUCT(tup);
				ok = proc->pronargs == 1 && proc->proisstrict && !proc->proretset &&
					proc->prorettype == target;
				ReleaseSysCache(tup);
				if (!ok || pg_proc_aclcheck(funcid, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
					return false;
				fmgr_info(funcid, &col->flinfo);
				col->conv = SCAN_FUNCTION;
				return true;
			}
		case COERCION_PATH_COERCEVIAIO:
			{
				Oid			output;
				bool		varlena;

				if (target != TEXTOID)
					return false;
				getTypeOutputInfo(type, &output, &varlena);
				fmgr_info(output, &col->flinfo);
				col->conv = SCAN_OUTPUT;
				return true;
			}
		default:
			return false;
	}
}

/*
 * Open relid for a direct scan of the named columns, read as the given
 * kinds, when that returns exactly what SELECT c1::k1, ... FROM relid would
 * return to the current user under the active snapshot: a plain table (not
 * a view, a partitioned or foreign table, or another session's temporary
 * table) with no inheritance children (FROM would read them too), no
 * row-level security in effect for the user, SELECT on the table or on
 * every column read, and no permission or object-access hook (sepgsql,
 * pgaudit) that would check or log the read.  Executor hooks that only
 * observe statements (pg_stat_statements, auto_explain) do not see the
 * direct scan: it is not a statement.  Returns NULL, holding the lock the
 * query will take anyway, when the query must run instead; then it reports
 * the errors.
 */
static Relation
ScanOpen(Oid relid, int ncols, char **columns, const mm_scan_as *as,
		 ScanColumn *cols)
{
	Relation	rel;
	TupleDesc	desc;
	Oid			user = GetUserId();
	bool		table_select;

	if (ExecutorCheckPerms_hook != NULL || object_access_hook != NULL ||
		get_rel_relkind(relid) != RELKIND_RELATION)
		return NULL;
	rel = table_open(relid, AccessShareLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relhassubclass ||
		RELATION_IS_OTHER_TEMP(rel) ||
		check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
	{
		table_close(rel, NoLock);
		return NULL;
	}
	table_select = pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK;
	desc = RelationGetDescr(rel);
	for (int i = 0; i < ncols; i++)
	{
		AttrNumber	attnum = find_column(desc, columns[i]);
		Form_pg_attribute att;

		if (attnum <= 0)
		{
			table_close(rel, NoLock);
			return NULL;
		}
		att = TupleDescAttr(desc, attnum - 1);
		cols[i].attnum = attnum;
		cols[i].collation = att->attcollation;
		if ((!table_select &&
			 pg_attribute_aclcheck(relid, attnum, user, ACL_SELECT) != ACLCHECK_OK) ||
			!ScanConversion(att->atttypid, as[i] == MM_SCAN_TEXT ? TEXTOID : FLOAT8OID,
							&cols[i]))
		{
			table_close(rel, NoLock);
			return NULL;
		}
	}
	return rel;
}

/*
 * The direct scan: a heap scan under the active snapshot, each row deformed
 * up to the last column needed and converted as ScanOpen decided (in a
 * memory context reset per row), then handed to row_fn in the caller's
 * memory context.
 */
static void
ScanDirect(Relation rel, int ncols, ScanColumn *cols, int64 limit,
		   mm_row_fn row_fn, void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext rowcxt;
	Snapshot	snapshot = RegisterSnapshot(GetActiveSnapshot());
	TableScanDesc scan;
	TupleTableSlot *slot;
	Datum	   *values = palloc(sizeof(Datum) * Max(ncols, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(ncols, 1));
	AttrNumber	last = 0;
	bool		convert = false;
	int64		rows = 0;

	for (int i = 0; i < ncols; i++)
	{
		last = Max(last, cols[i].attnum);
		convert |= cols[i].conv != SCAN_AS_IS;
	}
	rowcxt = AllocSetContextCreate(cxt, "modelmgr scan row", ALLOCSET_SMALL_SIZES);
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		more;

		CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, last);
		if (convert)
		{
			MemoryContextReset(rowcxt);
			MemoryContextSwitchTo(rowcxt);
		}
		for (int i = 0; i < ncols; i++)
		{
			int			a = cols[i].attnum - 1;
			Datum		v = slot->tts_values[a];

			nulls[i] = slot->tts_isnull[a];
			if (!nulls[i] && cols[i].conv == SCAN_FUNCTION)
				v = FunctionCall1Coll(&cols[i].flinfo, cols[i].collation, v);
			else if (!nulls[i] && cols[i].conv == SCAN_OUTPUT)
				v = PointerGetDatum(cstring_to_text(OutputFunctionCall(&cols[i].flinfo, v)));
			values[i] = v;
		}
		MemoryContextSwitchTo(cxt);
		more = row_fn(arg, values, nulls);
		MemoryContextSwitchTo(cxt);
		if (!more || (limit > 0 && ++rows >= limit))
			break;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	MemoryContextDelete(rowcxt);
	pfree(values);
	pfree(nulls);
}

void
mm_scan_columns(Oid relid, int ncols, char **columns, const mm_scan_as *as,
				int64 limit, mm_row_fn row_fn, void *arg)
{
	ScanColumn *cols = palloc0(sizeof(ScanColumn) * Max(ncols, 1));
	Relation	rel;
	StringInfoData q;

	rel = ScanOpen(relid, ncols, columns, as, cols);
	if (rel != NULL)
	{
		ScanDirect(rel, ncols, cols, limit, row_fn, arg);
		/* the lock stays until the end of the transaction, as a query's */
		table_close(rel, NoLock);
		pfree(cols);
		return;
	}
	pfree(cols);
	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT ");
	for (int i = 0; i < ncols; i++)
		appendStringInfo(&q, "%s%s::pg_catalog.%s", i > 0 ? ", " : "",
						 quote_identifier(columns[i]),
						 as[i] == MM_SCAN_TEXT ? "text" : "float8");
	appendStringInfo(&q, " FROM %s",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)));
	if (limit > 0)
		appendStringInfo(&q, " LIMIT " INT64_FORMAT, limit);
	mm_scan_rows(q.data, ncols, row_fn, arg);
	pfree(q.data);
}

void
mm_scan_train_input(const mm_train_input *in, int64 limit, mm_row_fn row_fn,
					void *arg)
{
	int			ncols = 1 + in->p + in->n_group;
	char	  **columns = palloc(sizeof(char *) * ncols);
	mm_scan_as *as = palloc(sizeof(mm_scan_as) * ncols);
	ScanColumn *cols = palloc0(sizeof(ScanColumn) * ncols);
	Relation	rel;

	columns[0] = in->target;
	as[0] = in->class_target ? MM_SCAN_TEXT : MM_SCAN_FLOAT8;
	for (int j = 0; j < in->p; j++)
	{
		columns[1 + j] = in->features[j];
		as[1 + j] = in->categorical[j] ? MM_SCAN_TEXT : MM_SCAN_FLOAT8;
	}
	for (int g = 0; g < in->n_group; g++)
	{
		columns[1 + in->p + g] = in->group_cols[g];
		as[1 + in->p + g] = MM_SCAN_TEXT;
	}
	rel = ScanOpen(in->relid, ncols, columns, as, cols);
	if (rel != NULL)
	{
		ScanDirect(rel, ncols, cols, limit, row_fn, arg);
		table_close(rel, NoLock);
	}
	else if (limit > 0)
		mm_scan_rows(psprintf("%s LIMIT " INT64_FORMAT, in->query, limit),
					 ncols, row_fn, arg);
	else
		mm_scan_rows(in->query, ncols, row_fn, arg);
	pfree(columns);
	pfree(as);
	pfree(cols);
}

/*
 * A relation rows can be read from: table, view, materialized view,
 * partitioned or foreign table.  Returns its relkind.
 */
char
mm_check_readable_relation(Oid relid)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_VIEW &&
		relkind != RELKIND_MATVIEW && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table, view or materialized view", get_rel_name(relid))));
	return relkind;
}

void
mm_resolve_train_input(Oid relid, const char *target, ArrayType *features,
					   ArrayType *group_by, const char *algorithm,
					   bool classification, mm_train_input *in)
{
	Relation	rel;
	TupleDesc	desc;
	char		relkind;
	AttrNumber	target_att;
	List	   *group_cols = NIL;
	List	   *feature_names = NIL;
	Bitmapset  *categorical = NULL;
	ListCell   *lc;
	StringInfoData q;

	memset(in, 0, sizeof(*in));
	relkind = mm_check_readable_relation(relid);

	in->relid = relid;
	in->qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											   get_rel_name(relid));
	rel = relation_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);

	target_att = find_column(desc, target);
	if (target_att == 0)
		column_missing(in->qualified, target, "target");
	if (classification)
	{
		in->class_target = true;
		in->label_kind = check_class_target(desc, target_att, in->qualified, algorithm);
	}
	else
		require_numeric(desc, target_att, in->qualified, "target", algorithm);
	in->target = pstrdup(target);

	if (group_by)
		group_cols = text_array_list(group_by, "group_by");

	if (features != NULL)
	{
		feature_names = text_array_list(features, "features");
		if (feature_names == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("features must name at least one column"),
					 errhint("Pass NULL to use every other numeric column.")));
		foreach(lc, feature_names)
		{
			char	   *f = lfirst(lc);
			AttrNumber	att = find_column(desc, f);
			ListCell   *lc2;

			if (att == 0)
				column_missing(in->qualified, f, "feature");
			if (att == target_att)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" is the target and cannot also be a feature", f)));
			foreach(lc2, feature_names)
			{
				if (lc2 == lc)
					break;
				if (strcmp(lfirst(lc2), f) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("feature \"%s\" is listed twice", f)));
			}
			if (check_feature_type(desc, att, in->qualified, algorithm))
				categorical = bms_add_member(categorical, foreach_current_index(lc));
		}
	}
	else
	{
		Bitmapset  *pk = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
		Bitmapset  *serial = NULL;
		List	   *seqs = (relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE) ?
			getOwnedSequences(relid) : NIL;

		foreach(lc, seqs)
		{
			Oid			tab;
			int32		col;

			if (sequenceIsOwned(lfirst_oid(lc), DEPENDENCY_AUTO, &tab, &col) && tab == relid)
				serial = bms_add_member(serial, col);
		}
		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);
			ListCell   *lc2;
			bool		grouped = false;

			if (att->attisdropped || att->attnum == target_att ||
				!mm_is_number_type(att->atttypid) || att->attidentity != '\0' ||
				att->attgenerated != '\0' ||
				bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber, pk) ||
				bms_is_member(att->attnum, serial))
				continue;
			foreach(lc2, group_cols)
				if (strcmp(lfirst(lc2), NameStr(att->attname)) == 0)
					grouped = true;
			if (!grouped)
				feature_names = lappend(feature_names, pstrdup(NameStr(att->attname)));
		}
		if (feature_names == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("relation %s has no numeric column to use as a feature", in->qualified),
					 errdetail("Key, identity, serial and generated columns and the target are not used as features by default."),
					 errhint("Name the feature columns with features => ARRAY['...'].")));
	}
	/* group_by columns: any type, read as text; not the target or a feature */
	foreach(lc, group_cols)
	{
		char	   *g = lfirst(lc);
		AttrNumber	att = find_column(desc, g);
		ListCell   *lc2;

		if (att == 0)
			column_missing(in->qualified, g, "group_by column");
		if (att == target_att)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" is the target and cannot also be a group_by column", g)));
		foreach(lc2, feature_names)
			if (strcmp(lfirst(lc2), g) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" is both a feature and a group_by column", g),
						 errhint("Leave it out of features: each group gets its own model.")));
		foreach(lc2, group_cols)
		{
			if (lc2 == lc)
				break;
			if (strcmp(lfirst(lc2), g) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("group_by column \"%s\" is listed twice", g)));
		}
	}
	if (list_length(group_cols) > MM_MAX_GROUP_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%d group_by columns is more than the %d modelmgr supports",
						list_length(group_cols), MM_MAX_GROUP_COLUMNS)));
	relation_close(rel, AccessShareLock);

	if (list_length(feature_names) > MM_MAX_TRAIN_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%d features is more than the %d modelmgr supports",
						list_length(feature_names), MM_MAX_TRAIN_FEATURES)));
	in->p = list_length(feature_names);
	in->features = palloc(sizeof(char *) * in->p);
	in->categorical = palloc0(sizeof(bool) * Max(in->p, 1));
	initStringInfo(&q);
	appendStringInfo(&q, "SELECT %s::pg_catalog.%s", quote_identifier(target),
					 in->class_target ? "text" : "float8");
	{
		int			i = 0;

		foreach(lc, feature_names)
		{
			in->categorical[i] = bms_is_member(i, categorical);
			in->n_categorical += in->categorical[i] ? 1 : 0;
			in->features[i++] = lfirst(lc);
			appendStringInfo(&q, ", %s::pg_catalog.%s", quote_identifier(lfirst(lc)),
							 in->categorical[i - 1] ? "text" : "float8");
		}
	}
	in->n_group = list_length(group_cols);
	in->group_cols = palloc(sizeof(char *) * Max(in->n_group, 1));
	{
		int			i = 0;

		foreach(lc, group_cols)
		{
			in->group_cols[i++] = lfirst(lc);
			appendStringInfo(&q, ", %s::pg_catalog.text", quote_identifier(lfirst(lc)));
		}
	}
	appendStringInfo(&q, " FROM %s", in->qualified);
	in->query = q.data;
}

/* The feature names as a text[] datum. */
Datum
mm_train_features_datum(const mm_train_input *in)
{
	Datum	   *elems = palloc(sizeof(Datum) * in->p);

	for (int i = 0; i < in->p; i++)
		elems[i] = CStringGetTextDatum(in->features[i]);
	return PointerGetDatum(construct_array(elems, in->p, TEXTOID, -1, false, TYPALIGN_INT));
}
