/*
 * compress.c
 *	  prune(), quantize() and compare(): compressed models as new versions,
 *	  each evaluated on its parent's held-out rows.
 *
 * A compressed version is a new row of model_versions (operation prune or
 * quantize, parent_version the source) with the training recipe of its
 * parent (relation, target, features, seed, test_fraction), so the
 * deterministic split gives back the parent's held-out rows: both versions
 * are scored on them and the metrics, the artifact sizes and the deltas go
 * into the new version's metrics.  When the parent's relation is gone (or
 * the caller wants other rows), `relation` names another one with the
 * same columns.  Compressed versions are never deployed automatically.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/tuplestore.h"

#include "mm_compress.h"
#include "mm_pg.h"
#include "mm_train.h"
#include "train_matrix.h"

PG_FUNCTION_INFO_V1(mm_prune_version);
PG_FUNCTION_INFO_V1(mm_quantize_version);
PG_FUNCTION_INFO_V1(mm_compare);

/* A version as the registry has it. */
typedef struct VersionRow
{
	mm_model_row model;
	int32		version;
	char	   *algorithm;
	char	   *source;			/* NULL when not recorded */
	char	   *target;
	ArrayType  *features;
	int64		seed;
	double		fraction;
	int64		train_rows;
	Jsonb	   *metrics;
	Jsonb	   *baselines;
	bytea	   *artifact;
	mm_model   *parsed;
} VersionRow;

static Datum
copy_datum(HeapTuple tup, TupleDesc desc, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(tup, desc, col, isnull);
	Form_pg_attribute att = TupleDescAttr(desc, col - 1);

	return *isnull ? (Datum) 0 : SPI_datumTransfer(d, att->attbyval, att->attlen);
}

/* Read version v of model `name` (caller connected to SPI). */
static void
read_version(const char *name, int32 v, bool for_update, VersionRow *vr)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		args[2];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	memset(vr, 0, sizeof(*vr));
	mm_lookup_model_or_error(name, for_update, &vr->model);
	vr->version = v;
	args[0] = Int64GetDatum(vr->model.id);
	args[1] = Int32GetDatum(v);
	mm_registry_exec("SELECT algorithm, source_relation, target, features, seed, test_fraction, "
					 "train_rows, metrics, baselines, artifact FROM modelmgr.model_versions "
					 "WHERE model_id OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
					 2, types, args, NULL, true, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", v, name),
				 errhint("SELECT version FROM modelmgr.version_history WHERE model = '%s' lists them.", name)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	MemoryContextSwitchTo(cxt);
	vr->algorithm = TextDatumGetCString(copy_datum(tup, desc, 1, &isnull));
	d = copy_datum(tup, desc, 2, &isnull);
	vr->source = isnull ? NULL : TextDatumGetCString(d);
	d = copy_datum(tup, desc, 3, &isnull);
	vr->target = isnull ? NULL : TextDatumGetCString(d);
	vr->features = DatumGetArrayTypeP(copy_datum(tup, desc, 4, &isnull));
	d = copy_datum(tup, desc, 5, &isnull);
	vr->seed = isnull ? 0 : DatumGetInt64(d);
	d = copy_datum(tup, desc, 6, &isnull);
	vr->fraction = isnull ? -1 : DatumGetFloat8(d);
	d = copy_datum(tup, desc, 7, &isnull);
	vr->train_rows = isnull ? -1 : DatumGetInt64(d);
	vr->metrics = DatumGetJsonbP(copy_datum(tup, desc, 8, &isnull));
	d = copy_datum(tup, desc, 9, &isnull);
	vr->baselines = isnull ? NULL : DatumGetJsonbP(d);
	vr->artifact = DatumGetByteaP(copy_datum(tup, desc, 10, &isnull));
	vr->parsed = mm_parse_artifact(VARDATA(vr->artifact), VARSIZE(vr->artifact) - VARHDRSZ);
}

/*
 * The relation holding the parent's held-out rows: the one the caller
 * names, else the parent's source relation.  Errors when neither exists.
 */
static Oid
heldout_relation(FunctionCallInfo fcinfo, int argno, const VersionRow *vr)
{
	Oid			relid = InvalidOid;

	if (!PG_ARGISNULL(argno))
		return PG_GETARG_OID(argno);
	if (vr->source != NULL)
		relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(vr->source)),
								 AccessShareLock, true);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("version %d of model \"%s\" has no source relation to evaluate on",
						vr->version, vr->model.name),
				 vr->source ? errdetail("It was trained on %s, which no longer exists.", vr->source) : 0,
				 errhint("Pass relation => 'schema.table' with the same columns.")));
	return relid;
}

static int
parse_choice(const char *arg, const char *what, const char *const *names, const int *codes, int n)
{
	StringInfoData list;

	for (int i = 0; i < n; i++)
		if (strcmp(arg, names[i]) == 0)
			return codes[i];
	initStringInfo(&list);
	for (int i = 0; i < n; i++)
		appendStringInfo(&list, "%s%s", i ? ", " : "", names[i]);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown %s \"%s\"", what, arg),
			 errhint("Use one of: %s.", list.data)));
	return 0;
}

/* The weight dtype of a model: float64, int8, ..., or mixed. */
static const char *
weight_dtype(const mm_model *m)
{
	const char *dtype = NULL;

	for (uint32 i = 0; i < m->n_tensors; i++)
	{
		const char *d;

		if (!mm_is_weight_tensor(m, &m->tensors[i]))
			continue;
		d = mm_dtype_name(m->tensors[i].dtype);
		if (dtype && strcmp(dtype, d) != 0)
			return "mixed";
		dtype = d;
	}
	return dtype ? dtype : "none";
}

/* Key metric deltas: every number of `test` of child minus parent. */
static void
append_deltas(StringInfo buf, Jsonb *child, Jsonb *parent)
{
	JsonbIterator *it = JsonbIteratorInit(&child->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		first = true;
	char	   *key = NULL;
	int			depth = 0;

	appendStringInfoChar(buf, '{');
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
			depth++;
		else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
			depth--;
		else if (tok == WJB_KEY && depth == 1)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE && depth == 1 && v.type == jbvNumeric && key &&
				 strcmp(key, "rows") != 0)
		{
			JsonbValue *pv = getKeyJsonValueFromContainer(&parent->root, key, strlen(key), NULL);

			if (pv && pv->type == jbvNumeric)
			{
				double		a = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
				double		b = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(pv->val.numeric)));

				appendStringInfoString(buf, first ? "" : ", ");
				escape_json(buf, key);
				appendStringInfoString(buf, ": ");
				mm_json_number(buf, a - b);
				first = false;
			}
		}
	}
	appendStringInfoChar(buf, '}');
}

/*
 * Score parent and child on the parent's held-out rows, save the child as
 * a new version and return its row.
 */
static Datum
save_compressed(FunctionCallInfo fcinfo, VersionRow *parent, mm_model *child,
				const char *operation, const char *params_json, Oid relid)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MatrixRun  *run;
	StringInfoData pm,
				cm,
				metrics;
	int64		prow,
				crow;
	double		ps,
				cs;
	bytea	   *artifact = mm_serialize_model(child);
	mm_new_version nv;
	mm_saved_version saved;
	Jsonb	   *pj,
			   *cj;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	MemoryContext cxt = CurrentMemoryContext;

	if (parent->target == NULL || parent->fraction < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" records no training split to evaluate on",
						parent->version, parent->model.name),
				 errhint("Compress versions made by train() or retrain().")));
	run = mm_matrix_read(parent->algorithm, relid, parent->target, parent->features,
						 (uint64) parent->seed, parent->fraction > 0 ? parent->fraction : 1.0, 0);
	MemoryContextSwitchTo(cxt);
	initStringInfo(&pm);
	initStringInfo(&cm);
	if (!mm_matrix_model_metrics(run, parent->parsed, &pm, &prow, &ps) ||
		!mm_matrix_model_metrics(run, child, &cm, &crow, &cs))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the held-out rows of version %d cannot be scored", parent->version),
				 errdetail("The relation has no held-out rows, or rows the model cannot predict."),
				 errhint("Pass relation => a relation with the training columns and labelled rows.")));
	pj = mm_jsonb_from_cstring(pm.data);
	cj = mm_jsonb_from_cstring(cm.data);
	initStringInfo(&metrics);
	appendStringInfo(&metrics, "{\"test\": %s, \"parent_test\": %s, \"delta\": ", cm.data, pm.data);
	append_deltas(&metrics, cj, pj);
	appendStringInfo(&metrics, ", \"size_bytes\": %d, \"parent_size_bytes\": %d, "
					 "\"params\": " UINT64_FORMAT ", \"nonzero\": " UINT64_FORMAT
					 ", \"parent_nonzero\": " UINT64_FORMAT ", \"dtype\": \"%s\"}",
					 (int) VARSIZE_ANY_EXHDR(artifact), (int) VARSIZE_ANY_EXHDR(parent->artifact),
					 mm_model_param_count(child), mm_model_nonzero_count(child),
					 mm_model_nonzero_count(parent->parsed), weight_dtype(child));

	memset(&nv, 0, sizeof(nv));
	nv.model_name = parent->model.name;
	nv.task = parent->model.task;
	nv.operation = operation;
	nv.parent_version = parent->version;
	nv.algorithm = parent->algorithm;
	nv.params = mm_jsonb_from_cstring(params_json);
	nv.source_relation = parent->source;
	nv.target = parent->target;
	nv.features = PointerGetDatum(parent->features);
	nv.has_seed = true;
	nv.seed = parent->seed;
	nv.test_fraction = parent->fraction;
	nv.train_rows = parent->train_rows;
	nv.test_rows = crow;
	nv.skipped_rows = -1;
	nv.metrics = mm_jsonb_from_cstring(metrics.data);
	nv.baselines = parent->baselines;
	nv.artifact = artifact;
	saved = mm_save_version(&nv, MM_DEPLOY_NEVER, NULL, NULL);
	MemoryContextSwitchTo(cxt);

	InitMaterializedSRF(fcinfo, 0);
	values[0] = CStringGetTextDatum(parent->model.name);
	values[1] = Int32GetDatum(saved.version);
	values[2] = Int32GetDatum(parent->version);
	values[3] = CStringGetTextDatum(operation);
	values[4] = Int32GetDatum((int32) VARSIZE_ANY_EXHDR(artifact));
	values[5] = Int32GetDatum((int32) VARSIZE_ANY_EXHDR(parent->artifact));
	values[6] = JsonbPGetDatum(nv.metrics);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

static void
raise_core(mm_status st, mm_error *err)
{
	if (st != MM_OK)
		mm_raise(err);
}

/* prune(name, version, method, sparsity, relation) */
Datum
mm_prune_version(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"magnitude", "global_magnitude", "structured"};
	static const int codes[] = {MM_PRUNE_MAGNITUDE, MM_PRUNE_GLOBAL, MM_PRUNE_STRUCTURED};
	char	   *name;
	int32		version;
	char	   *method;
	double		sparsity;
	VersionRow	parent;
	mm_model   *child;
	mm_prune_info info;
	mm_error	err;
	Oid			relid;
	Datum		result;
	MemoryContext fncxt = CurrentMemoryContext;

	mm_require_arg(fcinfo, 0, "model name");
	mm_require_arg(fcinfo, 1, "version");
	mm_require_arg(fcinfo, 2, "method");
	mm_require_arg(fcinfo, 3, "sparsity");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	version = mm_version_arg(fcinfo, 1);
	method = text_to_cstring(PG_GETARG_TEXT_PP(2));
	sparsity = PG_GETARG_FLOAT8(3);
	parse_choice(method, "pruning method", names, codes, lengthof(names));
	if (!(sparsity >= 0 && sparsity < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sparsity must be at least 0 and less than 1, got %g", sparsity),
				 errhint("It is the share of weights to remove, e.g. 0.8.")));
	SPI_connect();
	MemoryContextSwitchTo(fncxt);
	read_version(name, version, true, &parent);
	mm_require_owner(&parent.model, "add versions to");
	relid = heldout_relation(fcinfo, 4, &parent);
	mm_error_clear(&err);
	raise_core(mm_prune(parent.parsed,
						parse_choice(method, "pruning method", names, codes, lengthof(names)),
						sparsity, &child, &info, &err), &err);
	result = save_compressed(fcinfo, &parent, child, "prune",
							 psprintf("{\"method\": \"%s\", \"sparsity\": %s}", method, float8out_internal(sparsity)),
							 relid);
	SPI_finish();
	MemoryContextSwitchTo(fncxt);
	mm_model_free(child);
	return result;
}

/* quantize(name, version, dtype, scheme, granularity, relation) */
Datum
mm_quantize_version(PG_FUNCTION_ARGS)
{
	static const char *const dtypes[] = {"int8", "float16"};
	static const int dtype_codes[] = {MM_DTYPE_I8, MM_DTYPE_F16};
	static const char *const schemes[] = {"symmetric", "asymmetric"};
	static const int scheme_codes[] = {MM_QUANT_SYMMETRIC, MM_QUANT_ASYMMETRIC};
	static const char *const grans[] = {"tensor", "channel"};
	static const int gran_codes[] = {MM_QUANT_PER_TENSOR, MM_QUANT_PER_CHANNEL};
	char	   *name;
	int32		version;
	char	   *dtype,
			   *scheme,
			   *gran;
	int			d,
				s,
				g;
	VersionRow	parent;
	mm_model   *child;
	mm_error	err;
	Oid			relid;
	Datum		result;
	MemoryContext fncxt = CurrentMemoryContext;

	mm_require_arg(fcinfo, 0, "model name");
	mm_require_arg(fcinfo, 1, "version");
	mm_require_arg(fcinfo, 2, "dtype");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	version = mm_version_arg(fcinfo, 1);
	dtype = text_to_cstring(PG_GETARG_TEXT_PP(2));
	d = parse_choice(dtype, "dtype", dtypes, dtype_codes, lengthof(dtypes));
	/* NULL: int8's defaults; float16 has neither */
	scheme = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	gran = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	if (d == MM_DTYPE_F16 && (scheme || gran))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("float16 quantization has no %s", scheme ? "scheme" : "granularity"),
				 errhint("Leave scheme and granularity out for float16; they choose how int8 scales are made.")));
	if (scheme == NULL)
		scheme = "symmetric";
	if (gran == NULL)
		gran = "channel";
	s = parse_choice(scheme, "quantization scheme", schemes, scheme_codes, lengthof(schemes));
	g = parse_choice(gran, "quantization granularity", grans, gran_codes, lengthof(grans));
	SPI_connect();
	MemoryContextSwitchTo(fncxt);
	read_version(name, version, true, &parent);
	mm_require_owner(&parent.model, "add versions to");
	relid = heldout_relation(fcinfo, 5, &parent);
	mm_error_clear(&err);
	raise_core(mm_quantize(parent.parsed, d,
						   d == MM_DTYPE_I8 ? s : MM_QUANT_DEFAULT,
						   d == MM_DTYPE_I8 ? g : MM_QUANT_DEFAULT, &child, &err), &err);
	/* a pruned parent's int8 values may be smaller dense than sparse */
	raise_core(mm_compact_weights(child, &err), &err);
	result = save_compressed(fcinfo, &parent, child, "quantize",
							 d == MM_DTYPE_I8 ?
							 psprintf("{\"dtype\": \"%s\", \"scheme\": \"%s\", \"granularity\": \"%s\"}", dtype, scheme, gran) :
							 psprintf("{\"dtype\": \"%s\"}", dtype),
							 relid);
	SPI_finish();
	MemoryContextSwitchTo(fncxt);
	mm_model_free(child);
	return result;
}

static void
put_property(ReturnSetInfo *rsinfo, const char *property, const char *a, const char *b,
			 double change)
{
	Datum		values[4];
	bool		nulls[4] = {false, a == NULL, b == NULL, isnan(change)};

	values[0] = CStringGetTextDatum(property);
	values[1] = a ? CStringGetTextDatum(a) : (Datum) 0;
	values[2] = b ? CStringGetTextDatum(b) : (Datum) 0;
	values[3] = Float8GetDatum(change);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

static void
put_number(ReturnSetInfo *rsinfo, const char *property, double a, double b)
{
	StringInfoData x,
				y;

	initStringInfo(&x);
	initStringInfo(&y);
	mm_json_number(&x, a);
	mm_json_number(&y, b);
	put_property(rsinfo, property, isnan(a) ? NULL : x.data, isnan(b) ? NULL : y.data, b - a);
}

/* A number in a jsonb object at path test.key, or NaN. */
static double
test_metric(Jsonb *metrics, const char *key)
{
	JsonbValue *t = getKeyJsonValueFromContainer(&metrics->root, "test", 4, NULL);
	JsonbValue *v;

	if (t == NULL || t->type != jbvBinary)
		return NAN;
	v = getKeyJsonValueFromContainer(t->val.binary.data, key, strlen(key), NULL);
	if (v == NULL || v->type != jbvNumeric)
		return NAN;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

/*
 * compare(name, v1, v2, sample_rows): the two versions side by side, one
 * property per row (v1, v2 as text, change = v2 - v1 for numbers): test
 * metrics as recorded, artifact size, parameter and non-zero counts, weight
 * dtype, and the mean time of one prediction over a sample of the source
 * relation's rows (both versions on the same rows).
 */
Datum
mm_compare(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const char *const keys[] = {"accuracy", "precision", "recall", "f1", "roc_auc",
	"log_loss", "mse", "rmse", "mae", "r2"};
	char	   *name;
	VersionRow	a,
				b;
	int64		sample;
	double		ta = NAN,
				tb = NAN;
	MemoryContext fncxt = CurrentMemoryContext;

	mm_require_arg(fcinfo, 0, "model name");
	mm_require_arg(fcinfo, 1, "v1");
	mm_require_arg(fcinfo, 2, "v2");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	sample = PG_ARGISNULL(3) ? 1000 : PG_GETARG_INT32(3);
	if (sample < 1 || sample > 1000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample_rows must be between 1 and 1000000, got " INT64_FORMAT, sample)));
	SPI_connect();
	MemoryContextSwitchTo(fncxt);
	read_version(name, mm_version_arg(fcinfo, 1), false, &a);
	mm_require_use(&a.model);
	read_version(name, mm_version_arg(fcinfo, 2), false, &b);
	/* latency on the same sample of the source relation, when it exists */
	if (a.source && a.target)
	{
		Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(a.source)),
											 AccessShareLock, true);

		/* without SELECT on the source there is no latency to measure */
		if (OidIsValid(relid) &&
			pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
			pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT, ACLMASK_ALL) != ACLCHECK_OK)
			relid = InvalidOid;
		if (OidIsValid(relid))
		{
			MatrixRun  *run = mm_matrix_read(a.algorithm, relid, a.target, a.features,
											 (uint64) a.seed, 0, sample);
			StringInfoData ignore;
			int64		rows;

			initStringInfo(&ignore);
			if (!mm_matrix_model_metrics(run, a.parsed, &ignore, &rows, &ta))
				ta = NAN;
			resetStringInfo(&ignore);
			if (!mm_matrix_model_metrics(run, b.parsed, &ignore, &rows, &tb))
				tb = NAN;
		}
	}
	SPI_finish();
	MemoryContextSwitchTo(fncxt);

	InitMaterializedSRF(fcinfo, 0);
	put_property(rsinfo, "algorithm", a.algorithm, b.algorithm, NAN);
	put_property(rsinfo, "dtype", weight_dtype(a.parsed), weight_dtype(b.parsed), NAN);
	put_number(rsinfo, "size_bytes", VARSIZE(a.artifact) - VARHDRSZ, VARSIZE(b.artifact) - VARHDRSZ);
	put_number(rsinfo, "params", (double) mm_model_param_count(a.parsed), (double) mm_model_param_count(b.parsed));
	put_number(rsinfo, "nonzero", (double) mm_model_nonzero_count(a.parsed), (double) mm_model_nonzero_count(b.parsed));
	for (size_t i = 0; i < lengthof(keys); i++)
	{
		double		x = test_metric(a.metrics, keys[i]);
		double		y = test_metric(b.metrics, keys[i]);

		if (!isnan(x) || !isnan(y))
			put_number(rsinfo, psprintf("test_%s", keys[i]), x, y);
	}
	put_number(rsinfo, "predict_us_per_row", ta * 1e6, tb * 1e6);
	return (Datum) 0;
}
