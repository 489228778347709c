/*
 * mm_predict.c
 *	  Row encoding (raw row -> input vector) and row prediction for linear
 *	  regressors and linear classifiers.  See mm_predict.h.
 *
 * Every sum runs left to right from the intercept, in plain C loops with no
 * BLAS, so a model predicts the same bits on every machine.  A regressor
 * whose features are all numeric, unscaled and uncentered (the "plain"
 * case, every model training writes today) takes a fast path that reads
 * the raw row directly with no copy; everything else is encoded into the
 * predictor's buffer first.
 */
#include "mm_predict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mm_mlp_infer.h"
#include "mm_svm.h"

/* ---------------------------------------------------------------------
 * Encoder
 * ---------------------------------------------------------------------
 */

/* A category label and its index, for sorting a vocabulary. */
typedef struct LabelIndex
{
	const char *label;
	uint32_t	index;
} LabelIndex;

/*
 * Labels hold no NUL byte, so strcmp orders them bytewise (as unsigned
 * char) with a proper prefix first: the order mm_encoder_category searches.
 */
static int
CompareLabels(const void *a, const void *b)
{
	return strcmp(((const LabelIndex *) a)->label,
				  ((const LabelIndex *) b)->label);
}

/*
 * Compare the NUL-terminated category cat with label[0 .. len) bytewise,
 * a proper prefix first; <0, 0, >0 as memcmp.
 */
static int
CompareLabel(const char *cat, const char *label, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) cat[i];
		unsigned char l = (unsigned char) label[i];

		if (c == '\0')
			return -1;			/* cat is a proper prefix of label */
		if (c != l)
			return c < l ? -1 : 1;
	}
	return cat[len] == '\0' ? 0 : 1;
}

/* Category indices of feature f sorted by label, or NULL (out of memory). */
static uint32_t *
SortVocabulary(const mm_feature *f)
{
	LabelIndex *pairs;
	uint32_t   *sorted;
	uint32_t	k;

	pairs = mm_alloc(sizeof(LabelIndex) * (size_t) f->n_categories);
	sorted = mm_alloc(sizeof(uint32_t) * (size_t) f->n_categories);
	if (pairs == NULL || sorted == NULL)
	{
		mm_free(pairs);
		mm_free(sorted);
		return NULL;
	}
	for (k = 0; k < f->n_categories; k++)
	{
		pairs[k].label = f->categories[k];
		pairs[k].index = k;
	}
	qsort(pairs, f->n_categories, sizeof(LabelIndex), CompareLabels);
	for (k = 0; k < f->n_categories; k++)
		sorted[k] = pairs[k].index;
	mm_free(pairs);
	return sorted;
}

/* True when v is an integer in [-1, n). */
static bool
IsCategoryIndex(double v, uint32_t n)
{
	return v >= -1.0 && v < (double) n && v == floor(v);
}

/*
 * Fill the per-feature arrays of e from feature j; MM_ERR_CORRUPT for a
 * categorical feature whose model breaks the invariants mm_model_validate
 * checks (a model built in memory and never validated).
 */
static mm_status
EncoderFeature(mm_encoder *e, uint32_t j, uint32_t slot, mm_error *err)
{
	const mm_feature *f = &e->model->features[j];

	e->slot[j] = slot;
	e->impute[j] = f->impute_value;
	e->impute_error[j] = f->impute == MM_IMPUTE_ERROR;
	if (f->kind != MM_FEATURE_CATEGORICAL)
	{
		if (f->center != 0.0 || f->scale != 1.0)
			e->plain = false;
		return MM_OK;
	}
	e->plain = false;
	if (f->n_categories == 0 || f->categories == NULL ||
		!IsCategoryIndex(f->impute_value, f->n_categories))
		return mm_fail(err, MM_ERR_CORRUPT,
					   "categorical feature \"%s\" is malformed", f->name);
	e->sorted[j] = SortVocabulary(f);
	if (e->sorted[j] == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory building an encoder");
	return MM_OK;
}

mm_status
mm_encoder_new(const mm_model *model, mm_encoder **out, mm_error *err)
{
	mm_encoder *e;
	size_t		n = model->n_features ? model->n_features : 1;
	uint32_t	slot = 0;
	uint32_t	j;

	*out = NULL;
	e = mm_alloc0(sizeof(mm_encoder));
	if (e == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory building an encoder");
	e->model = model;
	e->n_features = model->n_features;
	e->width = mm_model_input_width(model);
	e->plain = true;
	e->slot = mm_alloc(sizeof(uint32_t) * n);
	e->sorted = mm_alloc0(sizeof(uint32_t *) * n);
	e->impute = mm_alloc(sizeof(double) * n);
	e->impute_error = mm_alloc(sizeof(bool) * n);
	if (!e->slot || !e->sorted || !e->impute || !e->impute_error)
	{
		mm_encoder_free(e);
		return mm_fail(err, MM_ERR_NOMEM, "out of memory building an encoder");
	}
	for (j = 0; j < e->n_features; j++)
	{
		const mm_feature *f = &model->features[j];
		mm_status	st = EncoderFeature(e, j, slot, err);

		if (st != MM_OK)
		{
			mm_encoder_free(e);
			return st;
		}
		if (f->kind == MM_FEATURE_CATEGORICAL)
			slot += f->n_categories - (f->drop_first ? 1 : 0);
		else
			slot++;
	}
	*out = e;
	return MM_OK;
}

void
mm_encoder_free(mm_encoder *e)
{
	if (e == NULL)
		return;
	if (e->sorted)
		for (uint32_t j = 0; j < e->n_features; j++)
			mm_free(e->sorted[j]);
	mm_free(e->sorted);
	mm_free(e->slot);
	mm_free(e->impute);
	mm_free(e->impute_error);
	mm_free(e);
}

/* Binary search of the sorted vocabulary of feature j. */
int32_t
mm_encoder_category(const mm_encoder *e, uint32_t j, const char *label,
					size_t len)
{
	const mm_feature *f;
	uint32_t	lo = 0;
	uint32_t	hi;

	if (j >= e->n_features || e->sorted[j] == NULL)
		return -1;
	f = &e->model->features[j];
	hi = f->n_categories;
	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;
		uint32_t	k = e->sorted[j][mid];
		int			c = CompareLabel(f->categories[k], label, len);

		if (c == 0)
			return (int32_t) k;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * The one-hot slots of categorical feature j for category index v (-1:
 * none), at x[0 ..): all 0 but the category's own slot, which the
 * reference level under drop_first does not have.
 */
static mm_status
EncodeCategory(const mm_encoder *e, uint32_t j, double v, double *x,
			   mm_error *err)
{
	const mm_feature *f = &e->model->features[j];
	uint32_t	drop = f->drop_first ? 1 : 0;
	int64_t		c;

	if (!IsCategoryIndex(v, f->n_categories))
		return mm_fail(err, MM_ERR_INVALID,
					   "category index %g of feature \"%s\" is out of range",
					   v, f->name);
	memset(x, 0, sizeof(double) * (size_t) (f->n_categories - drop));
	c = (int64_t) v;
	if (c >= (int64_t) drop)
		x[c - drop] = 1.0;
	return MM_OK;
}

/*
 * Numeric feature j with raw value v into x[0]: (v - center) / scale.
 * MM_ERR_RANGE when scaling overflows a finite value.
 */
static mm_status
EncodeNumeric(const mm_encoder *e, uint32_t j, double v, double *x,
			  mm_error *err)
{
	const mm_feature *f = &e->model->features[j];

	if (!isfinite(v))
		return mm_fail(err, MM_ERR_DATA, "feature \"%s\" is NaN or infinite",
					   f->name);
	x[0] = (v - f->center) / f->scale;
	if (!isfinite(x[0]))
		return mm_fail(err, MM_ERR_RANGE,
					   "feature \"%s\" is out of the range of double precision after centering and scaling",
					   f->name);
	return MM_OK;
}

mm_status
mm_encoder_encode(const mm_encoder *e, const double *values, const bool *nulls,
				  double *x, mm_error *err)
{
	for (uint32_t j = 0; j < e->n_features; j++)
	{
		double		v = values[j];
		mm_status	st;

		if (nulls && nulls[j])
		{
			if (e->impute_error[j])
				return mm_fail(err, MM_ERR_DATA,
							   "feature \"%s\" is NULL and the model does not impute it",
							   e->model->features[j].name);
			v = e->impute[j];
		}
		if (e->sorted[j] != NULL)
			st = EncodeCategory(e, j, v, x + e->slot[j], err);
		else
			st = EncodeNumeric(e, j, v, x + e->slot[j], err);
		if (st != MM_OK)
			return st;
	}
	return MM_OK;
}

/* ---------------------------------------------------------------------
 * Predictor
 * ---------------------------------------------------------------------
 */

static bool
IsLinearRegressor(int algorithm)
{
	return algorithm == MM_ALGO_LINEAR_REGRESSION ||
		algorithm == MM_ALGO_LASSO ||
		algorithm == MM_ALGO_ELASTIC_NET;
}

/*
 * Output shape of the algorithm: classes and coef rows, or
 * MM_ERR_UNSUPPORTED (MM_ERR_CORRUPT for a classifier with a class count
 * its algorithm cannot have).
 */
static mm_status
PredictorShape(const mm_model *model, mm_predictor *p, mm_error *err)
{
	const char *algo = mm_algorithm_name(model->algorithm);
	uint32_t	k = model->n_classes;

	if (IsLinearRegressor(model->algorithm) || model->algorithm == MM_ALGO_MLP_REGRESSOR)
	{
		p->n_outputs = 1;
		return MM_OK;
	}
	if (model->algorithm == MM_ALGO_MLP_CLASSIFIER)
	{
		if (k < 2 || model->classes == NULL)
			return mm_fail(err, MM_ERR_CORRUPT, "%s model has %u classes", algo, k);
		p->n_classes = k;
		p->has_proba = true;
		p->n_outputs = k;
		return MM_OK;
	}
	if (model->algorithm != MM_ALGO_LOGISTIC_REGRESSION &&
		model->algorithm != MM_ALGO_SOFTMAX_REGRESSION &&
		model->algorithm != MM_ALGO_LINEAR_SVM)
		return mm_fail(err, MM_ERR_UNSUPPORTED,
					   "prediction for algorithm %s is not supported by this version",
					   algo ? algo : "?");
	if (k < 2 || model->classes == NULL ||
		(model->algorithm == MM_ALGO_LOGISTIC_REGRESSION && k != 2))
		return mm_fail(err, MM_ERR_CORRUPT, "%s model has %u classes",
					   algo, k);
	p->n_classes = k;
	p->has_proba = model->algorithm != MM_ALGO_LINEAR_SVM;
	p->n_outputs = (model->algorithm == MM_ALGO_SOFTMAX_REGRESSION || k > 2) ? k : 1;
	return MM_OK;
}

/*
 * Expand coef (n_outputs x width) and intercept (1 x n_outputs), any dtype
 * and layout, into the predictor's plain doubles; MM_ERR_CORRUPT when they
 * are missing or of the wrong shape.
 */
static mm_status
LoadParameters(const mm_model *model, mm_predictor *p, mm_error *err)
{
	const mm_tensor *coef = mm_model_tensor(model, "coef");
	const mm_tensor *icpt = mm_model_tensor(model, "intercept");
	const char *algo = mm_algorithm_name(model->algorithm);

	if (!coef || !icpt || coef->rows != p->n_outputs || coef->cols != p->width ||
		icpt->rows != 1 || icpt->cols != p->n_outputs)
	{
		mm_fail(err, MM_ERR_CORRUPT, "%s model has malformed parameters",
				IsLinearRegressor(model->algorithm) ? "linear" : algo);
		mm_error_detail(err, "It needs tensors \"coef\" %u x %u and \"intercept\" 1 x %u.",
						p->n_outputs, p->width, p->n_outputs);
		return MM_ERR_CORRUPT;
	}
	for (uint32_t r = 0; r < p->n_outputs; r++)
	{
		for (uint32_t c = 0; c < p->width; c++)
			p->coef[(size_t) r * p->width + c] = mm_tensor_get(coef, r, c);
		p->intercept[r] = mm_tensor_get(icpt, 0, r);
	}
	return MM_OK;
}

/*
 * An MLP's network (mm_mlp_infer.h), whose input must be the encoded row
 * and whose output width our classes; MM_ERR_CORRUPT otherwise.
 */
static mm_status
LoadNetwork(const mm_model *model, mm_predictor *p, mm_error *err)
{
	mm_status	st = mm_mlp_infer_new(model, &p->mlp, err);

	if (st != MM_OK && st != MM_ERR_NOMEM)
	{
		char		msg[MM_MSG_LEN];

		if (err == NULL)
			return MM_ERR_CORRUPT;
		memcpy(msg, err->message, sizeof(msg));
		return mm_fail(err, MM_ERR_CORRUPT, "%s", msg);
	}
	if (st != MM_OK)
		return st;
	if (mm_mlp_infer_input_width(p->mlp) != p->width ||
		mm_mlp_infer_output_width(p->mlp) != p->n_outputs)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "%s model's network takes %u inputs and gives %u outputs, not %u and %u",
					   mm_algorithm_name(model->algorithm),
					   mm_mlp_infer_input_width(p->mlp), mm_mlp_infer_output_width(p->mlp),
					   p->width, p->n_outputs);
	return MM_OK;
}

/* Allocate the predictor's arrays; false when out of memory or too big. */
static bool
AllocateArrays(mm_predictor *p)
{
	size_t		n_coef;

	if (!mm_size_mul(p->n_outputs, p->width, &n_coef) ||
		!mm_size_mul(n_coef ? n_coef : 1, sizeof(double), &n_coef))
		return false;
	p->coef = mm_alloc(n_coef);
	p->intercept = mm_alloc(sizeof(double) * p->n_outputs);
	p->xbuf = mm_alloc(sizeof(double) * (p->width ? p->width : 1));
	p->scratch = mm_alloc(sizeof(double) * p->n_outputs);
	return p->coef && p->intercept && p->xbuf && p->scratch;
}

/*
 * Integer targets (label_kind 2): the number of each class label, parsed
 * once here rather than per prediction.
 */
static mm_status
ClassValues(const mm_model *model, mm_predictor *p, mm_error *err)
{
	if (model->n_classes == 0 || mm_model_attr(model, "label_kind", 0) != 2)
		return MM_OK;
	p->class_values = mm_alloc(sizeof(double) * model->n_classes);
	if (!p->class_values)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory building a predictor");
	for (uint32_t k = 0; k < model->n_classes; k++)
		p->class_values[k] = strtod(model->classes[k], NULL);
	return MM_OK;
}

/*
 * The predictor of a grouped model: one per group, and each group's class
 * map into the top level's classes.
 */
static mm_status
GroupedPredictor(const mm_model *model, mm_predictor *p, mm_error *err)
{
	mm_status	st;

	p->n_classes = model->n_classes;
	p->has_proba = model->algorithm != MM_ALGO_LINEAR_SVM;
	p->groups = mm_alloc0(sizeof(mm_predictor *) * model->n_groups);
	p->group_class = mm_alloc0(sizeof(int32_t *) * model->n_groups);
	if (!p->groups || !p->group_class)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory building a predictor");
	p->n_groups = model->n_groups;
	for (uint32_t g = 0; g < model->n_groups; g++)
	{
		const mm_model *sub = model->groups[g].model;

		if ((st = mm_predictor_new(sub, &p->groups[g], err)) != MM_OK)
			return st;
		p->group_class[g] = mm_alloc(sizeof(int32_t) * (sub->n_classes ? sub->n_classes : 1));
		if (!p->group_class[g])
			return mm_fail(err, MM_ERR_NOMEM, "out of memory building a predictor");
		for (uint32_t k = 0; k < sub->n_classes; k++)
		{
			p->group_class[g][k] = -1;
			for (uint32_t t = 0; t < model->n_classes; t++)
				if (strcmp(sub->classes[k], model->classes[t]) == 0)
					p->group_class[g][k] = (int32_t) t;
			if (p->group_class[g][k] < 0)
				return mm_fail(err, MM_ERR_CORRUPT,
							   "a group's class \"%s\" is not a class of the model",
							   sub->classes[k]);
		}
	}
	return MM_OK;
}

const mm_predictor *
mm_predictor_route(const mm_predictor *p, const char *const *keys,
				   const size_t *lens, int32_t *group)
{
	int32_t		g = p->n_groups > 0 ? mm_model_find_group(p->model, keys, lens) : -1;

	*group = g;
	return g >= 0 ? p->groups[g] : NULL;
}

mm_status
mm_predictor_new(const mm_model *model, mm_predictor **out, mm_error *err)
{
	mm_predictor *p;
	mm_status	st;

	*out = NULL;
	if (model->n_groups > 0)
	{
		p = mm_alloc0(sizeof(mm_predictor));
		if (!p)
			return mm_fail(err, MM_ERR_NOMEM, "out of memory building a predictor");
		p->model = model;
		p->n_features = model->n_features;
		p->width = mm_model_input_width(model);
		if ((st = GroupedPredictor(model, p, err)) != MM_OK ||
			(st = ClassValues(model, p, err)) != MM_OK)
		{
			mm_predictor_free(p);
			return st;
		}
		*out = p;
		return MM_OK;
	}
	p = mm_alloc0(sizeof(mm_predictor));
	if (!p)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory building a predictor");
	p->model = model;
	p->n_features = model->n_features;
	p->width = mm_model_input_width(model);
	if ((st = PredictorShape(model, p, err)) != MM_OK ||
		(st = mm_encoder_new(model, &p->enc, err)) != MM_OK)
	{
		mm_predictor_free(p);
		return st;
	}
	p->impute = p->enc->impute;
	p->impute_error = p->enc->impute_error;
	p->target_center = mm_model_attr(model, "target_center", 0.0);
	p->target_scale = mm_model_attr(model, "target_scale", 1.0);
	if ((st = ClassValues(model, p, err)) != MM_OK)
	{
		mm_predictor_free(p);
		return st;
	}
	/* mm_svm_decision counts in int32 */
	if (p->width > INT32_MAX)
	{
		mm_predictor_free(p);
		return mm_fail(err, MM_ERR_LIMIT, "model input width %u is too large",
					   p->width);
	}
	if (!AllocateArrays(p))
	{
		mm_predictor_free(p);
		return mm_fail(err, MM_ERR_NOMEM, "out of memory building a predictor");
	}
	if (model->algorithm == MM_ALGO_MLP_CLASSIFIER || model->algorithm == MM_ALGO_MLP_REGRESSOR)
		st = LoadNetwork(model, p, err);
	else
		st = LoadParameters(model, p, err);
	if (st != MM_OK)
	{
		mm_predictor_free(p);
		return st;
	}
	*out = p;
	return MM_OK;
}

void
mm_predictor_free(mm_predictor *p)
{
	if (!p)
		return;
	for (uint32_t g = 0; g < p->n_groups; g++)
	{
		mm_predictor_free(p->groups[g]);
		mm_free(p->group_class[g]);
	}
	mm_free(p->groups);
	mm_free(p->group_class);
	mm_free(p->class_values);
	mm_encoder_free(p->enc);
	mm_mlp_infer_free(p->mlp);
	mm_free(p->coef);
	mm_free(p->intercept);
	mm_free(p->xbuf);
	mm_free(p->scratch);
	mm_free(p);
}

/* intercept + w . x over width slots, summed left to right. */
static double
Dot(double intercept, const double *w, const double *x, uint32_t width)
{
	double		acc = intercept;

	for (uint32_t j = 0; j < width; j++)
		acc += w[j] * x[j];
	return acc;
}

/*
 * The plain regressor: intercept + sum_j coef[j] * x[j] straight from the
 * raw row (NULLs imputed), summed left to right.  Kept exactly as it was
 * before encoders existed, so existing models predict the same bits, and
 * without a copy, since benchmarks measure it.
 */
static mm_status
PredictPlain(const mm_predictor *p, const double *values, const bool *nulls,
			 double *out, mm_error *err)
{
	double		acc = p->intercept[0];

	if (nulls == NULL)
	{
		for (uint32_t j = 0; j < p->n_features; j++)
			acc += p->coef[j] * values[j];
	}
	else
	{
		for (uint32_t j = 0; j < p->n_features; j++)
		{
			double		x;

			if (nulls[j])
			{
				if (p->impute_error[j])
					return mm_fail(err, MM_ERR_DATA,
								   "feature \"%s\" is NULL and the model does not impute it",
								   p->model->features[j].name);
				x = p->impute[j];
			}
			else
				x = values[j];
			acc += p->coef[j] * x;
		}
	}
	if (!isfinite(acc))
	{
		for (uint32_t j = 0; j < p->n_features; j++)
			if (!(nulls && nulls[j]) && !isfinite(values[j]))
				return mm_fail(err, MM_ERR_DATA,
							   "feature \"%s\" is NaN or infinite",
							   p->model->features[j].name);
		return mm_fail(err, MM_ERR_RANGE,
					   "prediction is out of the range of double precision");
	}
	*out = acc;
	return MM_OK;
}

/*
 * The output scores of a raw row into p->scratch: eta per coef row, or the
 * SVM's decision values (mm_svm_decision, the arithmetic it was trained
 * with).  MM_ERR_RANGE when one is not finite.
 */
static mm_status
Scores(const mm_predictor *p, const double *values, const bool *nulls,
	   mm_error *err)
{
	mm_status	st = mm_encoder_encode(p->enc, values, nulls, p->xbuf, err);

	if (st != MM_OK)
		return st;
	if (p->mlp)
	{
		if ((st = mm_mlp_infer_row(p->mlp, p->xbuf, p->scratch, err)) != MM_OK)
			return st;
		/* a regressor's network gives z-scores of the target */
		if (p->n_classes == 0)
			p->scratch[0] = p->scratch[0] * p->target_scale + p->target_center;
	}
	else if (p->model->algorithm == MM_ALGO_LINEAR_SVM)
		mm_svm_decision(p->coef, p->intercept, (int32_t) p->n_outputs,
						(int32_t) p->width, p->xbuf, p->scratch);
	else
		for (uint32_t k = 0; k < p->n_outputs; k++)
			p->scratch[k] = Dot(p->intercept[k],
								p->coef + (size_t) k * p->width,
								p->xbuf, p->width);
	for (uint32_t k = 0; k < p->n_outputs; k++)
		if (!isfinite(p->scratch[k]))
			return mm_fail(err, MM_ERR_RANGE,
						   "%s is out of the range of double precision",
						   p->n_classes ? "class score" : "prediction");
	return MM_OK;
}

/* 1 / (1 + exp(-eta)) without overflow for eta of either sign. */
static double
Sigmoid(double eta)
{
	if (eta < 0.0)
	{
		double		z = exp(eta);

		return z / (1.0 + z);
	}
	return 1.0 / (1.0 + exp(-eta));
}

/* First index of the largest of n scores. */
static int32_t
ArgMax(const double *s, uint32_t n)
{
	uint32_t	best = 0;

	for (uint32_t k = 1; k < n; k++)
		if (s[k] > s[best])
			best = k;
	return (int32_t) best;
}

/* softmax(s[0 .. n)) in place, the largest score subtracted first. */
static void
SoftmaxInPlace(double *s, uint32_t n)
{
	double		max = s[ArgMax(s, n)];
	double		sum = 0.0;

	for (uint32_t k = 0; k < n; k++)
	{
		s[k] = exp(s[k] - max);
		sum += s[k];
	}
	for (uint32_t k = 0; k < n; k++)
		s[k] /= sum;
}

mm_status
mm_predict_row(const mm_predictor *p, const double *values, const bool *nulls,
			   double *out, mm_error *err)
{
	mm_status	st;

	if (p->groups)
		return mm_fail(err, MM_ERR_INVALID, "a grouped model predicts through the predictor of a group");
	if (p->n_classes > 0)
	{
		int32_t		cls;

		st = mm_predict_class(p, values, nulls, &cls, NULL, NULL, err);
		if (st == MM_OK)
			*out = (double) cls;
		return st;
	}
	if (p->enc->plain && p->mlp == NULL)
		return PredictPlain(p, values, nulls, out, err);
	if ((st = Scores(p, values, nulls, err)) != MM_OK)
		return st;
	*out = p->scratch[0];
	return MM_OK;
}

/*
 * Class, probabilities and score from the scores in p->scratch (which the
 * softmax overwrites with probabilities).
 */
static void
Classify(const mm_predictor *p, int32_t *cls, double *proba, double *score)
{
	double	   *s = p->scratch;
	bool		binary = p->n_classes == 2;

	switch (p->model->algorithm)
	{
		case MM_ALGO_LOGISTIC_REGRESSION:
			*cls = s[0] > 0.0 ? 1 : 0;
			if (proba)
			{
				proba[0] = Sigmoid(-s[0]);
				proba[1] = Sigmoid(s[0]);
			}
			if (score)
				*score = Sigmoid(s[0]);
			break;
		case MM_ALGO_SOFTMAX_REGRESSION:
			*cls = ArgMax(s, p->n_outputs);
			if (proba || score)
				SoftmaxInPlace(s, p->n_outputs);
			if (proba)
				memcpy(proba, s, sizeof(double) * p->n_outputs);
			if (score)
				*score = binary ? s[1] : NAN;
			break;
		case MM_ALGO_MLP_CLASSIFIER:	/* scores are probabilities */
			*cls = ArgMax(s, p->n_outputs);
			if (proba)
				memcpy(proba, s, sizeof(double) * p->n_outputs);
			if (score)
				*score = binary ? s[1] : NAN;
			break;
		default:				/* linear_svm */
			*cls = mm_svm_predict_class(s, (int32_t) p->n_outputs);
			if (score)
				*score = binary ? s[0] : NAN;
			break;
	}
}

mm_status
mm_predict_class(const mm_predictor *p, const double *values,
				 const bool *nulls, int32_t *cls, double *proba,
				 double *score, mm_error *err)
{
	const char *algo = mm_algorithm_name(p->model->algorithm);
	mm_status	st;

	if (p->groups)
		return mm_fail(err, MM_ERR_INVALID, "a grouped model predicts through the predictor of a group");
	if (p->n_classes == 0)
		return mm_fail(err, MM_ERR_INVALID,
					   "%s model is a regressor, not a classifier", algo);
	if (proba && !p->has_proba)
		return mm_fail(err, MM_ERR_UNSUPPORTED,
					   "%s model does not give class probabilities", algo);
	if ((st = Scores(p, values, nulls, err)) != MM_OK)
		return st;
	Classify(p, cls, proba, score);
	return MM_OK;
}
