/*
 * train_eval.c
 *	  The evaluation half of the in-memory training path (train_matrix.c):
 *	  predict every row with the finished model, the metrics of the training
 *	  and held-out rows, the drift baselines, and the champion comparison.
 *
 * Metrics are exact (every row is predicted).  Regression: rows, mse, rmse,
 * mae, r2.  Classification (mm_metrics.h, scikit-learn's definitions):
 * rows, accuracy, precision, recall, f1 (class 1 for binary, macro for
 * multiclass), roc_auc (binary), log_loss (models with probabilities), the
 * confusion matrix (rows = true class, columns = predicted, in the order of
 * classes()), and the held-out rows whose class the training rows did not
 * have (not scored).
 *
 * Baselines: numeric features as in train.c (percentile edges and CDF);
 * categorical features and the predicted classes as category shares.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "mm_metrics.h"
#include "mm_pg.h"
#include "train_matrix.h"

static void
raise_core(mm_status st, mm_error *err)
{
	if (st != MM_OK)
		mm_raise(err);
}

void
mm_matrix_predict_all(MatrixRun *run)
{
	int32		K = run->n_classes;
	mm_error	err;

	mm_charge_memory(&run->mem_used, (Size) run->n * sizeof(double) * (2 + (run->pred->has_proba ? K : 0)),
					 "the predictions");
	run->yhat = palloc_extended(sizeof(double) * run->n, MCXT_ALLOC_HUGE);
	if (run->classification)
	{
		run->score = palloc_extended(sizeof(double) * run->n, MCXT_ALLOC_HUGE);
		if (run->pred->has_proba)
			run->proba = palloc_extended(sizeof(double) * K * run->n, MCXT_ALLOC_HUGE);
	}
	mm_error_clear(&err);
	for (int64 r = 0; r < run->n; r++)
	{
		CHECK_FOR_INTERRUPTS();
		mm_matrix_row_values(run, r);
		if (run->classification)
		{
			int32		cls;

			raise_core(mm_predict_class(run->pred, run->values, run->nulls, &cls,
										run->proba ? run->proba + (Size) r * K : NULL,
										&run->score[r], &err), &err);
			run->yhat[r] = cls;
		}
		else
			raise_core(mm_predict_row(run->pred, run->values, run->nulls, &run->yhat[r], &err), &err);
	}
}

/*
 * Regression metrics as JSON over the rows i with take[i] (every row when
 * take is NULL): y the true values, yhat the predictions.
 */
static void
regression_metrics_json(StringInfo buf, const double *y, const double *yhat,
						const bool *take, bool want, int64 n_all)
{
	double		sse = 0,
				sae = 0,
				sum = 0,
				sst = 0,
				mean;
	int64		n = 0;

	for (int64 i = 0; i < n_all; i++)
		if (take == NULL || take[i] == want)
		{
			sum += y[i];
			n++;
		}
	mean = sum / n;
	for (int64 i = 0; i < n_all; i++)
		if (take == NULL || take[i] == want)
		{
			double		e = y[i] - yhat[i];

			sse += e * e;
			sae += fabs(e);
			sst += (y[i] - mean) * (y[i] - mean);
		}
	appendStringInfo(buf, "{\"rows\": " INT64_FORMAT ", \"mse\": ", n);
	mm_json_number(buf, sse / n);
	appendStringInfoString(buf, ", \"rmse\": ");
	mm_json_number(buf, sqrt(sse / n));
	appendStringInfoString(buf, ", \"mae\": ");
	mm_json_number(buf, sae / n);
	appendStringInfoString(buf, ", \"r2\": ");
	mm_json_number(buf, sst > 0 ? 1.0 - sse / sst : NAN);
	appendStringInfoChar(buf, '}');
}

/* Classification metrics as JSON (shared with evaluate() and monitor()). */
void
mm_class_metrics_json(StringInfo buf, const mm_class_metrics *m)
{
	int32		K = m->n_classes;

	appendStringInfo(buf, "{\"rows\": " INT64_FORMAT ", \"accuracy\": ", m->rows);
	mm_json_number(buf, m->accuracy);
	appendStringInfoString(buf, ", \"precision\": ");
	mm_json_number(buf, m->precision);
	appendStringInfoString(buf, ", \"recall\": ");
	mm_json_number(buf, m->recall);
	appendStringInfoString(buf, ", \"f1\": ");
	mm_json_number(buf, m->f1);
	appendStringInfoString(buf, ", \"roc_auc\": ");
	mm_json_number(buf, m->roc_auc);
	appendStringInfoString(buf, ", \"log_loss\": ");
	mm_json_number(buf, m->log_loss);
	appendStringInfoString(buf, ", \"confusion_matrix\": [");
	for (int32 i = 0; i < K; i++)
	{
		appendStringInfoString(buf, i ? ", [" : "[");
		for (int32 j = 0; j < K; j++)
			appendStringInfo(buf, "%s" INT64_FORMAT, j ? ", " : "", m->confusion[(Size) i * K + j]);
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoString(buf, "]}");
}

/* Classification metrics of the scored rows of one split as JSON. */
static void
classification_json(StringInfo buf, const MatrixRun *run, bool test)
{
	int32		K = run->n_classes;
	int64		n = test ? run->n_test : run->n_train;
	int32	   *y = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	int32	   *pred = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	double	   *proba = run->proba ? palloc_extended(sizeof(double) * K * n, MCXT_ALLOC_HUGE) : NULL;
	double	   *score = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	int64		i = 0;
	mm_class_metrics m;
	mm_error	err;

	for (int64 r = 0; r < run->n; r++)
	{
		int32		cls = mm_matrix_row_class(run, r);

		if (run->is_test[r] != test || cls < 0)
			continue;
		y[i] = cls;
		pred[i] = (int32) run->yhat[r];
		score[i] = run->score[r];
		if (proba)
			memcpy(proba + (Size) i * K, run->proba + (Size) r * K, sizeof(double) * K);
		i++;
	}
	mm_error_clear(&err);
	raise_core(mm_class_metrics_compute(y, pred, proba, K == 2 ? score : NULL, n, K, &m, &err), &err);
	mm_class_metrics_json(buf, &m);
	mm_class_metrics_free(&m);
	pfree(y);
	pfree(pred);
	pfree(score);
	if (proba)
		pfree(proba);
}

char *
mm_matrix_metrics_json(MatrixRun *run)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"train\": ");
	if (run->classification)
		classification_json(&buf, run, false);
	else
		regression_metrics_json(&buf, run->y, run->yhat, run->is_test, false, run->n);
	if (run->n_test > 0)
	{
		appendStringInfoString(&buf, ", \"test\": ");
		if (run->classification)
			classification_json(&buf, run, true);
		else
			regression_metrics_json(&buf, run->y, run->yhat, run->is_test, true, run->n);
	}
	if (run->unknown_label_rows > 0)
		appendStringInfo(&buf, ", \"test_unknown_class_rows\": " INT64_FORMAT, run->unknown_label_rows);
	if (run->group_summary)
		appendStringInfo(&buf, ", \"groups\": %s", run->group_summary);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * A categorical baseline: the share of each label among the non-NULL
 * values ({"kind": "categorical", "rows", "null_fraction", "categories":
 * {label: share}}).
 */
static void
categorical_baseline_json(StringInfo buf, char **labels, const int64 *counts,
						  int32 k, int64 nulls)
{
	int64		total = 0;

	for (int32 i = 0; i < k; i++)
		total += counts[i];
	appendStringInfo(buf, "{\"kind\": \"categorical\", \"rows\": " INT64_FORMAT ", \"null_fraction\": ",
					 total + nulls);
	mm_json_number(buf, total + nulls > 0 ? (double) nulls / (total + nulls) : 0.0);
	appendStringInfoString(buf, ", \"categories\": {");
	for (int32 i = 0; i < k; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, labels[i]);
		appendStringInfoString(buf, ": ");
		mm_json_number(buf, total > 0 ? (double) counts[i] / total : 0.0);
	}
	appendStringInfoString(buf, "}}");
}

/*
 * Baselines come from at most MM_BASELINE_ROWS training rows (every k-th
 * in scan order): quantiles of a 100000-row sample are as good as the PSI
 * and KS grids need, and sorting every row of a large table is not free.
 */
#define MM_BASELINE_ROWS 100000

/* Is row r one of the baseline sample (a training row, every stride-th)? */
static inline bool
in_baseline(const MatrixRun *run, int64 r, int64 stride, int64 *seen)
{
	if (run->is_test[r])
		return false;
	return (*seen)++ % stride == 0;
}

char *
mm_matrix_baselines_json(MatrixRun *run)
{
	StringInfoData buf;
	int64		stride = Max(1, (run->n_train + MM_BASELINE_ROWS - 1) / MM_BASELINE_ROWS);
	int64		sample = (run->n_train + stride - 1) / stride;
	double	   *vals;
	int64		seen;

	mm_charge_memory(&run->mem_used, sizeof(double) * Max(sample, 1), "the drift baselines");
	vals = palloc_extended(sizeof(double) * Max(sample, 1), MCXT_ALLOC_HUGE);
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"sample_rows\": " INT64_FORMAT ", \"features\": {", sample);
	for (int j = 0; j < run->p; j++)
	{
		const mm_feature *f = &run->model->features[j];
		int64		nulls = 0;

		if (j > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, f->name);
		appendStringInfoString(&buf, ": ");
		if (f->kind == MM_FEATURE_CATEGORICAL)
		{
			int64	   *counts = palloc0(sizeof(int64) * f->n_categories);

			seen = 0;
			for (int64 r = 0; r < run->n; r++)
			{
				double		v = run->raw[(Size) r * run->p + j];

				if (!in_baseline(run, r, stride, &seen))
					continue;
				if (isnan(v))
					nulls++;
				else
					counts[run->vocab_of_code[j][(int32) v]]++;
			}
			categorical_baseline_json(&buf, f->categories, counts, f->n_categories, nulls);
			pfree(counts);
		}
		else
		{
			int			n = 0;

			seen = 0;
			for (int64 r = 0; r < run->n; r++)
			{
				double		v = run->raw[(Size) r * run->p + j];

				if (!in_baseline(run, r, stride, &seen))
					continue;
				if (isnan(v))
					nulls++;
				else
					vals[n++] = v;
			}
			mm_baseline_json(&buf, vals, n, (int) nulls);
		}
	}
	appendStringInfoString(&buf, "}, \"prediction\": ");
	if (run->classification)
	{
		int64	   *counts = palloc0(sizeof(int64) * run->n_classes);

		seen = 0;
		for (int64 r = 0; r < run->n; r++)
			if (in_baseline(run, r, stride, &seen))
				counts[(int32) run->yhat[r]]++;
		categorical_baseline_json(&buf, run->model->classes, counts, run->n_classes, 0);
	}
	else
	{
		int			n = 0;

		seen = 0;
		for (int64 r = 0; r < run->n; r++)
			if (in_baseline(run, r, stride, &seen))
				vals[n++] = run->yhat[r];
		mm_baseline_json(&buf, vals, n, 0);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* ---- other models on our rows ------------------------------------------- */

/*
 * How another model (a champion, a compressed version's parent) reads this
 * run's rows: its predictor and, for each of its features, our column and,
 * for a categorical one, our code -> its category index.
 */
typedef struct Reader
{
	bool		ready;
	const mm_model *m;
	mm_predictor *pred;
	int		   *col;
	int32	  **cat;
} Reader;

/*
 * Prepare rd for model m (not grouped).  False when m cannot be served or
 * a feature it needs is not one of our columns of the same kind.
 */
static bool
reader_init(MatrixRun *run, const mm_model *m, Reader *rd)
{
	mm_error	err;

	memset(rd, 0, sizeof(*rd));
	mm_error_clear(&err);
	if (m->n_groups > 0 || mm_predictor_new(m, &rd->pred, &err) != MM_OK)
		return false;
	rd->m = m;
	rd->col = palloc(sizeof(int) * Max(m->n_features, 1));
	rd->cat = palloc0(sizeof(int32 *) * Max(m->n_features, 1));
	for (uint32 k = 0; k < m->n_features; k++)
	{
		const mm_feature *f = &m->features[k];
		int			j;

		for (j = 0; j < run->p; j++)
			if (strcmp(run->in->features[j], f->name) == 0)
				break;
		if (j == run->p ||
			run->in->categorical[j] != (f->kind == MM_FEATURE_CATEGORICAL))
			return false;
		rd->col[k] = j;
		if (f->kind == MM_FEATURE_CATEGORICAL)
		{
			const LabelDict *d = &run->dicts[j];

			rd->cat[k] = palloc(sizeof(int32) * Max(d->n, 1));
			for (int32 c = 0; c < d->n; c++)
				rd->cat[k][c] = mm_encoder_category(rd->pred->enc, k, d->labels[c], d->lens[c]);
		}
	}
	rd->ready = true;
	return true;
}

/* Row r as rd's model takes it, into x / xn (its feature count each). */
static void
reader_row(const MatrixRun *run, const Reader *rd, int64 r, double *x, bool *xn)
{
	for (uint32 k = 0; k < rd->m->n_features; k++)
	{
		double		v = run->raw[(Size) r * run->p + rd->col[k]];

		xn[k] = isnan(v);
		x[k] = xn[k] ? 0 : rd->cat[k] ? rd->cat[k][(int32) v] : v;
	}
}

/*
 * The reader for row r: readers[0] for an ungrouped model, the reader of
 * the row's group (prepared on first use) for a grouped one.  NULL when
 * the model cannot read the row (its group is not in the model, ...).
 */
static Reader *
reader_for_row(MatrixRun *run, const mm_model *m, Reader *readers, int64 r,
			   const char **keys, size_t *lens)
{
	int32		g = 0;

	if (m->n_groups > 0)
	{
		for (int i = 0; i < run->n_group; i++)
		{
			int32		code = run->gkey[(Size) r * run->n_group + i];

			keys[i] = code < 0 ? NULL : run->gdicts[i].labels[code];
			lens[i] = code < 0 ? 0 : run->gdicts[i].lens[code];
		}
		if ((g = mm_model_find_group(m, keys, lens)) < 0)
			return NULL;
	}
	if (!readers[g].ready &&
		!reader_init(run, m->n_groups > 0 ? m->groups[g].model : m, &readers[g]))
		return NULL;
	return &readers[g];
}

/*
 * The champion's score on our held-out rows: accuracy for classifiers
 * (its predicted label against the row's label), mse for regressors.  A
 * grouped champion reads each row with its group's sub-model, by this
 * training's group_by values, which must be the champion's group columns.
 * False when it cannot read or predict a row.
 */
static bool
champion_score(MatrixRun *run, const mm_model *cm, double *score)
{
	Reader	   *readers = palloc0(sizeof(Reader) * Max(cm->n_groups, 1));
	const char **keys = palloc(sizeof(char *) * Max(run->n_group, 1));
	size_t	   *lens = palloc(sizeof(size_t) * Max(run->n_group, 1));
	double	   *x = palloc(sizeof(double) * Max(cm->n_features, 1));
	bool	   *xn = palloc(sizeof(bool) * Max(cm->n_features, 1));
	double		acc = 0;
	int64		n = 0;
	mm_error	err;

	if (cm->n_groups > 0)
	{
		if ((int) cm->n_group_columns != run->n_group)
			return false;
		for (int g = 0; g < run->n_group; g++)
			if (strcmp(cm->group_columns[g], run->in->group_cols[g]) != 0)
				return false;
	}
	for (int64 r = 0; r < run->n; r++)
	{
		Reader	   *rd;
		double		out;

		CHECK_FOR_INTERRUPTS();
		if (!run->is_test[r] || (run->classification && mm_matrix_row_class(run, r) < 0))
			continue;
		if ((rd = reader_for_row(run, cm, readers, r, keys, lens)) == NULL)
			return false;
		reader_row(run, rd, r, x, xn);
		mm_error_clear(&err);
		if (mm_predict_row(rd->pred, x, xn, &out, &err) != MM_OK)
			return false;
		if (run->classification)
			acc += strcmp(rd->m->classes[(int32) out], run->label_dict.labels[(int32) run->y[r]]) == 0;
		else
			acc += (run->y[r] - out) * (run->y[r] - out);
		n++;
	}
	if (n == 0)
		return false;
	*score = acc / n;
	return true;
}

/* Our own score on the held-out rows, the same way. */
static double
own_score(const MatrixRun *run)
{
	double		acc = 0;
	int64		n = 0;

	for (int64 r = 0; r < run->n; r++)
	{
		if (!run->is_test[r])
			continue;
		if (run->classification)
		{
			int32		cls = mm_matrix_row_class(run, r);

			if (cls < 0)
				continue;
			acc += (int32) run->yhat[r] == cls;
		}
		else
			acc += (run->y[r] - run->yhat[r]) * (run->y[r] - run->yhat[r]);
		n++;
	}
	return n > 0 ? acc / n : NAN;
}

/*
 * Score the deployed version against the new one on this training's
 * held-out rows (in memory): accuracy for classifiers (higher wins), mse
 * for regressors (lower wins); ties keep the champion.  The champion must
 * read only columns this training read, with the same kinds.
 */
bool
mm_matrix_score_champion(void *arg, int64 model_id, int32 champion, char **reason)
{
	MatrixRun  *run = (MatrixRun *) arg;
	bytea	   *artifact;
	mm_model   *cm;
	mm_error	err;
	double		ours,
				theirs;
	const char *metric = run->classification ? "accuracy" : "mse";

	run->champion = champion;
	if (run->n_test == 0)
	{
		*reason = psprintf("no held-out rows to compare with version %d", champion);
		return false;
	}
	artifact = mm_fetch_artifact(model_id, champion, true);
	mm_error_clear(&err);
	if (artifact == NULL ||
		mm_model_parse(VARDATA_ANY(artifact), VARSIZE_ANY_EXHDR(artifact), &cm, &err) != MM_OK)
	{
		*reason = psprintf("version %d could not be read; kept it", champion);
		return false;
	}
	if ((cm->task == MM_TASK_REGRESSION) == run->classification ||
		cm->target == NULL || strcmp(cm->target, run->in->target) != 0 ||
		!champion_score(run, cm, &theirs))
	{
		*reason = psprintf("version %d cannot be scored on these held-out rows (another target, a feature this training did not read, or an algorithm that cannot serve); kept it",
						   champion);
		return false;
	}
	ours = own_score(run);
	run->champion_score = theirs;
	run->challenger_score = ours;
	*reason = psprintf("test %s %.6g vs %.6g of version %d on the same " INT64_FORMAT " held-out rows",
					   metric, ours, theirs, champion, run->n_test);
	return run->classification ? ours > theirs : ours < theirs;
}

/* ---- any model on the held-out rows ------------------------------------ */

/*
 * The task's metrics of model m on run's held-out rows (run from
 * mm_matrix_read), as JSON into out; *rows scored, and the mean time of
 * one prediction.  False when m cannot read these rows (a feature that is
 * not one of the columns read, of the same kind) or predict one of them.
 */
bool
mm_matrix_model_metrics(MatrixRun *run, const mm_model *m, StringInfo out,
						int64 *rows, double *seconds_per_row)
{
	double	   *x = palloc(sizeof(double) * Max(m->n_features, 1));
	bool	   *xn = palloc(sizeof(bool) * Max(m->n_features, 1));
	int32		K = (int32) m->n_classes;
	Reader		rd;
	mm_predictor *pred;
	mm_error	err;
	int32	   *y = NULL,
			   *cls = NULL,
			   *class_of_code = NULL;
	double	   *proba = NULL,
			   *score = NULL,
			   *yv = NULL,
			   *yhat = NULL;
	int64		n = 0;
	instr_time	start,
				now,
				spent;

	if (!reader_init(run, m, &rd) || (m->n_classes > 0) != run->classification)
		return false;
	pred = rd.pred;
	if (run->classification)
	{
		/* the row's label -> the model's class index, or -1 */
		class_of_code = palloc(sizeof(int32) * Max(run->label_dict.n, 1));
		for (int32 c = 0; c < run->label_dict.n; c++)
		{
			class_of_code[c] = -1;
			for (int32 k = 0; k < K; k++)
				if (strcmp(m->classes[k], run->label_dict.labels[c]) == 0)
					class_of_code[c] = k;
		}
		y = palloc_extended(sizeof(int32) * Max(run->n, 1), MCXT_ALLOC_HUGE);
		cls = palloc_extended(sizeof(int32) * Max(run->n, 1), MCXT_ALLOC_HUGE);
		score = palloc_extended(sizeof(double) * Max(run->n, 1), MCXT_ALLOC_HUGE);
		if (pred->has_proba)
			proba = palloc_extended(sizeof(double) * K * Max(run->n, 1), MCXT_ALLOC_HUGE);
	}
	else
	{
		yv = palloc_extended(sizeof(double) * Max(run->n, 1), MCXT_ALLOC_HUGE);
		yhat = palloc_extended(sizeof(double) * Max(run->n, 1), MCXT_ALLOC_HUGE);
	}
	INSTR_TIME_SET_ZERO(spent);
	for (int64 r = 0; r < run->n; r++)
	{
		mm_status	st;

		CHECK_FOR_INTERRUPTS();
		if (!run->is_test[r] || (run->classification && class_of_code[(int32) run->y[r]] < 0))
			continue;
		reader_row(run, &rd, r, x, xn);
		INSTR_TIME_SET_CURRENT(start);
		if (run->classification)
			st = mm_predict_class(pred, x, xn, &cls[n], proba ? proba + (Size) n * K : NULL,
								  &score[n], &err);
		else
			st = mm_predict_row(pred, x, xn, &yhat[n], &err);
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_ACCUM_DIFF(spent, now, start);
		if (st != MM_OK)
			return false;
		if (run->classification)
			y[n] = class_of_code[(int32) run->y[r]];
		else
			yv[n] = run->y[r];
		n++;
	}
	*rows = n;
	*seconds_per_row = n > 0 ? INSTR_TIME_GET_DOUBLE(spent) / n : NAN;
	if (n == 0)
		return false;
	if (run->classification)
	{
		mm_class_metrics cm;

		mm_error_clear(&err);
		raise_core(mm_class_metrics_compute(y, cls, proba, K == 2 ? score : NULL, n, K, &cm, &err), &err);
		mm_class_metrics_json(out, &cm);
		mm_class_metrics_free(&cm);
	}
	else
		regression_metrics_json(out, yv, yhat, NULL, false, n);
	mm_predictor_free(pred);
	return true;
}
