/*
 * test_predict.c
 *	  Unit tests of row encoding and row prediction (mm_predict.c), and of
 *	  the classifier and categorical rules of mm_model_validate.
 *
 * Expected values are computed here by hand, with the same operations in
 * the same order as the header promises (sums left to right from the
 * intercept), so most comparisons are exact.  The numeric fast path of a
 * linear regressor is checked bit for bit against the loop it has always
 * run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm_core.h"
#include "mm_model.h"
#include "mm_predict.h"
#include "mm_svm.h"

/* ---------------------------------------------------------------------
 * Runtime: malloc with failure injection
 * ---------------------------------------------------------------------
 */

static int	alloc_fail_at = 0;		/* fail the n-th allocation; 0 = never */
static int	alloc_count = 0;

static void *
TestAlloc(size_t size)
{
	if (alloc_fail_at > 0 && ++alloc_count == alloc_fail_at)
		return NULL;
	return malloc(size == 0 ? 1 : size);
}

static void *
TestRealloc(void *ptr, size_t size)
{
	return realloc(ptr, size == 0 ? 1 : size);
}

static void
TestFree(void *ptr)
{
	free(ptr);
}

static bool
TestShouldStop(void)
{
	return false;
}

static void
TestFatal(const char *message)
{
	fprintf(stderr, "unexpected fatal error: %s\n", message);
	abort();
}

static const mm_runtime test_runtime = {
	TestAlloc, TestRealloc, TestFree, TestShouldStop, TestFatal
};

static int
Setup(void **state)
{
	mm_set_runtime(&test_runtime);
	alloc_fail_at = 0;
	alloc_count = 0;
	return 0;
}

static int
Teardown(void **state)
{
	mm_set_runtime(NULL);
	return 0;
}

/* ---------------------------------------------------------------------
 * Random numbers (splitmix64)
 * ---------------------------------------------------------------------
 */

static uint64_t rng_state;

static uint64_t
RandU64(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in [-1, 1) times 10^e, e in [-3, 3]: mixed magnitudes. */
static double
RandValue(void)
{
	double		u = (double) (RandU64() >> 11) * (1.0 / 9007199254740992.0);
	int			e = (int) (RandU64() % 7) - 3;

	return (2.0 * u - 1.0) * pow(10.0, e);
}

/* ---------------------------------------------------------------------
 * Model builders
 * ---------------------------------------------------------------------
 */

static mm_feature *
AddNumeric(mm_model *m, const char *name, double center, double scale,
		   double impute)
{
	mm_feature *f = mm_model_add_feature(m, name, NULL);

	assert_non_null(f);
	f->center = center;
	f->scale = scale;
	f->impute_value = impute;
	return f;
}

/* A categorical feature with n labels from a NULL-terminated list. */
static mm_feature *
AddCategorical(mm_model *m, const char *name, bool drop_first, double impute,
			   const char *const *labels)
{
	mm_feature *f = mm_model_add_feature(m, name, NULL);

	assert_non_null(f);
	f->kind = MM_FEATURE_CATEGORICAL;
	f->drop_first = drop_first;
	f->impute_value = impute;
	for (; *labels; labels++)
		assert_int_equal(mm_feature_add_category(f, *labels, NULL), MM_OK);
	return f;
}

/* Dense f64 tensor rows x cols holding v (row-major). */
static void
AddDense(mm_model *m, const char *name, uint32_t rows, uint32_t cols,
		 const double *v)
{
	mm_tensor  *t = mm_model_add_tensor(m, name, MM_DTYPE_F64, rows, cols, NULL);

	assert_non_null(t);
	memcpy(t->values, v, sizeof(double) * rows * cols);
}

static void
AddClasses(mm_model *m, uint32_t k)
{
	static const char *const labels[] = {"a", "b", "c", "d", "e"};

	for (uint32_t i = 0; i < k; i++)
		assert_int_equal(mm_model_add_class(m, labels[i], NULL), MM_OK);
}

static const char *const colors[] = {"red", "green", "blue", NULL};
static const char *const sizes[] = {"s", "m", "l", NULL};

/*
 * A linear regression over: x (numeric, center 2, scale 4, impute 6),
 * color (red/green/blue, one slot each, impute green), size (s/m/l,
 * drop_first, impute -1), y (numeric, impute error).  Width 1+3+2+1 = 7.
 */
static mm_model *
MixedLinearModel(void)
{
	static const double coef[7] = {1.5, -2.0, 0.25, 8.0, -0.5, 3.0, 0.125};
	static const double icpt[1] = {10.0};
	mm_model   *m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);

	assert_non_null(m);
	AddNumeric(m, "x", 2.0, 4.0, 6.0);
	AddCategorical(m, "color", false, 1, colors);
	AddCategorical(m, "size", true, -1, sizes);
	AddNumeric(m, "y", 0.0, 1.0, 0.0)->impute = MM_IMPUTE_ERROR;
	AddDense(m, "coef", 1, 7, coef);
	AddDense(m, "intercept", 1, 1, icpt);
	assert_int_equal(mm_model_validate(m, NULL), MM_OK);
	return m;
}

/* A numeric-only linear model with d random coefficients. */
static mm_model *
PlainLinearModel(uint32_t d, double intercept)
{
	mm_model   *m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	mm_tensor  *t;
	char		name[32];

	assert_non_null(m);
	for (uint32_t j = 0; j < d; j++)
	{
		snprintf(name, sizeof(name), "x%u", j);
		AddNumeric(m, name, 0.0, 1.0, RandValue());
	}
	t = mm_model_add_tensor(m, "coef", MM_DTYPE_F64, 1, d, NULL);
	assert_non_null(t);
	for (uint32_t j = 0; j < d; j++)
		((double *) t->values)[j] = RandValue();
	AddDense(m, "intercept", 1, 1, &intercept);
	assert_int_equal(mm_model_validate(m, NULL), MM_OK);
	return m;
}

/*
 * A classifier of algorithm algo with k classes over two numeric features
 * (a, b) and color; coef rows x 5, intercept 1 x rows.
 */
static mm_model *
Classifier(int algo, uint32_t k, uint32_t rows, const double *coef,
		   const double *icpt)
{
	mm_model   *m = mm_model_new(algo, k == 2 ? MM_TASK_BINARY : MM_TASK_MULTICLASS);

	assert_non_null(m);
	AddNumeric(m, "a", 0.0, 1.0, 0.0);
	AddNumeric(m, "b", 1.0, 2.0, 0.0);
	AddCategorical(m, "color", false, -1, colors);
	AddClasses(m, k);
	AddDense(m, "coef", rows, 5, coef);
	AddDense(m, "intercept", 1, rows, icpt);
	return m;
}

/* Build a predictor that must succeed. */
static mm_predictor *
NewPredictor(const mm_model *m)
{
	mm_predictor *p;
	mm_error	err;

	if (mm_predictor_new(m, &p, &err) != MM_OK)
		fail_msg("mm_predictor_new: %s", err.message);
	return p;
}

/* Status of mm_predictor_new; *p must then be NULL on failure. */
static mm_status
TryPredictor(const mm_model *m, mm_error *err)
{
	mm_predictor *p = (mm_predictor *) 0x1;
	mm_status	st = mm_predictor_new(m, &p, err);

	if (st == MM_OK)
		mm_predictor_free(p);
	else
		assert_null(p);
	return st;
}

static void
ExpectMessage(const mm_error *err, const char *fragment)
{
	if (strstr(err->message, fragment) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err->message, fragment);
}

/* Bit-for-bit equality, so -0.0 != 0.0 and NaN == the same NaN. */
static void
AssertSameBits(double a, double b)
{
	if (memcmp(&a, &b, sizeof(double)) != 0)
		fail_msg("%.17g and %.17g differ in their bits", a, b);
}

/* ---------------------------------------------------------------------
 * Encoder
 * ---------------------------------------------------------------------
 */

/* Slots, one-hot with and without drop_first, centering and scaling. */
static void
test_encoder_mixed(void **state)
{
	mm_model   *m = MixedLinearModel();
	mm_encoder *e;
	mm_error	err;
	double		x[7];

	assert_int_equal(mm_encoder_new(m, &e, &err), MM_OK);
	assert_int_equal(e->width, 7);
	assert_false(e->plain);
	assert_int_equal(e->slot[0], 0);
	assert_int_equal(e->slot[1], 1);
	assert_int_equal(e->slot[2], 4);
	assert_int_equal(e->slot[3], 6);
	assert_null(e->sorted[0]);
	assert_non_null(e->sorted[1]);

	/* x = 10, blue, l, y = -3 */
	{
		const double v[4] = {10.0, 2, 2, -3.0};
		const double want[7] = {2.0, 0, 0, 1, 0, 1, -3.0};

		assert_int_equal(mm_encoder_encode(e, v, NULL, x, &err), MM_OK);
		assert_memory_equal(x, want, sizeof(want));
	}
	/* red and the reference level s: no slot of size set */
	{
		const double v[4] = {-2.0, 0, 0, 0.5};
		const double want[7] = {-1.0, 1, 0, 0, 0, 0, 0.5};

		assert_int_equal(mm_encoder_encode(e, v, NULL, x, &err), MM_OK);
		assert_memory_equal(x, want, sizeof(want));
	}
	/* m sets the first slot of size under drop_first */
	{
		const double v[4] = {2.0, 1, 1, 0.0};
		const double want[7] = {0.0, 0, 1, 0, 1, 0, 0.0};

		assert_int_equal(mm_encoder_encode(e, v, NULL, x, &err), MM_OK);
		assert_memory_equal(x, want, sizeof(want));
	}
	mm_encoder_free(e);
	mm_model_free(m);
}

/* -1 (unseen) sets every slot of a feature to 0, with or without drop_first. */
static void
test_encoder_unseen_category(void **state)
{
	mm_model   *m = MixedLinearModel();
	mm_encoder *e;
	mm_error	err;
	const double v[4] = {2.0, -1, -1, 1.0};
	const double want[7] = {0.0, 0, 0, 0, 0, 0, 1.0};
	double		x[7];

	assert_int_equal(mm_encoder_new(m, &e, &err), MM_OK);
	memset(x, 0xFF, sizeof(x));
	assert_int_equal(mm_encoder_encode(e, v, NULL, x, &err), MM_OK);
	assert_memory_equal(x, want, sizeof(want));
	mm_encoder_free(e);
	mm_model_free(m);
}

/*
 * NULLs: a numeric one takes impute_value (then centered and scaled), a
 * categorical one its impute category, or no category for -1.
 */
static void
test_encoder_null_impute(void **state)
{
	mm_model   *m = MixedLinearModel();
	mm_encoder *e;
	mm_error	err;
	const double v[4] = {NAN, 99, 99, 4.0};	/* NULL slots are not read */
	const bool	nulls[4] = {true, true, true, false};
	const double want[7] = {1.0, 0, 1, 0, 0, 0, 4.0};
	double		x[7];

	assert_int_equal(mm_encoder_new(m, &e, &err), MM_OK);
	assert_true(e->impute[0] == 6.0 && e->impute[1] == 1.0 && e->impute[2] == -1.0);
	assert_true(e->impute_error[3] && !e->impute_error[0]);
	memset(x, 0xFF, sizeof(x));
	assert_int_equal(mm_encoder_encode(e, v, nulls, x, &err), MM_OK);
	assert_memory_equal(x, want, sizeof(want));
	mm_encoder_free(e);
	mm_model_free(m);
}

/* impute = error refuses a NULL; bad numbers and indexes are refused. */
static void
test_encoder_errors(void **state)
{
	mm_model   *m = MixedLinearModel();
	mm_encoder *e;
	mm_error	err;
	double		x[7];

	assert_int_equal(mm_encoder_new(m, &e, &err), MM_OK);
	{
		const double v[4] = {1, 0, 0, 0};
		const bool	nulls[4] = {false, false, false, true};

		assert_int_equal(mm_encoder_encode(e, v, nulls, x, &err), MM_ERR_DATA);
		assert_string_equal(err.message,
							"feature \"y\" is NULL and the model does not impute it");
	}
	{
		const double v[4] = {1, 0, 0, INFINITY};

		assert_int_equal(mm_encoder_encode(e, v, NULL, x, &err), MM_ERR_DATA);
		assert_string_equal(err.message, "feature \"y\" is NaN or infinite");
	}
	{
		const double v[4] = {NAN, 0, 0, 0};

		assert_int_equal(mm_encoder_encode(e, v, NULL, x, &err), MM_ERR_DATA);
		assert_string_equal(err.message, "feature \"x\" is NaN or infinite");
	}
	{
		const double bad[] = {3, 0.5, -2, NAN, INFINITY};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			double		v[4] = {1, 0, 0, 0};

			v[1] = bad[i];
			assert_int_equal(mm_encoder_encode(e, v, NULL, x, &err), MM_ERR_INVALID);
			ExpectMessage(&err, "of feature \"color\" is out of range");
		}
	}
	mm_encoder_free(e);
	mm_model_free(m);

	/* centering and scaling that overflow */
	m = MixedLinearModel();
	m->features[0].scale = 1e-300;
	assert_int_equal(mm_encoder_new(m, &e, &err), MM_OK);
	{
		const double v[4] = {1e300, 0, 0, 0};

		assert_int_equal(mm_encoder_encode(e, v, NULL, x, &err), MM_ERR_RANGE);
		ExpectMessage(&err, "feature \"x\" is out of the range");
	}
	mm_encoder_free(e);
	mm_model_free(m);
}

/* A model whose categorical impute value is no category index is refused. */
static void
test_encoder_bad_model(void **state)
{
	mm_model   *m = MixedLinearModel();
	mm_encoder *e = (mm_encoder *) 0x1;
	mm_error	err;

	m->features[1].impute_value = 3;
	assert_int_equal(mm_encoder_new(m, &e, &err), MM_ERR_CORRUPT);
	assert_null(e);
	ExpectMessage(&err, "categorical feature \"color\"");
	mm_model_free(m);
}

/* Only numeric features, center 0, scale 1 make an encoder plain. */
static void
test_encoder_plain(void **state)
{
	mm_model   *m = PlainLinearModel(3, 0.0);
	mm_encoder *e;

	assert_int_equal(mm_encoder_new(m, &e, NULL), MM_OK);
	assert_true(e->plain);
	assert_int_equal(e->width, 3);
	mm_encoder_free(e);
	m->features[1].center = 0.5;
	assert_int_equal(mm_encoder_new(m, &e, NULL), MM_OK);
	assert_false(e->plain);
	mm_encoder_free(e);
	m->features[1].center = 0.0;
	m->features[2].scale = 2.0;
	assert_int_equal(mm_encoder_new(m, &e, NULL), MM_OK);
	assert_false(e->plain);
	mm_encoder_free(e);
	mm_model_free(m);
}

/*
 * Label lookup: prefixes of each other, the empty label, bytes above 0x7F
 * (sorted as unsigned), explicit lengths (the label need not end in NUL).
 */
static void
test_encoder_category_lookup(void **state)
{
	static const char *const labels[] = {
		"ab", "", "abc", "a", "b", "\xc3\xbc", "B", "aa", "abd", "ab ", NULL
	};
	mm_model   *m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	mm_encoder *e;
	const char	buf[] = "abcXYZ";
	uint32_t	n = 0;

	AddNumeric(m, "num", 0, 1, 0);
	AddCategorical(m, "cat", false, 0, labels);
	assert_int_equal(mm_encoder_new(m, &e, NULL), MM_OK);
	while (labels[n])
		n++;
	for (uint32_t k = 0; k < n; k++)
		assert_int_equal(mm_encoder_category(e, 1, labels[k], strlen(labels[k])), k);
	/* sorted is a bytewise order of the labels */
	for (uint32_t k = 1; k < n; k++)
		assert_true(strcmp(labels[e->sorted[1][k - 1]], labels[e->sorted[1][k]]) < 0);
	assert_int_equal(e->sorted[1][0], 1);	/* "" first */
	assert_int_equal(e->sorted[1][n - 1], 5);	/* 0xC3 last */

	/* lengths cut the buffer: "", "a", "ab", "abc"; then unknown */
	assert_int_equal(mm_encoder_category(e, 1, buf, 0), 1);
	assert_int_equal(mm_encoder_category(e, 1, buf, 1), 3);
	assert_int_equal(mm_encoder_category(e, 1, buf, 2), 0);
	assert_int_equal(mm_encoder_category(e, 1, buf, 3), 2);
	assert_int_equal(mm_encoder_category(e, 1, buf, 4), -1);
	assert_int_equal(mm_encoder_category(e, 1, "abcd", 4), -1);
	assert_int_equal(mm_encoder_category(e, 1, "c", 1), -1);
	assert_int_equal(mm_encoder_category(e, 1, "A", 1), -1);
	assert_int_equal(mm_encoder_category(e, 1, "\xc3", 1), -1);
	assert_int_equal(mm_encoder_category(e, 1, "\xff", 1), -1);
	/* an embedded NUL is not a match for "ab" nor "a" */
	assert_int_equal(mm_encoder_category(e, 1, "ab\0", 3), -1);
	assert_int_equal(mm_encoder_category(e, 1, "a\0b", 3), -1);
	/* numeric feature, feature out of range */
	assert_int_equal(mm_encoder_category(e, 0, "ab", 2), -1);
	assert_int_equal(mm_encoder_category(e, 2, "ab", 2), -1);
	mm_encoder_free(e);
	mm_model_free(m);
}

/* Many random short labels over a tiny alphabet: lookup = linear search. */
static void
test_encoder_category_random(void **state)
{
	mm_model   *m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	mm_feature *f;
	mm_encoder *e;
	char		label[8];

	rng_state = 42;
	f = mm_model_add_feature(m, "cat", NULL);
	f->kind = MM_FEATURE_CATEGORICAL;
	for (int i = 0; i < 300; i++)
	{
		int			len = (int) (RandU64() % 5);
		bool		dup = false;

		for (int c = 0; c < len; c++)
			label[c] = "ab\x80"[RandU64() % 3];
		label[len] = '\0';
		for (uint32_t k = 0; k < f->n_categories; k++)
			dup |= strcmp(f->categories[k], label) == 0;
		if (!dup)
			assert_int_equal(mm_feature_add_category(f, label, NULL), MM_OK);
	}
	assert_true(f->n_categories > 50);
	assert_int_equal(mm_encoder_new(m, &e, NULL), MM_OK);
	for (int i = 0; i < 2000; i++)
	{
		int			len = (int) (RandU64() % 6);
		int32_t		want = -1;

		for (int c = 0; c < len; c++)
			label[c] = "ab\x80"[RandU64() % 3];
		label[len] = 'a';		/* not a terminator: len says where it ends */
		for (uint32_t k = 0; k < f->n_categories; k++)
			if (strlen(f->categories[k]) == (size_t) len &&
				memcmp(f->categories[k], label, len) == 0)
				want = (int32_t) k;
		assert_int_equal(mm_encoder_category(e, 0, label, len), want);
	}
	mm_encoder_free(e);
	mm_model_free(m);
}

/* ---------------------------------------------------------------------
 * Regressors
 * ---------------------------------------------------------------------
 */

/* The loop mm_predict_row has always run for numeric linear models. */
static double
HandLinear(const mm_model *m, const double *values, const bool *nulls)
{
	const mm_tensor *coef = mm_model_tensor(m, "coef");
	double		acc = mm_tensor_get(mm_model_tensor(m, "intercept"), 0, 0);

	for (uint32_t j = 0; j < m->n_features; j++)
	{
		double		x = (nulls && nulls[j]) ? m->features[j].impute_value : values[j];

		acc += mm_tensor_get(coef, 0, j) * x;
	}
	return acc;
}

/* The plain fast path gives exactly the bits of the hand loop. */
static void
test_linear_fast_path_bits(void **state)
{
	const int	D = 37;
	const int	ROWS = 200;
	mm_model   *m;
	mm_predictor *p;
	double		values[37];
	bool		nulls[37];
	mm_error	err;

	rng_state = 7;
	m = PlainLinearModel(D, 0.1);
	p = NewPredictor(m);
	assert_true(p->enc->plain);
	assert_int_equal(p->n_classes, 0);
	assert_int_equal(p->n_outputs, 1);
	assert_ptr_equal(p->impute, p->enc->impute);
	assert_ptr_equal(p->impute_error, p->enc->impute_error);
	for (int r = 0; r < ROWS; r++)
	{
		double		out;

		for (int j = 0; j < D; j++)
		{
			values[j] = RandValue();
			nulls[j] = RandU64() % 5 == 0;
		}
		assert_int_equal(mm_predict_row(p, values, NULL, &out, &err), MM_OK);
		AssertSameBits(out, HandLinear(m, values, NULL));
		assert_int_equal(mm_predict_row(p, values, nulls, &out, &err), MM_OK);
		AssertSameBits(out, HandLinear(m, values, nulls));
	}
	mm_predictor_free(p);
	mm_model_free(m);
}

/* The fast path's errors, word for word. */
static void
test_linear_fast_path_errors(void **state)
{
	mm_model   *m;
	mm_predictor *p;
	double		values[3] = {1, 2, 3};
	bool		nulls[3] = {false, true, false};
	double		out;
	mm_error	err;

	rng_state = 3;
	m = PlainLinearModel(3, 0.0);
	m->features[1].impute = MM_IMPUTE_ERROR;
	p = NewPredictor(m);
	assert_int_equal(mm_predict_row(p, values, nulls, &out, &err), MM_ERR_DATA);
	assert_string_equal(err.message,
						"feature \"x1\" is NULL and the model does not impute it");
	values[2] = NAN;
	assert_int_equal(mm_predict_row(p, values, NULL, &out, &err), MM_ERR_DATA);
	assert_string_equal(err.message, "feature \"x2\" is NaN or infinite");
	/* a NULL over a NaN slot is not looked at */
	nulls[1] = false;
	nulls[2] = true;
	values[2] = NAN;
	m->features[2].impute_value = 0.5;
	p->impute[2] = 0.5;
	assert_int_equal(mm_predict_row(p, values, nulls, &out, &err), MM_OK);
	values[0] = DBL_MAX;
	values[1] = DBL_MAX;
	values[2] = DBL_MAX;
	p->coef[0] = p->coef[1] = p->coef[2] = 1.0;
	assert_int_equal(mm_predict_row(p, values, NULL, &out, &err), MM_ERR_RANGE);
	assert_string_equal(err.message,
						"prediction is out of the range of double precision");
	mm_predictor_free(p);
	mm_model_free(m);
}

/* Encoded path: intercept + coef . z, left to right, z by hand. */
static void
test_linear_general_path(void **state)
{
	mm_model   *m = MixedLinearModel();
	mm_predictor *p = NewPredictor(m);
	const double v[4] = {10.0, 2, 1, -3.0};
	const bool	nulls[4] = {true, true, true, false};
	double		out;
	double		want;
	mm_error	err;

	assert_false(p->enc->plain);
	assert_int_equal(p->width, 7);
	/* z = {2, 0, 0, 1, 1, 0, -3} */
	want = 10.0;
	want += 1.5 * 2.0;
	want += -2.0 * 0.0;
	want += 0.25 * 0.0;
	want += 8.0 * 1.0;
	want += -0.5 * 1.0;
	want += 3.0 * 0.0;
	want += 0.125 * -3.0;
	assert_int_equal(mm_predict_row(p, v, NULL, &out, &err), MM_OK);
	AssertSameBits(out, want);
	/* imputed: z = {1, 0, 1, 0, 0, 0, -3} */
	want = 10.0 + 1.5 * 1.0 + 0.25 + 0.125 * -3.0;
	assert_int_equal(mm_predict_row(p, v, nulls, &out, &err), MM_OK);
	assert_true(out == want);
	/* errors come from the encoder */
	{
		const bool	ynull[4] = {false, false, false, true};

		assert_int_equal(mm_predict_row(p, v, ynull, &out, &err), MM_ERR_DATA);
		assert_string_equal(err.message,
							"feature \"y\" is NULL and the model does not impute it");
	}
	mm_predictor_free(p);

	/* an overflowing sum */
	((double *) m->tensors[0].values)[0] = DBL_MAX;
	p = NewPredictor(m);
	{
		const double big[4] = {1e300, 0, 0, 0};

		assert_int_equal(mm_predict_row(p, big, NULL, &out, &err), MM_ERR_RANGE);
		assert_string_equal(err.message,
							"prediction is out of the range of double precision");
	}
	mm_predictor_free(p);
	mm_model_free(m);
}

/* Sparse, int8 and float16 parameters predict as their dense values. */
static void
test_linear_any_tensor(void **state)
{
	mm_model   *m = mm_model_new(MM_ALGO_LASSO, MM_TASK_REGRESSION);
	mm_tensor  *t;
	mm_predictor *p;
	const double v[4] = {1.0, 2.0, 3.0, 1};
	double		out;

	AddNumeric(m, "a", 0, 1, 0);
	AddNumeric(m, "b", 0, 1, 0);
	AddNumeric(m, "c", 0, 1, 0);
	AddCategorical(m, "color", true, 0, colors);
	/* coef 1 x 5 sparse int8: (0,1) and (0,3) */
	t = mm_model_add_sparse_tensor(m, "coef", MM_DTYPE_I8, 1, 5, 2, NULL);
	assert_non_null(t);
	t->row_ptr[1] = 2;
	t->col_idx[0] = 1;
	t->col_idx[1] = 3;
	t->scales[0] = 0.5;
	t->zero_points[0] = 1;
	((int8_t *) t->values)[0] = 5;	/* 2.0 */
	((int8_t *) t->values)[1] = -3; /* -2.0 */
	t = mm_model_add_tensor(m, "intercept", MM_DTYPE_F16, 1, 1, NULL);
	((uint16_t *) t->values)[0] = mm_float_to_half(0.75);
	assert_int_equal(mm_model_validate(m, NULL), MM_OK);
	p = NewPredictor(m);
	assert_true(p->coef[0] == 0 && p->coef[1] == 2.0 && p->coef[2] == 0 &&
				p->coef[3] == -2.0 && p->coef[4] == 0);
	assert_true(p->intercept[0] == 0.75);
	/* green is slot 3 (the first after the reference red) */
	assert_int_equal(mm_predict_row(p, v, NULL, &out, NULL), MM_OK);
	assert_true(out == 0.75 + 2.0 * 2.0 - 2.0);
	mm_predictor_free(p);
	mm_model_free(m);
}

/* ---------------------------------------------------------------------
 * Classifiers
 * ---------------------------------------------------------------------
 */

/* The encoded row of Classifier() for (a, b, color). */
static void
ClassifierRow(double a, double b, int color, double *z)
{
	z[0] = a;
	z[1] = (b - 1.0) / 2.0;
	z[2] = color == 0;
	z[3] = color == 1;
	z[4] = color == 2;
}

static double
HandDot(double icpt, const double *w, const double *z)
{
	double		acc = icpt;

	for (int j = 0; j < 5; j++)
		acc += w[j] * z[j];
	return acc;
}

static void
test_logistic(void **state)
{
	static const double coef[5] = {0.5, -1.25, 2.0, 0.0, -3.0};
	static const double icpt[1] = {0.25};
	mm_model   *m = Classifier(MM_ALGO_LOGISTIC_REGRESSION, 2, 1, coef, icpt);
	mm_predictor *p;
	const double v[3] = {1.5, 4.0, 0};
	double		z[5];
	double		eta;
	double		proba[2];
	double		score;
	double		out;
	int32_t		cls;
	mm_error	err;

	assert_int_equal(mm_model_validate(m, &err), MM_OK);
	p = NewPredictor(m);
	assert_int_equal(p->n_classes, 2);
	assert_int_equal(p->n_outputs, 1);
	assert_true(p->has_proba);
	ClassifierRow(1.5, 4.0, 0, z);
	eta = HandDot(0.25, coef, z);	/* 0.25 + 0.75 - 1.875 + 2 = 1.125 */
	assert_true(eta == 1.125);
	assert_int_equal(mm_predict_class(p, v, NULL, &cls, proba, &score, &err), MM_OK);
	assert_int_equal(cls, 1);
	assert_true(proba[1] == 1.0 / (1.0 + exp(-eta)));
	assert_true(proba[0] == exp(-eta) / (1.0 + exp(-eta)));
	assert_true(score == proba[1]);
	assert_int_equal(mm_predict_row(p, v, NULL, &out, &err), MM_OK);
	assert_true(out == 1.0);

	/* blue: eta = 0.25 + 0.75 - 1.875 - 3 < 0 */
	{
		const double vb[3] = {1.5, 4.0, 2};

		eta = 0.25 + 0.75 - 1.875 - 3.0;
		assert_int_equal(mm_predict_class(p, vb, NULL, &cls, proba, NULL, &err), MM_OK);
		assert_int_equal(cls, 0);
		assert_true(proba[1] == exp(eta) / (1.0 + exp(eta)));
		assert_true(proba[0] == 1.0 / (1.0 + exp(eta)));
	}
	/* eta exactly 0: class 0, P = 1/2 */
	{
		const double v0[3] = {-0.5, 1.0, -1};

		assert_int_equal(mm_predict_class(p, v0, NULL, &cls, proba, &score, &err), MM_OK);
		assert_int_equal(cls, 0);
		assert_true(proba[0] == 0.5 && proba[1] == 0.5 && score == 0.5);
	}
	/* far negative: no underflow to 0 through 1 / (1 + inf) */
	{
		const double vn[3] = {-1440.5, 1.0, -1};	/* eta = -720 */

		assert_int_equal(mm_predict_class(p, vn, NULL, &cls, proba, &score, &err), MM_OK);
		assert_int_equal(cls, 0);
		assert_true(proba[1] > 0.0 && proba[1] == exp(-720.0));
		assert_true(proba[0] == 1.0);
	}
	/* eta overflows */
	{
		const double vi[3] = {DBL_MAX, 1.0, -1};

		assert_int_equal(mm_predict_class(p, vi, NULL, &cls, proba, &score, &err), MM_OK);
		assert_int_equal(cls, 1);
		((double *) p->coef)[0] = 4.0;
		assert_int_equal(mm_predict_class(p, vi, NULL, &cls, NULL, NULL, &err), MM_ERR_RANGE);
		assert_string_equal(err.message,
							"class score is out of the range of double precision");
		assert_int_equal(mm_predict_row(p, vi, NULL, &out, &err), MM_ERR_RANGE);
	}
	mm_predictor_free(p);
	mm_model_free(m);
}

/* softmax(eta) as the header says, by hand. */
static void
HandSoftmax(const double *eta, int k, double *proba)
{
	double		max = eta[0];
	double		sum = 0.0;

	for (int i = 1; i < k; i++)
		if (eta[i] > max)
			max = eta[i];
	for (int i = 0; i < k; i++)
	{
		proba[i] = exp(eta[i] - max);
		sum += proba[i];
	}
	for (int i = 0; i < k; i++)
		proba[i] /= sum;
}

static void
test_softmax(void **state)
{
	static const double coef[15] = {
		1.0, 0.5, 0.0, 1.0, -1.0,
		-0.5, 2.0, 1.0, 0.0, 0.0,
		0.25, -1.0, 0.5, 0.5, 3.0
	};
	static const double icpt[3] = {0.1, -0.2, 0.3};
	mm_model   *m = Classifier(MM_ALGO_SOFTMAX_REGRESSION, 3, 3, coef, icpt);
	mm_predictor *p;
	double		z[5];
	double		eta[3];
	double		want[3];
	double		proba[3];
	double		score;
	double		out;
	int32_t		cls;
	mm_error	err;

	assert_int_equal(mm_model_validate(m, &err), MM_OK);
	p = NewPredictor(m);
	assert_int_equal(p->n_outputs, 3);
	rng_state = 11;
	for (int r = 0; r < 50; r++)
	{
		double		v[3] = {RandValue(), RandValue(), (double) (RandU64() % 4) - 1};
		int			best = 0;

		ClassifierRow(v[0], v[1], (int) v[2], z);
		for (int k = 0; k < 3; k++)
		{
			eta[k] = HandDot(icpt[k], coef + 5 * k, z);
			if (eta[k] > eta[best])
				best = k;
		}
		HandSoftmax(eta, 3, want);
		assert_int_equal(mm_predict_class(p, v, NULL, &cls, proba, &score, &err), MM_OK);
		assert_int_equal(cls, best);
		assert_memory_equal(proba, want, sizeof(want));
		assert_true(isnan(score));
		assert_int_equal(mm_predict_row(p, v, NULL, &out, &err), MM_OK);
		assert_true(out == best);
	}
	mm_predictor_free(p);
	mm_model_free(m);
}

/* Huge etas: the largest is subtracted, nothing overflows. */
static void
test_softmax_huge(void **state)
{
	static const double coef[15] = {0};
	double		icpt[3] = {1000.0, 1001.0, 999.0};
	mm_model   *m = Classifier(MM_ALGO_SOFTMAX_REGRESSION, 3, 3, coef, icpt);
	mm_predictor *p;
	const double v[3] = {0, 1, -1};
	const double rel[3] = {-1.0, 0.0, -2.0};
	double		want[3];
	double		proba[3];
	int32_t		cls;
	mm_error	err;

	p = NewPredictor(m);
	assert_int_equal(mm_predict_class(p, v, NULL, &cls, proba, NULL, &err), MM_OK);
	HandSoftmax(rel, 3, want);
	assert_int_equal(cls, 1);
	assert_memory_equal(proba, want, sizeof(want));
	mm_predictor_free(p);

	/* the spread itself overflows: exp(-inf) = 0, ties go to the first */
	icpt[0] = DBL_MAX;
	icpt[1] = -DBL_MAX;
	icpt[2] = DBL_MAX;
	memcpy(m->tensors[1].values, icpt, sizeof(icpt));
	p = NewPredictor(m);
	assert_int_equal(mm_predict_class(p, v, NULL, &cls, proba, NULL, &err), MM_OK);
	assert_int_equal(cls, 0);
	assert_true(proba[0] == 0.5 && proba[1] == 0.0 && proba[2] == 0.5);
	mm_predictor_free(p);
	mm_model_free(m);
}

/* Binary softmax: two rows of coef, score P(class 1), ties to class 0. */
static void
test_softmax_binary(void **state)
{
	static const double coef[10] = {
		1.0, 0.0, 0.0, 0.0, 0.0,
		-1.0, 0.0, 0.0, 0.0, 0.0
	};
	static const double icpt[2] = {0.0, 0.0};
	mm_model   *m = Classifier(MM_ALGO_SOFTMAX_REGRESSION, 2, 2, coef, icpt);
	mm_predictor *p;
	const double v[3] = {-0.5, 1, -1};	/* eta = {-0.5, 0.5} */
	const double v0[3] = {0.0, 1, -1};
	const double eta[2] = {-0.5, 0.5};
	double		want[2];
	double		proba[2];
	double		score;
	int32_t		cls;
	mm_error	err;

	assert_int_equal(mm_model_validate(m, &err), MM_OK);
	p = NewPredictor(m);
	assert_int_equal(p->n_outputs, 2);
	HandSoftmax(eta, 2, want);
	assert_int_equal(mm_predict_class(p, v, NULL, &cls, proba, &score, &err), MM_OK);
	assert_int_equal(cls, 1);
	assert_memory_equal(proba, want, sizeof(want));
	assert_true(score == want[1]);
	/* score alone, without proba */
	assert_int_equal(mm_predict_class(p, v, NULL, &cls, NULL, &score, &err), MM_OK);
	assert_true(score == want[1]);
	assert_int_equal(mm_predict_class(p, v0, NULL, &cls, proba, &score, &err), MM_OK);
	assert_int_equal(cls, 0);
	assert_true(proba[0] == 0.5 && score == 0.5);
	mm_predictor_free(p);
	mm_model_free(m);
}

/* Binary SVM: one row, class 1 iff decision > 0, score = decision. */
static void
test_svm_binary(void **state)
{
	static const double coef[5] = {2.0, -1.0, 0.5, -0.5, 0.0};
	static const double icpt[1] = {-0.25};
	mm_model   *m = Classifier(MM_ALGO_LINEAR_SVM, 2, 1, coef, icpt);
	mm_predictor *p;
	double		proba[2];
	double		score;
	double		dec;
	double		z[5];
	int32_t		cls;
	mm_error	err;

	assert_int_equal(mm_model_validate(m, &err), MM_OK);
	p = NewPredictor(m);
	assert_int_equal(p->n_outputs, 1);
	assert_false(p->has_proba);
	rng_state = 5;
	for (int r = 0; r < 50; r++)
	{
		double		v[3] = {RandValue(), RandValue(), (double) (RandU64() % 4) - 1};

		ClassifierRow(v[0], v[1], (int) v[2], z);
		mm_svm_decision(coef, icpt, 1, 5, z, &dec);
		assert_int_equal(mm_predict_class(p, v, NULL, &cls, NULL, &score, &err), MM_OK);
		AssertSameBits(score, dec);
		assert_int_equal(cls, dec > 0.0 ? 1 : 0);
	}
	/* decision exactly 0 is class 0 */
	{
		const double v0[3] = {0.125, 1.0, -1};

		assert_int_equal(mm_predict_class(p, v0, NULL, &cls, NULL, &score, &err), MM_OK);
		assert_true(score == 0.0);
		assert_int_equal(cls, 0);
	}
	/* no probabilities */
	{
		const double v[3] = {1, 1, 0};

		assert_int_equal(mm_predict_class(p, v, NULL, &cls, proba, NULL, &err),
						 MM_ERR_UNSUPPORTED);
		ExpectMessage(&err, "linear_svm model does not give class probabilities");
	}
	mm_predictor_free(p);
	mm_model_free(m);
}

/* One-vs-rest SVM: K rows, first largest decision wins, score NaN. */
static void
test_svm_ovr(void **state)
{
	static const double coef[15] = {
		1.0, 0.0, 0.0, 0.0, 0.0,
		0.0, 1.0, 1.0, 0.0, 0.0,
		-1.0, 0.0, 0.0, 2.0, 0.0
	};
	static const double icpt[3] = {0.0, -0.5, 0.5};
	mm_model   *m = Classifier(MM_ALGO_LINEAR_SVM, 3, 3, coef, icpt);
	mm_predictor *p;
	double		dec[3];
	double		z[5];
	double		score;
	double		out;
	int32_t		cls;
	mm_error	err;

	assert_int_equal(mm_model_validate(m, &err), MM_OK);
	p = NewPredictor(m);
	assert_int_equal(p->n_outputs, 3);
	rng_state = 9;
	for (int r = 0; r < 50; r++)
	{
		double		v[3] = {RandValue(), RandValue(), (double) (RandU64() % 4) - 1};

		ClassifierRow(v[0], v[1], (int) v[2], z);
		mm_svm_decision(coef, icpt, 3, 5, z, dec);
		assert_int_equal(mm_predict_class(p, v, NULL, &cls, NULL, &score, &err), MM_OK);
		assert_int_equal(cls, mm_svm_predict_class(dec, 3));
		assert_true(isnan(score));
		assert_int_equal(mm_predict_row(p, v, NULL, &out, &err), MM_OK);
		assert_true(out == cls);
	}
	/* a tie between the first two models goes to class 0 */
	{
		const double vt[3] = {1.0, 2.0, 0};	/* decisions {1, 1, -0.5} */

		assert_int_equal(mm_predict_class(p, vt, NULL, &cls, NULL, NULL, &err), MM_OK);
		assert_int_equal(cls, 0);
	}
	mm_predictor_free(p);
	mm_model_free(m);
}

/* ---------------------------------------------------------------------
 * Errors of mm_predictor_new and mm_predict_class
 * ---------------------------------------------------------------------
 */

static void
test_shape_errors(void **state)
{
	static const double coef[15] = {0};
	static const double icpt[3] = {0};
	mm_model   *m;
	mm_error	err;

	/* softmax with 3 classes but 2 coef rows */
	m = Classifier(MM_ALGO_SOFTMAX_REGRESSION, 3, 2, coef, icpt);
	assert_int_equal(TryPredictor(m, &err), MM_ERR_CORRUPT);
	assert_string_equal(err.message, "softmax_regression model has malformed parameters");
	assert_string_equal(err.detail,
						"It needs tensors \"coef\" 3 x 5 and \"intercept\" 1 x 3.");
	mm_model_free(m);

	/* OvR SVM stored as one row */
	m = Classifier(MM_ALGO_LINEAR_SVM, 3, 1, coef, icpt);
	assert_int_equal(TryPredictor(m, &err), MM_ERR_CORRUPT);
	mm_model_free(m);

	/* binary SVM stored with two rows */
	m = Classifier(MM_ALGO_LINEAR_SVM, 2, 2, coef, icpt);
	assert_int_equal(TryPredictor(m, &err), MM_ERR_CORRUPT);
	mm_model_free(m);

	/* logistic with 3 classes */
	m = Classifier(MM_ALGO_LOGISTIC_REGRESSION, 3, 1, coef, icpt);
	assert_int_equal(TryPredictor(m, &err), MM_ERR_CORRUPT);
	mm_model_free(m);

	/* intercept of the wrong width */
	m = Classifier(MM_ALGO_SOFTMAX_REGRESSION, 2, 2, coef, icpt);
	m->tensors[1].cols = 1;
	m->tensors[1].nnz = 1;
	assert_int_equal(TryPredictor(m, &err), MM_ERR_CORRUPT);
	mm_model_free(m);

	/* linear: coef not as wide as the one-hot input; message unchanged */
	m = MixedLinearModel();
	m->features[2].drop_first = 0;
	assert_int_equal(TryPredictor(m, &err), MM_ERR_CORRUPT);
	assert_string_equal(err.message, "linear model has malformed parameters");
	mm_model_free(m);

	/* no intercept */
	m = MixedLinearModel();
	m->n_tensors = 1;
	assert_int_equal(TryPredictor(m, &err), MM_ERR_CORRUPT);
	m->n_tensors = 2;
	mm_model_free(m);

	/* MLPs without their network tensors (W1, b1, ...) are corrupt */
	m = MixedLinearModel();
	m->algorithm = MM_ALGO_MLP_REGRESSOR;
	assert_int_equal(TryPredictor(m, &err), MM_ERR_CORRUPT);
	mm_model_free(m);
	m = Classifier(MM_ALGO_MLP_CLASSIFIER, 3, 3, coef, icpt);
	assert_int_equal(TryPredictor(m, &err), MM_ERR_CORRUPT);
	mm_model_free(m);
}

/* A regressor has no classes. */
static void
test_regressor_predict_class(void **state)
{
	mm_model   *m = MixedLinearModel();
	mm_predictor *p = NewPredictor(m);
	const double v[4] = {1, 0, 0, 0};
	int32_t		cls;
	double		score;
	mm_error	err;

	assert_int_equal(mm_predict_class(p, v, NULL, &cls, NULL, &score, &err),
					 MM_ERR_INVALID);
	assert_string_equal(err.message,
						"linear_regression model is a regressor, not a classifier");
	mm_predictor_free(p);
	mm_model_free(m);
}

/* Every allocation failure is MM_ERR_NOMEM with nothing leaked. */
static void
test_out_of_memory(void **state)
{
	static const double coef[15] = {0};
	static const double icpt[3] = {0};
	mm_model   *m = Classifier(MM_ALGO_SOFTMAX_REGRESSION, 3, 3, coef, icpt);
	mm_error	err;
	int			k;

	for (k = 1;; k++)
	{
		mm_status	st;

		alloc_fail_at = k;
		alloc_count = 0;
		st = TryPredictor(m, &err);
		if (st == MM_OK)
			break;
		assert_int_equal(st, MM_ERR_NOMEM);
	}
	assert_true(k > 8);
	alloc_fail_at = 0;
	mm_model_free(m);
}

/* ---------------------------------------------------------------------
 * Validation of classifiers and categorical features
 * ---------------------------------------------------------------------
 */

static void
ExpectInvalid(mm_model *m, const char *fragment)
{
	mm_error	err;

	assert_int_equal(mm_model_validate(m, &err), MM_ERR_INVALID);
	ExpectMessage(&err, fragment);
	mm_model_free(m);
}

static void
test_validate_classifiers(void **state)
{
	static const double coef[15] = {0};
	static const double icpt[3] = {0};
	mm_model   *m;

	m = Classifier(MM_ALGO_LOGISTIC_REGRESSION, 2, 2, coef, icpt);
	ExpectInvalid(m, "tensor \"coef\" of a logistic_regression model must be 1 x 5, not 2 x 5");
	m = Classifier(MM_ALGO_LOGISTIC_REGRESSION, 3, 1, coef, icpt);
	ExpectInvalid(m, "logistic_regression model cannot have task multiclass");
	m = Classifier(MM_ALGO_SOFTMAX_REGRESSION, 3, 2, coef, icpt);
	ExpectInvalid(m, "tensor \"coef\" of a softmax_regression model must be 3 x 5, not 2 x 5");
	m = Classifier(MM_ALGO_SOFTMAX_REGRESSION, 2, 1, coef, icpt);
	ExpectInvalid(m, "must be 2 x 5, not 1 x 5");
	m = Classifier(MM_ALGO_LINEAR_SVM, 2, 2, coef, icpt);
	ExpectInvalid(m, "tensor \"coef\" of a linear_svm model must be 1 x 5, not 2 x 5");
	m = Classifier(MM_ALGO_LINEAR_SVM, 3, 1, coef, icpt);
	ExpectInvalid(m, "must be 3 x 5, not 1 x 5");

	m = Classifier(MM_ALGO_SOFTMAX_REGRESSION, 3, 3, coef, icpt);
	m->tensors[1].cols = 2;
	m->tensors[1].nnz = 2;
	ExpectInvalid(m, "tensor \"intercept\" of a softmax_regression model must be 1 x 3, not 1 x 2");

	m = Classifier(MM_ALGO_LINEAR_SVM, 3, 3, coef, icpt);
	mm_free(m->tensors[1].name);
	m->tensors[1].name = mm_strdup("bias");
	ExpectInvalid(m, "linear_svm model has no tensor \"intercept\"");

	m = Classifier(MM_ALGO_SOFTMAX_REGRESSION, 3, 3, coef, icpt);
	mm_model_set_attr(m, "fit_intercept", 0.5, NULL);
	ExpectInvalid(m, "\"fit_intercept\" must be 0 or 1");

	m = Classifier(MM_ALGO_LINEAR_SVM, 2, 1, coef, icpt);
	mm_model_set_attr(m, "fit_intercept", 0, NULL);
	assert_int_equal(mm_model_validate(m, NULL), MM_OK);
	mm_model_free(m);
}

static void
test_validate_categorical(void **state)
{
	const double good[] = {-1, 0, 2};
	const double bad[] = {3, -2, 0.5, -0.5, 1e300};
	mm_model   *m;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		m = MixedLinearModel();
		m->features[1].impute_value = good[i];
		assert_int_equal(mm_model_validate(m, NULL), MM_OK);
		mm_model_free(m);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		m = MixedLinearModel();
		m->features[1].impute_value = bad[i];
		ExpectInvalid(m, "categorical feature \"color\" has imputation value");
	}
	m = MixedLinearModel();
	m->features[2].impute_value = 2;	/* l: drop_first does not matter */
	assert_int_equal(mm_model_validate(m, NULL), MM_OK);
	mm_model_free(m);
	m = MixedLinearModel();
	m->features[1].center = 1;
	ExpectInvalid(m, "categorical feature \"color\" must have center 0 and scale 1");
	m = MixedLinearModel();
	m->features[2].scale = 2;
	ExpectInvalid(m, "categorical feature \"size\" must have center 0 and scale 1");
}

/* A classifier with categorical features survives the artifact round trip. */
static void
test_classifier_round_trip(void **state)
{
	static const double coef[15] = {
		1.0, 0.5, 0.0, 1.0, -1.0,
		-0.5, 2.0, 1.0, 0.0, 0.0,
		0.25, -1.0, 0.5, 0.5, 3.0
	};
	static const double icpt[3] = {0.1, -0.2, 0.3};
	mm_model   *m = Classifier(MM_ALGO_SOFTMAX_REGRESSION, 3, 3, coef, icpt);
	mm_model   *back;
	mm_predictor *p1;
	mm_predictor *p2;
	mm_buf		buf;
	mm_error	err;
	const double v[3] = {0.3, -2.0, 1};
	const bool	nulls[3] = {false, false, true};
	double		a[3];
	double		b[3];
	int32_t		ca;
	int32_t		cb;

	m->features[2].impute_value = 2;
	mm_buf_init(&buf);
	assert_int_equal(mm_model_serialize(m, &buf, &err), MM_OK);
	assert_int_equal(mm_model_parse(buf.data, buf.len, &back, &err), MM_OK);
	p1 = NewPredictor(m);
	p2 = NewPredictor(back);
	assert_int_equal(mm_predict_class(p1, v, nulls, &ca, a, NULL, &err), MM_OK);
	assert_int_equal(mm_predict_class(p2, v, nulls, &cb, b, NULL, &err), MM_OK);
	assert_int_equal(ca, cb);
	assert_memory_equal(a, b, sizeof(a));
	mm_predictor_free(p1);
	mm_predictor_free(p2);
	mm_model_free(back);
	mm_model_free(m);
	mm_buf_free(&buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_encoder_mixed, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_encoder_unseen_category, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_encoder_null_impute, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_encoder_errors, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_encoder_bad_model, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_encoder_plain, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_encoder_category_lookup, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_encoder_category_random, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_linear_fast_path_bits, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_linear_fast_path_errors, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_linear_general_path, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_linear_any_tensor, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_logistic, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_softmax, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_softmax_huge, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_softmax_binary, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_svm_binary, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_svm_ovr, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_shape_errors, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_regressor_predict_class, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_out_of_memory, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_validate_classifiers, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_validate_categorical, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_classifier_round_trip, Setup, Teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
