/*
 * train_matrix.c
 *	  Training with the rows in memory: classifiers (logistic_regression,
 *	  softmax_regression, linear_svm) and any model with categorical
 *	  features.
 *
 * One scan (with the caller's rights) reads the target and the features
 * into a compact matrix: numbers as float8, text, boolean and enum values
 * as codes of a per-column dictionary, NULL as NaN.  Memory is charged to
 * modelmgr.max_training_memory as it grows.  The split is train.c's rule
 * (a row is held out iff the seeded hash of its values is below
 * test_fraction), with labels hashed as their text.
 *
 * After the scan, from the training rows only: the classes (sorted: false <
 * true, integers numerically, text bytewise), each categorical feature's
 * vocabulary (sorted bytewise; the first level is the reference level of
 * unpenalized models), the imputation values (numeric mean, most frequent
 * category).  The training rows are then encoded into the design matrix
 * with the model's own encoder (mm_predict.h), so training and prediction
 * cannot disagree on the encoding, and the solver runs:
 *	 - logistic / softmax on columns centered by their training means (with
 *	   an intercept): the penalty is unchanged by centering and the Newton
 *	   solver equilibrates the scales itself, so this is standardization
 *	   for conditioning without changing the objective;
 *	 - linear_svm on z-scored columns (standardize, the default) or raw;
 *	 - linear_regression, lasso, elastic_net through the one-pass QR state
 *	   as in train.c.
 * Coefficients are mapped back to the original units before they are
 * stored.  train_eval.c predicts every row with the finished model for the
 * metrics, baselines and the champion comparison.
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "mm_bytes.h"
#include "mm_enet.h"
#include "mm_glm.h"
#include "mm_linreg.h"
#include "mm_mlp.h"
#include "mm_pg.h"
#include "mm_stats.h"
#include "mm_svm.h"
#include "train_matrix.h"

/* ---- label dictionaries ------------------------------------------------ */

static void
dict_grow_table(LabelDict *d)
{
	int32		cap = d->table_cap ? d->table_cap * 2 : 64;

	if (d->table)
		pfree(d->table);
	d->table = palloc_extended(sizeof(int32) * cap, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	d->table_cap = cap;
	for (int32 c = 0; c < d->n; c++)
	{
		uint32		i = d->hashes[c] & (cap - 1);

		while (d->table[i] != 0)
			i = (i + 1) & (cap - 1);
		d->table[i] = c + 1;
	}
}

/* The code of label[0 .. len), added when new. */
static int32
dict_code(MatrixRun *run, LabelDict *d, const char *label, int len)
{
	uint32		h = hash_bytes((const unsigned char *) label, len);
	uint32		i;

	if (d->table_cap == 0 || (d->n + 1) * 2 > d->table_cap)
		dict_grow_table(d);
	for (i = h & (d->table_cap - 1); d->table[i] != 0; i = (i + 1) & (d->table_cap - 1))
	{
		int32		c = d->table[i] - 1;

		if (d->hashes[c] == h && d->lens[c] == len && memcmp(d->labels[c], label, len) == 0)
			return c;
	}
	if (len > MM_MAX_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a category or class label is %d bytes long, more than the %d a model stores",
						len, MM_MAX_NAME_LEN),
				 errhint("Shorten the labels in a view, or leave that column out.")));
	if (memchr(label, '\0', len) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("a category or class label contains a zero byte")));
	if (d->n == d->cap)
	{
		int32		cap = d->cap ? d->cap * 2 : 16;

		if (cap > MM_MAX_CATEGORIES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a categorical column or the target has more than %d distinct values",
							MM_MAX_CATEGORIES),
					 errhint("A column with that many values is an identifier, not a category: leave it out.")));
		mm_charge_memory(&run->mem_used, (Size) (cap - d->cap) * 40, "category dictionaries");
		d->labels = d->labels ? repalloc_huge(d->labels, sizeof(char *) * cap) : palloc(sizeof(char *) * cap);
		d->lens = d->lens ? repalloc_huge(d->lens, sizeof(int32) * cap) : palloc(sizeof(int32) * cap);
		d->hashes = d->hashes ? repalloc_huge(d->hashes, sizeof(uint32) * cap) : palloc(sizeof(uint32) * cap);
		d->train_count = d->train_count ? repalloc_huge(d->train_count, sizeof(int64) * cap) :
			palloc(sizeof(int64) * cap);
		d->cap = cap;
	}
	mm_charge_memory(&run->mem_used, len + 1, "category dictionaries");
	d->labels[d->n] = pnstrdup(label, len);
	d->lens[d->n] = len;
	d->hashes[d->n] = h;
	d->train_count[d->n] = 0;
	d->n++;
	for (i = h & (d->table_cap - 1); d->table[i] != 0; i = (i + 1) & (d->table_cap - 1))
		;
	d->table[i] = d->n;
	return d->n - 1;
}

/* ---- the scan ------------------------------------------------------------ */

static void
grow_rows(MatrixRun *run)
{
	int64		cap = Max(1024, run->cap * 2);
	Size		per_row = sizeof(double) * (run->p + 1) + sizeof(bool);

	mm_charge_memory(&run->mem_used, (Size) (cap - run->cap) * per_row, "the rows read into memory");
	run->raw = run->raw ? repalloc_huge(run->raw, sizeof(double) * run->p * cap) :
		palloc_extended(sizeof(double) * Max(run->p, 1) * cap, MCXT_ALLOC_HUGE);
	run->y = run->y ? repalloc_huge(run->y, sizeof(double) * cap) :
		palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE);
	run->is_test = run->is_test ? repalloc_huge(run->is_test, sizeof(bool) * cap) :
		palloc_extended(sizeof(bool) * cap, MCXT_ALLOC_HUGE);
	if (run->n_group > 0)
	{
		mm_charge_memory(&run->mem_used, (Size) (cap - run->cap) * sizeof(int32) * run->n_group,
						 "the rows read into memory");
		run->gkey = run->gkey ? repalloc_huge(run->gkey, sizeof(int32) * run->n_group * cap) :
			palloc_extended(sizeof(int32) * run->n_group * cap, MCXT_ALLOC_HUGE);
	}
	run->cap = cap;
}

static void
refuse_nonfinite(const char *column, double v)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("column \"%s\" holds %s, which training cannot use",
					column, isnan(v) ? "NaN" : "an infinite value"),
			 errhint("Filter those rows out with a view, or replace the values with NULL (NULL features are imputed).")));
}

static bool
matrix_scan_row(void *arg, Datum *values, bool *nulls)
{
	MatrixRun  *run = (MatrixRun *) arg;
	mm_hasher	hs;
	double	   *raw;
	bool		has_null = false;
	int64		r;

	run->rows_read++;
	if ((run->rows_read & 8191) == 0)
		mm_progress_rows(run->rows_read);
	if (nulls[0])
	{
		run->null_target++;
		return true;
	}
	if (run->n == run->cap)
		grow_rows(run);
	r = run->n;
	raw = run->raw + (Size) r * run->p;
	mm_hash_init(&hs, run->spec->seed);
	if (run->classification)
	{
		int			len;
		text	   *copy;
		const char *label = mm_text_bytes(values[0], &len, &copy);

		run->y[r] = dict_code(run, &run->label_dict, label, len);
		mm_hash_bytes(&hs, label, len);
		if (copy)
			pfree(copy);
	}
	else
	{
		run->y[r] = DatumGetFloat8(values[0]);
		if (!isfinite(run->y[r]))
			refuse_nonfinite(run->in->target, run->y[r]);
		mm_hash_double(&hs, run->y[r]);
	}
	for (int j = 0; j < run->p; j++)
	{
		if (nulls[j + 1])
		{
			raw[j] = NAN;
			has_null = true;
			mm_hash_null(&hs);
		}
		else if (run->in->categorical[j])
		{
			int			len;
			text	   *copy;
			const char *label = mm_text_bytes(values[j + 1], &len, &copy);

			raw[j] = dict_code(run, &run->dicts[j], label, len);
			mm_hash_bytes(&hs, label, len);
			if (copy)
				pfree(copy);
		}
		else
		{
			raw[j] = DatumGetFloat8(values[j + 1]);
			if (!isfinite(raw[j]))
				refuse_nonfinite(run->in->features[j], raw[j]);
			mm_hash_double(&hs, raw[j]);
		}
	}
	for (int g = 0; g < run->n_group; g++)
	{
		int			c = run->p + 1 + g;

		if (nulls[c])
		{
			run->gkey[(Size) r * run->n_group + g] = -1;
			mm_hash_null(&hs);
		}
		else
		{
			int			len;
			text	   *copy;
			const char *label = mm_text_bytes(values[c], &len, &copy);

			run->gkey[(Size) r * run->n_group + g] = dict_code(run, &run->gdicts[g], label, len);
			mm_hash_bytes(&hs, label, len);
			if (copy)
				pfree(copy);
		}
	}
	if (has_null && run->impute_error)
		for (int j = 0; j < run->p; j++)
			if (nulls[j + 1])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("feature column \"%s\" is NULL in a row and params say \"impute\": \"error\"",
								run->in->features[j]),
						 errhint("Filter those rows out, or use \"impute\": \"mean\".")));
	run->is_test[r] = mm_hash_unit(mm_hash_final(&hs)) < run->spec->test_fraction;
	if (!run->is_test[r])
	{
		run->n_train++;
		if (run->classification)
			run->label_dict.train_count[(int32) run->y[r]]++;
		for (int j = 0; j < run->p; j++)
			if (run->in->categorical[j] && !isnan(raw[j]))
				run->dicts[j].train_count[(int32) raw[j]]++;
	}
	run->n++;
	return true;
}

/* ---- vocabularies, classes, imputation ----------------------------------- */

/* How sorted_codes orders the labels of a dictionary. */
typedef struct LabelOrder
{
	const LabelDict *dict;
	int			kind;			/* MM_LABEL_* */
} LabelOrder;

/* Compare two codes by label (bytewise, or by the order's kind). */
static int
label_cmp(const void *a, const void *b, void *arg)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;
	const LabelDict *d = ((const LabelOrder *) arg)->dict;
	int			sort_kind = ((const LabelOrder *) arg)->kind;

	if (sort_kind == MM_LABEL_INTEGER)
	{
		int64		u = strtoi64(d->labels[x], NULL, 10);
		int64		v = strtoi64(d->labels[y], NULL, 10);

		return u < v ? -1 : u > v ? 1 : 0;
	}
	if (sort_kind == MM_LABEL_BOOLEAN)
		return strcmp(d->labels[x], d->labels[y]);	/* "false" < "true" */
	{
		int			c = memcmp(d->labels[x], d->labels[y], Min(d->lens[x], d->lens[y]));

		return c != 0 ? c : (d->lens[x] > d->lens[y]) - (d->lens[x] < d->lens[y]);
	}
}

/*
 * The codes with training rows, sorted; *n_out of them.  map[code] gets the
 * sorted position, or -1 for codes seen only in held-out rows.
 */
static int32 *
sorted_codes(const LabelDict *d, int kind, int32 *n_out, int32 **map)
{
	int32	   *codes = palloc(sizeof(int32) * Max(d->n, 1));
	int32		n = 0;

	*map = palloc(sizeof(int32) * Max(d->n, 1));
	for (int32 c = 0; c < d->n; c++)
	{
		(*map)[c] = -1;
		if (d->train_count[c] > 0)
			codes[n++] = c;
	}
	{
		LabelOrder	order = {d, kind};

		qsort_arg(codes, n, sizeof(int32), label_cmp, &order);
	}
	for (int32 i = 0; i < n; i++)
		(*map)[codes[i]] = i;
	*n_out = n;
	return codes;
}

static bool
unpenalized(const MatrixRun *run)
{
	const mm_param_values *pv = &run->spec->params;

	switch (run->algorithm)
	{
		case MM_ALGO_LINEAR_REGRESSION:
			return mm_param_number(pv, "l2") == 0;
		case MM_ALGO_LOGISTIC_REGRESSION:
			return mm_param_number(pv, "l2") == 0 && mm_param_number(pv, "l1") == 0;
		case MM_ALGO_SOFTMAX_REGRESSION:
			return mm_param_number(pv, "l2") == 0;
		default:
			return false;		/* lasso, elastic net, SVM: penalized */
	}
}

static void
raise_core(mm_status st, mm_error *err)
{
	if (st != MM_OK)
		mm_raise(err);
}

/* Classes of the training rows: the model's classes and task. */
static void
resolve_classes(MatrixRun *run, mm_model *model)
{
	int32		K;
	int32	   *codes = sorted_codes(&run->label_dict, run->in->label_kind, &K, &run->class_of_code);
	mm_error	err;

	if (K < 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" has only one class (\"%s\") in the training rows",
						run->in->target, run->label_dict.labels[codes[0]]),
				 errhint("A classifier needs rows of at least two classes: check the target and the rows of %s.",
						 run->in->qualified)));
	if (run->algorithm == MM_ALGO_LOGISTIC_REGRESSION && K > 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("logistic_regression is binary, but target column \"%s\" has %d classes",
						run->in->target, K),
				 errhint("Use softmax_regression or linear_svm for more than two classes.")));
	run->n_classes = K;
	run->task = K == 2 ? "binary" : "multiclass";
	model->task = K == 2 ? MM_TASK_BINARY : MM_TASK_MULTICLASS;
	mm_error_clear(&err);
	for (int32 i = 0; i < K; i++)
		raise_core(mm_model_add_class(model, run->label_dict.labels[codes[i]], &err), &err);
	raise_core(mm_model_set_attr(model, "label_kind", run->in->label_kind, &err), &err);
	/* held-out rows of a class the model does not know are not scored */
	for (int64 r = 0; r < run->n; r++)
		if (run->is_test[r])
		{
			if (run->class_of_code[(int32) run->y[r]] < 0)
				run->unknown_label_rows++;
			else
				run->n_test++;
		}
}

static bool
is_mlp(const MatrixRun *run)
{
	return run->algorithm == MM_ALGO_MLP_CLASSIFIER || run->algorithm == MM_ALGO_MLP_REGRESSOR;
}

/*
 * Networks see z-scores of the numeric features: the model records the
 * training mean and standard deviation as the feature's center and scale,
 * which the encoder applies at training and prediction alike.
 */
static void
standardize_feature(const MatrixRun *run, int j, mm_feature *f)
{
	double		ss = 0;
	int64		cnt = 0;

	for (int64 r = 0; r < run->n; r++)
	{
		double		v = run->raw[(Size) r * run->p + j];

		if (!run->is_test[r] && !isnan(v))
		{
			ss += (v - f->impute_value) * (v - f->impute_value);
			cnt++;
		}
	}
	f->center = f->impute_value;
	f->scale = ss > 0 ? sqrt(ss / cnt) : 1.0;
}

/* The features of the model: kinds, vocabularies, imputation. */
static void
resolve_features(MatrixRun *run, mm_model *model)
{
	bool		drop = unpenalized(run);
	bool		first_categorical = true;
	mm_error	err;

	mm_error_clear(&err);
	run->impute = palloc0(sizeof(double) * Max(run->p, 1));
	run->vocab_of_code = palloc0(sizeof(int32 *) * Max(run->p, 1));
	for (int j = 0; j < run->p; j++)
	{
		mm_feature *f = mm_model_add_feature(model, run->in->features[j], &err);

		if (!f)
			mm_raise(&err);
		f->impute = run->impute_error ? MM_IMPUTE_ERROR : MM_IMPUTE_VALUE;
		if (run->in->categorical[j])
		{
			int32		C;
			int32	   *codes = sorted_codes(&run->dicts[j], MM_LABEL_TEXT, &C, &run->vocab_of_code[j]);
			int32		mode = 0;

			if (C == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("feature column \"%s\" is NULL in every training row", run->in->features[j]),
						 errhint("Leave it out of features.")));
			f->kind = MM_FEATURE_CATEGORICAL;
			for (int32 i = 0; i < C; i++)
			{
				raise_core(mm_feature_add_category(f, run->dicts[j].labels[codes[i]], &err), &err);
				if (run->dicts[j].train_count[codes[i]] > run->dicts[j].train_count[codes[mode]])
					mode = i;
			}
			/*
			 * Unpenalized models drop the reference level (the intercept
			 * carries it); without an intercept the first categorical
			 * feature keeps every level.
			 */
			f->drop_first = drop && (run->fit_intercept || !first_categorical);
			first_categorical = false;
			f->impute_value = mode;
		}
		else
		{
			double		sum = 0;
			int64		cnt = 0;

			for (int64 r = 0; r < run->n; r++)
			{
				double		v = run->raw[(Size) r * run->p + j];

				if (!run->is_test[r] && !isnan(v))
				{
					sum += v;
					cnt++;
				}
			}
			if (cnt == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("feature column \"%s\" is NULL in every training row", run->in->features[j]),
						 errhint("Leave it out of features.")));
			f->impute_value = sum / cnt;
			if (is_mlp(run))
				standardize_feature(run, j, f);
		}
		run->impute[j] = f->impute_value;
	}
}

void
mm_matrix_row_values(MatrixRun *run, int64 r)
{
	const double *raw = run->raw + (Size) r * run->p;

	for (int j = 0; j < run->p; j++)
	{
		run->nulls[j] = isnan(raw[j]);
		if (run->nulls[j])
			run->values[j] = 0;
		else if (run->in->categorical[j])
			run->values[j] = run->vocab_of_code[j][(int32) raw[j]];
		else
			run->values[j] = raw[j];
	}
}

int32
mm_matrix_row_class(const MatrixRun *run, int64 r)
{
	return run->class_of_code[(int32) run->y[r]];
}

/* ---- the fit ----------------------------------------------------------- */

/* The encoded training rows (n_train x width, row-major) and their labels. */
static double *
encode_training_rows(MatrixRun *run, int32 **labels, double **targets)
{
	uint32		width = run->enc->width;
	double	   *X;
	int64		i = 0;
	mm_error	err;

	mm_charge_memory(&run->mem_used, (Size) run->n_train * (sizeof(double) * (width + 1) + sizeof(int32)),
					 "the design matrix");
	X = palloc_extended(sizeof(double) * Max(width, 1) * run->n_train, MCXT_ALLOC_HUGE);
	*labels = palloc_extended(sizeof(int32) * run->n_train, MCXT_ALLOC_HUGE);
	*targets = palloc_extended(sizeof(double) * run->n_train, MCXT_ALLOC_HUGE);
	mm_error_clear(&err);
	for (int64 r = 0; r < run->n; r++)
	{
		if (run->is_test[r])
			continue;
		CHECK_FOR_INTERRUPTS();
		mm_matrix_row_values(run, r);
		raise_core(mm_encoder_encode(run->enc, run->values, run->nulls, X + (Size) i * width, &err), &err);
		if (run->classification)
		{
			(*labels)[i] = mm_matrix_row_class(run, r);
			(*targets)[i] = (*labels)[i];
		}
		else
			(*targets)[i] = run->y[r];
		i++;
	}
	return X;
}

/*
 * Center (and with scale, z-score) the columns of X in place; center[j]
 * and scale[j] receive what was applied (0 and 1 for untouched columns).
 */
static void
standardize_columns(double *X, int64 n, uint32 width, bool center, bool scale,
					double *mean, double *sd)
{
	for (uint32 j = 0; j < width; j++)
	{
		double		m = 0,
					ss = 0;

		for (int64 i = 0; i < n; i++)
			m += X[(Size) i * width + j];
		m /= n;
		for (int64 i = 0; i < n; i++)
		{
			double		d = X[(Size) i * width + j] - m;

			ss += d * d;
		}
		mean[j] = center ? m : 0;
		sd[j] = scale && ss > 0 ? sqrt(ss / n) : 1;
		if (mean[j] != 0 || sd[j] != 1)
			for (int64 i = 0; i < n; i++)
				X[(Size) i * width + j] = (X[(Size) i * width + j] - mean[j]) / sd[j];
	}
}

/* Map rows of coefficients on standardized columns back to original units. */
static void
unstandardize(double *coef, double *intercept, int32 rows, uint32 width,
			  const double *mean, const double *sd)
{
	for (int32 k = 0; k < rows; k++)
	{
		double	   *c = coef + (Size) k * width;

		for (uint32 j = 0; j < width; j++)
		{
			c[j] /= sd[j];
			intercept[k] -= c[j] * mean[j];
		}
	}
}

/* Name of input slot s (feature, or feature = category) for messages. */
static char *
slot_name(const mm_model *model, uint32 s)
{
	for (uint32 j = 0; j < model->n_features; j++)
	{
		const mm_feature *f = &model->features[j];
		uint32		w = f->kind == MM_FEATURE_NUMERIC ? 1 : f->n_categories - f->drop_first;

		if (s < w)
			return f->kind == MM_FEATURE_NUMERIC ? pstrdup(f->name) :
				psprintf("%s = %s", f->name, f->categories[s + f->drop_first]);
		s -= w;
	}
	return pstrdup("?");
}

static void
fit_least_squares(MatrixRun *run, const double *X, const double *y, int64 n,
				  uint32 width, double *coef, double *intercept)
{
	const mm_param_values *pv = &run->spec->params;
	int32		cap = mm_linreg_default_block(width);
	Size		size = mm_linreg_state_size(width, cap);
	mm_linreg_state *s;
	mm_linreg_options opt;
	mm_error	err;
	int32		bad = -1;

	mm_charge_memory(&run->mem_used, size + mm_cd_gram_bytes(width), "the fit state");
	s = palloc_extended(size, MCXT_ALLOC_HUGE);
	mm_linreg_init(s, width, cap);
	mm_error_clear(&err);
	for (int64 i = 0; i < n; i++)
		raise_core(mm_linreg_add(s, X + (Size) i * width, y[i], &err), &err);
	raise_core(mm_linreg_flush(s, &err), &err);
	mm_linreg_default_options(&opt);
	opt.fit_intercept = run->fit_intercept;
	if (run->algorithm == MM_ALGO_LINEAR_REGRESSION)
	{
		opt.l2 = mm_param_number(pv, "l2");
		if (mm_linreg_solve(s, &opt, coef, intercept, &bad, &err) != MM_OK)
		{
			if (err.status == MM_ERR_DATA && bad >= 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("feature \"%s\" is constant or a linear combination of the other features",
								slot_name(run->model, bad)),
						 errdetail("The training rows make the design matrix rank deficient, so the coefficients are not unique."),
						 errhint("Leave that column out of features, or pass params => '{\"l2\": 0.001}' for a ridge fit.")));
			mm_raise(&err);
		}
	}
	else
	{
		mm_enet_options eo;
		mm_cd_info info;

		mm_enet_default_options(&eo);
		eo.alpha = mm_param_number(pv, "alpha");
		eo.l1_ratio = run->algorithm == MM_ALGO_LASSO ? 1.0 : mm_param_number(pv, "l1_ratio");
		eo.tol = mm_param_number(pv, "tol");
		eo.max_iter = (int32) mm_param_number(pv, "max_iter");
		raise_core(mm_enet_fit_linreg(s, run->fit_intercept, &eo, coef, intercept, &info, &err), &err);
		if (!info.converged)
			ereport(WARNING,
					(errmsg("coordinate descent did not converge in %d sweeps (duality gap %g)",
							info.n_iter, info.dual_gap),
					 errhint("Raise params max_iter or tol, or scale the features.")));
	}
}

static void
glm_options(const MatrixRun *run, mm_glm_options *opt)
{
	const mm_param_values *pv = &run->spec->params;
	const char *solver = mm_param_string(pv, "solver");

	mm_glm_options_default(opt);
	opt->l2 = mm_param_number(pv, "l2");
	if (run->algorithm == MM_ALGO_LOGISTIC_REGRESSION)
		opt->l1 = mm_param_number(pv, "l1");
	opt->fit_intercept = run->fit_intercept;
	opt->solver = strcmp(solver, "newton") == 0 ? MM_GLM_SOLVER_NEWTON :
		strcmp(solver, "lbfgs") == 0 ? MM_GLM_SOLVER_LBFGS : MM_GLM_SOLVER_AUTO;
	opt->max_iter = (int32) mm_param_number(pv, "max_iter");
	opt->tol = mm_param_number(pv, "tol");
}

static void
glm_report(const MatrixRun *run, const mm_glm_info *info)
{
	if (info->separable)
		ereport(WARNING,
				(errmsg("the classes of \"%s\" are separable by the features: the unpenalized coefficients have no finite value",
						run->in->target),
				 errdetail("The fit stopped after %d iterations with the last finite coefficients; predicted probabilities are close to 0 or 1.",
						   info->iterations),
				 errhint("Pass a penalty, e.g. params => '{\"l2\": 1}', for finite, stable coefficients.")));
	else if (!info->converged)
		ereport(WARNING,
				(errmsg("%s did not converge in %d iterations", mm_algorithm_name(run->algorithm), info->iterations),
				 errhint("Raise params max_iter, pass a penalty, or check the features for extreme values.")));
}

static void
fit_glm(MatrixRun *run, double *X, const int32 *labels, const double *y01,
		int64 n, uint32 width, double *coef, double *intercept)
{
	mm_glm_options opt;
	mm_glm_info info;
	mm_glm_data data;
	mm_error	err;
	int32		K = run->n_classes;
	int32		rows = run->algorithm == MM_ALGO_LOGISTIC_REGRESSION ? 1 : K;
	double	   *mean = palloc(sizeof(double) * Max(width, 1));
	double	   *sd = palloc(sizeof(double) * Max(width, 1));

	glm_options(run, &opt);
	mm_charge_memory(&run->mem_used, mm_glm_workspace_bytes((int32) n, width, K, &opt),
					 "the solver's workspace");
	standardize_columns(X, n, width, run->fit_intercept, false, mean, sd);
	memset(&data, 0, sizeof(data));
	data.n = (int32) n;
	data.p = width;
	data.x = X;
	data.layout = MM_GLM_ROW_MAJOR;
	mm_error_clear(&err);
	if (run->algorithm == MM_ALGO_LOGISTIC_REGRESSION)
		raise_core(mm_glm_logistic_fit(&data, y01, &opt, coef, intercept, &info, &err), &err);
	else
		raise_core(mm_glm_multinomial_fit(&data, labels, K, &opt, coef, intercept, &info, &err), &err);
	glm_report(run, &info);
	unstandardize(coef, intercept, rows, width, mean, sd);
}

static void
fit_svm(MatrixRun *run, double *X, const int32 *labels, int64 n, uint32 width,
		double *coef, double *intercept)
{
	const mm_param_values *pv = &run->spec->params;
	mm_svm_options opt;
	mm_cd_info	info;
	mm_error	err;
	int32		M = mm_svm_n_models(run->n_classes);
	double	   *mean = palloc(sizeof(double) * Max(width, 1));
	double	   *sd = palloc(sizeof(double) * Max(width, 1));
	bool		standardize = mm_param_bool(pv, "standardize");

	mm_svm_default_options(&opt);
	opt.C = mm_param_number(pv, "C");
	opt.loss = strcmp(mm_param_string(pv, "loss"), "hinge") == 0 ? MM_SVM_HINGE : MM_SVM_SQUARED_HINGE;
	opt.tol = mm_param_number(pv, "tol");
	opt.max_iter = (int32) mm_param_number(pv, "max_iter");
	opt.fit_intercept = run->fit_intercept;
	opt.intercept_scaling = mm_param_number(pv, "intercept_scaling");
	opt.seed = run->spec->seed;
	mm_charge_memory(&run->mem_used, mm_svm_work_bytes(n, width, run->n_classes), "the solver's workspace");
	standardize_columns(X, n, width, standardize && run->fit_intercept, standardize, mean, sd);
	mm_error_clear(&err);
	raise_core(mm_svm_fit(X, n, width, labels, run->n_classes, &opt, coef, intercept, &info, &err), &err);
	if (!info.converged)
		ereport(WARNING,
				(errmsg("linear_svm did not converge in %d sweeps", info.n_iter),
				 errhint("Raise params max_iter or tol, or lower C.")));
	unstandardize(coef, intercept, M, width, mean, sd);
}

/* hidden_layers: "100", "64,32" or "" */
static void
parse_hidden_layers(const char *spec, mm_mlp_options *opt)
{
	const char *p = spec;

	opt->n_hidden = 0;
	while (*p)
	{
		char	   *end;
		long		w = strtol(p, &end, 10);

		if (end == p || w < 1 || w > 10000 || opt->n_hidden == MM_MLP_MAX_HIDDEN ||
			(*end != ',' && *end != '\0'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"hidden_layers\" must list at most %d widths of 1 to 10000, comma separated, not \"%s\"",
							MM_MLP_MAX_HIDDEN, spec),
					 errhint("For example '{\"hidden_layers\": \"64,32\"}'.")));
		opt->hidden[opt->n_hidden++] = (int32_t) w;
		p = *end == ',' ? end + 1 : end;
	}
}

/* Train the network and store its layers as tensors W1.., b1.. */
static void
fit_mlp(MatrixRun *run, const double *X, const int32 *labels, const double *targets,
		int64 n, uint32 width)
{
	const mm_param_values *pv = &run->spec->params;
	mm_mlp_options opt;
	mm_mlp_info info;
	mm_mlp_net *net;
	mm_error	err;
	bool		classifier = run->algorithm == MM_ALGO_MLP_CLASSIFIER;
	int32		K = classifier ? run->n_classes : 1;

	mm_mlp_default_options(&opt);
	parse_hidden_layers(mm_param_string(pv, "hidden_layers"), &opt);
	opt.activation = strcmp(mm_param_string(pv, "activation"), "tanh") == 0 ? MM_MLP_TANH : MM_MLP_RELU;
	opt.solver = strcmp(mm_param_string(pv, "solver"), "sgd") == 0 ? MM_MLP_SGD : MM_MLP_ADAM;
	opt.learning_rate = mm_param_number(pv, "learning_rate");
	opt.momentum = mm_param_number(pv, "momentum");
	opt.batch_size = (int32) mm_param_number(pv, "batch_size");
	opt.max_epochs = (int32) mm_param_number(pv, "max_epochs");
	opt.l2 = mm_param_number(pv, "l2");
	opt.early_stopping = mm_param_bool(pv, "early_stopping");
	opt.validation_fraction = mm_param_number(pv, "validation_fraction");
	opt.n_iter_no_change = (int32) mm_param_number(pv, "n_iter_no_change");
	opt.tol = mm_param_number(pv, "tol");
	opt.seed = run->spec->seed;
	{
		size_t		bytes = mm_mlp_work_bytes(n, width, K, &opt);

		if (bytes == 0)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the network is too large"),
					 errhint("Use fewer or narrower hidden layers.")));
		mm_charge_memory(&run->mem_used, bytes, "the network and its optimizer state");
	}
	mm_error_clear(&err);
	if (!classifier)
	{
		/* the network learns z-scores of the target; the model maps back */
		double		m = 0,
					ss = 0;
		double	   *z = palloc_extended(sizeof(double) * Max(n, 1), MCXT_ALLOC_HUGE);

		for (int64 i = 0; i < n; i++)
			m += targets[i];
		m /= n;
		for (int64 i = 0; i < n; i++)
			ss += (targets[i] - m) * (targets[i] - m);
		ss = ss > 0 ? sqrt(ss / n) : 1.0;
		for (int64 i = 0; i < n; i++)
			z[i] = (targets[i] - m) / ss;
		raise_core(mm_model_set_attr(run->model, "target_center", m, &err), &err);
		raise_core(mm_model_set_attr(run->model, "target_scale", ss, &err), &err);
		targets = z;
	}
	raise_core(mm_mlp_fit(X, n, width, classifier ? labels : NULL, classifier ? NULL : targets,
						  K, &opt, &net, &info, &err), &err);
	if (!info.converged)
		ereport(NOTICE,
				(errmsg("%s ran all %d epochs without meeting its stopping rule (last loss %g)",
						mm_algorithm_name(run->algorithm), info.epochs, info.loss),
				 errhint("Raise params max_epochs, or accept the model as it is.")));
	for (int32 l = 0; l < net->L; l++)
	{
		char		name[16];
		mm_tensor  *t;

		snprintf(name, sizeof(name), "W%d", l + 1);
		t = mm_model_add_tensor(run->model, name, MM_DTYPE_F64, net->out[l], net->in[l], &err);
		if (!t)
			mm_raise(&err);
		memcpy(t->values, net->W[l], sizeof(double) * net->out[l] * net->in[l]);
		snprintf(name, sizeof(name), "b%d", l + 1);
		t = mm_model_add_tensor(run->model, name, MM_DTYPE_F64, 1, net->out[l], &err);
		if (!t)
			mm_raise(&err);
		memcpy(t->values, net->b[l], sizeof(double) * net->out[l]);
	}
	raise_core(mm_model_set_attr(run->model, "layers", net->L, &err), &err);
	raise_core(mm_model_set_attr(run->model, "activation", net->activation, &err), &err);
	raise_core(mm_model_set_attr(run->model, "epochs", info.epochs, &err), &err);
	mm_mlp_net_free(net);
}

static void add_param_attrs(MatrixRun *run);

/* Fit and store the parameters in the model. */
static void
fit_model(MatrixRun *run)
{
	int32	   *labels;
	double	   *targets;
	double	   *X = encode_training_rows(run, &labels, &targets);
	uint32		width = run->enc->width;
	int32		rows;
	double	   *coef;
	double	   *intercept;
	mm_tensor  *t;
	mm_error	err;

	if (width == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the features leave no input: every categorical feature has a single category in the training rows"),
				 errhint("Leave those columns out of features.")));
	if (is_mlp(run))
	{
		fit_mlp(run, X, labels, targets, run->n_train, width);
		pfree(X);
		add_param_attrs(run);
		return;
	}
	switch (run->algorithm)
	{
		case MM_ALGO_SOFTMAX_REGRESSION:
			rows = run->n_classes;
			break;
		case MM_ALGO_LINEAR_SVM:
			rows = mm_svm_n_models(run->n_classes);
			break;
		default:
			rows = 1;
	}
	coef = palloc0(sizeof(double) * Max(width, 1) * rows);
	intercept = palloc0(sizeof(double) * rows);
	switch (run->algorithm)
	{
		case MM_ALGO_LOGISTIC_REGRESSION:
		case MM_ALGO_SOFTMAX_REGRESSION:
			fit_glm(run, X, labels, targets, run->n_train, width, coef, intercept);
			break;
		case MM_ALGO_LINEAR_SVM:
			fit_svm(run, X, labels, run->n_train, width, coef, intercept);
			break;
		default:
			fit_least_squares(run, X, targets, run->n_train, width, coef, intercept);
	}
	pfree(X);
	mm_error_clear(&err);
	t = mm_model_add_tensor(run->model, "coef", MM_DTYPE_F64, rows, width, &err);
	if (!t)
		mm_raise(&err);
	memcpy(t->values, coef, sizeof(double) * width * rows);
	t = mm_model_add_tensor(run->model, "intercept", MM_DTYPE_F64, 1, rows, &err);
	if (!t)
		mm_raise(&err);
	memcpy(t->values, intercept, sizeof(double) * rows);
	raise_core(mm_model_set_attr(run->model, "fit_intercept", run->fit_intercept ? 1 : 0, &err), &err);
	add_param_attrs(run);
}

/* Numeric params as model attributes (what the model was trained with). */
static void
add_param_attrs(MatrixRun *run)
{
	mm_error	err;

	mm_error_clear(&err);
	for (int i = 0; i < run->spec->params.spec->nparams; i++)
	{
		const mm_param_spec *ps = &run->spec->params.spec->params[i];

		if (ps->type == MM_PARAM_NUMBER)
			raise_core(mm_model_set_attr(run->model, ps->name, run->spec->params.number[i], &err), &err);
	}
}


/* ---- group_by: one sub-model per group ---------------------------------- */


/* Order of two group keys: NULL first, then bytewise, column by column. */
static int
gkey_cmp_codes(const MatrixRun *run, const int32 *a, const int32 *b)
{
	for (int g = 0; g < run->n_group; g++)
	{
		const LabelDict *d = &run->gdicts[g];
		int			c;

		if (a[g] == b[g])
			continue;
		if (a[g] < 0 || b[g] < 0)
			return a[g] < 0 ? -1 : 1;
		c = memcmp(d->labels[a[g]], d->labels[b[g]], Min(d->lens[a[g]], d->lens[b[g]]));
		if (c != 0)
			return c;
		return d->lens[a[g]] < d->lens[b[g]] ? -1 : 1;
	}
	return 0;
}

static int
row_gkey_cmp(const void *x, const void *y, void *arg)
{
	const MatrixRun *run = (const MatrixRun *) arg;
	int64		a = *(const int64 *) x;
	int64		b = *(const int64 *) y;
	int			c = gkey_cmp_codes(run, run->gkey + (Size) a * run->n_group,
								   run->gkey + (Size) b * run->n_group);

	return c != 0 ? c : (a > b) - (a < b);
}

/* The group's keys as text, for messages: region = north, ... */
static char *
group_label(const MatrixRun *run, const int32 *key)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int g = 0; g < run->n_group; g++)
		appendStringInfo(&buf, "%s%s = %s", g ? ", " : "", run->in->group_cols[g],
						 key[g] < 0 ? "NULL" : quote_literal_cstr(run->gdicts[g].labels[key[g]]));
	return buf.data;
}

static void
group_error_context(void *arg)
{
	errcontext("training the group %s", (const char *) arg);
}

/* Count training rows per label and category over the run's rows only. */
static void
recount(MatrixRun *run)
{
	memset(run->label_dict.train_count, 0, sizeof(int64) * Max(run->label_dict.n, 0));
	for (int j = 0; j < run->p; j++)
		if (run->in->categorical[j] && run->dicts[j].n > 0)
			memset(run->dicts[j].train_count, 0, sizeof(int64) * run->dicts[j].n);
	for (int64 r = 0; r < run->n; r++)
	{
		if (run->is_test[r])
			continue;
		if (run->classification)
			run->label_dict.train_count[(int32) run->y[r]]++;
		for (int j = 0; j < run->p; j++)
		{
			double		v = run->raw[(Size) r * run->p + j];

			if (run->in->categorical[j] && !isnan(v))
				run->dicts[j].train_count[(int32) v]++;
		}
	}
}

/* A run over rows[0 .. n) of top, sharing its dictionaries. */
static MatrixRun *
sub_run(MatrixRun *top, const int64 *rows, int64 n)
{
	MatrixRun  *sub = palloc0(sizeof(MatrixRun));

	sub->spec = top->spec;
	sub->in = top->in;
	sub->p = top->p;
	sub->algorithm = top->algorithm;
	sub->classification = top->classification;
	sub->impute_error = top->impute_error;
	sub->fit_intercept = top->fit_intercept;
	sub->label_dict = top->label_dict;
	sub->dicts = top->dicts;
	sub->values = palloc(sizeof(double) * Max(top->p, 1));
	sub->nulls = palloc(sizeof(bool) * Max(top->p, 1));
	sub->champion_score = NAN;
	sub->challenger_score = NAN;
	mm_charge_memory(&top->mem_used, (Size) n * (sizeof(double) * (top->p + 1) + 1), "a group's rows");
	sub->raw = palloc_extended(sizeof(double) * Max(top->p, 1) * Max(n, 1), MCXT_ALLOC_HUGE);
	sub->y = palloc_extended(sizeof(double) * Max(n, 1), MCXT_ALLOC_HUGE);
	sub->is_test = palloc_extended(sizeof(bool) * Max(n, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
	{
		memcpy(sub->raw + (Size) i * top->p, top->raw + (Size) rows[i] * top->p, sizeof(double) * top->p);
		sub->y[i] = top->y[rows[i]];
		sub->is_test[i] = top->is_test[rows[i]];
		if (!sub->is_test[i])
			sub->n_train++;
	}
	sub->n = n;
	return sub;
}

/*
 * Train the group's sub-model (classes, vocabularies and imputation from
 * the group's own training rows) and copy its predictions into top's, as
 * indexes of top's classes.
 */
static void
train_one_group(MatrixRun *top, const int64 *rows, int64 n, const char *label,
				StringInfo summary)
{
	MatrixRun  *sub = sub_run(top, rows, n);
	mm_error	err;
	int32		K = top->n_classes;
	int32	   *to_top = NULL;
	StringInfoData m;

	if (sub->n_train == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("group %s has no training rows: all " INT64_FORMAT " of its rows were held out", label, n),
				 errhint("Lower test_fraction, or filter out small groups.")));
	recount(sub);
	sub->model = mm_model_new(top->algorithm, MM_TASK_REGRESSION);
	if (!sub->model)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	mm_error_clear(&err);
	raise_core(mm_model_set_target(sub->model, top->in->target, &err), &err);
	if (sub->classification)
	{
		resolve_classes(sub, sub->model);
		to_top = palloc(sizeof(int32) * sub->n_classes);
		for (int32 k = 0; k < sub->n_classes; k++)
			for (int32 t = 0; t < K; t++)
				if (strcmp(sub->model->classes[k], top->model->classes[t]) == 0)
					to_top[k] = t;
	}
	else
	{
		sub->task = "regression";
		sub->n_test = sub->n - sub->n_train;
	}
	resolve_features(sub, sub->model);
	raise_core(mm_encoder_new(sub->model, &sub->enc, &err), &err);
	fit_model(sub);
	raise_core(mm_predictor_new(sub->model, &sub->pred, &err), &err);
	mm_matrix_predict_all(sub);
	for (int64 i = 0; i < n; i++)
	{
		int64		r = rows[i];

		if (!sub->classification)
		{
			top->yhat[r] = sub->yhat[i];
			continue;
		}
		top->yhat[r] = to_top[(int32) sub->yhat[i]];
		top->score[r] = sub->score[i];
		if (top->proba)
		{
			memset(top->proba + (Size) r * K, 0, sizeof(double) * K);
			for (int32 k = 0; k < sub->n_classes; k++)
				top->proba[(Size) r * K + to_top[k]] = sub->proba[(Size) i * sub->n_classes + k];
		}
	}
	initStringInfo(&m);
	appendStringInfoString(&m, mm_matrix_metrics_json(sub));
	appendStringInfoString(summary, summary->len > 1 ? ", " : "");
	escape_json(summary, label);
	appendStringInfo(summary, ": %s", m.data);
	mm_predictor_free(sub->pred);
	mm_encoder_free(sub->enc);
	{
		const int32 *key = top->gkey + (Size) rows[0] * top->n_group;
		const char **keys = palloc(sizeof(char *) * top->n_group);

		for (int g = 0; g < top->n_group; g++)
			keys[g] = key[g] < 0 ? NULL : top->gdicts[g].labels[key[g]];
		raise_core(mm_model_add_group(top->model, keys, sub->model, &err), &err);
	}
}

/*
 * group_by: sort the rows by group, train each group's sub-model inside
 * the top model (which keeps the shared schema: the union of the classes
 * and vocabularies, computed by the caller), and fill top's predictions.
 */
static void
train_groups(MatrixRun *top)
{
	int64	   *order = palloc_extended(sizeof(int64) * Max(top->n, 1), MCXT_ALLOC_HUGE);
	int32		K = top->n_classes;
	StringInfoData summary;
	mm_error	err;
	int64		a = 0;
	int32		ngroups = 0;

	mm_charge_memory(&top->mem_used, (Size) top->n * (sizeof(int64) + sizeof(double) * (2 + K)),
					 "the predictions");
	for (int64 r = 0; r < top->n; r++)
		order[r] = r;
	qsort_arg(order, top->n, sizeof(int64), row_gkey_cmp, top);
	top->yhat = palloc_extended(sizeof(double) * Max(top->n, 1), MCXT_ALLOC_HUGE);
	if (top->classification)
	{
		top->score = palloc_extended(sizeof(double) * Max(top->n, 1), MCXT_ALLOC_HUGE);
		if (top->algorithm != MM_ALGO_LINEAR_SVM)
			top->proba = palloc_extended(sizeof(double) * K * Max(top->n, 1), MCXT_ALLOC_HUGE);
	}
	mm_error_clear(&err);
	raise_core(mm_model_set_group_columns(top->model, top->n_group,
										  (const char *const *) top->in->group_cols, &err), &err);
	initStringInfo(&summary);
	appendStringInfoChar(&summary, '{');
	while (a < top->n)
	{
		const int32 *key = top->gkey + (Size) order[a] * top->n_group;
		int64		b = a + 1;
		char	   *label;
		ErrorContextCallback cb;

		while (b < top->n && gkey_cmp_codes(top, key, top->gkey + (Size) order[b] * top->n_group) == 0)
			b++;
		if (++ngroups > MM_MAX_GROUPS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("group_by makes more than %d groups", MM_MAX_GROUPS),
					 errhint("Group by fewer or coarser columns.")));
		CHECK_FOR_INTERRUPTS();
		label = group_label(top, key);
		cb.callback = group_error_context;
		cb.arg = label;
		cb.previous = error_context_stack;
		error_context_stack = &cb;
		train_one_group(top, order + a, b - a, label, &summary);
		error_context_stack = cb.previous;
		a = b;
	}
	appendStringInfoChar(&summary, '}');
	/* per-group metrics in the version's record, for a readable number */
	top->group_summary = ngroups <= 1000 ? summary.data : NULL;
	recount(top);				/* back to every group's training rows */
}

/* ---- the whole run ---------------------------------------------------- */

static void
check_existing_task(const mm_train_spec *spec, const char *task, bool classification)
{
	mm_model_row existing;

	if (!mm_lookup_model(spec->name, false, &existing))
		return;
	mm_require_owner(&existing, "add versions to");
	if (task ? strcmp(existing.task, task) != 0 :
		(strcmp(existing.task, "regression") == 0) == classification)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" is a %s model, not %s", spec->name, existing.task,
						task ? task : spec->alg->task),
				 errhint("Use another model name.")));
}

void
mm_run_matrix_training(const mm_train_spec *spec, const mm_train_input *in,
					   mm_train_outcome *out)
{
	MemoryContext fncxt = CurrentMemoryContext;
	MemoryContext runcxt;
	MatrixRun  *run;
	instr_time	t_start,
				t_phase;
	double		t_read,
				t_fit,
				t_eval;
	mm_error	err;
	char	   *metrics;
	char	   *baselines;
	mm_new_version nv;
	mm_saved_version saved;
	Size		batch_bytes;

	INSTR_TIME_SET_CURRENT(t_start);
	runcxt = AllocSetContextCreate(fncxt, "modelmgr training", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(runcxt);
	run = palloc0(sizeof(MatrixRun));
	run->spec = spec;
	run->in = in;
	run->p = in->p;
	run->algorithm = mm_algorithm_from_name(spec->alg->name);
	run->classification = in->class_target;
	run->impute_error = strcmp(mm_param_string(&spec->params, "impute"), "error") == 0;
	/* networks always have biases */
	run->fit_intercept = !mm_param_exists(&spec->params, "fit_intercept") ||
		mm_param_bool(&spec->params, "fit_intercept");
	run->dicts = palloc0(sizeof(LabelDict) * Max(run->p, 1));
	run->values = palloc(sizeof(double) * Max(run->p, 1));
	run->nulls = palloc(sizeof(bool) * Max(run->p, 1));
	run->n_group = in->n_group;
	run->gdicts = palloc0(sizeof(LabelDict) * Max(run->n_group, 1));
	run->champion_score = NAN;
	run->challenger_score = NAN;

	SPI_connect();
	check_existing_task(spec, NULL, run->classification);

	/* read */
	MemoryContextSwitchTo(runcxt);
	INSTR_TIME_SET_CURRENT(t_phase);
	mm_progress_begin(spec->name, spec->alg->name);
	mm_progress_phase("read");
	mm_fetch_rows(run->p + 1, &batch_bytes);
	mm_charge_memory(&run->mem_used, batch_bytes, "a batch of rows read");
	mm_scan_train_input(in, 0, matrix_scan_row, run);
	MemoryContextSwitchTo(runcxt);
	mm_progress_rows(run->rows_read);
	if (run->rows_read == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation %s has no rows to train on", in->qualified)));
	if (run->null_target == run->rows_read)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" is NULL in every row of %s", in->target, in->qualified)));
	if (run->n_train == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no rows left for training: all " INT64_FORMAT " rows with a target were held out",
						run->n),
				 errhint("Lower test_fraction.")));
	run->model = mm_model_new(run->algorithm, MM_TASK_REGRESSION);
	if (!run->model)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	mm_error_clear(&err);
	raise_core(mm_model_set_target(run->model, in->target, &err), &err);
	if (run->classification)
	{
		resolve_classes(run, run->model);
		check_existing_task(spec, run->task, true);
		MemoryContextSwitchTo(runcxt);
	}
	else
	{
		run->task = "regression";
		run->n_test = run->n - run->n_train;
	}
	resolve_features(run, run->model);
	t_read = mm_elapsed_since(t_phase);

	INSTR_TIME_SET_CURRENT(t_phase);
	mm_progress_phase("fit");
	if (run->n_group > 0)
	{
		/* one sub-model per group; fit and evaluate happen group by group */
		train_groups(run);
		t_fit = mm_elapsed_since(t_phase);
		INSTR_TIME_SET_CURRENT(t_phase);
		mm_progress_phase("evaluate");
	}
	else
	{
		raise_core(mm_encoder_new(run->model, &run->enc, &err), &err);
		fit_model(run);
		t_fit = mm_elapsed_since(t_phase);

		/* evaluate */
		INSTR_TIME_SET_CURRENT(t_phase);
		mm_progress_phase("evaluate");
		raise_core(mm_predictor_new(run->model, &run->pred, &err), &err);
		mm_matrix_predict_all(run);
	}
	metrics = mm_matrix_metrics_json(run);
	baselines = mm_matrix_baselines_json(run);
	t_eval = mm_elapsed_since(t_phase);

	/* save */
	MemoryContextSwitchTo(fncxt);
	memset(&nv, 0, sizeof(nv));
	nv.task = run->task;
	nv.source_relation = in->qualified;
	nv.target = in->target;
	nv.features = mm_train_features_datum(in);
	nv.test_fraction = spec->test_fraction;
	nv.train_rows = run->n_train;
	nv.test_rows = run->n_test;
	nv.skipped_rows = run->null_target;
	nv.metrics = mm_jsonb_from_cstring(metrics);
	nv.baselines = mm_jsonb_from_cstring(baselines);
	nv.artifact = mm_serialize_model(run->model);
	saved = mm_train_save(spec, &nv, mm_matrix_score_champion, run, t_read, t_fit, t_eval);
	SPI_finish();

	MemoryContextSwitchTo(fncxt);
	mm_train_outcome_fill(out, &saved, &nv, run->task, run->classification ? "accuracy" : "mse",
						  run->champion, run->champion_score, run->challenger_score, t_start);
	mm_predictor_free(run->pred);
	mm_encoder_free(run->enc);
	mm_model_free(run->model);
	MemoryContextDelete(runcxt);
}

/* ---- reading rows for another purpose -------------------------------- */

/*
 * Read relid's rows as a training of algorithm on (target, features) with
 * this seed and test_fraction would, so that the held-out rows are the
 * ones that training held out (prune, quantize and compare evaluate on
 * them).  With sample > 0, only the first sample rows are read and every
 * one counts as held out.  Caller is connected to SPI; the result lives in
 * the current memory context.
 */
MatrixRun *
mm_matrix_read(const char *algorithm, Oid relid, const char *target,
			   ArrayType *features, uint64 seed, double fraction, int64 sample)
{
	MemoryContext cxt = CurrentMemoryContext;
	mm_train_spec *spec = palloc0(sizeof(mm_train_spec));
	mm_train_input *in = palloc0(sizeof(mm_train_input));
	MatrixRun  *run = palloc0(sizeof(MatrixRun));
	Size		batch_bytes;

	spec->alg = mm_find_algorithm(algorithm);
	mm_parse_params(spec->alg, NULL, &spec->params);
	spec->seed = seed;
	spec->test_fraction = fraction;
	mm_resolve_train_input(relid, target, features, NULL, algorithm,
						   strcmp(spec->alg->task, "regression") != 0, in);
	run->spec = spec;
	run->in = in;
	run->p = in->p;
	run->algorithm = mm_algorithm_from_name(algorithm);
	run->classification = in->class_target;
	run->dicts = palloc0(sizeof(LabelDict) * Max(run->p, 1));
	run->values = palloc(sizeof(double) * Max(run->p, 1));
	run->nulls = palloc(sizeof(bool) * Max(run->p, 1));
	mm_fetch_rows(run->p + 1, &batch_bytes);
	mm_charge_memory(&run->mem_used, batch_bytes, "a batch of rows read");
	mm_scan_train_input(in, sample, matrix_scan_row, run);
	MemoryContextSwitchTo(cxt);
	if (sample > 0)
		for (int64 r = 0; r < run->n; r++)
			run->is_test[r] = true;
	return run;
}
