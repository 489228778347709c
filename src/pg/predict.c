/*
 * predict.c
 *	  predict() and load(): resolving a model name to its deployed version
 *	  once per statement, and caching parsed artifacts per backend.
 *
 * Resolution.  predict(name, ...) is STABLE: within one statement it must use
 * one version, and a deploy committed before a statement starts must be seen
 * by it.  We resolve names with a read-only registry query under the active
 * snapshot and keep the answer (and the USE check made with it) for as long
 * as the active snapshot and the current user are the same (same xmin,
 * xmax, in-progress xids and command id: the same visible registry; the same
 * user: the same privileges, also across SET ROLE and SECURITY DEFINER).  Parallel workers get the leader's snapshot and so resolve to
 * the same version.  fn_extra holds only per-call-site lookups (the last
 * name and its entry, a row type's column mapping), validated against the
 * resolution generation on every call.
 *
 * Artifact cache.  Parsed models live in a per-backend LRU keyed by
 * (model id, version, checksum), bounded by modelmgr.model_cache_size.
 * Versions are immutable, so entries never need invalidating; entries used
 * by the current resolution generation are never evicted.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "mm_pg.h"
#include "mm_predict.h"
#include "mm_stats.h"

PG_FUNCTION_INFO_V1(mm_predict_name_array);
PG_FUNCTION_INFO_V1(mm_predict_name_record);
PG_FUNCTION_INFO_V1(mm_predict_model_array);
PG_FUNCTION_INFO_V1(mm_predict_model_record);
PG_FUNCTION_INFO_V1(mm_load);
PG_FUNCTION_INFO_V1(mm_predict_proba_name_array);
PG_FUNCTION_INFO_V1(mm_predict_proba_name_record);
PG_FUNCTION_INFO_V1(mm_predict_proba_model_record);
PG_FUNCTION_INFO_V1(mm_predict_label_name_array);
PG_FUNCTION_INFO_V1(mm_predict_label_name_record);
PG_FUNCTION_INFO_V1(mm_predict_label_model_record);

/* ---- artifact cache ---------------------------------------------------- */

typedef struct ArtifactKey
{
	int64		model_id;
	int32		version;
	uint64		checksum;
} ArtifactKey;

typedef struct CachedModel
{
	ArtifactKey key;			/* hash key: must be first */
	MemoryContext cxt;			/* owns everything below */
	bytea	   *artifact;
	mm_model   *model;
	mm_predictor *predictor;
	char	   *model_name;
	Size		bytes;
	uint64		used_generation;
	dlist_node	lru;			/* head = most recently used */
} CachedModel;

static MemoryContext cache_cxt = NULL;
static HTAB *artifact_cache = NULL;
static dlist_head artifact_lru = DLIST_STATIC_INIT(artifact_lru);
static Size artifact_cache_bytes = 0;

/* ---- per-statement resolution ---------------------------------------- */

#define MM_NAME_KEY 208

typedef struct ResolutionKey
{
	char		name[MM_NAME_KEY];	/* model name, NUL padded */
	int32		version;		/* 0 = deployed */
} ResolutionKey;

typedef struct Resolution
{
	ResolutionKey key;
	CachedModel *entry;
} Resolution;

static HTAB *resolutions = NULL;
static uint64 generation = 1;

/* the snapshot the current resolutions were made under */
static bool snap_valid = false;
static TransactionId snap_xmin;
static TransactionId snap_xmax;
static CommandId snap_curcid;
static uint32 snap_xcnt;
static int32 snap_subxcnt;
static bool snap_suboverflowed;
static TransactionId snap_topxid;
static Oid	snap_userid;
static TransactionId *snap_xip = NULL;
static TransactionId *snap_subxip = NULL;
static uint32 snap_xip_cap = 0;
static int32 snap_subxip_cap = 0;

void
mm_predict_init(void)
{
	HASHCTL		ctl;

	cache_cxt = AllocSetContextCreate(TopMemoryContext, "modelmgr model cache",
									  ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(ArtifactKey);
	ctl.entrysize = sizeof(CachedModel);
	ctl.hcxt = cache_cxt;
	artifact_cache = hash_create("modelmgr artifacts", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static void
reset_resolutions(void)
{
	HASHCTL		ctl;

	if (resolutions)
		hash_destroy(resolutions);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(ResolutionKey);
	ctl.entrysize = sizeof(Resolution);
	ctl.hcxt = cache_cxt;
	resolutions = hash_create("modelmgr resolutions", 16, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	generation++;
}

/*
 * Is the active snapshot the one our resolutions were made under?  If not,
 * start a new generation.  Cheap enough to run on every call.
 */
static void
check_statement(void)
{
	Snapshot	snap = ActiveSnapshotSet() ? GetActiveSnapshot() : NULL;
	TransactionId topxid = GetTopTransactionIdIfAny();
	Oid			userid = GetUserId();

	if (snap == NULL)
	{
		/* no snapshot to tie answers to: never reuse them */
		snap_valid = false;
		reset_resolutions();
		return;
	}
	if (snap_valid &&
		snap->xmin == snap_xmin && snap->xmax == snap_xmax &&
		snap->curcid == snap_curcid && snap->xcnt == snap_xcnt &&
		snap->subxcnt == snap_subxcnt &&
		snap->suboverflowed == snap_suboverflowed &&
		topxid == snap_topxid && userid == snap_userid &&
		(snap->xcnt == 0 ||
		 memcmp(snap->xip, snap_xip, sizeof(TransactionId) * snap->xcnt) == 0) &&
		(snap->subxcnt == 0 ||
		 memcmp(snap->subxip, snap_subxip, sizeof(TransactionId) * snap->subxcnt) == 0))
		return;

	if (snap->xcnt > snap_xip_cap)
	{
		snap_xip = MemoryContextAlloc(cache_cxt, sizeof(TransactionId) * snap->xcnt);
		snap_xip_cap = snap->xcnt;
	}
	if (snap->subxcnt > snap_subxip_cap)
	{
		snap_subxip = MemoryContextAlloc(cache_cxt, sizeof(TransactionId) * snap->subxcnt);
		snap_subxip_cap = snap->subxcnt;
	}
	if (snap->xcnt > 0)
		memcpy(snap_xip, snap->xip, sizeof(TransactionId) * snap->xcnt);
	if (snap->subxcnt > 0)
		memcpy(snap_subxip, snap->subxip, sizeof(TransactionId) * snap->subxcnt);
	snap_xmin = snap->xmin;
	snap_xmax = snap->xmax;
	snap_curcid = snap->curcid;
	snap_xcnt = snap->xcnt;
	snap_subxcnt = snap->subxcnt;
	snap_suboverflowed = snap->suboverflowed;
	snap_topxid = topxid;
	snap_userid = userid;
	snap_valid = true;
	reset_resolutions();
}

/* Evict least recently used entries not used by this generation. */
static void
evict_artifacts(void)
{
	Size		limit = (Size) mm_model_cache_kb * 1024;
	dlist_node *node;

	if (dlist_is_empty(&artifact_lru))
		return;
	node = dlist_tail_node(&artifact_lru);
	while (node != NULL && artifact_cache_bytes > limit)
	{
		CachedModel *e = dlist_container(CachedModel, lru, node);
		dlist_node *prev = dlist_has_prev(&artifact_lru, node) ?
			dlist_prev_node(&artifact_lru, node) : NULL;

		if (e->used_generation != generation)
		{
			dlist_delete(&e->lru);
			artifact_cache_bytes -= e->bytes;
			MemoryContextDelete(e->cxt);
			hash_search(artifact_cache, &e->key, HASH_REMOVE, NULL);
		}
		node = prev;
	}
}

/*
 * The parsed model for (id, version, checksum); fetched from the registry
 * and parsed on a miss.  Caller is connected to SPI.
 */
static CachedModel *
get_artifact(int64 model_id, int32 version, uint64 checksum, const char *name)
{
	ArtifactKey key;
	CachedModel *e;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.model_id = model_id;
	key.version = version;
	key.checksum = checksum;
	e = hash_search(artifact_cache, &key, HASH_FIND, NULL);
	if (e == NULL)
	{
		bytea	   *artifact = mm_fetch_artifact(model_id, version, false);
		MemoryContext cxt;
		MemoryContext oldcxt;
		mm_model   *model;
		mm_predictor *pred = NULL;
		mm_error	err;

		if (artifact == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("version %d of model \"%s\" does not exist", version, name)));
		cxt = AllocSetContextCreate(cache_cxt, "modelmgr cached model",
									ALLOCSET_SMALL_SIZES);
		PG_TRY();
		{
			oldcxt = MemoryContextSwitchTo(cxt);
			model = mm_parse_artifact(VARDATA_ANY(artifact), VARSIZE_ANY_EXHDR(artifact));
			mm_error_clear(&err);
			/* a model we cannot serve still loads (load/describe work) */
			if (mm_predictor_new(model, &pred, &err) != MM_OK)
				pred = NULL;
			artifact = (bytea *) PG_DETOAST_DATUM_COPY(PointerGetDatum(artifact));
			name = pstrdup(name);
			MemoryContextSwitchTo(oldcxt);
		}
		PG_CATCH();
		{
			MemoryContextDelete(cxt);
			PG_RE_THROW();
		}
		PG_END_TRY();

		e = hash_search(artifact_cache, &key, HASH_ENTER, &found);
		e->cxt = cxt;
		e->artifact = artifact;
		e->model = model;
		e->predictor = pred;
		e->model_name = (char *) name;
		e->bytes = MemoryContextMemAllocated(cxt, true);
		artifact_cache_bytes += e->bytes;
		dlist_push_head(&artifact_lru, &e->lru);
	}
	else
	{
		dlist_delete(&e->lru);
		dlist_push_head(&artifact_lru, &e->lru);
	}
	e->used_generation = generation;
	evict_artifacts();
	return e;
}

/*
 * Resolve (name, version) for this statement: version 0 means the deployed
 * one.  Checks USE on the model.
 */
static CachedModel *
resolve(const char *name, int32 version)
{
	ResolutionKey key;
	Resolution *r;
	bool		found;

	check_statement();
	if (strlen(name) >= MM_NAME_KEY)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	memset(&key, 0, sizeof(key));
	strlcpy(key.name, name, MM_NAME_KEY);
	key.version = version;
	r = hash_search(resolutions, &key, HASH_FIND, NULL);
	if (r == NULL)
	{
		mm_model_row row;
		CachedModel *e;
		int32		v;
		uint64		checksum;

		SPI_connect();
		mm_lookup_model_or_error(name, false, &row);
		mm_require_use(&row);
		v = version;
		if (v == 0)
		{
			v = row.deployed_version;
			if (v == 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("model \"%s\" has no deployed version", name),
						 errhint("Deploy one with SELECT modelmgr.deploy('%s', <version>).", name)));
		}
		{
			Oid			types[2] = {INT8OID, INT4OID};
			Datum		values[2];
			char	   *hex;

			values[0] = Int64GetDatum(row.id);
			values[1] = Int32GetDatum(v);
			mm_registry_exec("SELECT checksum FROM modelmgr.model_versions "
							 "WHERE model_id OPERATOR(pg_catalog.=) $1 "
							 "AND version OPERATOR(pg_catalog.=) $2",
							 2, types, values, NULL, true, 1);
			if (SPI_processed == 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("version %d of model \"%s\" does not exist", v, name),
						 errhint("Check the version number; dropped versions are gone for good.")));
			hex = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			checksum = strtou64(hex, NULL, 16);
		}
		e = get_artifact(row.id, v, checksum, name);
		SPI_finish();

		r = hash_search(resolutions, &key, HASH_ENTER, &found);
		r->entry = e;
	}
	r->entry->used_generation = generation;
	return r->entry;
}

/* ---- per call site ----------------------------------------------------- */

/* How a row's column becomes a feature value */
#define READ_NUMBER		0		/* a number, converted to double */
#define READ_TEXT		1		/* text-like: its bytes are the category */
#define READ_BPCHAR		2		/* char(n): bytes without trailing blanks */
#define READ_BOOL		3		/* boolean: "true" / "false" */
#define READ_OUTPUT		4		/* any other type: its output function */

typedef struct CallCache
{
	uint64		generation;
	char		name[MM_NAME_KEY];
	int			name_len;
	CachedModel *entry;
	mm_stats_counter *counter;	/* live statistics of entry, or NULL */

	/* predict(model value, ...): the parsed value */
	bytea	   *model_bytes;
	mm_model   *model;
	mm_predictor *model_predictor;
	MemoryContext model_cxt;

	/* row mapping */
	const mm_model *map_model;
	Oid			tupType;
	int32		tupTypmod;
	TupleDesc	tupdesc;
	AttrNumber *attnums;		/* per feature */
	Oid		   *atttypes;
	uint8	   *readas;			/* per feature: READ_* */
	FmgrInfo   *outfn;			/* per feature: output function (READ_OUTPUT) */
	Datum	   *values;
	bool	   *nulls;

	/* feature buffers */
	uint32		nbuf;
	double	   *x;
	bool	   *xnull;
} CallCache;

static CallCache *
call_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(CallCache));
	return (CallCache *) fcinfo->flinfo->fn_extra;
}

static void
ensure_buffers(FunctionCallInfo fcinfo, CallCache *cc, uint32 n)
{
	if (cc->nbuf >= n && cc->x != NULL)
		return;
	cc->x = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(double) * Max(n, 1));
	cc->xnull = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(bool) * Max(n, 1));
	cc->nbuf = n;
}

/* The deployed model of `name`, through the call site's cache. */
static CachedModel *
resolve_name_arg(CallCache *cc, text *name)
{
	int			len = VARSIZE_ANY_EXHDR(name);

	check_statement();
	if (cc->entry && cc->generation == generation && cc->name_len == len &&
		memcmp(cc->name, VARDATA_ANY(name), len) == 0)
		return cc->entry;
	{
		char	   *cname = text_to_cstring(name);

		cc->entry = resolve(cname, 0);
		pfree(cname);
	}
	cc->generation = generation;
	cc->counter = mm_stats_counter_for(cc->entry->key.model_id, cc->entry->key.version,
									   cc->entry->model_name);
	if (len < MM_NAME_KEY)
	{
		memcpy(cc->name, VARDATA_ANY(name), len);
		cc->name_len = len;
	}
	else
		cc->name_len = -1;
	return cc->entry;
}

static const mm_predictor *
entry_predictor(CachedModel *e)
{
	if (e->predictor == NULL)
	{
		mm_error	err;
		mm_predictor *p;

		mm_error_clear(&err);
		if (mm_predictor_new(e->model, &p, &err) != MM_OK)
			mm_raise(&err);
		/* cannot happen: a servable model has its predictor built */
		elog(ERROR, "predictor missing for model \"%s\"", e->model_name);
	}
	return e->predictor;
}

static double class_output(const mm_predictor *p, int32 cls);

/*
 * The values of a float8[] features argument (checked against the model),
 * and *nulls (NULL when the array has none).
 */
static const double *
array_values(const mm_predictor *p, CallCache *cc, FunctionCallInfo fcinfo,
			 ArrayType *arr, const char *what, const bool **nulls)
{
	int			n;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features must be a one-dimensional array")));
	n = ARR_NDIM(arr) == 0 ? 0 : ARR_DIMS(arr)[0];
	if (n != (int) p->n_features)
	{
		StringInfoData names;

		initStringInfo(&names);
		for (uint32 i = 0; i < p->n_features; i++)
			appendStringInfo(&names, "%s%s", i ? ", " : "", p->model->features[i].name);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s expects %u features, got %d", what, p->n_features, n),
				 errdetail("Features in order: %s.", names.data)));
	}
	if (ARR_ELEMTYPE(arr) != FLOAT8OID)
		elog(ERROR, "predict expects a float8[] argument");
	if (p->n_groups > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the model was trained with group_by, so an array of features cannot say which group a row is in"),
				 errhint("Pass a row with the features and the group_by columns, e.g. predict('name', t) FROM t.")));
	if (!p->enc->plain)
		for (uint32 i = 0; i < p->n_features; i++)
			if (p->model->features[i].kind == MM_FEATURE_CATEGORICAL)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("feature \"%s\" of the model is categorical, so an array of numbers cannot hold it",
								p->model->features[i].name),
						 errhint("Pass a row whose columns are named like the features, e.g. predict('name', t) FROM t.")));
	*nulls = NULL;
	if (!ARR_HASNULL(arr))
		return (const double *) ARR_DATA_PTR(arr);
	{
		Datum	   *elems;
		bool	   *enulls;
		int			nelems;

		ensure_buffers(fcinfo, cc, n);
		deconstruct_array(arr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &elems, &enulls, &nelems);
		for (int i = 0; i < n; i++)
		{
			cc->x[i] = enulls[i] ? 0.0 : DatumGetFloat8(elems[i]);
			cc->xnull[i] = enulls[i];
		}
		*nulls = cc->xnull;
		return cc->x;
	}
}

static double
predict_array(const mm_predictor *p, CallCache *cc, FunctionCallInfo fcinfo,
			  ArrayType *arr, const char *what)
{
	double		out;
	mm_error	err;
	const bool *nulls;
	const double *values = array_values(p, cc, fcinfo, arr, what, &nulls);

	mm_error_clear(&err);
	if (mm_predict_row(p, values, nulls, &out, &err) != MM_OK)
		mm_raise(&err);
	return p->n_classes > 0 ? class_output(p, (int32) out) : out;
}

/* Convert one column value to double by its type (checked at mapping time). */
static inline double
column_value(Datum d, Oid type)
{
	switch (type)
	{
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case FLOAT4OID:
			return (double) DatumGetFloat4(d);
		case INT2OID:
			return (double) DatumGetInt16(d);
		case INT4OID:
			return (double) DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
		default:
			elog(ERROR, "unexpected feature column type %u", type);
	}
	return 0.0;
}

static bool
numeric_column_type(Oid type)
{
	return type == FLOAT8OID || type == FLOAT4OID || type == INT2OID ||
		type == INT4OID || type == INT8OID || type == NUMERICOID;
}

/*
 * Map the model's features to the columns of the row type, once per call
 * site, row type and model.
 */
static void
map_row(FunctionCallInfo fcinfo, CallCache *cc, const mm_model *model,
		Oid tupType, int32 tupTypmod)
{
	MemoryContext oldcxt;
	TupleDesc	desc;

	if (cc->map_model == model && cc->tupType == tupType &&
		cc->tupTypmod == tupTypmod && cc->tupdesc != NULL)
		return;

	oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	desc = lookup_rowtype_tupdesc(tupType, tupTypmod);
	cc->tupdesc = CreateTupleDescCopy(desc);
	ReleaseTupleDesc(desc);
	/* features, then the group columns of a grouped model */
	cc->attnums = palloc(sizeof(AttrNumber) * Max(model->n_features + model->n_group_columns, 1));
	cc->atttypes = palloc(sizeof(Oid) * Max(model->n_features + model->n_group_columns, 1));
	cc->readas = palloc(sizeof(uint8) * Max(model->n_features + model->n_group_columns, 1));
	cc->outfn = palloc0(sizeof(FmgrInfo) * Max(model->n_features + model->n_group_columns, 1));
	cc->values = palloc(sizeof(Datum) * Max(cc->tupdesc->natts, 1));
	cc->nulls = palloc(sizeof(bool) * Max(cc->tupdesc->natts, 1));
	MemoryContextSwitchTo(oldcxt);
	ensure_buffers(fcinfo, cc, model->n_features);

	for (uint32 f = 0; f < model->n_features + model->n_group_columns; f++)
	{
		bool		is_group = f >= model->n_features;
		const char *fname = is_group ? model->group_columns[f - model->n_features] :
			model->features[f].name;
		int			found = -1;

		for (int a = 0; a < cc->tupdesc->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(cc->tupdesc, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), fname) == 0)
			{
				found = a;
				break;
			}
		}
		if (found < 0)
		{
			cc->tupdesc = NULL;
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("row has no column \"%s\", a %s of the model", fname,
							is_group ? "group_by column" : "feature"),
					 errdetail("Features are matched to the row's columns by name."),
					 errhint("Pass a whole table row (t or t.*), or a subquery row whose columns are named like the features; ROW(...) has no column names.")));
		}
		cc->attnums[f] = found;
		/* a domain reads as its base type, as in training */
		cc->atttypes[f] = getBaseType(TupleDescAttr(cc->tupdesc, found)->atttypid);
		if (is_group || model->features[f].kind == MM_FEATURE_CATEGORICAL)
		{
			Oid			t = cc->atttypes[f];

			/* the spelling training saw: the value cast to text */
			if (t == TEXTOID || t == VARCHAROID || t == NAMEOID)
				cc->readas[f] = READ_TEXT;
			else if (t == BPCHAROID)
				cc->readas[f] = READ_BPCHAR;
			else if (t == BOOLOID)
				cc->readas[f] = READ_BOOL;
			else
			{
				Oid			outfn;
				bool		varlena;

				cc->readas[f] = READ_OUTPUT;
				getTypeOutputInfo(t, &outfn, &varlena);
				fmgr_info_cxt(outfn, &cc->outfn[f], fcinfo->flinfo->fn_mcxt);
			}
			continue;
		}
		cc->readas[f] = READ_NUMBER;
		if (!numeric_column_type(cc->atttypes[f]))
		{
			Oid			bad = cc->atttypes[f];

			cc->tupdesc = NULL;
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" has type %s, but the model needs a number",
							fname, format_type_be(bad))));
		}
	}
	cc->map_model = model;
	cc->tupType = tupType;
	cc->tupTypmod = tupTypmod;
}

/* A categorical feature whose vocabulary is booleans spelled as text. */
static bool
boolean_feature(const mm_feature *f)
{
	for (uint32 c = 0; c < f->n_categories; c++)
		if (strcmp(f->categories[c], "true") != 0 && strcmp(f->categories[c], "false") != 0)
			return false;
	return true;
}

/*
 * The text spelling of column value d of mapping entry f, as training read
 * it (col::text); *str is set when it was allocated.
 */
static const char *
column_text(CallCache *cc, uint32 f, Datum d, int *len, char **str)
{
	*str = NULL;
	switch (cc->readas[f])
	{
		case READ_TEXT:
		case READ_BPCHAR:
			{
				text	   *t = DatumGetTextPP(d);
				const char *bytes = VARDATA_ANY(t);

				*len = VARSIZE_ANY_EXHDR(t);
				if (cc->readas[f] == READ_BPCHAR)
					while (*len > 0 && bytes[*len - 1] == ' ')
						(*len)--;
				return bytes;
			}
		case READ_BOOL:
			*len = DatumGetBool(d) ? 4 : 5;
			return DatumGetBool(d) ? "true" : "false";
		default:
			*str = OutputFunctionCall(&cc->outfn[f], d);
			*len = strlen(*str);
			return *str;
	}
}

/* The category index of a categorical feature's column value. */
static double
category_value(const mm_predictor *p, CallCache *cc, uint32 f, Datum d)
{
	int			len;
	char	   *str;
	const char *bytes = column_text(cc, f, d, &len, &str);
	int32		idx = mm_encoder_category(p->enc, f, bytes, len);
	bool		b;

	/*
	 * A boolean feature given as another type (1, 't', 'yes'): read it as
	 * training's boolean column would have been read.
	 */
	if (idx < 0 && cc->readas[f] != READ_BOOL && boolean_feature(&p->model->features[f]) &&
		parse_bool_with_len(bytes, len, &b))
		idx = mm_encoder_category(p->enc, f, b ? "true" : "false", b ? 4 : 5);
	if (str)
		pfree(str);
	return (double) idx;
}

/*
 * The group of a grouped model's row (values already deformed into cc):
 * its predictor, or an error naming the group when training had none.
 */
static const mm_predictor *
route_row(const mm_predictor *top, CallCache *cc, int32 *group)
{
	const mm_model *m = top->model;
	const char *keys[MM_MAX_GROUP_COLUMNS];
	size_t		lens[MM_MAX_GROUP_COLUMNS];
	char	   *strs[MM_MAX_GROUP_COLUMNS];
	const mm_predictor *p;

	for (uint32 g = 0; g < m->n_group_columns; g++)
	{
		uint32		f = m->n_features + g;
		int			len = 0;

		strs[g] = NULL;
		keys[g] = cc->nulls[cc->attnums[f]] ? NULL :
			column_text(cc, f, cc->values[cc->attnums[f]], &len, &strs[g]);
		lens[g] = len;
	}
	p = mm_predictor_route(top, keys, lens, group);
	if (p == NULL)
	{
		StringInfoData what;

		initStringInfo(&what);
		for (uint32 g = 0; g < m->n_group_columns; g++)
			appendStringInfo(&what, "%s%s = %s", g ? ", " : "", m->group_columns[g],
							 keys[g] ? quote_literal_cstr(pnstrdup(keys[g], lens[g])) : "NULL");
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the model has no sub-model for the group %s", what.data),
				 errdetail("It was trained with group_by, and that group had no rows in its training data."),
				 errhint("Predict only rows of the trained groups (modelmgr.describe lists them), or retrain with rows of this group.")));
	}
	for (uint32 g = 0; g < m->n_group_columns; g++)
		if (strs[g])
			pfree(strs[g]);
	return p;
}

/*
 * The model's raw feature values from a row, into cc->x / cc->xnull; the
 * predictor that takes them (a grouped model's group's, *group its index;
 * else p itself and -1).
 */
static const mm_predictor *
read_record(const mm_predictor *p, CallCache *cc, FunctionCallInfo fcinfo,
			HeapTupleHeader td, int32 *group)
{
	HeapTupleData tup;

	map_row(fcinfo, cc, p->model, HeapTupleHeaderGetTypeId(td),
			HeapTupleHeaderGetTypMod(td));
	tup.t_len = HeapTupleHeaderGetDatumLength(td);
	ItemPointerSetInvalid(&(tup.t_self));
	tup.t_tableOid = InvalidOid;
	tup.t_data = td;
	heap_deform_tuple(&tup, cc->tupdesc, cc->values, cc->nulls);
	*group = -1;
	if (p->n_groups > 0)
		p = route_row(p, cc, group);
	for (uint32 f = 0; f < p->n_features; f++)
	{
		int			a = cc->attnums[f];

		cc->xnull[f] = cc->nulls[a];
		if (cc->nulls[a])
			cc->x[f] = 0.0;
		else if (cc->readas[f] == READ_NUMBER)
			cc->x[f] = column_value(cc->values[a], cc->atttypes[f]);
		else
			cc->x[f] = category_value(p, cc, f, cc->values[a]);
	}
	return p;
}

/* A group's class index as the top level's (the index itself ungrouped). */
static int32
top_class(const mm_predictor *top, int32 group, int32 cls)
{
	return group >= 0 ? top->group_class[group][cls] : cls;
}

/*
 * What predict() returns for a class index of the top level: the label
 * itself for integer targets, 0 / 1 for boolean targets (false < true),
 * else the index.
 */
static double
class_output(const mm_predictor *p, int32 cls)
{
	return p->class_values ? p->class_values[cls] : (double) cls;
}

static double
predict_record(const mm_predictor *p, CallCache *cc, FunctionCallInfo fcinfo,
			   HeapTupleHeader td)
{
	double		out;
	mm_error	err;
	int32		group;
	const mm_predictor *gp = read_record(p, cc, fcinfo, td, &group);

	mm_error_clear(&err);
	if (mm_predict_row(gp, cc->x, cc->xnull, &out, &err) != MM_OK)
		mm_raise(&err);
	return p->n_classes > 0 ? class_output(p, top_class(p, group, (int32) out)) : out;
}

/*
 * The parsed form of a model value argument, cached per call site.  Small
 * artifacts are compared byte for byte; large ones by length and their
 * first and last 64 bytes (the last 8 are the checksum over everything).
 */
static const mm_predictor *
model_arg_predictor(FunctionCallInfo fcinfo, CallCache *cc, bytea *m)
{
	Size		len = VARSIZE_ANY_EXHDR(m);
	const char *data = VARDATA_ANY(m);
	MemoryContext oldcxt;
	mm_error	err;

	if (cc->model_bytes && VARSIZE_ANY_EXHDR(cc->model_bytes) == len)
	{
		const char *old = VARDATA_ANY(cc->model_bytes);

		if (len <= 4096 ? memcmp(old, data, len) == 0 :
			(memcmp(old, data, 64) == 0 && memcmp(old + len - 64, data + len - 64, 64) == 0))
			return cc->model_predictor;
	}
	if (cc->model_cxt)
		MemoryContextDelete(cc->model_cxt);
	cc->model_bytes = NULL;
	cc->model_cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
										  "modelmgr model argument", ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cc->model_cxt);
	cc->model = mm_parse_artifact(data, len);
	mm_error_clear(&err);
	if (mm_predictor_new(cc->model, &cc->model_predictor, &err) != MM_OK)
		mm_raise(&err);
	cc->model_bytes = (bytea *) palloc(VARHDRSZ + len);
	SET_VARSIZE(cc->model_bytes, VARHDRSZ + len);
	memcpy(VARDATA(cc->model_bytes), data, len);
	MemoryContextSwitchTo(oldcxt);
	return cc->model_predictor;
}

Datum
mm_predict_name_array(PG_FUNCTION_ARGS)
{
	CallCache  *cc = call_cache(fcinfo);
	CachedModel *e = resolve_name_arg(cc, PG_GETARG_TEXT_PP(0));
	double		y = predict_array(entry_predictor(e), cc, fcinfo,
								  PG_GETARG_ARRAYTYPE_P(1), "model");

	mm_stats_count_row(cc->counter);
	PG_RETURN_FLOAT8(y);
}

Datum
mm_predict_name_record(PG_FUNCTION_ARGS)
{
	CallCache  *cc = call_cache(fcinfo);
	CachedModel *e = resolve_name_arg(cc, PG_GETARG_TEXT_PP(0));
	double		y = predict_record(entry_predictor(e), cc, fcinfo,
								   PG_GETARG_HEAPTUPLEHEADER(1));

	mm_stats_count_row(cc->counter);
	PG_RETURN_FLOAT8(y);
}

Datum
mm_predict_model_array(PG_FUNCTION_ARGS)
{
	CallCache  *cc = call_cache(fcinfo);
	const mm_predictor *p = model_arg_predictor(fcinfo, cc, PG_GETARG_BYTEA_PP(0));

	PG_RETURN_FLOAT8(predict_array(p, cc, fcinfo, PG_GETARG_ARRAYTYPE_P(1), "model"));
}

Datum
mm_predict_model_record(PG_FUNCTION_ARGS)
{
	CallCache  *cc = call_cache(fcinfo);
	const mm_predictor *p = model_arg_predictor(fcinfo, cc, PG_GETARG_BYTEA_PP(0));

	PG_RETURN_FLOAT8(predict_record(p, cc, fcinfo, PG_GETARG_HEAPTUPLEHEADER(1)));
}

/* load(name, version): a version as a modelmgr.model value (USE needed). */
Datum
mm_load(PG_FUNCTION_ARGS)
{
	char	   *name;
	int32		version;
	CachedModel *e;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	version = mm_version_arg(fcinfo, 1);
	e = resolve(name, version);
	PG_RETURN_BYTEA_P(DatumGetByteaPCopy(PointerGetDatum(e->artifact)));
}

/* ---- classifiers: predict_proba, predict_label ------------------------- */

/*
 * Classify the row argument (argument 1: float8[] or a record) with p:
 * the class index and, when proba is not NULL, the probabilities.
 */
static int32
classify(const mm_predictor *p, CallCache *cc, FunctionCallInfo fcinfo,
		 bool record, double *proba, const char *fname)
{
	int32		cls;
	mm_error	err;
	const double *values;
	const bool *nulls;
	const mm_predictor *gp = p;
	int32		group = -1;
	double	   *gproba = NULL;

	if (p->n_classes == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s needs a classifier, and this model is a regression model", fname),
				 errhint("Use modelmgr.predict(...) for regression models.")));
	if (record)
	{
		gp = read_record(p, cc, fcinfo, PG_GETARG_HEAPTUPLEHEADER(1), &group);
		values = cc->x;
		nulls = cc->xnull;
	}
	else
		values = array_values(p, cc, fcinfo, PG_GETARG_ARRAYTYPE_P(1), "model", &nulls);
	if (proba && group >= 0)
		gproba = palloc(sizeof(double) * gp->n_classes);
	mm_error_clear(&err);
	if (mm_predict_class(gp, values, nulls, &cls, gproba ? gproba : proba, NULL, &err) != MM_OK)
	{
		if (err.status == MM_ERR_UNSUPPORTED)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s models give no probabilities", mm_algorithm_name(p->model->algorithm)),
					 errhint("Use modelmgr.predict_label(...), or train logistic_regression or softmax_regression.")));
		mm_raise(&err);
	}
	if (gproba)
	{
		/* a group's probabilities in the order of the model's classes */
		for (uint32 k = 0; k < p->n_classes; k++)
			proba[k] = 0.0;
		for (uint32 k = 0; k < gp->n_classes; k++)
			proba[top_class(p, group, k)] = gproba[k];
	}
	return top_class(p, group, cls);
}

static Datum
proba_datum(const mm_predictor *p, CallCache *cc, FunctionCallInfo fcinfo, bool record)
{
	double	   *proba = palloc(sizeof(double) * p->n_classes);
	Datum	   *elems = palloc(sizeof(Datum) * p->n_classes);

	(void) classify(p, cc, fcinfo, record, proba, "predict_proba");
	for (uint32 k = 0; k < p->n_classes; k++)
		elems[k] = Float8GetDatum(proba[k]);
	return PointerGetDatum(construct_array(elems, p->n_classes, FLOAT8OID, 8,
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static Datum
label_datum(const mm_predictor *p, CallCache *cc, FunctionCallInfo fcinfo, bool record)
{
	int32		cls = classify(p, cc, fcinfo, record, NULL, "predict_label");

	return CStringGetTextDatum(p->model->classes[cls]);
}

Datum
mm_predict_proba_name_array(PG_FUNCTION_ARGS)
{
	CallCache  *cc = call_cache(fcinfo);
	CachedModel *e = resolve_name_arg(cc, PG_GETARG_TEXT_PP(0));
	Datum		d = proba_datum(entry_predictor(e), cc, fcinfo, false);

	mm_stats_count_row(cc->counter);
	PG_RETURN_DATUM(d);
}

Datum
mm_predict_proba_name_record(PG_FUNCTION_ARGS)
{
	CallCache  *cc = call_cache(fcinfo);
	CachedModel *e = resolve_name_arg(cc, PG_GETARG_TEXT_PP(0));
	Datum		d = proba_datum(entry_predictor(e), cc, fcinfo, true);

	mm_stats_count_row(cc->counter);
	PG_RETURN_DATUM(d);
}

Datum
mm_predict_proba_model_record(PG_FUNCTION_ARGS)
{
	CallCache  *cc = call_cache(fcinfo);
	const mm_predictor *p = model_arg_predictor(fcinfo, cc, PG_GETARG_BYTEA_PP(0));

	PG_RETURN_DATUM(proba_datum(p, cc, fcinfo, true));
}

Datum
mm_predict_label_name_array(PG_FUNCTION_ARGS)
{
	CallCache  *cc = call_cache(fcinfo);
	CachedModel *e = resolve_name_arg(cc, PG_GETARG_TEXT_PP(0));
	Datum		d = label_datum(entry_predictor(e), cc, fcinfo, false);

	mm_stats_count_row(cc->counter);
	PG_RETURN_DATUM(d);
}

Datum
mm_predict_label_name_record(PG_FUNCTION_ARGS)
{
	CallCache  *cc = call_cache(fcinfo);
	CachedModel *e = resolve_name_arg(cc, PG_GETARG_TEXT_PP(0));
	Datum		d = label_datum(entry_predictor(e), cc, fcinfo, true);

	mm_stats_count_row(cc->counter);
	PG_RETURN_DATUM(d);
}

Datum
mm_predict_label_model_record(PG_FUNCTION_ARGS)
{
	CallCache  *cc = call_cache(fcinfo);
	const mm_predictor *p = model_arg_predictor(fcinfo, cc, PG_GETARG_BYTEA_PP(0));

	PG_RETURN_DATUM(label_datum(p, cc, fcinfo, true));
}
