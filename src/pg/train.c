/*
 * train.c
 *	  modelmgr.train(): one pass over the relation (read with the caller's
 *	  rights), a deterministic train/test split, the fit, metrics from
 *	  sufficient statistics, and a new registry version.
 *
 * The split: a row is held out iff hash(seed, row values) < test_fraction,
 * so it depends neither on scan order nor on parallelism, and can be rebuilt
 * later.  Test MSE and R2 come from a second QR state over the held-out rows
 * (the SSE of any linear model is a function of that state); MAE comes from
 * a bounded sample of rows chosen by a second hash (the rows with the
 * smallest hashes, at most MM_SAMPLE_ROWS per split), so memory stays flat.
 * With up to MM_SAMPLE_ROWS rows in a split, its MAE is exact.
 *
 * NULL features: rows with a NULL feature are buffered (bounded by
 * modelmgr.max_training_memory) until the training means are known, then
 * imputed with them and added; the means are recorded in the model and used
 * at predict time.  NaN and infinite values are refused with an error.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "mm_bytes.h"
#include "mm_drift.h"
#include "mm_enet.h"
#include "mm_linreg.h"
#include "mm_pg.h"
#include "mm_predict.h"
#include "mm_stats.h"
#include "mm_train.h"
#include "mm_train_input.h"

#define MM_SAMPLE_ROWS 10000

/* Bottom-k sample of rows by hash: a max-heap on the key. */
typedef struct RowSample
{
	int			cap;
	int			n;
	int			width;
	uint64	   *keys;
	double	   *rows;
} RowSample;

typedef struct TrainRun
{
	mm_train_input in;
	int			p;
	double		fraction;
	uint64		seed;
	bool		impute_error;
	int			algorithm;		/* mm_algorithm */
	mm_linreg_options opt;
	mm_enet_options enet;		/* lasso and elastic_net */
	mm_linreg_state *train;
	mm_linreg_state *test;
	double	   *pending;		/* rows with a NULL feature: flag, y, x */
	int64		pending_n;
	int64		pending_cap;
	RowSample	train_sample;
	RowSample	test_sample;
	int64		rows_read;
	int64		null_target;
	int64		null_rows;
	Size		mem_used;
	double	   *coef;
	double		intercept;
	mm_predictor *pred;			/* the new model, for scoring */
	int64		test_null_rows; /* held-out rows with a NULL feature */
	int32		champion;		/* deployed version scored against, or 0 */
	double		champion_score; /* mse on the held-out rows, or NaN */
	double		challenger_score;
} TrainRun;

/* Add bytes to *used; an error naming what when over the limit. */
void
mm_charge_memory(Size *used, Size bytes, const char *what)
{
	*used += bytes;
	if (*used > mm_training_memory_limit())
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("training needs more than modelmgr.max_training_memory (%d kB) for %s",
						mm_max_training_memory_kb, what),
				 errhint("Raise modelmgr.max_training_memory, use fewer features, or filter out rows with NULL features.")));
}

static void
sample_init(TrainRun *run, RowSample *s, int width)
{
	/* keep a sample under ~8 MB per split however wide the rows */
	s->cap = Min(MM_SAMPLE_ROWS, Max(1000, (8 * 1024 * 1024) / (int) (sizeof(double) * width)));
	s->n = 0;
	s->width = width;
	mm_charge_memory(&run->mem_used, (Size) s->cap * (sizeof(uint64) + sizeof(double) * width), "the metric sample");
	s->keys = palloc(sizeof(uint64) * s->cap);
	s->rows = palloc_extended(sizeof(double) * s->cap * width, MCXT_ALLOC_HUGE);
}

static void
sample_swap(RowSample *s, int a, int b, double *tmp)
{
	uint64		k = s->keys[a];

	s->keys[a] = s->keys[b];
	s->keys[b] = k;
	memcpy(tmp, s->rows + (Size) a * s->width, sizeof(double) * s->width);
	memcpy(s->rows + (Size) a * s->width, s->rows + (Size) b * s->width, sizeof(double) * s->width);
	memcpy(s->rows + (Size) b * s->width, tmp, sizeof(double) * s->width);
}

static void
sample_offer(RowSample *s, uint64 key, const double *row, double *tmp)
{
	int			i;

	if (s->n < s->cap)
	{
		i = s->n++;
		s->keys[i] = key;
		memcpy(s->rows + (Size) i * s->width, row, sizeof(double) * s->width);
		while (i > 0 && s->keys[(i - 1) / 2] < s->keys[i])
		{
			sample_swap(s, i, (i - 1) / 2, tmp);
			i = (i - 1) / 2;
		}
		return;
	}
	if (key >= s->keys[0])
		return;
	s->keys[0] = key;
	memcpy(s->rows, row, sizeof(double) * s->width);
	i = 0;
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					m = i;

		if (l < s->n && s->keys[l] > s->keys[m])
			m = l;
		if (r < s->n && s->keys[r] > s->keys[m])
			m = r;
		if (m == i)
			break;
		sample_swap(s, i, m, tmp);
		i = m;
	}
}

static void
raise_core(mm_status st, mm_error *err)
{
	if (st != MM_OK)
		mm_raise(err);
}

/*
 * The split: read the target and features of a row (NaN marks NULL) into
 * row[0..p] and hash them with the seed; the row is held out iff the hash,
 * mapped to [0, 1), is below test_fraction.  NaN and infinite values are an
 * error.  *has_null says whether a feature was NULL.
 */
static uint64
split_hash(TrainRun *run, Datum *values, bool *nulls, double *row, bool *has_null)
{
	mm_hasher	hs;

	*has_null = false;
	mm_hash_init(&hs, run->seed);
	for (int i = 0; i <= run->p; i++)
	{
		if (nulls[i])
		{
			*has_null = true;
			row[i] = NAN;
			mm_hash_null(&hs);
			continue;
		}
		row[i] = DatumGetFloat8(values[i]);
		if (!isfinite(row[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("column \"%s\" holds %s, which training cannot use",
							i == 0 ? run->in.target : run->in.features[i - 1],
							isnan(row[i]) ? "NaN" : "an infinite value"),
					 errhint("Filter those rows out with a view, or replace the values with NULL (NULL features are imputed).")));
		mm_hash_double(&hs, row[i]);
	}
	return mm_hash_final(&hs);
}

/* Account for one fetched row. */
static void
train_row(TrainRun *run, Datum *values, bool *nulls, double *row, double *tmp)
{
	uint64		h;
	bool		is_test;
	bool		has_null;
	mm_error	err;

	run->rows_read++;
	if ((run->rows_read & 8191) == 0)
		mm_progress_rows(run->rows_read);
	if (nulls[0])
	{
		run->null_target++;
		return;
	}
	h = split_hash(run, values, nulls, row, &has_null);
	is_test = mm_hash_unit(h) < run->fraction;

	if (has_null && run->impute_error)
	{
		for (int i = 1; i <= run->p; i++)
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("feature column \"%s\" is NULL in a row and params say \"impute\": \"error\"",
								run->in.features[i - 1]),
						 errhint("Filter those rows out, or use \"impute\": \"mean\".")));
	}
	sample_offer(is_test ? &run->test_sample : &run->train_sample, mm_hash_mix(h), row, tmp);

	if (!has_null)
	{
		mm_error_clear(&err);
		raise_core(mm_linreg_add(is_test ? run->test : run->train, row + 1, row[0], &err), &err);
		return;
	}
	run->null_rows++;
	if (run->pending_n == run->pending_cap)
	{
		int64		newcap = Max(1024, run->pending_cap * 2);
		Size		width = (Size) (run->p + 2) * sizeof(double);

		mm_charge_memory(&run->mem_used, (Size) (newcap - run->pending_cap) * width, "rows with NULL features");
		run->pending = run->pending ?
			repalloc_huge(run->pending, newcap * width) :
			palloc_extended(newcap * width, MCXT_ALLOC_HUGE);
		run->pending_cap = newcap;
	}
	{
		double	   *dst = run->pending + (Size) run->pending_n * (run->p + 2);

		dst[0] = is_test ? 1.0 : 0.0;
		memcpy(dst + 1, row, sizeof(double) * (run->p + 1));
		run->pending_n++;
	}
}

typedef struct TrainScan
{
	TrainRun   *run;
	double	   *row;
	double	   *tmp;
} TrainScan;

static bool
train_scan_row(void *arg, Datum *values, bool *nulls)
{
	TrainScan  *ts = (TrainScan *) arg;

	train_row(ts->run, values, nulls, ts->row, ts->tmp);
	return true;
}

/* Scan the relation with the caller's rights. */
static void
scan_relation(TrainRun *run)
{
	TrainScan	ts;
	Size		batch_bytes;

	mm_fetch_rows(run->p + 1, &batch_bytes);
	mm_charge_memory(&run->mem_used, batch_bytes, "a batch of rows read");
	ts.run = run;
	ts.row = palloc(sizeof(double) * (run->p + 1));
	ts.tmp = palloc(sizeof(double) * (run->p + 1));
	mm_scan_train_input(&run->in, 0, train_scan_row, &ts);
}

/*
 * Impute buffered rows with the training means (over every training row
 * where the feature is present) and add them to their states.
 */
static double *
finish_imputation(TrainRun *run)
{
	int			p = run->p;
	double	   *impute = palloc0(sizeof(double) * p);
	double	   *sum = palloc0(sizeof(double) * p);
	int64	   *cnt = palloc0(sizeof(int64) * p);
	mm_error	err;

	mm_error_clear(&err);
	raise_core(mm_linreg_flush(run->train, &err), &err);
	for (int64 r = 0; r < run->pending_n; r++)
	{
		const double *row = run->pending + (Size) r * (p + 2);

		if (row[0] != 0.0)
			continue;
		for (int j = 0; j < p; j++)
			if (!isnan(row[2 + j]))
			{
				sum[j] += row[2 + j];
				cnt[j]++;
			}
	}
	for (int j = 0; j < p; j++)
	{
		double		n = (double) run->train->n + (double) cnt[j];

		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("feature column \"%s\" is NULL in every training row", run->in.features[j]),
					 errhint("Leave it out of features.")));
		impute[j] = ((double) run->train->n * MM_LINREG_MEAN(run->train)[j] + sum[j]) / n;
	}
	for (int64 r = 0; r < run->pending_n; r++)
	{
		double	   *row = run->pending + (Size) r * (p + 2);

		for (int j = 0; j < p; j++)
			if (isnan(row[2 + j]))
				row[2 + j] = impute[j];
		raise_core(mm_linreg_add(row[0] != 0.0 ? run->test : run->train,
								 row + 2, row[1], &err), &err);
	}
	raise_core(mm_linreg_flush(run->train, &err), &err);
	raise_core(mm_linreg_flush(run->test, &err), &err);
	return impute;
}

/* Metrics of one split as a JSON object. */
static void
split_metrics(StringInfo buf, TrainRun *run, mm_linreg_state *s, RowSample *sample,
			  const mm_predictor *pred)
{
	double		sse = mm_linreg_sse(s, run->coef, run->intercept);
	double		sst = mm_linreg_sst(s);
	double		n = (double) s->n;
	double		abs_sum = 0;
	bool	   *xnull = palloc(sizeof(bool) * run->p);
	mm_error	err;

	for (int i = 0; i < sample->n; i++)
	{
		const double *row = sample->rows + (Size) i * sample->width;
		double		yhat;

		for (int j = 0; j < run->p; j++)
			xnull[j] = isnan(row[1 + j]);
		mm_error_clear(&err);
		raise_core(mm_predict_row(pred, row + 1, xnull, &yhat, &err), &err);
		abs_sum += fabs(row[0] - yhat);
	}
	appendStringInfo(buf, "{\"rows\": " INT64_FORMAT ", \"mse\": ", s->n);
	mm_json_number(buf, sse / n);
	appendStringInfoString(buf, ", \"rmse\": ");
	mm_json_number(buf, sqrt(sse / n));
	appendStringInfoString(buf, ", \"mae\": ");
	mm_json_number(buf, sample->n > 0 ? abs_sum / sample->n : NAN);
	appendStringInfoString(buf, ", \"r2\": ");
	mm_json_number(buf, sst > 0 ? 1.0 - sse / sst : NAN);
	appendStringInfo(buf, ", \"mae_sample_rows\": %d}", sample->n);
}

/* One baseline (edges and CDF) as JSON, from n values (sorted in place). */
void
mm_baseline_json(StringInfo buf, double *values, int n, int nulls)
{
	double		edges[MM_DRIFT_EDGES];
	double		cdf[MM_DRIFT_EDGES];

	appendStringInfo(buf, "{\"rows\": %d, \"null_fraction\": ", n + nulls);
	mm_json_number(buf, n + nulls > 0 ? (double) nulls / (n + nulls) : 0.0);
	if (n == 0)
	{
		appendStringInfoChar(buf, '}');
		return;
	}
	mm_drift_baseline(values, n, edges, cdf);
	appendStringInfoString(buf, ", \"edges\": [");
	for (int i = 0; i < MM_DRIFT_EDGES; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		mm_json_number(buf, edges[i]);
	}
	appendStringInfoString(buf, "], \"cdf\": [");
	for (int i = 0; i < MM_DRIFT_EDGES; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		mm_json_number(buf, cdf[i]);
	}
	appendStringInfoString(buf, "]}");
}

/*
 * Drift baselines from the training sample: per feature the percentile
 * edges and CDF of its values, and the same for the model's predictions on
 * those rows (see mm_drift.h).  monitor() compares new data against them.
 */
static char *
build_baselines(TrainRun *run)
{
	RowSample  *s = &run->train_sample;
	double	   *vals = palloc(sizeof(double) * Max(s->n, 1));
	bool	   *xnull = palloc(sizeof(bool) * Max(run->p, 1));
	StringInfoData buf;
	mm_error	err;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"sample_rows\": %d, \"features\": {", s->n);
	for (int j = 0; j < run->p; j++)
	{
		int			n = 0;

		for (int i = 0; i < s->n; i++)
		{
			double		v = s->rows[(Size) i * s->width + 1 + j];

			if (!isnan(v))
				vals[n++] = v;
		}
		if (j > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, run->in.features[j]);
		appendStringInfoString(&buf, ": ");
		mm_baseline_json(&buf, vals, n, s->n - n);
	}
	appendStringInfoString(&buf, "}, \"prediction\": ");
	for (int i = 0; i < s->n; i++)
	{
		const double *row = s->rows + (Size) i * s->width;

		for (int j = 0; j < run->p; j++)
			xnull[j] = isnan(row[1 + j]);
		mm_error_clear(&err);
		raise_core(mm_predict_row(run->pred, row + 1, xnull, &vals[i], &err), &err);
	}
	mm_baseline_json(&buf, vals, s->n, 0);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* Build the model from the fitted coefficients. */
static mm_model *
build_model(TrainRun *run, const double *impute)
{
	mm_model   *model = mm_model_new(run->algorithm, MM_TASK_REGRESSION);
	mm_error	err;
	mm_tensor  *t;

	mm_error_clear(&err);
	if (!model)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	raise_core(mm_model_set_target(model, run->in.target, &err), &err);
	for (int j = 0; j < run->p; j++)
	{
		mm_feature *f = mm_model_add_feature(model, run->in.features[j], &err);

		if (!f)
			mm_raise(&err);
		f->impute = run->impute_error ? MM_IMPUTE_ERROR : MM_IMPUTE_VALUE;
		f->impute_value = impute[j];
	}
	t = mm_model_add_tensor(model, "coef", MM_DTYPE_F64, 1, run->p, &err);
	if (!t)
		mm_raise(&err);
	memcpy(t->values, run->coef, sizeof(double) * run->p);
	t = mm_model_add_tensor(model, "intercept", MM_DTYPE_F64, 1, 1, &err);
	if (!t)
		mm_raise(&err);
	((double *) t->values)[0] = run->intercept;
	raise_core(mm_model_set_attr(model, "fit_intercept", run->opt.fit_intercept ? 1 : 0, &err), &err);
	if (run->algorithm == MM_ALGO_LINEAR_REGRESSION)
		raise_core(mm_model_set_attr(model, "l2", run->opt.l2, &err), &err);
	else
	{
		raise_core(mm_model_set_attr(model, "alpha", run->enet.alpha, &err), &err);
		raise_core(mm_model_set_attr(model, "l1_ratio", run->enet.l1_ratio, &err), &err);
	}
	return model;
}

/*
 * Score champion and challenger on this training's held-out rows by reading
 * the relation again (same snapshot: both scans are read-only SPI under the
 * calling statement's snapshot) and predicting each held-out row with both
 * models, each with its own imputation.  Returns false when the champion
 * cannot be scored on these rows (a feature it needs is not a numeric column
 * of the relation, or it cannot be served).
 */
typedef struct ChampionScan
{
	TrainRun   *run;
	mm_predictor *champion;
	int			cn;				/* champion's features */
	double	   *row;
	double	   *cx;
	bool	   *cnull;
	bool	   *xnull;
	double		sse_ours;
	double		sse_theirs;
	int64		n;
	bool		failed;			/* the champion could not predict a row */
} ChampionScan;

static bool
champion_scan_row(void *arg, Datum *values, bool *nulls)
{
	ChampionScan *cs = (ChampionScan *) arg;
	TrainRun   *run = cs->run;
	double		yhat_ours,
				yhat_theirs;
	bool		has_null;
	mm_error	err;

	if (nulls[0])
		return true;
	if (!(mm_hash_unit(split_hash(run, values, nulls, cs->row, &has_null)) < run->fraction))
		return true;
	for (int j = 0; j < run->p; j++)
		cs->xnull[j] = nulls[j + 1];
	for (int j = 0; j < cs->cn; j++)
	{
		cs->cnull[j] = nulls[run->p + 1 + j];
		cs->cx[j] = cs->cnull[j] ? 0 : DatumGetFloat8(values[run->p + 1 + j]);
	}
	mm_error_clear(&err);
	raise_core(mm_predict_row(run->pred, cs->row + 1, cs->xnull, &yhat_ours, &err), &err);
	if (mm_predict_row(cs->champion, cs->cx, cs->cnull, &yhat_theirs, &err) != MM_OK)
	{
		/* e.g. a NULL the champion does not impute: it cannot be scored */
		cs->failed = true;
		return false;
	}
	cs->sse_ours += (cs->row[0] - yhat_ours) * (cs->row[0] - yhat_ours);
	cs->sse_theirs += (cs->row[0] - yhat_theirs) * (cs->row[0] - yhat_theirs);
	cs->n++;
	return true;
}

static bool
score_by_scan(TrainRun *run, const mm_model *champ, double *ours, double *theirs)
{
	ChampionScan cs;
	mm_error	err;
	StringInfoData q;

	memset(&cs, 0, sizeof(cs));
	mm_error_clear(&err);
	if (mm_predictor_new(champ, &cs.champion, &err) != MM_OK)
		return false;
	if (champ->target == NULL || strcmp(champ->target, run->in.target) != 0)
		return false;
	cs.run = run;
	cs.cn = (int) champ->n_features;
	/* target and our features (for the split hash), then the champion's */
	initStringInfo(&q);
	appendStringInfo(&q, "SELECT %s::pg_catalog.float8", quote_identifier(run->in.target));
	for (int j = 0; j < run->p; j++)
		appendStringInfo(&q, ", %s::pg_catalog.float8", quote_identifier(run->in.features[j]));
	for (int j = 0; j < cs.cn; j++)
	{
		AttrNumber	att = get_attnum(run->in.relid, champ->features[j].name);

		if (att == InvalidAttrNumber || !mm_is_number_type(get_atttype(run->in.relid, att)))
			return false;
		appendStringInfo(&q, ", %s::pg_catalog.float8", quote_identifier(champ->features[j].name));
	}
	appendStringInfo(&q, " FROM %s", run->in.qualified);
	cs.row = palloc(sizeof(double) * (run->p + 1));
	cs.xnull = palloc(sizeof(bool) * Max(run->p, 1));
	cs.cx = palloc(sizeof(double) * Max(cs.cn, 1));
	cs.cnull = palloc(sizeof(bool) * Max(cs.cn, 1));
	mm_scan_rows(q.data, run->p + 1 + cs.cn, champion_scan_row, &cs);
	if (cs.failed || cs.n == 0)
		return false;
	*ours = cs.sse_ours / cs.n;
	*theirs = cs.sse_theirs / cs.n;
	return true;
}

/*
 * Score the deployed version (the champion) against the new one on this
 * training's held-out rows, with the task's key metric (mse).  A linear
 * champion over the same target and features is scored exactly from the
 * held-out QR state when no held-out row had a NULL feature (imputation
 * would differ); otherwise both are scored by reading the held-out rows
 * again.  Returns true when the new version is strictly better; ties keep
 * the champion.
 */
static bool
score_champion(void *arg, int64 model_id, int32 champion, char **reason)
{
	TrainRun   *run = (TrainRun *) arg;
	bytea	   *artifact;
	mm_model   *cm;
	bool		exact;
	double		ours,
				theirs;

	run->champion = champion;
	if (run->test->n == 0)
	{
		*reason = psprintf("no held-out rows to compare with version %d", champion);
		return false;
	}
	artifact = mm_fetch_artifact(model_id, champion, true);
	if (artifact == NULL)
	{
		*reason = psprintf("version %d could not be read; kept it", champion);
		return false;
	}
	{
		mm_error	perr;

		mm_error_clear(&perr);
		if (mm_model_parse(VARDATA_ANY(artifact), VARSIZE_ANY_EXHDR(artifact), &cm, &perr) != MM_OK)
		{
			*reason = psprintf("version %d cannot be read (%s); kept it", champion, perr.message);
			return false;
		}
	}
	exact = run->test_null_rows == 0 &&
		(cm->algorithm == MM_ALGO_LINEAR_REGRESSION || cm->algorithm == MM_ALGO_LASSO ||
		 cm->algorithm == MM_ALGO_ELASTIC_NET) &&
		cm->n_features == (uint32) run->p &&
		cm->target != NULL && strcmp(cm->target, run->in.target) == 0;
	for (int j = 0; exact && j < run->p; j++)
		exact = strcmp(cm->features[j].name, run->in.features[j]) == 0;
	if (exact)
	{
		const mm_tensor *c = mm_model_tensor(cm, "coef");
		const mm_tensor *i = mm_model_tensor(cm, "intercept");
		double	   *cc = palloc(sizeof(double) * run->p);

		for (int j = 0; j < run->p; j++)
			cc[j] = mm_tensor_get(c, 0, j);
		theirs = mm_linreg_sse(run->test, cc, mm_tensor_get(i, 0, 0)) / run->test->n;
		ours = mm_linreg_sse(run->test, run->coef, run->intercept) / run->test->n;
	}
	else if (!score_by_scan(run, cm, &ours, &theirs))
	{
		*reason = psprintf("version %d cannot be scored on these held-out rows (another target, a feature missing from the relation, or an algorithm that cannot serve); kept it",
						   champion);
		return false;
	}
	run->champion_score = theirs;
	run->challenger_score = ours;
	*reason = psprintf("test mse %.6g vs %.6g of version %d on the same " INT64_FORMAT " held-out rows",
					   ours, theirs, champion, run->test->n);
	return ours < theirs;
}

/* Seconds since start. */
double
mm_elapsed_since(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_DOUBLE(now);
}

/*
 * Save a trained version (both training paths): fill the fields of nv that
 * come from the spec, apply the deploy policy, and record the time of each
 * phase, the registry write included, in the new version.  The caller is
 * connected to SPI.
 */
mm_saved_version
mm_train_save(const mm_train_spec *spec, mm_new_version *nv,
			  mm_auto_decider decide, void *arg,
			  double t_read, double t_fit, double t_eval)
{
	instr_time	t_phase;
	mm_saved_version saved;
	StringInfoData phases;
	Oid			types[3] = {INT8OID, INT4OID, JSONBOID};
	Datum		args[3];

	INSTR_TIME_SET_CURRENT(t_phase);
	mm_progress_phase("save");
	nv->model_name = spec->name;
	nv->operation = spec->operation;
	nv->parent_version = spec->parent_version;
	nv->algorithm = spec->alg->name;
	nv->params = mm_params_jsonb(&spec->params);
	nv->has_seed = true;
	nv->seed = (int64) spec->seed;
	saved = mm_save_version(nv, spec->policy, decide, arg);

	initStringInfo(&phases);
	appendStringInfoString(&phases, "{\"read\": ");
	mm_json_number(&phases, t_read);
	appendStringInfoString(&phases, ", \"fit\": ");
	mm_json_number(&phases, t_fit);
	appendStringInfoString(&phases, ", \"evaluate\": ");
	mm_json_number(&phases, t_eval);
	appendStringInfoString(&phases, ", \"save\": ");
	mm_json_number(&phases, mm_elapsed_since(t_phase));
	appendStringInfoChar(&phases, '}');
	args[0] = Int64GetDatum(saved.model_id);
	args[1] = Int32GetDatum(saved.version);
	args[2] = JsonbPGetDatum(mm_jsonb_from_cstring(phases.data));
	mm_registry_exec("UPDATE modelmgr.model_versions SET phase_seconds = $3 "
					 "WHERE model_id OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
					 3, types, args, NULL, false, 0);
	return saved;
}

/*
 * What train() and retrain() return, from the saved version (both paths);
 * ends the training's progress record.  In the caller's memory context.
 */
void
mm_train_outcome_fill(mm_train_outcome *out, const mm_saved_version *saved,
					  const mm_new_version *nv, const char *task,
					  const char *key_metric, int32 champion,
					  double champion_score, double challenger_score,
					  instr_time t_start)
{
	out->version = saved->version;
	out->task = task;
	out->key_metric = key_metric;
	out->deployed = saved->deployed;
	out->reason = saved->reason ? pstrdup(saved->reason) : NULL;
	out->champion = champion;
	out->champion_score = champion_score;
	out->challenger_score = challenger_score;
	out->train_rows = nv->train_rows;
	out->test_rows = nv->test_rows;
	out->metrics = nv->metrics;
	out->seconds = mm_elapsed_since(t_start);
	mm_progress_end();
}

/*
 * One training: read, fit, evaluate, save, per spec.  Allocations that the
 * outcome refers to are made in the caller's memory context.
 */
void
mm_run_training(const mm_train_spec *spec, mm_train_outcome *out)
{
	const mm_algorithm_spec *alg = spec->alg;
	const mm_param_values *pv = &spec->params;
	TrainRun   *run;
	MemoryContext fncxt = CurrentMemoryContext;
	MemoryContext runcxt;
	instr_time	t_start,
				t_phase;
	double		t_read,
				t_fit,
				t_eval;
	mm_error	err;
	int32		bad = -1;
	double	   *impute;
	mm_model   *model;
	StringInfoData metrics;
	char	   *baselines;
	mm_new_version nv;
	mm_saved_version saved;
	mm_model_row existing;

	INSTR_TIME_SET_CURRENT(t_start);
	run = palloc0(sizeof(TrainRun));
	mm_resolve_train_input(spec->relid, spec->target, spec->features, spec->group_by,
						   alg->name, strcmp(alg->task, "regression") != 0, &run->in);
	/* classifiers and categorical features hold the rows in memory */
	if (run->in.class_target || run->in.n_categorical > 0 || run->in.n_group > 0 ||
		strcmp(alg->name, "mlp_regressor") == 0)
	{
		mm_run_matrix_training(spec, &run->in, out);
		return;
	}
	run->fraction = spec->test_fraction;
	run->seed = spec->seed;
	run->champion_score = NAN;
	run->challenger_score = NAN;
	run->impute_error = strcmp(mm_param_string(pv, "impute"), "error") == 0;
	run->algorithm = mm_algorithm_from_name(alg->name);
	mm_linreg_default_options(&run->opt);
	run->opt.fit_intercept = mm_param_bool(pv, "fit_intercept");
	if (run->algorithm == MM_ALGO_LINEAR_REGRESSION)
		run->opt.l2 = mm_param_number(pv, "l2");
	else
	{
		mm_enet_default_options(&run->enet);
		run->enet.alpha = mm_param_number(pv, "alpha");
		run->enet.l1_ratio = run->algorithm == MM_ALGO_LASSO ? 1.0 : mm_param_number(pv, "l1_ratio");
		run->enet.tol = mm_param_number(pv, "tol");
		run->enet.max_iter = (int32) mm_param_number(pv, "max_iter");
	}

	run->p = run->in.p;

	runcxt = AllocSetContextCreate(fncxt, "modelmgr training", ALLOCSET_DEFAULT_SIZES);
	SPI_connect();
	/* fail before the long scan if the caller may not add versions */
	if (mm_lookup_model(spec->name, false, &existing))
	{
		mm_require_owner(&existing, "add versions to");
		if (strcmp(existing.task, alg->task) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model \"%s\" is a %s model, not %s", spec->name, existing.task, alg->task),
					 errhint("Use another model name.")));
	}

	/* SPI calls leave SPI's own context current: be explicit from here on */
	MemoryContextSwitchTo(runcxt);
	{
		int32		cap = mm_linreg_default_block(run->p);
		Size		size = mm_linreg_state_size(run->p, cap);

		mm_charge_memory(&run->mem_used, 2 * size, "the fit state");
		run->train = palloc_extended(size, MCXT_ALLOC_HUGE);
		run->test = palloc_extended(size, MCXT_ALLOC_HUGE);
		mm_linreg_init(run->train, run->p, cap);
		mm_linreg_init(run->test, run->p, cap);
	}
	sample_init(run, &run->train_sample, run->p + 1);
	sample_init(run, &run->test_sample, run->p + 1);

	/* read */
	INSTR_TIME_SET_CURRENT(t_phase);
	mm_progress_begin(spec->name, alg->name);
	mm_progress_phase("read");
	scan_relation(run);
	mm_progress_rows(run->rows_read);
	if (run->rows_read == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation %s has no rows to train on", run->in.qualified)));
	if (run->null_target == run->rows_read)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" is NULL in every row of %s", run->in.target, run->in.qualified)));
	{
		int64		train_rows = mm_linreg_rows(run->train);

		for (int64 r = 0; r < run->pending_n; r++)
		{
			if (run->pending[(Size) r * (run->p + 2)] == 0.0)
				train_rows++;
			else
				run->test_null_rows++;
		}
		if (train_rows == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("no rows left for training: all " INT64_FORMAT " rows with a target were held out",
							run->rows_read - run->null_target),
					 errhint("Lower test_fraction.")));
	}
	MemoryContextSwitchTo(runcxt);
	impute = finish_imputation(run);
	MemoryContextSwitchTo(runcxt);
	t_read = mm_elapsed_since(t_phase);

	/* fit */
	INSTR_TIME_SET_CURRENT(t_phase);
	mm_progress_phase("fit");
	run->coef = palloc0(sizeof(double) * run->p);
	mm_error_clear(&err);
	if (run->algorithm != MM_ALGO_LINEAR_REGRESSION)
	{
		mm_cd_info info;

		mm_charge_memory(&run->mem_used, mm_cd_gram_bytes(run->p), "the cross-product matrix");
		if (mm_enet_fit_linreg(run->train, run->opt.fit_intercept, &run->enet, run->coef,
							   &run->intercept, &info, &err) != MM_OK)
			mm_raise(&err);
		if (!info.converged)
			ereport(WARNING,
					(errmsg("coordinate descent did not converge in %d sweeps (duality gap %g)",
							info.n_iter, info.dual_gap),
					 errhint("Raise params max_iter or tol, or scale the features.")));
	}
	else if (mm_linreg_solve(run->train, &run->opt, run->coef, &run->intercept, &bad, &err) != MM_OK)
	{
		if (err.status == MM_ERR_DATA && bad >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("feature column \"%s\" is constant or a linear combination of the other features",
							run->in.features[bad]),
					 errdetail("The training rows make the design matrix rank deficient, so the coefficients are not unique."),
					 errhint("Leave that column out of features, or pass params => '{\"l2\": 0.001}' for a ridge fit.")));
		if (err.status == MM_ERR_DATA && err.hint[0] == '\0')
			mm_error_hint(&err, "Train on more rows than there are features, or lower test_fraction.");
		mm_raise(&err);
	}
	model = build_model(run, impute);
	t_fit = mm_elapsed_since(t_phase);

	/* evaluate */
	INSTR_TIME_SET_CURRENT(t_phase);
	mm_progress_phase("evaluate");
	mm_error_clear(&err);
	raise_core(mm_predictor_new(model, &run->pred, &err), &err);
	initStringInfo(&metrics);
	appendStringInfoString(&metrics, "{\"train\": ");
	split_metrics(&metrics, run, run->train, &run->train_sample, run->pred);
	if (run->test->n > 0)
	{
		appendStringInfoString(&metrics, ", \"test\": ");
		split_metrics(&metrics, run, run->test, &run->test_sample, run->pred);
	}
	appendStringInfoChar(&metrics, '}');
	baselines = build_baselines(run);
	t_eval = mm_elapsed_since(t_phase);

	/* save */
	MemoryContextSwitchTo(fncxt);
	memset(&nv, 0, sizeof(nv));
	nv.task = alg->task;
	nv.source_relation = run->in.qualified;
	nv.target = run->in.target;
	nv.features = mm_train_features_datum(&run->in);
	nv.test_fraction = run->fraction;
	nv.train_rows = run->train->n;
	nv.test_rows = run->test->n;
	nv.skipped_rows = run->null_target;
	nv.metrics = mm_jsonb_from_cstring(metrics.data);
	nv.baselines = mm_jsonb_from_cstring(baselines);
	nv.artifact = mm_serialize_model(model);
	saved = mm_train_save(spec, &nv, score_champion, run, t_read, t_fit, t_eval);
	SPI_finish();

	MemoryContextSwitchTo(fncxt);
	mm_train_outcome_fill(out, &saved, &nv, "regression", "mse", run->champion,
						  run->champion_score, run->challenger_score, t_start);
	MemoryContextDelete(runcxt);
}
