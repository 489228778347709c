/*
 * linreg_agg.c
 *	  The linear_fit aggregate and its state type modelmgr.linreg_state.
 *
 * The state is a real SQL type (not internal) so parallel workers and Citus
 * can ship it: a varlena holding a small header (options) followed by the
 * core's flat mm_linreg_state, which the transition function updates in
 * place under AggCheckCallContext, as float8_accum does.  The text form is
 * base64 of a compact little-endian serialization with pending rows folded
 * in: exact for every double, and independent of collation.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "nodes/execnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "mm_bytes.h"
#include "mm_linreg.h"
#include "mm_model.h"
#include "mm_pg.h"

PG_FUNCTION_INFO_V1(mm_linreg_state_in);
PG_FUNCTION_INFO_V1(mm_linreg_state_out);
PG_FUNCTION_INFO_V1(mm_linreg_state_recv);
PG_FUNCTION_INFO_V1(mm_linreg_state_send);
PG_FUNCTION_INFO_V1(mm_linreg_transfn);
PG_FUNCTION_INFO_V1(mm_linreg_combine);
PG_FUNCTION_INFO_V1(mm_linreg_final);

/* Header in front of the core state; 16 bytes keep the doubles aligned. */
typedef struct LinregAgg
{
	int32		vl_len_;
	uint8		version;		/* LINREG_AGG_VERSION */
	uint8		fit_intercept;
	uint16		reserved;		/* must be zero */
	double		l2;
} LinregAgg;

#define LINREG_AGG_VERSION 1
#define LINREG_AGG_HDR 16
#define AGG_CORE(a) ((mm_linreg_state *) ((char *) (a) + LINREG_AGG_HDR))

StaticAssertDecl(sizeof(LinregAgg) == LINREG_AGG_HDR, "LinregAgg header size");

/* A new aggregate state for p features, in the current memory context. */
static LinregAgg *
agg_new(int32 p, int32 cap, bool fit_intercept, double l2)
{
	Size		core = mm_linreg_state_size(p, cap);
	LinregAgg  *a;

	if (core == 0 || core > MaxAllocHugeSize - LINREG_AGG_HDR)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("linear_fit supports 1 to %d features, got %d",
						MM_LINREG_MAX_FEATURES, p)));
	if (LINREG_AGG_HDR + core > mm_training_memory_limit())
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("linear_fit with %d features needs %zu kB, more than modelmgr.max_training_memory",
						p, (LINREG_AGG_HDR + core) / 1024),
				 errhint("Raise modelmgr.max_training_memory or use fewer features.")));
	a = palloc_extended(LINREG_AGG_HDR + core, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	SET_VARSIZE(a, LINREG_AGG_HDR + core);
	a->version = LINREG_AGG_VERSION;
	a->fit_intercept = fit_intercept ? 1 : 0;
	a->reserved = 0;
	a->l2 = l2;
	mm_linreg_init(AGG_CORE(a), p, cap);
	return a;
}

/*
 * A state starts with the core's default block (256 rows for up to 63
 * features: 37 kB for 16) and, once it has folded AGG_GROW_AFTER blocks,
 * moves to a block AGG_GROW_FACTOR times larger (at most AGG_MAX_BLOCK_BYTES
 * of rows), which spreads each fold's fixed cost (an inverse, a Cholesky
 * factor, two BLAS calls) over more rows.  States of small groups stay
 * small.
 */
#define AGG_GROW_FACTOR 4
#define AGG_GROW_AFTER 4
#define AGG_MAX_BLOCK_BYTES ((Size) 4 * 1024 * 1024)

/*
 * A copy of a with the larger block, in the current memory context (nodeAgg
 * copies a new state into its own context and frees the old one), or a
 * itself when it is not time to grow or the memory is not there.
 */
static LinregAgg *
agg_maybe_grow(LinregAgg *a)
{
	mm_linreg_state *s = AGG_CORE(a);
	int32		p = s->p;
	int64		cap = (int64) mm_linreg_default_block(p) * AGG_GROW_FACTOR;
	Size		core;
	LinregAgg  *b;

	if (s->block_n != 0 || s->block_cap >= cap ||
		s->n < (int64) s->block_cap * AGG_GROW_AFTER)
		return a;
	cap = Min(cap, (int64) (AGG_MAX_BLOCK_BYTES / (sizeof(double) * (p + 1))));
	if (cap <= s->block_cap)
		return a;
	core = mm_linreg_state_size(p, (int32) cap);
	if (core == 0 || LINREG_AGG_HDR + core > mm_training_memory_limit())
		return a;
	b = palloc_extended(LINREG_AGG_HDR + core,
						MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO | MCXT_ALLOC_NO_OOM);
	if (b == NULL)
		return a;
	SET_VARSIZE(b, LINREG_AGG_HDR + core);
	b->version = a->version;
	b->fit_intercept = a->fit_intercept;
	b->reserved = 0;
	b->l2 = a->l2;
	mm_linreg_init(AGG_CORE(b), p, (int32) cap);
	mm_linreg_copy(AGG_CORE(b), s);
	return b;
}

static LinregAgg *
agg_copy(const LinregAgg *src)
{
	LinregAgg  *a = palloc_extended(VARSIZE(src), MCXT_ALLOC_HUGE);

	memcpy(a, src, VARSIZE(src));
	return a;
}

/* options jsonb: {"l2": number >= 0, "fit_intercept": boolean} */
static void
parse_options(Jsonb *opts, bool *fit_intercept, double *l2)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	*fit_intercept = true;
	*l2 = 0.0;
	if (opts == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("linear_fit options must be a JSON object"),
				 errhint("For example '{\"l2\": 0.1, \"fit_intercept\": true}'.")));
	it = JsonbIteratorInit(&opts->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			if (strcmp(key, "l2") == 0)
			{
				double		d = -1;

				if (v.type == jbvNumeric)
					d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, NumericGetDatum(v.val.numeric)));
				if (v.type != jbvNumeric || !isfinite(d) || d < 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"l2\" must be a finite number >= 0")));
				*l2 = d;
			}
			else if (strcmp(key, "fit_intercept") == 0)
			{
				if (v.type != jbvBool)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"fit_intercept\" must be true or false")));
				*fit_intercept = v.val.boolean;
			}
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown linear_fit option \"%s\"", key),
						 errhint("Valid options are \"l2\" and \"fit_intercept\".")));
		}
	}
}

/* ---- state type I/O -------------------------------------------------- */

static bytea *
agg_serialize(const LinregAgg *a)
{
	mm_buf		buf;
	mm_error	err;
	bytea	   *out;

	mm_error_clear(&err);
	mm_buf_init(&buf);
	mm_buf_put_u8(&buf, a->version);
	mm_buf_put_u8(&buf, a->fit_intercept);
	mm_buf_put_u16(&buf, 0);
	mm_buf_put_f64(&buf, a->l2);
	if (mm_linreg_serialize(AGG_CORE(a), &buf, &err) != MM_OK)
		mm_raise(&err);
	if (buf.failed)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	out = palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(out, VARHDRSZ + buf.len);
	memcpy(VARDATA(out), buf.data, buf.len);
	mm_buf_free(&buf);
	return out;
}

static LinregAgg *
agg_deserialize(const uint8 *data, size_t len)
{
	mm_reader	r;
	uint8		version,
				fit;
	uint16		reserved;
	double		l2;
	mm_linreg_state *core;
	mm_error	err;
	LinregAgg  *a;
	Size		core_size;

	mm_reader_init(&r, data, len);
	if (!mm_get_u8(&r, &version) || !mm_get_u8(&r, &fit) ||
		!mm_get_u16(&r, &reserved) || !mm_get_f64(&r, &l2) ||
		version != LINREG_AGG_VERSION || fit > 1 || reserved != 0 ||
		!isfinite(l2) || l2 < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid modelmgr.linreg_state header")));
	mm_error_clear(&err);
	if (mm_linreg_parse(data + r.pos, len - r.pos, 0, &core, &err) != MM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid modelmgr.linreg_state: %s", err.message)));
	core_size = mm_linreg_state_size(core->p, core->block_cap);
	a = palloc_extended(LINREG_AGG_HDR + core_size, MCXT_ALLOC_HUGE);
	SET_VARSIZE(a, LINREG_AGG_HDR + core_size);
	a->version = version;
	a->fit_intercept = fit;
	a->reserved = 0;
	a->l2 = l2;
	memcpy(AGG_CORE(a), core, core_size);
	mm_free(core);
	return a;
}

Datum
mm_linreg_state_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	uint8_t    *bytes;
	size_t		len;
	LinregAgg  *a;

	if (!mm_base64_decode(str, strlen(str), &bytes, &len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type modelmgr.linreg_state"),
				 errdetail("The text form is base64.")));
	a = agg_deserialize(bytes, len);
	mm_free(bytes);
	PG_RETURN_POINTER(a);
}

Datum
mm_linreg_state_out(PG_FUNCTION_ARGS)
{
	LinregAgg  *a = (LinregAgg *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	bytea	   *b = agg_serialize(a);

	PG_RETURN_CSTRING(mm_base64_cstring(VARDATA(b), VARSIZE(b) - VARHDRSZ));
}

Datum
mm_linreg_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const char *data = pq_getmsgbytes(buf, len);

	PG_RETURN_POINTER(agg_deserialize((const uint8 *) data, len));
}

Datum
mm_linreg_state_send(PG_FUNCTION_ARGS)
{
	LinregAgg  *a = (LinregAgg *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));

	PG_RETURN_BYTEA_P(agg_serialize(a));
}

/* ---- aggregate ----------------------------------------------------------- */

/*
 * The row's NaN or infinity, reported by position (y first, then x in
 * order); the caller knows there is one.
 */
static void
report_not_finite(double y, const double *x, int32 p)
{
	if (!isfinite(y))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("y is %s; linear_fit needs finite values", isnan(y) ? "NaN" : "infinite"),
				 errhint("Filter such rows out, e.g. WHERE y <> 'NaN' AND y NOT IN ('Infinity', '-Infinity').")));
	for (int32 j = 0; j < p; j++)
		if (!isfinite(x[j]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("x[%d] is %s; linear_fit needs finite values", j + 1,
							isnan(x[j]) ? "NaN" : "infinite"),
					 errhint("Filter such rows out or replace the values before fitting.")));
}

/*
 * Transition: the state is updated in place (it lives in the aggregate's
 * context and is returned as is, so nodeAgg never copies it; the one
 * exception is agg_maybe_grow's single move to a larger block).  The
 * array's doubles are read where they lie when it has no NULL; the row goes
 * into the state's block buffer, checked for finiteness in the same pass,
 * and full blocks are folded by level-3 BLAS (mm_linreg.c).  Nothing is
 * allocated per row.
 */
Datum
mm_linreg_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	LinregAgg  *a;
	ArrayType  *arr;
	int32		p;
	double		y;
	const double *x;
	mm_error	err;
	mm_status	st;

	/* AggCheckCallContext's test, inline: this runs once per row */
	if (fcinfo->context == NULL ||
		!(IsA(fcinfo->context, AggState) || IsA(fcinfo->context, WindowAggState)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("linreg_transfn can only be called by the linear_fit aggregate")));

	a = PG_ARGISNULL(0) ? NULL : (LinregAgg *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		goto skip;
	/* ARRAY[...] is built untoasted: detoast only when needed */
	arr = (ArrayType *) PG_GETARG_POINTER(2);
	if (VARATT_IS_EXTENDED(arr))
		arr = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(arr) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("linear_fit needs x as a one-dimensional array, got %d dimensions",
						ARR_NDIM(arr))));
	if (ARR_HASNULL(arr) && array_contains_nulls(arr))
		goto skip;
	p = ARR_DIMS(arr)[0];
	y = PG_GETARG_FLOAT8(1);
	x = (const double *) ARR_DATA_PTR(arr);

	if (a == NULL)
	{
		bool		fit_intercept;
		double		l2;
		MemoryContext old;

		if (!AggCheckCallContext(fcinfo, &aggcxt))
			elog(ERROR, "linreg_transfn called outside an aggregate");
		parse_options((PG_NARGS() > 3 && !PG_ARGISNULL(3)) ? PG_GETARG_JSONB_P(3) : NULL,
					  &fit_intercept, &l2);
		old = MemoryContextSwitchTo(aggcxt);
		a = agg_new(p, mm_linreg_default_block(p), fit_intercept, l2);
		MemoryContextSwitchTo(old);
	}
	else if (AGG_CORE(a)->p != p)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x has %d elements in this row but %d in earlier rows", p, AGG_CORE(a)->p),
				 errhint("Every row must pass the same features in the same order.")));

	mm_error_clear(&err);
	st = mm_linreg_add_checked(AGG_CORE(a), x, y, &err);
	if (st != MM_OK)
	{
		if (st == MM_ERR_DATA)
			report_not_finite(y, x, p);
		mm_raise(&err);
	}
	if (AGG_CORE(a)->block_n == 0)
		a = agg_maybe_grow(a);
	PG_RETURN_POINTER(a);

skip:
	if (a == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(a);
}

Datum
mm_linreg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	bool		in_agg = AggCheckCallContext(fcinfo, &aggcxt);
	LinregAgg  *a;
	LinregAgg  *b;
	mm_error	err;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = (LinregAgg *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(in_agg ? aggcxt : CurrentMemoryContext);

		a = agg_copy(b);
		MemoryContextSwitchTo(old);
		PG_RETURN_POINTER(a);
	}
	a = (LinregAgg *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	/* update the running state in place only when it is ours to change */
	if (!in_agg || a != (LinregAgg *) DatumGetPointer(PG_GETARG_DATUM(0)))
	{
		MemoryContext old = MemoryContextSwitchTo(in_agg ? aggcxt : CurrentMemoryContext);

		a = agg_copy(a);
		MemoryContextSwitchTo(old);
	}
	if (AGG_CORE(a)->p != AGG_CORE(b)->p)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine linear_fit states of %d and %d features",
						AGG_CORE(a)->p, AGG_CORE(b)->p)));
	if (a->fit_intercept != b->fit_intercept || a->l2 != b->l2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine linear_fit states with different options")));
	mm_error_clear(&err);
	if (mm_linreg_merge(AGG_CORE(a), AGG_CORE(b), &err) != MM_OK)
		mm_raise(&err);
	PG_RETURN_POINTER(a);
}

/*
 * Final: solve a flushed copy (the state may be finalized more than once)
 * and return the model, with training statistics as attributes.
 */
Datum
mm_linreg_final(PG_FUNCTION_ARGS)
{
	LinregAgg  *a = agg_copy((LinregAgg *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0)));
	mm_linreg_state *s = AGG_CORE(a);
	mm_linreg_options opt;
	mm_error	err;
	double	   *coef;
	double		intercept;
	int32		bad = -1;
	mm_model   *model;
	mm_tensor  *t;
	double		sse,
				sst;
	bytea	   *result;

	mm_error_clear(&err);
	MM_CHECK(mm_linreg_flush(s, &err), &err);
	mm_linreg_default_options(&opt);
	opt.fit_intercept = a->fit_intercept != 0;
	opt.l2 = a->l2;
	coef = palloc(sizeof(double) * s->p);
	if (mm_linreg_solve(s, &opt, coef, &intercept, &bad, &err) != MM_OK)
	{
		if (err.status == MM_ERR_DATA && bad >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("x[%d] is constant or a linear combination of the other features", bad + 1),
					 errdetail("The design matrix is rank deficient, so the least-squares coefficients are not unique."),
					 errhint("Leave that element out of x, or pass '{\"l2\": 0.001}' for a ridge fit.")));
		mm_raise(&err);
	}

	model = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	MM_CHECK(mm_model_set_target(model, "y", &err), &err);
	for (int32 j = 0; j < s->p; j++)
	{
		char		fname[32];
		mm_feature *f;

		snprintf(fname, sizeof(fname), "x%d", j + 1);
		f = mm_model_add_feature(model, fname, &err);
		if (!f)
			mm_raise(&err);
		f->impute_value = MM_LINREG_MEAN(s)[j];
	}
	t = mm_model_add_tensor(model, "coef", MM_DTYPE_F64, 1, s->p, &err);
	if (!t)
		mm_raise(&err);
	memcpy(t->values, coef, sizeof(double) * s->p);
	t = mm_model_add_tensor(model, "intercept", MM_DTYPE_F64, 1, 1, &err);
	if (!t)
		mm_raise(&err);
	((double *) t->values)[0] = intercept;

	sse = mm_linreg_sse(s, coef, intercept);
	sst = mm_linreg_sst(s);
	MM_CHECK(mm_model_set_attr(model, "fit_intercept", opt.fit_intercept ? 1 : 0, &err), &err);
	MM_CHECK(mm_model_set_attr(model, "l2", opt.l2, &err), &err);
	MM_CHECK(mm_model_set_attr(model, "train_rows", (double) s->n, &err), &err);
	MM_CHECK(mm_model_set_attr(model, "train_mse", sse / (double) s->n, &err), &err);
	if (sst > 0)
		MM_CHECK(mm_model_set_attr(model, "train_r2", 1.0 - sse / sst, &err), &err);
	result = mm_serialize_model(model);
	mm_model_free(model);
	PG_RETURN_BYTEA_P(result);
}
