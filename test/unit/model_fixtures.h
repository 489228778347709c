/*
 * model_fixtures.h
 *	  Small models built through the public builders, shared by
 *	  test_format.c (round trips) and make_golden.c (the golden artifact and
 *	  the fuzz seeds).
 *
 * Static inline so that a file using only some of them compiles without
 * unused-function warnings.  Every builder returns NULL on failure; they
 * never fail with the default allocator.
 *
 * The golden test does not use FixtureLinearModel to check the golden
 * file: it checks literal values, so a change here cannot silently move
 * the expectations along with the file.
 */
#ifndef MODEL_FIXTURES_H
#define MODEL_FIXTURES_H

#include "mm_model.h"

/*
 * The model in test/unit/golden/linear_v1.mmdl: three features (one
 * categorical with a non-ASCII level and drop_first), coef 1 x 4 with a
 * negative zero, intercept, fit_intercept and l2 attributes.
 */
static inline mm_model *
FixtureLinearModel(void)
{
	mm_model   *m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	mm_feature *f;
	mm_tensor  *t;
	double	   *v;

	if (m == NULL || mm_model_set_target(m, "price", NULL) != MM_OK)
		goto fail;
	if ((f = mm_model_add_feature(m, "sqft", NULL)) == NULL)
		goto fail;
	f->impute_value = 1500.5;
	f->center = 1800.25;
	f->scale = 410.5;
	if ((f = mm_model_add_feature(m, "beds", NULL)) == NULL)
		goto fail;
	f->impute = MM_IMPUTE_ERROR;
	if ((f = mm_model_add_feature(m, "region", NULL)) == NULL)
		goto fail;
	f->kind = MM_FEATURE_CATEGORICAL;
	f->drop_first = 1;
	if (mm_feature_add_category(f, "north", NULL) != MM_OK ||
		mm_feature_add_category(f, "south", NULL) != MM_OK ||
		mm_feature_add_category(f, "z\xc3\xbcrich", NULL) != MM_OK)
		goto fail;
	if (mm_model_set_attr(m, "fit_intercept", 1.0, NULL) != MM_OK ||
		mm_model_set_attr(m, "l2", 0.1, NULL) != MM_OK)
		goto fail;
	if ((t = mm_model_add_tensor(m, "coef", MM_DTYPE_F64, 1, 4, NULL)) == NULL)
		goto fail;
	v = t->values;
	v[0] = 120.5;
	v[1] = -3000.25;
	v[2] = 15000.0;
	v[3] = -0.0;
	if ((t = mm_model_add_tensor(m, "intercept", MM_DTYPE_F64, 1, 1, NULL)) == NULL)
		goto fail;
	((double *) t->values)[0] = 50000.125;
	return m;
fail:
	mm_model_free(m);
	return NULL;
}

/* The value stored at (r, c) of every tensor of FixtureAllDtypesModel. */
static inline double
FixtureValue(int tensor, uint32_t r, uint32_t c)
{
	return (tensor + 1) * 0.25 * ((double) r * 10 + c + 1) * ((r + c) % 2 ? -1 : 1);
}

/*
 * A multiclass MLP classifier (no tensor convention enforced yet) holding
 * every dtype and layout: dense f64, f32, f16, int8 per tensor and per row,
 * sparse f64 and sparse int8 per row, three classes, two attributes, and
 * numeric and categorical features.
 */
static inline mm_model *
FixtureAllDtypesModel(void)
{
	mm_model   *m = mm_model_new(MM_ALGO_MLP_CLASSIFIER, MM_TASK_MULTICLASS);
	mm_feature *f;
	mm_tensor  *t;
	uint32_t	r;
	uint32_t	c;
	int8_t	   *q;

	if (m == NULL || mm_model_set_target(m, "species", NULL) != MM_OK)
		goto fail;
	if ((f = mm_model_add_feature(m, "petal_length", NULL)) == NULL)
		goto fail;
	f->center = 3.75;
	f->scale = 1.75;
	f->impute_value = 3.5;
	if ((f = mm_model_add_feature(m, "color", NULL)) == NULL)
		goto fail;
	f->kind = MM_FEATURE_CATEGORICAL;
	if (mm_feature_add_category(f, "", NULL) != MM_OK ||
		mm_feature_add_category(f, "blue", NULL) != MM_OK)
		goto fail;
	if (mm_model_add_class(m, "setosa", NULL) != MM_OK ||
		mm_model_add_class(m, "versicolor", NULL) != MM_OK ||
		mm_model_add_class(m, "virg\xc3\xadnica", NULL) != MM_OK)
		goto fail;
	if (mm_model_set_attr(m, "hidden_layers", 1, NULL) != MM_OK ||
		mm_model_set_attr(m, "alpha", 1e-4, NULL) != MM_OK)
		goto fail;

	/* 0: dense f64 2 x 3 */
	if ((t = mm_model_add_tensor(m, "w_f64", MM_DTYPE_F64, 2, 3, NULL)) == NULL)
		goto fail;
	for (r = 0; r < 2; r++)
		for (c = 0; c < 3; c++)
			((double *) t->values)[r * 3 + c] = FixtureValue(0, r, c);
	/* 1: dense f32 2 x 2 (values exact in float) */
	if ((t = mm_model_add_tensor(m, "w_f32", MM_DTYPE_F32, 2, 2, NULL)) == NULL)
		goto fail;
	for (r = 0; r < 2; r++)
		for (c = 0; c < 2; c++)
			((float *) t->values)[r * 2 + c] = (float) FixtureValue(1, r, c);
	/* 2: dense f16 1 x 4 (values exact in half) */
	if ((t = mm_model_add_tensor(m, "w_f16", MM_DTYPE_F16, 1, 4, NULL)) == NULL)
		goto fail;
	for (c = 0; c < 4; c++)
		((uint16_t *) t->values)[c] = mm_float_to_half(FixtureValue(2, 0, c));
	/* 3: dense int8 2 x 3, one scale 0.5, zero point -3 */
	if ((t = mm_model_add_tensor(m, "w_i8", MM_DTYPE_I8, 2, 3, NULL)) == NULL)
		goto fail;
	t->scales[0] = 0.5;
	t->zero_points[0] = -3;
	q = t->values;
	for (c = 0; c < 6; c++)
		q[c] = (int8_t) ((int) c * 50 - 128);
	/* 4: dense int8 3 x 2, one scale per row */
	if ((t = mm_model_add_tensor(m, "w_i8_rows", MM_DTYPE_I8, 3, 2, NULL)) == NULL ||
		mm_tensor_set_scales(t, 3, NULL) != MM_OK)
		goto fail;
	for (r = 0; r < 3; r++)
	{
		t->scales[r] = 0.125 * (r + 1);
		t->zero_points[r] = (int32_t) r * 100 - 128;
	}
	q = t->values;
	for (c = 0; c < 6; c++)
		q[c] = (int8_t) (127 - (int) c * 40);
	/* 5: sparse f64 3 x 5: row 0 has columns 1 and 4, row 1 none, row 2 col 0 */
	if ((t = mm_model_add_sparse_tensor(m, "w_sparse", MM_DTYPE_F64, 3, 5, 3,
										NULL)) == NULL)
		goto fail;
	t->row_ptr[0] = 0;
	t->row_ptr[1] = 2;
	t->row_ptr[2] = 2;
	t->row_ptr[3] = 3;
	t->col_idx[0] = 1;
	t->col_idx[1] = 4;
	t->col_idx[2] = 0;
	((double *) t->values)[0] = 2.5;
	((double *) t->values)[1] = -1.0;
	((double *) t->values)[2] = 7.0;
	/* 6: sparse int8 2 x 4, per row: (0,3) and (1,0),(1,2) */
	if ((t = mm_model_add_sparse_tensor(m, "w_sparse_i8", MM_DTYPE_I8, 2, 4, 3,
										NULL)) == NULL ||
		mm_tensor_set_scales(t, 2, NULL) != MM_OK)
		goto fail;
	t->row_ptr[1] = 1;
	t->row_ptr[2] = 3;
	t->col_idx[0] = 3;
	t->col_idx[1] = 0;
	t->col_idx[2] = 2;
	t->scales[0] = 0.01;
	t->scales[1] = 2.0;
	t->zero_points[1] = 5;
	q = t->values;
	q[0] = -100;
	q[1] = 5;					/* dequantizes to exactly 0 */
	q[2] = 127;
	return m;
fail:
	mm_model_free(m);
	return NULL;
}

/* A binary logistic regression with float32 coefficients. */
static inline mm_model *
FixtureLogisticModel(void)
{
	mm_model   *m = mm_model_new(MM_ALGO_LOGISTIC_REGRESSION, MM_TASK_BINARY);
	mm_tensor  *t;

	if (m == NULL || mm_model_set_target(m, "churned", NULL) != MM_OK ||
		mm_model_add_feature(m, "tenure", NULL) == NULL ||
		mm_model_add_feature(m, "spend", NULL) == NULL ||
		mm_model_add_class(m, "false", NULL) != MM_OK ||
		mm_model_add_class(m, "true", NULL) != MM_OK)
		goto fail;
	if ((t = mm_model_add_tensor(m, "coef", MM_DTYPE_F32, 1, 2, NULL)) == NULL)
		goto fail;
	((float *) t->values)[0] = -0.75f;
	((float *) t->values)[1] = 0.0625f;
	if ((t = mm_model_add_tensor(m, "intercept", MM_DTYPE_F64, 1, 1, NULL)) == NULL)
		goto fail;
	((double *) t->values)[0] = 0.5;
	return m;
fail:
	mm_model_free(m);
	return NULL;
}

/* A lasso model whose 1 x 5 coefficients are stored sparse (2 non-zero). */
static inline mm_model *
FixtureLassoSparseModel(void)
{
	mm_model   *m = mm_model_new(MM_ALGO_LASSO, MM_TASK_REGRESSION);
	static const char *const names[] = {"a", "b", "c", "d", "e"};
	mm_tensor  *t;
	int			i;

	if (m == NULL || mm_model_set_target(m, "y", NULL) != MM_OK)
		goto fail;
	for (i = 0; i < 5; i++)
		if (mm_model_add_feature(m, names[i], NULL) == NULL)
			goto fail;
	if (mm_model_set_attr(m, "l1", 0.5, NULL) != MM_OK)
		goto fail;
	if ((t = mm_model_add_sparse_tensor(m, "coef", MM_DTYPE_F64, 1, 5, 2,
										NULL)) == NULL)
		goto fail;
	t->row_ptr[1] = 2;
	t->col_idx[0] = 1;
	t->col_idx[1] = 3;
	((double *) t->values)[0] = 4.0;
	((double *) t->values)[1] = -2.0;
	if ((t = mm_model_add_tensor(m, "intercept", MM_DTYPE_F64, 1, 1, NULL)) == NULL)
		goto fail;
	((double *) t->values)[0] = 1.0;
	return m;
fail:
	mm_model_free(m);
	return NULL;
}

/* A linear regression with int8 coefficients (one scale), no target. */
static inline mm_model *
FixtureQuantizedLinearModel(void)
{
	mm_model   *m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	mm_tensor  *t;
	int8_t	   *q;

	if (m == NULL || mm_model_add_feature(m, "x1", NULL) == NULL ||
		mm_model_add_feature(m, "x2", NULL) == NULL ||
		mm_model_add_feature(m, "x3", NULL) == NULL)
		goto fail;
	if ((t = mm_model_add_tensor(m, "coef", MM_DTYPE_I8, 1, 3, NULL)) == NULL)
		goto fail;
	t->scales[0] = 0.03125;
	t->zero_points[0] = 1;
	q = t->values;
	q[0] = -127;
	q[1] = 1;
	q[2] = 90;
	if ((t = mm_model_add_tensor(m, "intercept", MM_DTYPE_F16, 1, 1, NULL)) == NULL)
		goto fail;
	((uint16_t *) t->values)[0] = mm_float_to_half(-2.5);
	if (mm_model_set_attr(m, "fit_intercept", 1.0, NULL) != MM_OK)
		goto fail;
	return m;
fail:
	mm_model_free(m);
	return NULL;
}

#endif							/* MODEL_FIXTURES_H */
