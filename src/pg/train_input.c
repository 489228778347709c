/*
 * train_input.c
 *	  What train() reads: the relation, the target and the feature columns.
 *
 * features => NULL means every other numeric column except primary-key,
 * identity and serial columns (and group_by columns).  The query that reads
 * the rows is built here with quoted identifiers and runs with the caller's
 * rights (SECURITY INVOKER), so a role without SELECT cannot train.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"

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
	Datum	   *values = palloc(sizeof(Datum) * Max(ncols, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(ncols, 1));
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
