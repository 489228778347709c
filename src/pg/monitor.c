/*
 * monitor.c
 *	  monitor() and evaluate(): score a relation with a model version.
 *	  monitor() measures drift of every feature and of the predictions
 *	  against the training baselines, computes metrics when the target is
 *	  present, and records the run in modelmgr.evaluations; evaluate()
 *	  computes and records the metrics of a labelled relation, without
 *	  drift.  Also model_health (the status a BI tool shows) and can_see
 *	  (which models the monitoring views show a user).
 *
 * One pass over the relation, read with the caller's rights.  Features are
 * matched by column name: numeric features read as float8, categorical
 * features as their text spelling (::text, the way training read them:
 * boolean true/false, char(n) without trailing blanks) and mapped to the
 * model's category indexes, -1 for a category the model never saw.  A
 * classifier's target is read as text too and mapped to a class index;
 * labels that are not among the model's classes are counted
 * (unknown_class_rows) and not scored.
 *
 * Drift uses the baselines stored with the version.  Numeric quantities (a
 * numeric feature, a regressor's predictions): PSI over deciles with NULL
 * as a bin of its own, and KS on the 99-point percentile grid (mm_drift.h).
 * Categorical quantities (a categorical feature, a classifier's predicted
 * classes): PSI and Jensen-Shannon divergence over the baseline's
 * categories, one bucket for categories unseen in training and one for
 * NULL.  Statuses come from PSI and the settings modelmgr.psi_warning /
 * psi_alert.
 *
 * Metrics: regressors rows, mse, rmse, mae, r2, and the rmse is compared
 * with the version's test rmse; classifiers the metrics of mm_metrics.h
 * plus error_rate and unknown_class_rows, and the error rate (1 - accuracy)
 * is compared with the version's test error rate (modelmgr.metric_warning /
 * metric_alert, relative rise).  Classifier metrics are exact: the class,
 * prediction, probabilities and score of every scored row are kept in
 * memory, charged to modelmgr.max_training_memory.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "mm_drift.h"
#include "mm_metrics.h"
#include "mm_pg.h"
#include "mm_predict.h"
#include "mm_train_input.h"
#include "train_matrix.h"

PG_FUNCTION_INFO_V1(mm_monitor);
PG_FUNCTION_INFO_V1(mm_evaluate);
PG_FUNCTION_INFO_V1(mm_model_health_1_0);
PG_FUNCTION_INFO_V1(mm_can_see);


/*
 * A baseline read back from jsonb: edges and CDF of a numeric quantity, or
 * the shares of a categorical one's categories (in the model's order).
 */
typedef struct Baseline
{
	bool		present;
	bool		categorical;
	double		null_fraction;
	double		edges[MM_DRIFT_EDGES];
	double		cdf[MM_DRIFT_EDGES];
	int32		ncat;
	double	   *shares;			/* per category: share of non-NULL values */
	double		unseen_share;	/* share of labels the model has no
								 * category for */
} Baseline;

/* Counts of new data: on a baseline's edges, or per category. */
typedef struct Tally
{
	int64		hist[MM_DRIFT_BINS];
	int64	   *counts;			/* categorical: per category */
	int64		unseen;			/* categorical: values of no category */
	int64		n;				/* non-NULL values */
	int64		nulls;
} Tally;

/* ---- baselines ----------------------------------------------------------- */

static JsonbValue *
json_get(JsonbContainer *c, const char *key)
{
	if (!JsonContainerIsObject(c))
		return NULL;
	return getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
}

static double
json_double(JsonbValue *v)
{
	if (v == NULL || v->type != jbvNumeric)
		return NAN;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

static bool
json_array_doubles(JsonbValue *v, double *out, int count)
{
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int			i = 0;

	if (v == NULL || v->type != jbvBinary)
		return false;
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (e.type != jbvNumeric || i >= count)
			return false;
		out[i++] = json_double(&e);
	}
	return i == count;
}

/*
 * Read one baseline object if it is there: {"edges": [...], "cdf": [...]}
 * when labels is NULL, else {"kind": "categorical", "categories": {label:
 * share}} read in the order of labels[0 .. ncat).  Shares of labels the
 * baseline has but labels lacks count as unseen.
 */
static void
read_baseline(JsonbValue *obj, char **labels, int32 ncat, Baseline *b)
{
	JsonbContainer *c;
	JsonbValue *kind;
	JsonbValue *cats;
	double		sum = 0;

	memset(b, 0, sizeof(*b));
	b->categorical = labels != NULL;
	b->ncat = ncat;
	if (b->categorical)
		b->shares = palloc0(sizeof(double) * Max(ncat, 1));
	if (obj == NULL || obj->type != jbvBinary)
		return;
	c = obj->val.binary.data;
	b->null_fraction = json_double(json_get(c, "null_fraction"));
	if (!(b->null_fraction >= 0 && b->null_fraction <= 1))
		b->null_fraction = 0;
	if (!b->categorical)
	{
		b->present = json_array_doubles(json_get(c, "edges"), b->edges, MM_DRIFT_EDGES) &&
			json_array_doubles(json_get(c, "cdf"), b->cdf, MM_DRIFT_EDGES);
		return;
	}
	kind = json_get(c, "kind");
	cats = json_get(c, "categories");
	if (kind == NULL || kind->type != jbvString ||
		kind->val.string.len != (int) strlen("categorical") ||
		memcmp(kind->val.string.val, "categorical", kind->val.string.len) != 0 ||
		cats == NULL || cats->type != jbvBinary)
		return;
	for (int32 i = 0; i < ncat; i++)
	{
		JsonbValue *v = json_get(cats->val.binary.data, labels[i]);
		double		share = v ? json_double(v) : 0;

		if (!(share >= 0 && share <= 1))
			return;
		b->shares[i] = share;
		sum += share;
	}
	/* shares are printed exactly, so only a real gap is unseen mass */
	b->unseen_share = sum < 1 - 1e-9 ? 1 - sum : 0;
	b->present = true;
}

/* ---- drift ----------------------------------------------------------------- */

static const char *
psi_status(double psi)
{
	if (psi >= mm_psi_alert)
		return "alert";
	if (psi >= mm_psi_warning)
		return "warning";
	return "ok";
}

static int
status_rank(const char *s)
{
	return strcmp(s, "alert") == 0 ? 2 : strcmp(s, "warning") == 0 ? 1 : 0;
}

static const char *
worse(const char *a, const char *b)
{
	return status_rank(b) > status_rank(a) ? b : a;
}

static void
append_reason(StringInfo reasons_json, int *nreasons, const char *reason)
{
	appendStringInfoString(reasons_json, *nreasons > 0 ? ", " : "");
	escape_json(reasons_json, reason);
	(*nreasons)++;
}

/*
 * Drift of a numeric tally against its baseline, as JSON; returns its
 * status and sets *psi_out / *ks_out (NaN when there is nothing to
 * compare).
 */
static const char *
numeric_drift_json(StringInfo buf, const Baseline *b, const Tally *t, bool with_nulls,
				   double *psi_out, double *ks_out)
{
	double		cdf[MM_DRIFT_EDGES];
	double		psi,
				ks;
	const char *status;

	*psi_out = NAN;
	*ks_out = NAN;
	appendStringInfoChar(buf, '{');
	if (with_nulls)
	{
		appendStringInfoString(buf, "\"null_fraction\": ");
		mm_json_number(buf, t->n + t->nulls > 0 ? (double) t->nulls / (t->n + t->nulls) : 0);
		appendStringInfoString(buf, ", ");
	}
	if (!b->present || t->n + t->nulls == 0)
	{
		appendStringInfo(buf, "\"psi\": null, \"ks\": null, \"status\": \"ok\", \"note\": \"%s\"}",
						 b->present ? "no rows" : "no baseline");
		return "ok";
	}
	/* NULLs are a bin of their own in the PSI; KS compares the values */
	mm_drift_cdf(t->hist, t->n, cdf);
	psi = mm_drift_psi_nulls(b->cdf, b->null_fraction, cdf,
							 (double) t->nulls / (double) (t->n + t->nulls));
	ks = t->n > 0 ? mm_drift_ks(b->cdf, cdf) : NAN;
	status = psi_status(psi);
	*psi_out = psi;
	*ks_out = ks;
	if (t->n == 0)
		appendStringInfoString(buf, "\"note\": \"every value is NULL\", ");
	appendStringInfoString(buf, "\"psi\": ");
	mm_json_number(buf, psi);
	appendStringInfoString(buf, ", \"ks\": ");
	mm_json_number(buf, ks);
	appendStringInfo(buf, ", \"status\": \"%s\"}", status);
	return status;
}

/*
 * Drift of a categorical tally against its baseline, as JSON; returns its
 * status and sets *psi_out / *js_out (NaN when there is nothing to compare)
 * and *unseen_out.  A feature's distribution has ncat + 2 buckets: its
 * categories, the categories unseen in training, and NULL, each a share of
 * all rows; predicted classes have just the ncat classes.
 */
static const char *
categorical_drift_json(StringInfo buf, const Baseline *b, const Tally *t, bool feature,
					   double *psi_out, double *js_out, double *unseen_out)
{
	int32		k = b->ncat;
	int32		m = feature ? k + 2 : k;
	int64		total = t->n + t->nulls;
	double		keep = feature ? 1 - b->null_fraction : 1;
	double	   *base;
	double	   *cur;
	double		psi,
				js;
	const char *status;

	*psi_out = NAN;
	*js_out = NAN;
	*unseen_out = total > 0 ? (double) t->unseen / total : 0;
	appendStringInfoChar(buf, '{');
	if (feature)
	{
		appendStringInfoString(buf, "\"null_fraction\": ");
		mm_json_number(buf, total > 0 ? (double) t->nulls / total : 0);
		appendStringInfoString(buf, ", \"unseen_fraction\": ");
		mm_json_number(buf, *unseen_out);
		appendStringInfoString(buf, ", ");
	}
	if (!b->present || total == 0)
	{
		appendStringInfo(buf, "\"psi\": null, \"js\": null, \"status\": \"ok\", \"note\": \"%s\"}",
						 b->present ? "no rows" : "no baseline");
		return "ok";
	}
	base = palloc(sizeof(double) * Max(m, 1));
	cur = palloc(sizeof(double) * Max(m, 1));
	for (int32 i = 0; i < k; i++)
	{
		base[i] = b->shares[i] * keep;
		cur[i] = (double) t->counts[i] / total;
	}
	if (feature)
	{
		base[k] = b->unseen_share * keep;
		cur[k] = (double) t->unseen / total;
		base[k + 1] = b->null_fraction;
		cur[k + 1] = (double) t->nulls / total;
	}
	psi = mm_drift_psi_shares(base, cur, m);
	js = mm_drift_js(base, cur, m);
	pfree(base);
	pfree(cur);
	status = psi_status(psi);
	*psi_out = psi;
	*js_out = js;
	if (t->n == 0)
		appendStringInfoString(buf, "\"note\": \"every value is NULL\", ");
	appendStringInfoString(buf, "\"psi\": ");
	mm_json_number(buf, psi);
	appendStringInfoString(buf, ", \"js\": ");
	mm_json_number(buf, js);
	appendStringInfo(buf, ", \"status\": \"%s\"}", status);
	return status;
}

/* ---- one scoring pass ------------------------------------------------------- */

/* What monitor() and evaluate() know and accumulate. */
typedef struct Scoring
{
	const char *fname;			/* monitor or evaluate, for messages */
	bool		with_drift;
	MemoryContext cxt;			/* the call's scratch context */

	/* the call */
	char	   *name;
	Oid			relid;
	char	   *qualified;
	int32		version;
	mm_model_row row;

	/* the version */
	Jsonb	   *baselines;
	double		test_rmse;
	double		test_accuracy;
	mm_model   *model;
	mm_predictor *pred;
	int			p;
	bool	   *categorical;	/* per feature */
	bool		classifier;
	int32		K;				/* classes; 0 for a regressor */
	int32	   *class_order;	/* class indexes sorted bytewise by label */
	int32	   *class_len;		/* per class: strlen of its label */

	/* drift */
	Baseline   *fb;				/* per feature */
	Tally	   *ft;
	Baseline	pb;				/* predictions */
	Tally		pt;

	/* grouped models: the top level's encoder (drift over the union of
	 * the vocabularies) and where the group columns are in a row */
	mm_encoder *top_enc;
	int			n_group;
	int			gcol;			/* first group column */

	/* one row */
	bool		has_target;		/* the column after the features is the target */
	double	   *x;
	bool	   *xn;

	/* counts */
	int64		rows;
	int64		labelled;		/* rows with a usable target */
	int64		unknown_class;	/* classifier: labelled, class not known */

	/* regression */
	double		sse;
	double		sae;
	double		sy;
	double		syy;

	/* classification: the scored rows */
	int64		n;
	int64		cap;
	int32	   *y;
	int32	   *yhat;
	double	   *proba;			/* n x K, when the model has probabilities */
	double	   *score;
} Scoring;

static int
label_cmp(const char *a, int alen, const char *b, int blen)
{
	int			c = memcmp(a, b, Min(alen, blen));

	return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int
class_order_cmp(const void *a, const void *b, void *arg)
{
	Scoring    *s = (Scoring *) arg;
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return label_cmp(s->model->classes[x], s->class_len[x], s->model->classes[y], s->class_len[y]);
}

/* The class index of label[0 .. len), or -1 when the model lacks it. */
static int32
class_of(const Scoring *s, const char *label, int len)
{
	int32		lo = 0,
				hi = s->K - 1;

	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		int32		k = s->class_order[mid];
		int			c = label_cmp(label, len, s->model->classes[k], s->class_len[k]);

		if (c == 0)
			return k;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * Room for more scored rows of a classifier, within
 * modelmgr.max_training_memory.
 */
static void
grow_scored(Scoring *s)
{
	int64		cap = Max(1024, s->cap * 2);
	int32		K = s->K;
	Size		per_row = 2 * sizeof(int32) + sizeof(double) * (1 + (s->pred->has_proba ? K : 0));
	Size		bytes = mul_size((Size) cap, per_row);

	if (bytes > mm_training_memory_limit())
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s() needs more than modelmgr.max_training_memory (%d kB) for the predictions of the labelled rows",
						s->fname, mm_max_training_memory_kb),
				 errdetail("Exact classification metrics keep the class, prediction and probabilities of every labelled row; " INT64_FORMAT " rows are kept so far.",
						   s->n),
				 errhint("Raise modelmgr.max_training_memory, or score a smaller relation, e.g. a view over a shorter period.")));
	s->y = s->y ? repalloc_huge(s->y, sizeof(int32) * cap) :
		palloc_extended(sizeof(int32) * cap, MCXT_ALLOC_HUGE);
	s->yhat = s->yhat ? repalloc_huge(s->yhat, sizeof(int32) * cap) :
		palloc_extended(sizeof(int32) * cap, MCXT_ALLOC_HUGE);
	s->score = s->score ? repalloc_huge(s->score, sizeof(double) * cap) :
		palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE);
	if (s->pred->has_proba)
		s->proba = s->proba ? repalloc_huge(s->proba, sizeof(double) * K * cap) :
			palloc_extended(sizeof(double) * K * cap, MCXT_ALLOC_HUGE);
	s->cap = cap;
}

static void
tally_number(const Baseline *b, Tally *t, double x)
{
	t->n++;
	if (b->present)
		t->hist[mm_drift_bin(b->edges, x)]++;
}

static void
tally_category(Tally *t, int32 c)
{
	t->n++;
	if (c >= 0)
		t->counts[c]++;
	else
		t->unseen++;
}

#define MM_MAX_CLASSES_ROUTED 1024

/* The predictor of the row's group (grouped models); an error if none. */
static const mm_predictor *
route(Scoring *s, Datum *v, bool *n, int32 *group)
{
	const char *keys[MM_MAX_GROUP_COLUMNS];
	size_t		lens[MM_MAX_GROUP_COLUMNS];
	const mm_predictor *p;

	for (int g = 0; g < s->n_group; g++)
	{
		int			c = s->gcol + g;

		if (n[c])
		{
			keys[g] = NULL;
			lens[g] = 0;
		}
		else
		{
			text	   *t = DatumGetTextPP(v[c]);

			keys[g] = VARDATA_ANY(t);
			lens[g] = VARSIZE_ANY_EXHDR(t);
		}
	}
	p = mm_predictor_route(s->pred, keys, lens, group);
	if (p == NULL)
	{
		StringInfoData what;

		initStringInfo(&what);
		for (int g = 0; g < s->n_group; g++)
			appendStringInfo(&what, "%s%s = %s", g ? ", " : "", s->model->group_columns[g],
							 keys[g] ? quote_literal_cstr(pnstrdup(keys[g], lens[g])) : "NULL");
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("model \"%s\" has no sub-model for the group %s", s->name, what.data),
				 errhint("Score only rows of the groups the version was trained on.")));
	}
	return p;
}

static bool
scoring_row(void *arg, Datum *v, bool *n)
{
	Scoring    *s = (Scoring *) arg;
	mm_error	err;
	const mm_predictor *pred = s->pred;
	int32		group = -1;

	s->rows++;
	if (s->n_group > 0)
		pred = route(s, v, n, &group);
	for (int j = 0; j < s->p; j++)
	{
		s->xn[j] = n[j];
		s->x[j] = 0;
		if (n[j])
		{
			if (s->with_drift)
				s->ft[j].nulls++;
		}
		else if (s->categorical[j])
		{
			int			len;
			text	   *copy;
			const char *label = mm_text_bytes(v[j], &len, &copy);
			int32		c = mm_encoder_category(pred->enc, j, label, len);

			s->x[j] = c;
			/* drift counts are over the top level's vocabulary */
			if (s->with_drift)
				tally_category(&s->ft[j], s->top_enc ? mm_encoder_category(s->top_enc, j, label, len) : c);
			if (copy)
				pfree(copy);
		}
		else
		{
			s->x[j] = DatumGetFloat8(v[j]);
			if (s->with_drift && isfinite(s->x[j]))
				tally_number(&s->fb[j], &s->ft[j], s->x[j]);
		}
	}
	mm_error_clear(&err);
	if (s->classifier)
	{
		int32		y = -1;
		int32		cls;
		double		score;
		double	   *proba = NULL;

		if (s->has_target && !n[s->p])
		{
			int			len;
			text	   *copy;
			const char *label = mm_text_bytes(v[s->p], &len, &copy);

			y = class_of(s, label, len);
			if (copy)
				pfree(copy);
			s->labelled++;
			if (y < 0)
				s->unknown_class++;
		}
		if (y >= 0)
		{
			if (s->n == s->cap)
				grow_scored(s);
			if (s->proba)
				proba = s->proba + (Size) s->n * s->K;
		}
		if (group >= 0 && proba && pred->n_classes != (uint32) s->K)
		{
			/* the group's classes into the model's order */
			double		gp[MM_MAX_CLASSES_ROUTED];

			if (pred->n_classes > MM_MAX_CLASSES_ROUTED)
				elog(ERROR, "too many classes");
			if (mm_predict_class(pred, s->x, s->xn, &cls, gp, &score, &err) != MM_OK)
				mm_raise(&err);
			for (int32 k = 0; k < s->K; k++)
				proba[k] = 0;
			for (uint32 k = 0; k < pred->n_classes; k++)
				proba[s->pred->group_class[group][k]] = gp[k];
		}
		else if (mm_predict_class(pred, s->x, s->xn, &cls, proba, &score, &err) != MM_OK)
			mm_raise(&err);
		if (group >= 0)
		{
			cls = s->pred->group_class[group][cls];
			/* a binary score is only comparable when every group has both classes */
			if (pred->n_classes != (uint32) s->K)
				score = NAN;
		}
		if (s->with_drift)
			tally_category(&s->pt, cls);
		if (y >= 0)
		{
			s->y[s->n] = y;
			s->yhat[s->n] = cls;
			s->score[s->n] = score;
			s->n++;
		}
	}
	else
	{
		double		yhat;

		if (mm_predict_row(pred, s->x, s->xn, &yhat, &err) != MM_OK)
			mm_raise(&err);
		if (s->with_drift)
			tally_number(&s->pb, &s->pt, yhat);
		if (s->has_target && !n[s->p])
		{
			double		y = DatumGetFloat8(v[s->p]);

			if (isfinite(y))
			{
				s->sse += (y - yhat) * (y - yhat);
				s->sae += fabs(y - yhat);
				s->sy += y;
				s->syy += y * y;
				s->labelled++;
			}
		}
	}
	return true;
}

/* The version's artifact, baselines and test metrics (caller in SPI). */
static void
load_version(Scoring *s)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		args[2];
	bool		isnull;
	Datum		d;
	bytea	   *artifact;

	args[0] = Int64GetDatum(s->row.id);
	args[1] = Int32GetDatum(s->version);
	mm_registry_exec("SELECT artifact, baselines, "
					 "(metrics OPERATOR(pg_catalog.#>>) '{test,rmse}')::pg_catalog.float8, "
					 "(metrics OPERATOR(pg_catalog.#>>) '{test,accuracy}')::pg_catalog.float8 "
					 "FROM modelmgr.model_versions WHERE model_id OPERATOR(pg_catalog.=) $1 "
					 "AND version OPERATOR(pg_catalog.=) $2", 2, types, args, NULL, true, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", s->version, s->name)));
	MemoryContextSwitchTo(s->cxt);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	artifact = DatumGetByteaP(SPI_datumTransfer(d, false, -1));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	s->baselines = isnull ? NULL : DatumGetJsonbP(SPI_datumTransfer(d, false, -1));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	s->test_rmse = isnull ? NAN : DatumGetFloat8(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull);
	s->test_accuracy = isnull ? NAN : DatumGetFloat8(d);
	s->model = mm_parse_artifact(VARDATA(artifact), VARSIZE(artifact) - VARHDRSZ);
}

/* Per feature and for the predictions: the baseline and an empty tally. */
static void
setup_drift(Scoring *s)
{
	JsonbValue *feats = s->baselines ? json_get(&s->baselines->root, "features") : NULL;
	JsonbValue *pred = s->baselines ? json_get(&s->baselines->root, "prediction") : NULL;

	if (feats && feats->type != jbvBinary)
		feats = NULL;
	s->fb = palloc0(sizeof(Baseline) * Max(s->p, 1));
	s->ft = palloc0(sizeof(Tally) * Max(s->p, 1));
	for (int j = 0; j < s->p; j++)
	{
		const mm_feature *f = &s->model->features[j];
		JsonbValue *obj = feats ? json_get(feats->val.binary.data, f->name) : NULL;

		if (s->categorical[j])
		{
			read_baseline(obj, f->categories, (int32) f->n_categories, &s->fb[j]);
			s->ft[j].counts = palloc0(sizeof(int64) * Max(f->n_categories, 1));
		}
		else
			read_baseline(obj, NULL, 0, &s->fb[j]);
	}
	memset(&s->pt, 0, sizeof(s->pt));
	if (s->classifier)
	{
		read_baseline(pred, s->model->classes, s->K, &s->pb);
		s->pt.counts = palloc0(sizeof(int64) * s->K);
	}
	else
		read_baseline(pred, NULL, 0, &s->pb);
}

/*
 * The query: features by name, and the target when the relation has it
 * (required when need_target).
 */
static char *
build_query(Scoring *s, bool need_target)
{
	StringInfoData q;
	const char *target = s->model->target;
	AttrNumber	tatt = target ? get_attnum(s->relid, target) : InvalidAttrNumber;

	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT ");
	for (int j = 0; j < s->p; j++)
	{
		const char *f = s->model->features[j].name;
		AttrNumber	att = get_attnum(s->relid, f);

		if (att == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("relation %s has no column \"%s\", a feature of model \"%s\"", s->qualified, f, s->name)));
		if (s->categorical[j])
		{
			/* any type: its text spelling is the category */
			appendStringInfo(&q, "%s%s::pg_catalog.text", j ? ", " : "", quote_identifier(f));
			continue;
		}
		if (!mm_is_number_type(get_atttype(s->relid, att)))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of relation %s is not a number", f, s->qualified)));
		appendStringInfo(&q, "%s%s::pg_catalog.float8", j ? ", " : "", quote_identifier(f));
	}
	if (need_target && target == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" records no target column", s->version, s->name),
				 errhint("Only versions trained in modelmgr know their target.")));
	if (need_target && tatt == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("relation %s has no column \"%s\", the target of model \"%s\"",
						s->qualified, target, s->name),
				 errhint("%s() needs the true values; monitor() measures drift without them.", s->fname)));
	if (need_target && !s->classifier && !mm_is_number_type(get_atttype(s->relid, tatt)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" of relation %s is not a number", target, s->qualified),
				 errdetail("Model \"%s\" is a regression model.", s->name)));
	/* a classifier's labels are the text spelling, of any type */
	s->has_target = tatt != InvalidAttrNumber &&
		(s->classifier || mm_is_number_type(get_atttype(s->relid, tatt)));
	if (s->has_target)
		appendStringInfo(&q, "%s%s::pg_catalog.%s", s->p > 0 ? ", " : "",
						 quote_identifier(target), s->classifier ? "text" : "float8");
	/* a grouped model routes each row by its group columns */
	s->gcol = s->p + (s->has_target ? 1 : 0);
	for (int g = 0; g < s->n_group; g++)
	{
		const char *c = s->model->group_columns[g];

		if (get_attnum(s->relid, c) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("relation %s has no column \"%s\", a group_by column of model \"%s\"",
							s->qualified, c, s->name)));
		appendStringInfo(&q, ", %s::pg_catalog.text", quote_identifier(c));
	}
	appendStringInfo(&q, " FROM %s", s->qualified);
	return q.data;
}

/*
 * Everything up to the end of the pass: the arguments, the version, its
 * predictor, the baselines (with_drift), and the scan.  Returns connected
 * to SPI, in s->cxt.
 */
static void
scoring_run(FunctionCallInfo fcinfo, Scoring *s, const char *fname, bool with_drift)
{
	mm_error	err;
	char	   *query;

	memset(s, 0, sizeof(*s));
	s->fname = fname;
	s->with_drift = with_drift;
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and relation must not be NULL")));
	s->cxt = AllocSetContextCreate(CurrentMemoryContext, "modelmgr scoring", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(s->cxt);
	s->name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	s->relid = PG_GETARG_OID(1);
	s->version = mm_version_arg(fcinfo, 2);
	mm_check_readable_relation(s->relid);
	s->qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(s->relid)),
											  get_rel_name(s->relid));

	SPI_connect();
	MemoryContextSwitchTo(s->cxt);
	mm_lookup_model_or_error(s->name, false, &s->row);
	mm_require_use(&s->row);
	s->version = mm_version_or_deployed(&s->row, s->version,
										psprintf("Pass the version to %s, or deploy one.", fname));
	load_version(s);
	mm_error_clear(&err);
	if (mm_predictor_new(s->model, &s->pred, &err) != MM_OK)
		mm_raise(&err);
	s->p = (int) s->model->n_features;
	s->n_group = (int) s->model->n_group_columns;
	if (s->n_group > 0 && mm_encoder_new(s->model, &s->top_enc, &err) != MM_OK)
		mm_raise(&err);
	s->classifier = s->pred->n_classes > 0;
	s->K = (int32) s->pred->n_classes;
	s->categorical = palloc0(sizeof(bool) * Max(s->p, 1));
	for (int j = 0; j < s->p; j++)
		s->categorical[j] = s->model->features[j].kind == MM_FEATURE_CATEGORICAL;
	if (s->classifier)
	{
		s->class_order = palloc(sizeof(int32) * s->K);
		s->class_len = palloc(sizeof(int32) * s->K);
		for (int32 k = 0; k < s->K; k++)
		{
			s->class_order[k] = k;
			s->class_len[k] = (int32) strlen(s->model->classes[k]);
		}
		qsort_arg(s->class_order, s->K, sizeof(int32), class_order_cmp, s);
	}
	if (with_drift)
		setup_drift(s);
	query = build_query(s, !with_drift);
	s->x = palloc(sizeof(double) * Max(s->p, 1));
	s->xn = palloc(sizeof(bool) * Max(s->p, 1));

	/* one pass, with the caller's rights */
	mm_scan_rows(query, s->p + (s->has_target ? 1 : 0) + s->n_group, scoring_row, s);
	MemoryContextSwitchTo(s->cxt);
	if (s->rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation %s has no rows to %s", s->qualified, fname)));
}

/*
 * The metrics of the labelled rows as JSON into buf (false when there are
 * none), and their degradation against the version's test metrics: a
 * reason and a worse *status when the rmse (regressors) or the error rate
 * (classifiers) rose by metric_warning or more.
 */
static bool
scoring_metrics(Scoring *s, StringInfo buf, StringInfo reasons, int *nreasons,
				const char **status)
{
	const char *metric;
	double		value;
	double		test_value;

	if (s->labelled == 0)
		return false;
	if (!s->classifier)
	{
		double		mse = s->sse / s->labelled;
		double		sst = s->syy - s->sy * s->sy / s->labelled;

		appendStringInfo(buf, "{\"rows\": " INT64_FORMAT ", \"mse\": ", s->labelled);
		mm_json_number(buf, mse);
		appendStringInfoString(buf, ", \"rmse\": ");
		mm_json_number(buf, sqrt(mse));
		appendStringInfoString(buf, ", \"mae\": ");
		mm_json_number(buf, s->sae / s->labelled);
		appendStringInfoString(buf, ", \"r2\": ");
		mm_json_number(buf, sst > 0 ? 1.0 - s->sse / sst : NAN);
		appendStringInfoChar(buf, '}');
		metric = "rmse";
		value = sqrt(mse);
		test_value = s->test_rmse;
	}
	else if (s->n == 0)
	{
		/* every label is a class the model does not know: nothing scored */
		appendStringInfo(buf, "{\"rows\": 0, \"unknown_class_rows\": " INT64_FORMAT "}", s->unknown_class);
		return true;
	}
	else
	{
		mm_class_metrics m;
		mm_error	err;
		int64		wrong;

		mm_error_clear(&err);
		if (mm_class_metrics_compute(s->y, s->yhat, s->proba, s->K == 2 ? s->score : NULL,
									 s->n, s->K, &m, &err) != MM_OK)
			mm_raise(&err);
		mm_class_metrics_json(buf, &m);
		/* the error rate from counts, so that 279 errors in 1500 is 0.186 */
		wrong = m.rows;
		for (int32 k = 0; k < s->K; k++)
			wrong -= m.confusion[(Size) k * s->K + k];
		value = (double) wrong / (double) m.rows;
		/* reopen the object for what monitoring adds */
		Assert(buf->len > 0 && buf->data[buf->len - 1] == '}');
		buf->data[--buf->len] = '\0';
		appendStringInfoString(buf, ", \"error_rate\": ");
		mm_json_number(buf, value);
		appendStringInfo(buf, ", \"unknown_class_rows\": " INT64_FORMAT "}", s->unknown_class);
		metric = "error rate";
		test_value = 1.0 - s->test_accuracy;
		mm_class_metrics_free(&m);
	}
	if (isfinite(test_value) && test_value > 0)
	{
		double		ratio = value / test_value - 1.0;
		const char *ms = ratio >= mm_metric_alert ? "alert" :
			ratio >= mm_metric_warning ? "warning" : "ok";

		if (strcmp(ms, "ok") != 0)
			append_reason(reasons, nreasons,
						  psprintf("%s %.6g is %.0f%% above the test %s %.6g of version %d (%s)",
								   metric, value, 100 * ratio, metric, test_value, s->version, ms));
		*status = worse(*status, ms);
	}
	return true;
}

/* Drift of every feature and of the predictions as JSON into buf. */
static void
scoring_drift(Scoring *s, StringInfo buf, StringInfo reasons, int *nreasons,
			  const char **status)
{
	double		psi,
				second,
				unseen;
	const char *ds;

	appendStringInfoString(buf, "{\"features\": {");
	for (int j = 0; j < s->p; j++)
	{
		const char *fname = s->model->features[j].name;

		if (j > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, fname);
		appendStringInfoString(buf, ": ");
		if (s->categorical[j])
		{
			ds = categorical_drift_json(buf, &s->fb[j], &s->ft[j], true, &psi, &second, &unseen);
			if (strcmp(ds, "ok") != 0)
				append_reason(reasons, nreasons,
							  unseen > 0 ?
							  psprintf("feature \"%s\" drifted: PSI %.3g, JS %.3g, %.3g%% of the values are categories unseen in training (%s)",
									   fname, psi, second, 100 * unseen, ds) :
							  psprintf("feature \"%s\" drifted: PSI %.3g, JS %.3g (%s)",
									   fname, psi, second, ds));
		}
		else
		{
			ds = numeric_drift_json(buf, &s->fb[j], &s->ft[j], true, &psi, &second);
			if (strcmp(ds, "ok") != 0)
				append_reason(reasons, nreasons,
							  psprintf("feature \"%s\" drifted: PSI %.3g, KS %.3g (%s)",
									   fname, psi, second, ds));
		}
		*status = worse(*status, ds);
	}
	appendStringInfoString(buf, "}, \"prediction\": ");
	if (s->classifier)
	{
		ds = categorical_drift_json(buf, &s->pb, &s->pt, false, &psi, &second, &unseen);
		if (strcmp(ds, "ok") != 0)
			append_reason(reasons, nreasons,
						  psprintf("predicted classes drifted: PSI %.3g, JS %.3g (%s)", psi, second, ds));
	}
	else
	{
		ds = numeric_drift_json(buf, &s->pb, &s->pt, false, &psi, &second);
		if (strcmp(ds, "ok") != 0)
			append_reason(reasons, nreasons,
						  psprintf("predictions drifted: PSI %.3g, KS %.3g (%s)", psi, second, ds));
	}
	*status = worse(*status, ds);
	appendStringInfoChar(buf, '}');
}

/*
 * Insert the run into modelmgr.evaluations (caller in SPI); returns its id
 * and sets *reasons_out to the stored reasons (text[], in s->cxt).
 */
static int64
record_evaluation(Scoring *s, const char *kind, const char *metrics,
				  const char *drift, const char *status, const char *reasons,
				  Datum *reasons_out)
{
	Oid			types[11] = {INT8OID, INT4OID, TEXTOID, TEXTOID, INT8OID, INT8OID, JSONBOID,
	JSONBOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[11];
	char		argnulls[12] = "           ";
	bool		isnull;
	int64		id;

	args[0] = Int64GetDatum(s->row.id);
	args[1] = Int32GetDatum(s->version);
	args[2] = CStringGetTextDatum(kind);
	args[3] = CStringGetTextDatum(s->qualified);
	args[4] = Int64GetDatum(s->rows);
	args[5] = Int64GetDatum(s->labelled);
	args[6] = metrics ? JsonbPGetDatum(mm_jsonb_from_cstring(metrics)) : (Datum) 0;
	if (metrics == NULL)
		argnulls[6] = 'n';
	args[7] = drift ? JsonbPGetDatum(mm_jsonb_from_cstring(drift)) : (Datum) 0;
	if (drift == NULL)
		argnulls[7] = 'n';
	args[8] = CStringGetTextDatum(status);
	args[9] = CStringGetTextDatum(psprintf("[%s]", reasons));
	args[10] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	mm_registry_exec("INSERT INTO modelmgr.evaluations (model_id, version, kind, relation, rows, "
					 "labelled_rows, metrics, drift, status, reasons, evaluated_by) "
					 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
					 "ARRAY(SELECT pg_catalog.jsonb_array_elements_text($10::pg_catalog.jsonb)), "
					 "$11::pg_catalog.name) RETURNING id, reasons",
					 11, types, args, argnulls, false, 0);
	MemoryContextSwitchTo(s->cxt);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*reasons_out = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull),
									 false, -1);
	return id;
}

static void
scoring_free(Scoring *s)
{
	mm_predictor_free(s->pred);
	mm_model_free(s->model);
	MemoryContextDelete(s->cxt);
}

/*
 * monitor(name, relation [, version]): drift, and metrics when the target
 * is present; one row, also recorded in modelmgr.evaluations.
 */
Datum
mm_monitor(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext fncxt = CurrentMemoryContext;
	Scoring		s;
	StringInfoData metrics,
				drift,
				reasons;
	bool		has_metrics;
	int			nreasons = 0;
	const char *status = "ok";
	int64		evaluation_id;
	Datum		stored_reasons;
	Datum		values[9];
	bool		nulls[9] = {false, false, false, false, false, false, false, false, false};

	scoring_run(fcinfo, &s, "monitor", true);
	initStringInfo(&reasons);
	initStringInfo(&metrics);
	initStringInfo(&drift);
	has_metrics = scoring_metrics(&s, &metrics, &reasons, &nreasons, &status);
	scoring_drift(&s, &drift, &reasons, &nreasons, &status);
	evaluation_id = record_evaluation(&s, "monitor", has_metrics ? metrics.data : NULL,
									  drift.data, status, reasons.data, &stored_reasons);
	SPI_finish();

	MemoryContextSwitchTo(fncxt);
	InitMaterializedSRF(fcinfo, 0);
	values[0] = Int64GetDatum(evaluation_id);
	values[1] = CStringGetTextDatum(s.name);
	values[2] = Int32GetDatum(s.version);
	values[3] = Int64GetDatum(s.rows);
	values[4] = Int64GetDatum(s.labelled);
	values[5] = CStringGetTextDatum(status);
	values[6] = stored_reasons;
	values[7] = has_metrics ? JsonbPGetDatum(mm_jsonb_from_cstring(metrics.data)) : (Datum) 0;
	nulls[7] = !has_metrics;
	values[8] = JsonbPGetDatum(mm_jsonb_from_cstring(drift.data));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	scoring_free(&s);
	return (Datum) 0;
}

/*
 * evaluate(name, relation [, version]): the metrics of the version on a
 * labelled relation, recorded in modelmgr.evaluations (kind 'evaluate',
 * no drift; the status says whether the metrics degraded against the
 * version's test metrics).
 */
Datum
mm_evaluate(PG_FUNCTION_ARGS)
{
	MemoryContext fncxt = CurrentMemoryContext;
	Scoring		s;
	StringInfoData metrics,
				reasons;
	int			nreasons = 0;
	const char *status = "ok";
	Datum		stored_reasons;
	Jsonb	   *result;

	scoring_run(fcinfo, &s, "evaluate", false);
	if (s.labelled == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation %s has no rows with a value of target column \"%s\"",
						s.qualified, s.model->target),
				 errhint("evaluate() needs labelled rows; monitor() measures drift without them.")));
	if (s.classifier && s.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("none of the " INT64_FORMAT " labelled rows of relation %s has a class that version %d of model \"%s\" knows",
						s.labelled, s.qualified, s.version, s.name),
				 errdetail("Labels are compared with the model's classes as text: booleans as true and false, integers in decimal."),
				 errhint("modelmgr.classes(name, version) shows the classes.")));
	initStringInfo(&reasons);
	initStringInfo(&metrics);
	scoring_metrics(&s, &metrics, &reasons, &nreasons, &status);
	record_evaluation(&s, "evaluate", metrics.data, NULL, status, reasons.data, &stored_reasons);
	SPI_finish();

	MemoryContextSwitchTo(fncxt);
	result = mm_jsonb_from_cstring(metrics.data);
	scoring_free(&s);
	PG_RETURN_JSONB_P(result);
}

/*
 * can_see(model id): owner or member of the owning role, USE grantee,
 * pg_monitor member, or superuser.
 */
Datum
mm_can_see(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	Oid			userid = GetUserId();
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	bool		visible = false;

	if (superuser_arg(userid) || has_privs_of_role(userid, ROLE_PG_MONITOR))
		PG_RETURN_BOOL(true);
	SPI_connect();
	args[0] = Int64GetDatum(id);
	mm_registry_exec("SELECT owner::pg_catalog.text FROM modelmgr.models WHERE id OPERATOR(pg_catalog.=) $1 "
					 "UNION ALL SELECT grantee::pg_catalog.text FROM modelmgr.model_grants "
					 "WHERE model_id OPERATOR(pg_catalog.=) $1", 1, types, args, NULL, true, 0);
	for (uint64 i = 0; i < SPI_processed && !visible; i++)
	{
		char	   *role = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		Oid			roleid;

		if (strcmp(role, "public") == 0)
			visible = true;
		else if (OidIsValid(roleid = get_role_oid(role, true)) && has_privs_of_role(userid, roleid))
			visible = true;
	}
	SPI_finish();
	PG_RETURN_BOOL(visible);
}

/*
 * model_health: per visible model with a deployed version, the worst of
 * the latest monitor() status of that version (with its reasons) and a
 * worsening moving average: the mean rmse (regressors) or error rate
 * (classifiers) of the last modelmgr.health_window monitor() runs with
 * metrics above the mean of the window before it by more than
 * modelmgr.metric_warning (alert above metric_alert).
 */
Datum
mm_model_health_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext fncxt = CurrentMemoryContext;
	uint64		nmodels;
	SPITupleTable *models;

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	mm_registry_exec("SELECT m.id, m.name, m.deployed_version FROM modelmgr.models m "
					 "WHERE m.deployed_version IS NOT NULL ORDER BY m.name", 0, NULL, NULL, NULL, true, 0);
	models = SPI_tuptable;
	nmodels = SPI_processed;
	for (uint64 i = 0; i < nmodels; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(models->vals[i], models->tupdesc, 1, &isnull));
		char	   *mname = SPI_getvalue(models->vals[i], models->tupdesc, 2);
		int32		version = DatumGetInt32(SPI_getbinval(models->vals[i], models->tupdesc, 3, &isnull));
		Oid			types[2] = {INT8OID, INT4OID};
		Datum		args[2];
		const char *status = "ok";
		const char *metric = "rmse";
		StringInfoData why;
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		TimestampTz last = 0;
		int64		count;
		double	   *series;
		int			nseries = 0;

		if (!DatumGetBool(DirectFunctionCall1(mm_can_see, Int64GetDatum(id))))
			continue;
		initStringInfo(&why);
		args[0] = Int64GetDatum(id);
		args[1] = Int32GetDatum(version);
		mm_registry_exec("SELECT status, pg_catalog.array_to_string(reasons, '; '), evaluated_at, "
						 "COALESCE((metrics OPERATOR(pg_catalog.->>) 'rmse')::pg_catalog.float8, "
						 "(metrics OPERATOR(pg_catalog.->>) 'error_rate')::pg_catalog.float8), "
						 "metrics OPERATOR(pg_catalog.?) 'error_rate' "
						 "FROM modelmgr.evaluations WHERE model_id OPERATOR(pg_catalog.=) $1 "
						 "AND version OPERATOR(pg_catalog.=) $2 AND kind OPERATOR(pg_catalog.=) 'monitor' "
						 "ORDER BY id DESC", 2, types, args, NULL, true, 0);
		count = (int64) SPI_processed;
		series = palloc(sizeof(double) * (SPI_processed + 1));
		for (uint64 e = 0; e < SPI_processed; e++)
		{
			bool		value_null;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[e], SPI_tuptable->tupdesc, 4, &value_null);

			if (e == 0)
			{
				status = SPI_getvalue(SPI_tuptable->vals[e], SPI_tuptable->tupdesc, 1);
				appendStringInfoString(&why, SPI_getvalue(SPI_tuptable->vals[e], SPI_tuptable->tupdesc, 2));
				last = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[e], SPI_tuptable->tupdesc, 3, &isnull));
			}
			if (!value_null)
			{
				if (nseries == 0 &&
					DatumGetBool(SPI_getbinval(SPI_tuptable->vals[e], SPI_tuptable->tupdesc, 5, &isnull)))
					metric = "error rate";
				series[nseries++] = DatumGetFloat8(d);
			}
		}
		if (nseries >= 2 * mm_health_window)
		{
			double		recent = 0,
						before = 0,
						rise;

			for (int k = 0; k < mm_health_window; k++)
			{
				recent += series[k];
				before += series[mm_health_window + k];
			}
			rise = before > 0 ? recent / before - 1.0 : 0;
			if (rise >= mm_metric_warning)
			{
				const char *ms = rise >= mm_metric_alert ? "alert" : "warning";

				appendStringInfo(&why, "%smoving average %s of the last %d evaluations rose %.0f%% over the %d before",
								 why.len ? "; " : "", metric, mm_health_window, 100 * rise, mm_health_window);
				status = worse(status, ms);
			}
		}
		if (count == 0)
			appendStringInfoString(&why, "not monitored yet");

		MemoryContextSwitchTo(fncxt);
		values[0] = CStringGetTextDatum(mname);
		values[1] = Int32GetDatum(version);
		values[2] = CStringGetTextDatum(status);
		values[3] = CStringGetTextDatum(why.data);
		values[4] = TimestampTzGetDatum(last);
		nulls[4] = count == 0;
		values[5] = Int64GetDatum(count);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}
