/*
 * mm_predict.c
 *	  Row prediction for linear models.  See mm_predict.h.
 */
#include "mm_predict.h"

#include <math.h>

static bool
is_linear(int algorithm)
{
	return algorithm == MM_ALGO_LINEAR_REGRESSION ||
		algorithm == MM_ALGO_LASSO ||
		algorithm == MM_ALGO_ELASTIC_NET;
}

mm_status
mm_predictor_new(const mm_model *model, mm_predictor **out, mm_error *err)
{
	mm_predictor *p;
	const mm_tensor *coef;
	const mm_tensor *icpt;

	*out = NULL;
	if (!is_linear(model->algorithm))
		return mm_fail(err, MM_ERR_UNSUPPORTED,
					   "prediction for algorithm %s is not supported by this version",
					   mm_algorithm_name(model->algorithm) ? mm_algorithm_name(model->algorithm) : "?");
	for (uint32_t i = 0; i < model->n_features; i++)
		if (model->features[i].kind != MM_FEATURE_NUMERIC)
			return mm_fail(err, MM_ERR_UNSUPPORTED,
						   "categorical feature \"%s\" is not supported by this version",
						   model->features[i].name);
	coef = mm_model_tensor(model, "coef");
	icpt = mm_model_tensor(model, "intercept");
	if (!coef || !icpt || coef->rows != 1 || coef->cols != model->n_features ||
		icpt->rows != 1 || icpt->cols != 1)
		return mm_fail(err, MM_ERR_CORRUPT, "linear model has malformed parameters");

	p = mm_alloc0(sizeof(mm_predictor));
	if (!p)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory building a predictor");
	p->model = model;
	p->n_features = model->n_features;
	p->width = coef->cols;
	p->coef = mm_alloc(sizeof(double) * (p->width ? p->width : 1));
	p->impute = mm_alloc(sizeof(double) * (p->n_features ? p->n_features : 1));
	p->impute_error = mm_alloc(sizeof(bool) * (p->n_features ? p->n_features : 1));
	if (!p->coef || !p->impute || !p->impute_error)
	{
		mm_predictor_free(p);
		return mm_fail(err, MM_ERR_NOMEM, "out of memory building a predictor");
	}
	for (uint32_t j = 0; j < p->width; j++)
		p->coef[j] = mm_tensor_get(coef, 0, j);
	p->intercept = mm_tensor_get(icpt, 0, 0);
	for (uint32_t j = 0; j < p->n_features; j++)
	{
		p->impute[j] = model->features[j].impute_value;
		p->impute_error[j] = model->features[j].impute == MM_IMPUTE_ERROR;
	}
	*out = p;
	return MM_OK;
}

void
mm_predictor_free(mm_predictor *p)
{
	if (!p)
		return;
	mm_free(p->coef);
	mm_free(p->impute);
	mm_free(p->impute_error);
	mm_free(p);
}

/*
 * intercept + sum_j coef[j] * x[j], summed left to right: the same order,
 * and so the same bits, on every machine.
 */
mm_status
mm_predict_row(const mm_predictor *p, const double *values, const bool *nulls,
			   double *out, mm_error *err)
{
	double		acc = p->intercept;

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
