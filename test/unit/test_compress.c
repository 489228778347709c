/*
 * test_compress.c
 *	  Unit tests of model compression and quantized inference: pruning and
 *	  quantization (mm_compress.c), the int8 and float kernels
 *	  (mm_qkernel.c) and MLP inference from tensors (mm_mlp_infer.c).
 *
 * Models are built by hand: a linear regression and small MLPs with
 * seeded pseudo-random weights.  The checks are exact wherever the
 * arithmetic allows: pruning counts, which weights go, shapes after
 * structured pruning, the quantization error bound (scale / 2), the AVX2
 * and portable int8 kernels against each other (bit for bit, on tails,
 * sparse rows and sums too large for one int32), and inference on float
 * and sparse tensors against a forward pass written here from
 * mm_tensor_get.  Every result is serialized and parsed back.  The
 * allocation-failure tests fail each allocation in turn and watch for
 * leaks.
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

#include "mm_bytes.h"
#include "mm_compress.h"
#include "mm_mlp.h"
#include "mm_mlp_infer.h"
#include "mm_model.h"
#include "mm_qkernel.h"
#include "model_fixtures.h"
#include "test_alloc.h"

/* ---------------------------------------------------------------------
 * Random numbers, runtime
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

/* Uniform in [-1, 1). */
static double
RandSigned(void)
{
	return (double) (RandU64() >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static int
RandInt(int lo, int hi)
{
	return lo + (int) (RandU64() % (uint64_t) (hi - lo + 1));
}

static int
Setup(void **state)
{
	rng_state = 42;
	mm_set_runtime(NULL);
	return 0;
}

static int
Teardown(void **state)
{
	mm_set_runtime(NULL);
	return 0;
}

/* ---------------------------------------------------------------------
 * Models
 * ---------------------------------------------------------------------
 */

/* Linear regression over n features with the given coefficients. */
static mm_model *
LinearModel(const double *coef, uint32_t n)
{
	mm_model   *m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	mm_tensor  *t;
	char		name[32];
	uint32_t	j;

	assert_non_null(m);
	for (j = 0; j < n; j++)
	{
		snprintf(name, sizeof(name), "x%u", j + 1);
		assert_non_null(mm_model_add_feature(m, name, NULL));
	}
	t = mm_model_add_tensor(m, "coef", MM_DTYPE_F64, 1, n, NULL);
	assert_non_null(t);
	memcpy(t->values, coef, n * sizeof(double));
	t = mm_model_add_tensor(m, "intercept", MM_DTYPE_F64, 1, 1, NULL);
	assert_non_null(t);
	((double *) t->values)[0] = 1.5;
	return m;
}

/*
 * An MLP with L layers of widths w[0] (inputs) .. w[L] (outputs): a
 * classifier with w[L] classes when classifier, else a regressor (w[L] =
 * 1).  Weights uniform in [-1, 1) (on a grid of 1/16 when grid, so that
 * they are exact in float16), biases in [-0.5, 0.5).
 */
static mm_model *
MlpModel(uint32_t L, const uint32_t *w, bool classifier, int activation,
		 bool grid)
{
	mm_model   *m = classifier
		? mm_model_new(MM_ALGO_MLP_CLASSIFIER,
					   w[L] == 2 ? MM_TASK_BINARY : MM_TASK_MULTICLASS)
		: mm_model_new(MM_ALGO_MLP_REGRESSOR, MM_TASK_REGRESSION);
	char		name[32];
	uint32_t	l;
	uint32_t	j;

	assert_non_null(m);
	for (j = 0; j < w[0]; j++)
	{
		snprintf(name, sizeof(name), "f%u", j + 1);
		assert_non_null(mm_model_add_feature(m, name, NULL));
	}
	if (classifier)
		for (j = 0; j < w[L]; j++)
		{
			snprintf(name, sizeof(name), "c%u", j);
			assert_int_equal(mm_model_add_class(m, name, NULL), MM_OK);
		}
	assert_int_equal(mm_model_set_attr(m, "layers", L, NULL), MM_OK);
	assert_int_equal(mm_model_set_attr(m, "activation", activation, NULL), MM_OK);
	for (l = 1; l <= L; l++)
	{
		mm_tensor  *t;
		double	   *v;
		uint64_t	k;

		snprintf(name, sizeof(name), "W%u", l);
		t = mm_model_add_tensor(m, name, MM_DTYPE_F64, w[l], w[l - 1], NULL);
		assert_non_null(t);
		v = t->values;
		for (k = 0; k < t->nnz; k++)
		{
			v[k] = RandSigned();
			if (grid)
				v[k] = floor(v[k] * 16.0) / 16.0;
		}
		snprintf(name, sizeof(name), "b%u", l);
		t = mm_model_add_tensor(m, name, MM_DTYPE_F64, 1, w[l], NULL);
		assert_non_null(t);
		v = t->values;
		for (k = 0; k < t->nnz; k++)
			v[k] = RandSigned() / 2.0;
	}
	return m;
}

static mm_model *
Mlp2(uint32_t d, uint32_t h, uint32_t out, bool classifier, int activation)
{
	uint32_t	w[3] = {d, h, out};

	return MlpModel(2, w, classifier, activation, false);
}

static size_t
ArtifactSize(const mm_model *m)
{
	mm_buf		buf;
	mm_error	err;
	size_t		len;

	mm_buf_init(&buf);
	if (mm_model_serialize(m, &buf, &err) != MM_OK)
		fail_msg("serialize failed: %s", err.message);
	len = buf.len;
	mm_buf_free(&buf);
	return len;
}

/*
 * Serialize, parse (which validates), serialize again: the bytes must
 * match.  Returns the artifact size.
 */
static size_t
RoundTrip(const mm_model *m)
{
	mm_buf		a;
	mm_buf		b;
	mm_error	err;
	mm_model   *parsed;
	size_t		len;

	mm_buf_init(&a);
	mm_buf_init(&b);
	if (mm_model_serialize(m, &a, &err) != MM_OK)
		fail_msg("serialize failed: %s", err.message);
	if (mm_model_parse(a.data, a.len, &parsed, &err) != MM_OK)
		fail_msg("parse failed: %s", err.message);
	assert_int_equal(mm_model_serialize(parsed, &b, &err), MM_OK);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	len = a.len;
	mm_model_free(parsed);
	mm_buf_free(&a);
	mm_buf_free(&b);
	return len;
}

static bool
SameBytes(const mm_model *x, const mm_model *y)
{
	mm_buf		a;
	mm_buf		b;
	bool		same;

	mm_buf_init(&a);
	mm_buf_init(&b);
	assert_int_equal(mm_model_serialize(x, &a, NULL), MM_OK);
	assert_int_equal(mm_model_serialize(y, &b, NULL), MM_OK);
	same = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
	mm_buf_free(&a);
	mm_buf_free(&b);
	return same;
}

static uint64_t
ZeroCount(const mm_tensor *t)
{
	uint64_t	z = 0;
	uint32_t	r;
	uint32_t	c;

	for (r = 0; r < t->rows; r++)
		for (c = 0; c < t->cols; c++)
			if (mm_tensor_get(t, r, c) == 0.0)
				z++;
	return z;
}

static const mm_tensor *
Tensor(const mm_model *m, const char *name)
{
	const mm_tensor *t = mm_model_tensor(m, name);

	assert_non_null(t);
	return t;
}

/* Every element of a and b equal. */
static void
AssertSameValues(const mm_tensor *a, const mm_tensor *b)
{
	uint32_t	r;
	uint32_t	c;

	assert_int_equal(a->rows, b->rows);
	assert_int_equal(a->cols, b->cols);
	for (r = 0; r < a->rows; r++)
		for (c = 0; c < a->cols; c++)
			assert_true(mm_tensor_get(a, r, c) == mm_tensor_get(b, r, c));
}

/*
 * The forward pass of an MLP written out from mm_tensor_get, in the order
 * mm_mlp_infer promises: bias first, then w_j x_j left to right.
 */
static void
HandForward(const mm_model *m, const double *x, double *out)
{
	double		a[512];
	double		b[512];
	double	   *cur = a;
	double	   *nxt = b;
	uint32_t	L = (uint32_t) mm_model_attr(m, "layers", 0);
	int			act = (int) mm_model_attr(m, "activation", 0);
	uint32_t	l;
	uint32_t	i;
	uint32_t	j;
	uint32_t	rows = 0;

	memcpy(a, x, mm_model_input_width(m) * sizeof(double));
	for (l = 1; l <= L; l++)
	{
		const mm_tensor *W = mm_mlp_infer_tensor(m, 'W', l);
		const mm_tensor *bias = mm_mlp_infer_tensor(m, 'b', l);
		double	   *tmp;

		rows = W->rows;
		for (i = 0; i < W->rows; i++)
		{
			double		s = mm_tensor_get(bias, 0, i);

			for (j = 0; j < W->cols; j++)
				s += mm_tensor_get(W, i, j) * cur[j];
			if (l < L)
				s = (act == MM_MLP_TANH) ? tanh(s) : (s < 0.0 ? 0.0 : s);
			nxt[i] = s;
		}
		tmp = cur;
		cur = nxt;
		nxt = tmp;
	}
	if (m->algorithm == MM_ALGO_MLP_CLASSIFIER)
	{
		double		mx = cur[0];
		double		sum = 0.0;

		for (i = 1; i < rows; i++)
			if (cur[i] > mx)
				mx = cur[i];
		for (i = 0; i < rows; i++)
		{
			out[i] = exp(cur[i] - mx);
			sum += out[i];
		}
		for (i = 0; i < rows; i++)
			out[i] /= sum;
	}
	else
		out[0] = cur[0];
}

/* ---------------------------------------------------------------------
 * Copy
 * ---------------------------------------------------------------------
 */

static void
test_copy_identical(void **state)
{
	mm_model   *(*builders[]) (void) = {
		FixtureLinearModel, FixtureAllDtypesModel, FixtureLogisticModel,
		FixtureLassoSparseModel, FixtureQuantizedLinearModel
	};
	size_t		i;

	for (i = 0; i < sizeof(builders) / sizeof(builders[0]); i++)
	{
		mm_model   *src = builders[i] ();
		mm_model   *copy;
		mm_error	err;

		assert_non_null(src);
		assert_int_equal(mm_model_copy(src, &copy, &err), MM_OK);
		assert_true(SameBytes(src, copy));
		mm_model_free(src);
		mm_model_free(copy);
	}
}

/* ---------------------------------------------------------------------
 * Pruning
 * ---------------------------------------------------------------------
 */

static void
test_prune_magnitude_linear(void **state)
{
	static const double coef[10] = {
		0.5, -3.0, 0.1, 2.0, -0.2, 7.0, 0.05, -1.0, 4.0, 0.3
	};
	mm_model   *src = LinearModel(coef, 10);
	mm_model   *out;
	mm_prune_info info;
	mm_error	err;
	const mm_tensor *t;
	uint32_t	j;

	/* 30%: the three smallest |w| (0.05, 0.1, -0.2) go; dense is smaller */
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.3, &out, &info, &err),
					 MM_OK);
	t = Tensor(out, "coef");
	assert_int_equal(t->layout, MM_LAYOUT_DENSE);
	assert_int_equal(t->dtype, MM_DTYPE_F64);
	for (j = 0; j < 10; j++)
	{
		bool		pruned = (j == 2 || j == 4 || j == 6);

		assert_true(mm_tensor_get(t, 0, j) == (pruned ? 0.0 : coef[j]));
	}
	AssertSameValues(Tensor(out, "intercept"), Tensor(src, "intercept"));
	assert_int_equal(info.params_before, 11);
	assert_int_equal(info.params_after, 11);
	assert_int_equal(info.nonzero_before, 11);
	assert_int_equal(info.nonzero_after, 8);
	RoundTrip(out);
	mm_model_free(out);

	/* 50%: five go, CSR is smaller, the artifact shrinks */
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.5, &out, &info, &err),
					 MM_OK);
	t = Tensor(out, "coef");
	assert_int_equal(t->layout, MM_LAYOUT_SPARSE);
	assert_int_equal(t->nnz, 5);
	assert_int_equal(ZeroCount(t), 5);
	assert_true(mm_tensor_get(t, 0, 0) == 0.0);
	assert_true(mm_tensor_get(t, 0, 9) == 0.0);
	assert_true(mm_tensor_get(t, 0, 7) == -1.0);
	assert_true(RoundTrip(out) < ArtifactSize(src));
	mm_model_free(out);

	/* 0%: same values */
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.0, &out, &info, &err),
					 MM_OK);
	assert_true(SameBytes(src, out));
	mm_model_free(out);
	mm_model_free(src);
}

static void
test_prune_ties_deterministic(void **state)
{
	static const double coef[6] = {1.0, -1.0, 1.0, 1.0, -1.0, 2.0};
	mm_model   *src = LinearModel(coef, 6);
	mm_model   *a;
	mm_model   *b;
	const mm_tensor *t;

	/* three of the five equal magnitudes go: the first three positions */
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.5, &a, NULL, NULL),
					 MM_OK);
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.5, &b, NULL, NULL),
					 MM_OK);
	t = Tensor(a, "coef");
	assert_true(mm_tensor_get(t, 0, 0) == 0.0);
	assert_true(mm_tensor_get(t, 0, 1) == 0.0);
	assert_true(mm_tensor_get(t, 0, 2) == 0.0);
	assert_true(mm_tensor_get(t, 0, 3) == 1.0);
	assert_true(mm_tensor_get(t, 0, 4) == -1.0);
	assert_true(mm_tensor_get(t, 0, 5) == 2.0);
	assert_true(SameBytes(a, b));
	mm_model_free(a);
	mm_model_free(b);
	mm_model_free(src);
}

/* Largest |w| of src where out is zero <= smallest |w| where it is not. */
static void
AssertThreshold(const mm_tensor *const *src, const mm_tensor *const *out,
				int n)
{
	double		max_pruned = 0.0;
	double		min_kept = INFINITY;
	int			i;
	uint32_t	r;
	uint32_t	c;

	for (i = 0; i < n; i++)
		for (r = 0; r < src[i]->rows; r++)
			for (c = 0; c < src[i]->cols; c++)
			{
				double		v = fabs(mm_tensor_get(src[i], r, c));
				double		o = mm_tensor_get(out[i], r, c);

				if (o == 0.0)
					max_pruned = fmax(max_pruned, v);
				else
				{
					assert_true(o == mm_tensor_get(src[i], r, c));
					min_kept = fmin(min_kept, v);
				}
			}
	assert_true(max_pruned <= min_kept);
}

static void
test_prune_magnitude_mlp_exact(void **state)
{
	static const double sparsities[] = {0.1, 0.25, 0.5, 0.77, 0.9};
	mm_model   *src = Mlp2(6, 16, 3, true, MM_MLP_RELU);
	size_t		i;

	for (i = 0; i < sizeof(sparsities) / sizeof(sparsities[0]); i++)
	{
		double		s = sparsities[i];
		mm_model   *out;
		mm_prune_info info;
		mm_error	err;
		const char *names[] = {"W1", "W2"};
		int			l;

		assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, s, &out, &info, &err),
						 MM_OK);
		for (l = 0; l < 2; l++)
		{
			const mm_tensor *a = Tensor(src, names[l]);
			const mm_tensor *b = Tensor(out, names[l]);
			uint64_t	n = (uint64_t) a->rows * a->cols;

			assert_int_equal(ZeroCount(b), (uint64_t) nearbyint(s * n));
			AssertThreshold(&a, &b, 1);
		}
		AssertSameValues(Tensor(out, "b1"), Tensor(src, "b1"));
		AssertSameValues(Tensor(out, "b2"), Tensor(src, "b2"));
		assert_int_equal(info.nonzero_before - info.nonzero_after,
						 (uint64_t) nearbyint(s * 96) + (uint64_t) nearbyint(s * 48));
		RoundTrip(out);
		mm_model_free(out);
	}
	mm_model_free(src);
}

static void
test_prune_global(void **state)
{
	mm_model   *src = Mlp2(6, 16, 3, true, MM_MLP_RELU);
	mm_tensor  *w1 = (mm_tensor *) Tensor(src, "W1");
	mm_tensor  *w2 = (mm_tensor *) Tensor(src, "W2");
	mm_model   *out;
	mm_error	err;
	const mm_tensor *a[2];
	const mm_tensor *b[2];
	uint64_t	k;

	/* W1 below 0.01, W2 above 0.1: a global threshold takes W1 first */
	for (k = 0; k < w1->nnz; k++)
		((double *) w1->values)[k] *= 0.01;
	for (k = 0; k < w2->nnz; k++)
	{
		double		v = ((double *) w2->values)[k];

		((double *) w2->values)[k] = copysign(0.1 + 0.9 * fabs(v), v);
	}
	assert_int_equal(mm_prune(src, MM_PRUNE_GLOBAL, 0.5, &out, NULL, &err),
					 MM_OK);
	a[0] = Tensor(src, "W1");
	a[1] = Tensor(src, "W2");
	b[0] = Tensor(out, "W1");
	b[1] = Tensor(out, "W2");
	assert_int_equal(ZeroCount(b[0]) + ZeroCount(b[1]), 72);	/* 0.5 * 144 */
	assert_int_equal(ZeroCount(b[0]), 72);
	assert_int_equal(ZeroCount(b[1]), 0);
	AssertThreshold(a, b, 2);
	RoundTrip(out);
	mm_model_free(out);

	/* 0.7 * 144 = 101 > 96: W1 would be empty */
	assert_int_equal(mm_prune(src, MM_PRUNE_GLOBAL, 0.7, &out, NULL, &err),
					 MM_ERR_INVALID);
	assert_null(out);
	assert_non_null(strstr(err.message, "W1"));
	assert_non_null(strstr(err.hint, "magnitude"));

	/* magnitude pruning at the same sparsity keeps every tensor alive */
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.7, &out, NULL, &err),
					 MM_OK);
	mm_model_free(out);
	mm_model_free(src);
}

/* Zero row i of W1 and give unit i a negative bias: its ReLU output is 0. */
static void
KillUnit(mm_model *m, uint32_t i)
{
	mm_tensor  *W = (mm_tensor *) Tensor(m, "W1");
	mm_tensor  *b = (mm_tensor *) Tensor(m, "b1");
	uint32_t	j;

	for (j = 0; j < W->cols; j++)
		((double *) W->values)[(size_t) i * W->cols + j] = 0.0;
	((double *) b->values)[i] = -1.0;
}

static void
test_prune_structured(void **state)
{
	mm_model   *src = Mlp2(4, 8, 3, true, MM_MLP_RELU);
	mm_model   *out;
	mm_prune_info info;
	mm_error	err;
	const mm_tensor *W1;
	const mm_tensor *W2;
	static const uint32_t kept[5] = {0, 2, 3, 5, 7};
	uint32_t	i;
	uint32_t	j;
	int			row;

	KillUnit(src, 1);
	KillUnit(src, 4);
	KillUnit(src, 6);
	/* 0.375 * 8 = 3 units go: the three dead ones (norm 0) */
	assert_int_equal(mm_prune(src, MM_PRUNE_STRUCTURED, 0.375, &out, &info, &err),
					 MM_OK);
	W1 = Tensor(out, "W1");
	W2 = Tensor(out, "W2");
	assert_int_equal(W1->rows, 5);
	assert_int_equal(W1->cols, 4);
	assert_int_equal(W1->layout, MM_LAYOUT_DENSE);
	assert_int_equal(Tensor(out, "b1")->cols, 5);
	assert_int_equal(W2->rows, 3);
	assert_int_equal(W2->cols, 5);
	assert_int_equal(Tensor(out, "b2")->cols, 3);
	for (i = 0; i < 5; i++)
	{
		for (j = 0; j < 4; j++)
			assert_true(mm_tensor_get(W1, i, j) ==
						mm_tensor_get(Tensor(src, "W1"), kept[i], j));
		assert_true(mm_tensor_get(Tensor(out, "b1"), 0, i) ==
					mm_tensor_get(Tensor(src, "b1"), 0, kept[i]));
		for (j = 0; j < 3; j++)
			assert_true(mm_tensor_get(W2, j, i) ==
						mm_tensor_get(Tensor(src, "W2"), j, kept[i]));
	}
	assert_int_equal(info.params_before, 32 + 8 + 24 + 3);
	assert_int_equal(info.params_after, 20 + 5 + 15 + 3);
	assert_true(RoundTrip(out) < ArtifactSize(src));

	/* the removed units contributed nothing: same predictions */
	for (row = 0; row < 20; row++)
	{
		double		x[4];
		double		p1[3];
		double		p2[3];
		mm_mlp_infer *a;
		mm_mlp_infer *b;

		for (j = 0; j < 4; j++)
			x[j] = RandSigned() * 3.0;
		assert_int_equal(mm_mlp_infer_new(src, &a, &err), MM_OK);
		assert_int_equal(mm_mlp_infer_new(out, &b, &err), MM_OK);
		assert_int_equal(mm_mlp_infer_row(a, x, p1, &err), MM_OK);
		assert_int_equal(mm_mlp_infer_row(b, x, p2, &err), MM_OK);
		for (j = 0; j < 3; j++)
			assert_true(p1[j] == p2[j]);
		mm_mlp_infer_free(a);
		mm_mlp_infer_free(b);
	}
	mm_model_free(out);

	/* at least one unit stays */
	assert_int_equal(mm_prune(src, MM_PRUNE_STRUCTURED, 0.99, &out, NULL, &err),
					 MM_OK);
	assert_int_equal(Tensor(out, "W1")->rows, 1);
	assert_int_equal(Tensor(out, "W2")->cols, 1);
	RoundTrip(out);
	mm_model_free(out);
	mm_model_free(src);
}

static void
test_prune_structured_deep(void **state)
{
	static const uint32_t w[4] = {3, 6, 5, 2};
	mm_model   *src = MlpModel(3, w, true, MM_MLP_TANH, false);
	mm_model   *out;
	mm_model   *again;
	mm_error	err;
	uint32_t	map1[6];
	uint32_t	map2[5];
	uint32_t	n1 = 0;
	uint32_t	n2 = 0;
	uint32_t	i;
	uint32_t	j;

	/* round(0.5 * 6) = 3 and round(0.5 * 5) = 2 (half to even) units go */
	assert_int_equal(mm_prune(src, MM_PRUNE_STRUCTURED, 0.5, &out, NULL, &err),
					 MM_OK);
	assert_int_equal(Tensor(out, "W1")->rows, 3);
	assert_int_equal(Tensor(out, "W1")->cols, 3);
	assert_int_equal(Tensor(out, "W2")->rows, 3);
	assert_int_equal(Tensor(out, "W2")->cols, 3);
	assert_int_equal(Tensor(out, "W3")->rows, 2);
	assert_int_equal(Tensor(out, "W3")->cols, 3);
	assert_int_equal(Tensor(out, "b1")->cols, 3);
	assert_int_equal(Tensor(out, "b2")->cols, 3);
	assert_int_equal(Tensor(out, "b3")->cols, 2);

	/* recover which units stayed from the bias values, then check W2 */
	for (i = 0; i < 6; i++)
	{
		map1[i] = UINT32_MAX;
		for (j = 0; j < 3; j++)
			if (mm_tensor_get(Tensor(out, "b1"), 0, j) ==
				mm_tensor_get(Tensor(src, "b1"), 0, i))
				map1[i] = j, n1++;
	}
	for (i = 0; i < 5; i++)
	{
		map2[i] = UINT32_MAX;
		for (j = 0; j < 3; j++)
			if (mm_tensor_get(Tensor(out, "b2"), 0, j) ==
				mm_tensor_get(Tensor(src, "b2"), 0, i))
				map2[i] = j, n2++;
	}
	assert_int_equal(n1, 3);
	assert_int_equal(n2, 3);
	for (i = 0; i < 5; i++)
		for (j = 0; j < 6; j++)
			if (map2[i] != UINT32_MAX && map1[j] != UINT32_MAX)
				assert_true(mm_tensor_get(Tensor(out, "W2"), map2[i], map1[j]) ==
							mm_tensor_get(Tensor(src, "W2"), i, j));
	RoundTrip(out);

	/* deterministic */
	assert_int_equal(mm_prune(src, MM_PRUNE_STRUCTURED, 0.5, &again, NULL, &err),
					 MM_OK);
	assert_true(SameBytes(out, again));
	mm_model_free(again);
	mm_model_free(out);
	mm_model_free(src);
}

static void
test_prune_structured_unsupported(void **state)
{
	static const double coef[3] = {1.0, 2.0, 3.0};
	static const uint32_t w[2] = {4, 3};
	mm_model   *lin = LinearModel(coef, 3);
	mm_model   *shallow = MlpModel(1, w, true, MM_MLP_RELU, false);
	mm_model   *out;
	mm_error	err;

	assert_int_equal(mm_prune(lin, MM_PRUNE_STRUCTURED, 0.5, &out, NULL, &err),
					 MM_ERR_UNSUPPORTED);
	assert_null(out);
	assert_non_null(strstr(err.hint, "magnitude"));
	assert_int_equal(mm_prune(shallow, MM_PRUNE_STRUCTURED, 0.5, &out, NULL, &err),
					 MM_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.hint, "magnitude"));
	/* magnitude works on the one-layer MLP */
	assert_int_equal(mm_prune(shallow, MM_PRUNE_MAGNITUDE, 0.5, &out, NULL, &err),
					 MM_OK);
	assert_int_equal(ZeroCount(Tensor(out, "W1")), 6);
	mm_model_free(out);
	mm_model_free(lin);
	mm_model_free(shallow);
}

static void
test_prune_sparse_and_float_sources(void **state)
{
	mm_model   *src = FixtureLassoSparseModel();	/* coef 0 4 0 -2 0 */
	mm_model   *out;
	mm_model   *f32;
	mm_error	err;
	const mm_tensor *t;

	/* round(0.2 * 5) = 1 zero: already three, nothing changes */
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.2, &out, NULL, &err),
					 MM_OK);
	AssertSameValues(Tensor(out, "coef"), Tensor(src, "coef"));
	mm_model_free(out);

	/* round(0.8 * 5) = 4: -2 goes too, 4 stays */
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.8, &out, NULL, &err),
					 MM_OK);
	t = Tensor(out, "coef");
	assert_int_equal(t->layout, MM_LAYOUT_SPARSE);
	assert_int_equal(t->nnz, 1);
	assert_true(mm_tensor_get(t, 0, 1) == 4.0);
	RoundTrip(out);
	mm_model_free(out);

	/* round(0.95 * 5) = 5: nothing left */
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.95, &out, NULL, &err),
					 MM_ERR_INVALID);
	assert_non_null(strstr(err.message, "no non-zero weight"));
	assert_true(err.hint[0] != '\0');
	mm_model_free(src);

	/* float32 stays float32 */
	f32 = FixtureLogisticModel();
	assert_int_equal(mm_prune(f32, MM_PRUNE_MAGNITUDE, 0.5, &out, NULL, &err),
					 MM_OK);
	t = Tensor(out, "coef");
	assert_int_equal(t->dtype, MM_DTYPE_F32);
	assert_true(mm_tensor_get(t, 0, 0) == -0.75);
	assert_true(mm_tensor_get(t, 0, 1) == 0.0);
	RoundTrip(out);
	mm_model_free(out);
	mm_model_free(f32);
}

static void
test_prune_artifact_shrinks(void **state)
{
	mm_model   *src = Mlp2(32, 64, 4, true, MM_MLP_RELU);
	mm_model   *out;
	mm_prune_info info;
	mm_error	err;
	size_t		before = ArtifactSize(src);
	size_t		after;

	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.8, &out, &info, &err),
					 MM_OK);
	assert_int_equal(Tensor(out, "W1")->layout, MM_LAYOUT_SPARSE);
	assert_int_equal(Tensor(out, "W2")->layout, MM_LAYOUT_SPARSE);
	assert_int_equal(Tensor(out, "b1")->layout, MM_LAYOUT_DENSE);
	assert_int_equal(info.params_before, info.params_after);
	assert_int_equal(info.nonzero_before - info.nonzero_after,
					 (uint64_t) nearbyint(0.8 * 2048) + (uint64_t) nearbyint(0.8 * 256));
	after = RoundTrip(out);
	/* 80% of the weights gone, each survivor costs 12 bytes instead of 8 */
	assert_true(after < before / 2);
	mm_model_free(out);
	mm_model_free(src);
}

static void
test_prune_errors(void **state)
{
	static const double coef[2] = {1.0, -2.0};
	mm_model   *lin = LinearModel(coef, 2);
	mm_model   *q = FixtureQuantizedLinearModel();
	mm_model   *out = (mm_model *) 1;
	mm_error	err;
	static const double bad[] = {-0.1, 1.0, 1.5};
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		assert_int_equal(mm_prune(lin, MM_PRUNE_MAGNITUDE, bad[i], &out, NULL, &err),
						 MM_ERR_INVALID);
		assert_null(out);
		assert_non_null(strstr(err.message, "sparsity"));
	}
	assert_int_equal(mm_prune(lin, MM_PRUNE_MAGNITUDE, NAN, &out, NULL, &err),
					 MM_ERR_INVALID);
	assert_int_equal(mm_prune(lin, 0, 0.5, &out, NULL, &err), MM_ERR_INVALID);
	assert_int_equal(mm_prune(lin, 4, 0.5, &out, NULL, &err), MM_ERR_INVALID);
	/* round(0.9 * 2) = 2: pruning to zero parameters */
	assert_int_equal(mm_prune(lin, MM_PRUNE_MAGNITUDE, 0.9, &out, NULL, &err),
					 MM_ERR_INVALID);
	assert_true(err.hint[0] != '\0');
	/* int8 weights */
	assert_int_equal(mm_prune(q, MM_PRUNE_MAGNITUDE, 0.5, &out, NULL, &err),
					 MM_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.hint, "before quantizing"));
	assert_null(out);
	mm_model_free(lin);
	mm_model_free(q);
}

/* ---------------------------------------------------------------------
 * Quantization
 * ---------------------------------------------------------------------
 */

/* The scale that applies to row r of int8 tensor t. */
static double
ScaleOf(const mm_tensor *t, uint32_t r)
{
	return t->scales[t->n_scales == 1 ? 0 : r];
}

/* Check an int8 or float16 quantized weight tensor q against its source. */
static void
CheckQuantized(const mm_tensor *src, const mm_tensor *q, int dtype,
			   int scheme, int granularity)
{
	uint32_t	r;
	uint32_t	c;

	assert_int_equal(q->dtype, dtype);
	assert_int_equal(q->layout, src->layout);
	assert_int_equal(q->nnz, src->nnz);
	if (src->layout == MM_LAYOUT_SPARSE)
	{
		assert_memory_equal(q->row_ptr, src->row_ptr, (src->rows + 1) * sizeof(uint32_t));
		assert_memory_equal(q->col_idx, src->col_idx, src->nnz * sizeof(uint32_t));
	}
	if (dtype == MM_DTYPE_I8)
	{
		uint32_t	s;

		assert_int_equal(q->n_scales,
						 granularity == MM_QUANT_PER_TENSOR ? 1 : src->rows);
		for (s = 0; s < q->n_scales; s++)
		{
			assert_true(q->scales[s] > 0.0);
			if (scheme == MM_QUANT_SYMMETRIC)
				assert_int_equal(q->zero_points[s], 0);
		}
	}
	for (r = 0; r < src->rows; r++)
		for (c = 0; c < src->cols; c++)
		{
			double		w = mm_tensor_get(src, r, c);
			double		d = mm_tensor_get(q, r, c);

			if (w == 0.0)
				assert_true(d == 0.0);
			if (dtype == MM_DTYPE_I8)
				assert_true(fabs(w - d) <= ScaleOf(q, r) * 0.5 * (1 + 1e-12));
			else
				assert_true(d == mm_half_to_float(mm_float_to_half(w)));
		}
}

static void
test_quantize_int8(void **state)
{
	static const int schemes[] = {MM_QUANT_SYMMETRIC, MM_QUANT_ASYMMETRIC};
	static const int grans[] = {MM_QUANT_PER_TENSOR, MM_QUANT_PER_CHANNEL};
	mm_model   *dense = Mlp2(12, 20, 3, true, MM_MLP_RELU);
	mm_model   *sparse;
	mm_error	err;
	int			a;
	int			b;
	int			which;

	/* a row of zeros (scale 1) and an all-positive row (asymmetric zp -128) */
	{
		mm_tensor  *W1 = (mm_tensor *) Tensor(dense, "W1");
		uint32_t	j;

		for (j = 0; j < W1->cols; j++)
		{
			((double *) W1->values)[3 * W1->cols + j] = 0.0;
			((double *) W1->values)[5 * W1->cols + j] = 0.1 + j;
		}
	}
	assert_int_equal(mm_prune(dense, MM_PRUNE_MAGNITUDE, 0.6, &sparse, NULL, &err),
					 MM_OK);
	for (which = 0; which < 2; which++)
	{
		mm_model   *src = which ? sparse : dense;

		for (a = 0; a < 2; a++)
			for (b = 0; b < 2; b++)
			{
				mm_model   *out;

				assert_int_equal(mm_quantize(src, MM_DTYPE_I8, schemes[a], grans[b],
											 &out, &err), MM_OK);
				CheckQuantized(Tensor(src, "W1"), Tensor(out, "W1"), MM_DTYPE_I8,
							   schemes[a], grans[b]);
				CheckQuantized(Tensor(src, "W2"), Tensor(out, "W2"), MM_DTYPE_I8,
							   schemes[a], grans[b]);
				assert_int_equal(Tensor(out, "b1")->dtype, MM_DTYPE_F64);
				AssertSameValues(Tensor(out, "b1"), Tensor(src, "b1"));
				AssertSameValues(Tensor(out, "b2"), Tensor(src, "b2"));
				if (b == 1 && a == 1 && !which)
				{
					assert_true(Tensor(out, "W1")->scales[3] == 1.0);
					assert_int_equal(Tensor(out, "W1")->zero_points[5], -128);
				}
				assert_true(RoundTrip(out) < ArtifactSize(src));
				mm_model_free(out);
			}
	}
	/* defaults: symmetric, per channel */
	{
		mm_model   *out;
		mm_model   *explicit;

		assert_int_equal(mm_quantize(dense, MM_DTYPE_I8, 0, 0, &out, &err), MM_OK);
		assert_int_equal(mm_quantize(dense, MM_DTYPE_I8, MM_QUANT_SYMMETRIC,
									 MM_QUANT_PER_CHANNEL, &explicit, &err), MM_OK);
		assert_true(SameBytes(out, explicit));
		mm_model_free(out);
		mm_model_free(explicit);
	}
	mm_model_free(sparse);
	mm_model_free(dense);
}

static void
test_quantize_linear_values(void **state)
{
	static const double coef[4] = {-1.27, 0.0, 0.635, 1.0};
	mm_model   *src = LinearModel(coef, 4);
	mm_model   *out;
	const mm_tensor *t;
	const int8_t *q;

	/* symmetric: scale 1.27 / 127 = 0.01; 0.635 / 0.01 = 63.5 -> 64 (even) */
	assert_int_equal(mm_quantize(src, MM_DTYPE_I8, MM_QUANT_SYMMETRIC,
								 MM_QUANT_PER_TENSOR, &out, NULL), MM_OK);
	t = Tensor(out, "coef");
	q = t->values;
	assert_true(fabs(t->scales[0] - 0.01) < 1e-15);
	assert_int_equal(q[0], -127);
	assert_int_equal(q[1], 0);
	assert_int_equal(q[3], 100);
	assert_true(q[2] == 63 || q[2] == 64);
	RoundTrip(out);
	mm_model_free(out);

	/* asymmetric over [-1.27, 1]: zero is exact */
	assert_int_equal(mm_quantize(src, MM_DTYPE_I8, MM_QUANT_ASYMMETRIC,
								 MM_QUANT_PER_TENSOR, &out, NULL), MM_OK);
	t = Tensor(out, "coef");
	assert_true(mm_tensor_get(t, 0, 1) == 0.0);
	assert_true(fabs(t->scales[0] - 2.27 / 255) < 1e-15);
	assert_true(((const int8_t *) t->values)[0] == -128);
	CheckQuantized(Tensor(src, "coef"), t, MM_DTYPE_I8, MM_QUANT_ASYMMETRIC,
				   MM_QUANT_PER_TENSOR);
	mm_model_free(out);
	mm_model_free(src);
}

static void
test_quantize_f16(void **state)
{
	mm_model   *src = Mlp2(8, 10, 1, false, MM_MLP_TANH);
	mm_model   *out;
	mm_error	err;
	static const double big[2] = {1.0, 70000.0};
	mm_model   *lin;

	assert_int_equal(mm_quantize(src, MM_DTYPE_F16, 0, 0, &out, &err), MM_OK);
	CheckQuantized(Tensor(src, "W1"), Tensor(out, "W1"), MM_DTYPE_F16, 0, 0);
	CheckQuantized(Tensor(src, "W2"), Tensor(out, "W2"), MM_DTYPE_F16, 0, 0);
	assert_int_equal(Tensor(out, "b2")->dtype, MM_DTYPE_F64);
	RoundTrip(out);
	mm_model_free(out);

	/* no scheme or granularity for float16 */
	assert_int_equal(mm_quantize(src, MM_DTYPE_F16, MM_QUANT_SYMMETRIC, 0, &out, &err),
					 MM_ERR_INVALID);
	assert_null(out);
	assert_int_equal(mm_quantize(src, MM_DTYPE_F16, 0, MM_QUANT_PER_TENSOR, &out, &err),
					 MM_ERR_INVALID);

	/* out of range */
	lin = LinearModel(big, 2);
	assert_int_equal(mm_quantize(lin, MM_DTYPE_F16, 0, 0, &out, &err),
					 MM_ERR_RANGE);
	assert_non_null(strstr(err.hint, "int8"));
	mm_model_free(lin);
	mm_model_free(src);
}

static void
test_quantize_errors(void **state)
{
	mm_model   *src = Mlp2(4, 5, 2, true, MM_MLP_RELU);
	mm_model   *q8;
	mm_model   *q16;
	mm_model   *out;
	mm_error	err;

	assert_int_equal(mm_quantize(src, MM_DTYPE_I8, 0, 0, &q8, &err), MM_OK);
	assert_int_equal(mm_quantize(src, MM_DTYPE_F16, 0, 0, &q16, &err), MM_OK);
	assert_int_equal(mm_quantize(q8, MM_DTYPE_I8, 0, 0, &out, &err), MM_ERR_INVALID);
	assert_non_null(strstr(err.message, "already quantized"));
	assert_int_equal(mm_quantize(q16, MM_DTYPE_I8, 0, 0, &out, &err), MM_ERR_INVALID);
	assert_non_null(strstr(err.message, "already quantized"));
	assert_int_equal(mm_quantize(q16, MM_DTYPE_F16, 0, 0, &out, &err), MM_ERR_INVALID);
	assert_int_equal(mm_quantize(src, MM_DTYPE_F64, 0, 0, &out, &err), MM_ERR_INVALID);
	assert_int_equal(mm_quantize(src, MM_DTYPE_F32, 0, 0, &out, &err), MM_ERR_INVALID);
	assert_int_equal(mm_quantize(src, 99, 0, 0, &out, &err), MM_ERR_INVALID);
	assert_int_equal(mm_quantize(src, MM_DTYPE_I8, 3, 0, &out, &err), MM_ERR_INVALID);
	assert_int_equal(mm_quantize(src, MM_DTYPE_I8, 0, 3, &out, &err), MM_ERR_INVALID);
	assert_null(out);
	/* pruning a quantized model */
	assert_int_equal(mm_prune(q8, MM_PRUNE_STRUCTURED, 0.5, &out, NULL, &err),
					 MM_ERR_UNSUPPORTED);
	/* float16 weights can still be pruned */
	assert_int_equal(mm_prune(q16, MM_PRUNE_MAGNITUDE, 0.5, &out, NULL, &err), MM_OK);
	assert_int_equal(Tensor(out, "W1")->dtype, MM_DTYPE_F16);
	RoundTrip(out);
	mm_model_free(out);
	mm_model_free(q8);
	mm_model_free(q16);
	mm_model_free(src);
}

/* ---------------------------------------------------------------------
 * Kernels
 * ---------------------------------------------------------------------
 */

static void
test_qinput(void **state)
{
	mm_qinput	in;
	mm_error	err;
	static const double x[3] = {1.0, -0.5, 0.25};
	static const double zero[3] = {0.0, -0.0, 0.0};
	double		bad[3] = {1.0, INFINITY, 0.0};

	assert_int_equal(mm_qinput_init(&in, 3, &err), MM_OK);
	assert_int_equal(mm_qinput_set(&in, x, 3, &err), MM_OK);
	/* 127, -63.5 -> -64 (half to even), 31.75 -> 32 */
	assert_int_equal(in.q[0], 127);
	assert_int_equal(in.q[1], -64);
	assert_int_equal(in.q[2], 32);
	assert_int_equal(in.sum, 95);
	assert_true(in.scale == 1.0 / 127.0);
	assert_int_equal(mm_qinput_set(&in, zero, 3, &err), MM_OK);
	assert_true(in.scale == 0.0);
	assert_int_equal(in.sum, 0);
	assert_int_equal(in.q[0], 0);
	assert_int_equal(mm_qinput_set(&in, bad, 3, &err), MM_ERR_DATA);
	bad[1] = NAN;
	assert_int_equal(mm_qinput_set(&in, bad, 3, &err), MM_ERR_DATA);
	assert_int_equal(mm_qinput_set(&in, x, 4, &err), MM_ERR_INTERNAL);
	mm_qinput_free(&in);
	assert_true(mm_qk_round(2.5) == 2.0);
	assert_true(mm_qk_round(-2.5) == -2.0);
	assert_true(mm_qk_round(3.5) == 4.0);
	assert_true(mm_qk_round(-0.4) == 0.0);
}

/*
 * The AVX2 and scalar quantization of inputs agree on every length (tails
 * of 1 to 3), on half-way values, tiny and zero vectors, and on where a
 * non-finite value is reported.
 */
static void
test_qinput_avx2_identical(void **state)
{
	mm_qinput	a;
	mm_qinput	b;
	mm_error	err;
	double		x[300];
	uint32_t	n;
	int			variant;

	assert_int_equal(mm_qinput_init(&a, 300, &err), MM_OK);
	assert_int_equal(mm_qinput_init(&b, 300, &err), MM_OK);
	a.impl = MM_QK_PORTABLE;
	b.impl = MM_QK_AVX2;
	for (n = 1; n <= 300; n += (n < 40 ? 1 : 37))
		for (variant = 0; variant < 6; variant++)
		{
			uint32_t	j;
			mm_status	sa;
			mm_status	sb;

			for (j = 0; j < n; j++)
			{
				x[j] = RandSigned() * 5.0;
				if (variant == 1)
					x[j] = (double) RandInt(-254, 254) / 2.0;	/* halves */
				if (variant == 2)
					x[j] *= 1e-310;	/* 127 / max overflows */
				if (variant == 3)
					x[j] = 0.0;
			}
			if (variant == 1)
				x[0] = 127.0;
			if (variant == 4)
				x[RandInt(0, (int) n - 1)] = NAN;
			if (variant == 5)
				x[RandInt(0, (int) n - 1)] = -INFINITY;
			sa = mm_qinput_set(&a, x, n, &err);
			sb = mm_qinput_set(&b, x, n, &err);
			assert_int_equal(sa, sb);
			if (sa != MM_OK)
				continue;
			assert_memory_equal(a.q, b.q, n * sizeof(int16_t));
			assert_true(a.scale == b.scale);
			assert_true(a.sum == b.sum);
			if (variant == 1)
				for (j = 0; j < n; j++)
					assert_true(a.q[j] == mm_qk_round(x[j]));
		}
	mm_qinput_free(&a);
	mm_qinput_free(&b);
}

/* A random int8 tensor, dense or with about density of its cells stored. */
static mm_tensor *
RandomInt8(mm_model *m, const char *name, uint32_t rows, uint32_t cols,
		   bool sparse, double density, bool per_row, bool zero_points)
{
	mm_tensor  *t;
	uint32_t	s;
	uint64_t	k;

	if (!sparse)
		t = mm_model_add_tensor(m, name, MM_DTYPE_I8, rows, cols, NULL);
	else
	{
		uint8_t    *mask = malloc((size_t) rows * cols);
		uint64_t	nnz = 0;
		uint32_t	r;
		uint32_t	c;

		for (k = 0; k < (uint64_t) rows * cols; k++)
		{
			mask[k] = (RandSigned() + 1.0) / 2.0 < density;
			nnz += mask[k];
		}
		t = mm_model_add_sparse_tensor(m, name, MM_DTYPE_I8, rows, cols, nnz, NULL);
		assert_non_null(t);
		k = 0;
		for (r = 0; r < rows; r++)
		{
			for (c = 0; c < cols; c++)
				if (mask[(size_t) r * cols + c])
					t->col_idx[k++] = c;
			t->row_ptr[r + 1] = (uint32_t) k;
		}
		free(mask);
	}
	assert_non_null(t);
	for (k = 0; k < t->nnz; k++)
		((int8_t *) t->values)[k] = (int8_t) RandInt(-128, 127);
	if (per_row)
		assert_int_equal(mm_tensor_set_scales(t, rows, NULL), MM_OK);
	for (s = 0; s < t->n_scales; s++)
	{
		t->scales[s] = 0.001 + (RandSigned() + 1.0) * 0.01;
		t->zero_points[s] = zero_points ? RandInt(-128, 127) : 0;
	}
	return t;
}

/* |y - y_ref| within the activation quantization error, plus rounding. */
static void
CheckAgainstFloat(const mm_tensor *w, const double *x, const double *bias,
				  const double *y, double sx)
{
	uint32_t	i;
	uint32_t	j;

	for (i = 0; i < w->rows; i++)
	{
		double		ref = bias ? bias[i] : 0.0;
		double		wsum = 0.0;
		double		mag = fabs(ref);

		for (j = 0; j < w->cols; j++)
		{
			double		v = mm_tensor_get(w, i, j);

			ref += v * x[j];
			wsum += fabs(v);
			mag += fabs(v * x[j]);
		}
		assert_true(fabs(y[i] - ref) <= wsum * sx * 0.5 * (1 + 1e-9) + 1e-12 * mag);
	}
}

static void
test_qkernel_avx2_identical(void **state)
{
	static const uint32_t rows_list[] = {1, 3, 4, 5, 17, 64};
	static const uint32_t cols_list[] = {1, 7, 15, 16, 17, 33, 64, 100, 257};
	mm_qinput	in;
	mm_error	err;
	size_t		a;
	size_t		b;
	int			variant;
	int			checked = 0;

	assert_int_equal(mm_qinput_init(&in, 257, &err), MM_OK);
	for (a = 0; a < sizeof(rows_list) / sizeof(rows_list[0]); a++)
		for (b = 0; b < sizeof(cols_list) / sizeof(cols_list[0]); b++)
			for (variant = 0; variant < 8; variant++)
			{
				uint32_t	rows = rows_list[a];
				uint32_t	cols = cols_list[b];
				bool		sparse = variant & 1;
				bool		per_row = variant & 2;
				bool		zps = variant & 4;
				mm_model   *scratch = mm_model_new(MM_ALGO_MLP_REGRESSOR,
												   MM_TASK_REGRESSION);
				mm_tensor  *w = RandomInt8(scratch, "w", rows, cols, sparse, 0.3,
										   per_row, zps);
				double		x[257];
				double		bias[64];
				double		y1[64];
				double		y2[64];
				double		y3[64];
				uint32_t	j;

				for (j = 0; j < cols; j++)
					x[j] = RandSigned() * (variant == 5 ? 1e-300 : 3.0);
				if (variant == 6)
					memset(x, 0, sizeof(x));
				for (j = 0; j < rows; j++)
					bias[j] = RandSigned();
				assert_int_equal(mm_qinput_set(&in, x, cols, &err), MM_OK);
				mm_qk_gemv(w, &in, variant == 3 ? NULL : bias, y1, MM_QK_PORTABLE);
				mm_qk_gemv(w, &in, variant == 3 ? NULL : bias, y2, MM_QK_AVX2);
				mm_qk_gemv(w, &in, variant == 3 ? NULL : bias, y3, MM_QK_AUTO);
				assert_memory_equal(y1, y2, rows * sizeof(double));
				assert_memory_equal(y1, y3, rows * sizeof(double));
				CheckAgainstFloat(w, x, variant == 3 ? NULL : bias, y1, in.scale);
				checked++;
				mm_model_free(scratch);
			}
	assert_true(checked > 0);
	if (!mm_qk_have_avx2())
		print_message("note: no AVX2 on this CPU; compared portable with itself\n");
	mm_qinput_free(&in);
}

/*
 * Rows whose sum does not fit one int32: 140000 products of -128 * -127
 * (2.28e9).  Both implementations must give the exact result.
 */
static void
test_qkernel_large_sums(void **state)
{
	const uint32_t cols = 140000;
	mm_model   *m = mm_model_new(MM_ALGO_MLP_REGRESSOR, MM_TASK_REGRESSION);
	mm_tensor  *dense = mm_model_add_tensor(m, "d", MM_DTYPE_I8, 5, cols, NULL);
	mm_tensor  *sparse = mm_model_add_sparse_tensor(m, "s", MM_DTYPE_I8, 2, cols,
													cols, NULL);
	double	   *x = malloc(cols * sizeof(double));
	mm_qinput	in;
	double		y1[5];
	double		y2[5];
	double		expect;
	uint32_t	j;
	int			i;

	/* dense may have moved when the sparse tensor was added */
	dense = (mm_tensor *) Tensor(m, "d");
	assert_non_null(sparse);
	memset(dense->values, -128, dense->nnz);
	memset(sparse->values, -128, sparse->nnz);
	for (j = 0; j < cols; j++)
	{
		sparse->col_idx[j] = j;
		x[j] = -2.0;
	}
	sparse->row_ptr[1] = cols;
	sparse->row_ptr[2] = cols;
	dense->scales[0] = 0.5;
	dense->zero_points[0] = 3;
	sparse->scales[0] = 0.5;
	sparse->zero_points[0] = 3;
	assert_int_equal(mm_qinput_init(&in, cols, NULL), MM_OK);
	assert_int_equal(mm_qinput_set(&in, x, cols, NULL), MM_OK);
	/* q = -127 everywhere, sx = 2 / 127 */
	expect = (0.5 * (2.0 / 127.0)) *
		(double) ((int64_t) cols * 128 * 127 - 3 * (int64_t) cols * -127);
	mm_qk_gemv(dense, &in, NULL, y1, MM_QK_PORTABLE);
	mm_qk_gemv(dense, &in, NULL, y2, MM_QK_AVX2);
	for (i = 0; i < 5; i++)
	{
		assert_true(y1[i] == expect);
		assert_true(y2[i] == expect);
	}
	mm_qk_gemv(sparse, &in, NULL, y1, MM_QK_PORTABLE);
	mm_qk_gemv(sparse, &in, NULL, y2, MM_QK_AVX2);
	assert_true(y1[0] == expect);
	assert_true(y2[0] == expect);
	assert_true(y1[1] == 0.0 && y2[1] == 0.0);
	/* the widest rows the four-at-a-time float steps take: 65536 columns,
	 * with the zero point term of the opposite sign (2.12e9 in all) */
	{
		mm_tensor  *e = mm_model_add_tensor(m, "e", MM_DTYPE_I8, 4, 65536, NULL);

		assert_non_null(e);
		memset(e->values, -128, e->nnz);
		e->scales[0] = 0.5;
		e->zero_points[0] = 127;
		assert_int_equal(mm_qinput_set(&in, x, 65536, NULL), MM_OK);
		expect = (0.5 * (2.0 / 127.0)) * (double) ((int64_t) 65536 * (16256 + 16129));
		mm_qk_gemv(e, &in, NULL, y1, MM_QK_PORTABLE);
		mm_qk_gemv(e, &in, NULL, y2, MM_QK_AVX2);
		for (i = 0; i < 4; i++)
		{
			assert_true(y1[i] == expect);
			assert_true(y2[i] == expect);
		}
	}
	mm_qinput_free(&in);
	free(x);
	mm_model_free(m);
}

static void
test_qkernel_gemm(void **state)
{
	mm_model   *m = mm_model_new(MM_ALGO_MLP_REGRESSOR, MM_TASK_REGRESSION);
	mm_tensor  *w = RandomInt8(m, "w", 13, 37, false, 1.0, true, true);
	const size_t n = 50;
	double		X[50 * 37];
	double		Y[50 * 13];
	double		bias[13];
	double		y[13];
	mm_qinput	in;
	mm_error	err;
	size_t		r;
	int			impl;

	for (r = 0; r < n * 37; r++)
		X[r] = RandSigned();
	for (r = 0; r < 13; r++)
		bias[r] = RandSigned();
	assert_int_equal(mm_qinput_init(&in, 37, &err), MM_OK);
	for (impl = MM_QK_AUTO; impl <= MM_QK_AVX2; impl++)
	{
		assert_int_equal(mm_qk_gemm(w, X, n, bias, Y, impl, &err), MM_OK);
		for (r = 0; r < n; r++)
		{
			assert_int_equal(mm_qinput_set(&in, X + r * 37, 37, &err), MM_OK);
			mm_qk_gemv(w, &in, bias, y, MM_QK_PORTABLE);
			assert_memory_equal(y, Y + r * 13, sizeof(y));
		}
	}
	X[5] = NAN;
	assert_int_equal(mm_qk_gemm(w, X, n, bias, Y, MM_QK_AUTO, &err), MM_ERR_DATA);
	/* not int8 */
	{
		mm_tensor  *f = mm_model_add_tensor(m, "f", MM_DTYPE_F64, 2, 2, NULL);

		assert_int_equal(mm_qk_gemm(f, X, 1, NULL, Y, MM_QK_AUTO, &err),
						 MM_ERR_INVALID);
	}
	mm_qinput_free(&in);
	mm_model_free(m);
}

static void
test_float_kernels(void **state)
{
	double		W[9 * 11];
	float		Wf[9 * 11];
	double		x[11];
	float		xf[11];
	double		bias[9];
	float		biasf[9];
	double		y[9];
	float		yf[9];
	double		X[7 * 11];
	double		Y[7 * 9];
	uint32_t	rp[10];
	uint32_t	ci[9 * 11];
	uint32_t	rows;
	uint32_t	i;
	uint32_t	j;
	mm_error	err;

	for (i = 0; i < 9 * 11; i++)
	{
		W[i] = RandSigned();
		Wf[i] = (float) W[i];
	}
	for (j = 0; j < 11; j++)
	{
		x[j] = RandSigned() * 10;
		xf[j] = (float) x[j];
	}
	for (i = 0; i < 9; i++)
	{
		bias[i] = RandSigned();
		biasf[i] = (float) bias[i];
	}
	/* every row count around the four-row blocks: the plain loop, exactly */
	for (rows = 1; rows <= 9; rows++)
	{
		mm_fk_gemv_f64(W, rows, 11, x, bias, y);
		mm_fk_gemv_f32(Wf, rows, 11, xf, biasf, yf);
		for (i = 0; i < rows; i++)
		{
			double		s = bias[i];
			float		sf = biasf[i];

			for (j = 0; j < 11; j++)
			{
				s += W[i * 11 + j] * x[j];
				sf += Wf[i * 11 + j] * xf[j];
			}
			assert_memory_equal(&s, &y[i], sizeof(double));
			assert_memory_equal(&sf, &yf[i], sizeof(float));
			assert_true(fabs(yf[i] - y[i]) < 1e-4 * (1 + fabs(y[i])));
		}
	}
	/* no bias */
	mm_fk_gemv_f64(W, 1, 11, x, NULL, y);
	{
		double		s = 0.0;

		for (j = 0; j < 11; j++)
			s += W[j] * x[j];
		assert_true(s == y[0]);
	}
	/* gemm = gemv per row */
	for (i = 0; i < 7 * 11; i++)
		X[i] = RandSigned();
	assert_int_equal(mm_fk_gemm_f64(W, 9, 11, X, 7, bias, Y, &err), MM_OK);
	for (i = 0; i < 7; i++)
	{
		mm_fk_gemv_f64(W, 9, 11, X + i * 11, bias, y);
		assert_memory_equal(y, Y + i * 9, sizeof(y));
	}
	{
		float		Xf[7 * 11];
		float		Yf[7 * 9];

		for (i = 0; i < 7 * 11; i++)
			Xf[i] = (float) X[i];
		assert_int_equal(mm_fk_gemm_f32(Wf, 9, 11, Xf, 7, biasf, Yf, &err), MM_OK);
		for (i = 0; i < 7; i++)
		{
			mm_fk_gemv_f32(Wf, 9, 11, Xf + i * 11, biasf, yf);
			assert_memory_equal(yf, Yf + i * 9, sizeof(yf));
		}
	}
	/* CSR storing every element = dense */
	rp[0] = 0;
	for (i = 0; i < 9; i++)
	{
		for (j = 0; j < 11; j++)
			ci[i * 11 + j] = j;
		rp[i + 1] = (i + 1) * 11;
	}
	mm_fk_csrmv_f64(9, rp, ci, W, x, bias, Y);
	mm_fk_gemv_f64(W, 9, 11, x, bias, y);
	assert_memory_equal(y, Y, sizeof(y));
}

/* ---------------------------------------------------------------------
 * MLP inference
 * ---------------------------------------------------------------------
 */

/* mm_mlp_infer on m equals HandForward exactly, on a few random rows. */
static void
AssertInferExact(const mm_model *m)
{
	mm_mlp_infer *p;
	mm_error	err;
	uint32_t	d = mm_model_input_width(m);
	int			row;

	assert_int_equal(mm_mlp_infer_new(m, &p, &err), MM_OK);
	assert_int_equal(mm_mlp_infer_input_width(p), d);
	for (row = 0; row < 10; row++)
	{
		double		x[64];
		double		got[16];
		double		want[16];
		uint32_t	j;

		for (j = 0; j < d; j++)
			x[j] = RandSigned() * 2.0;
		assert_int_equal(mm_mlp_infer_row(p, x, got, &err), MM_OK);
		HandForward(m, x, want);
		for (j = 0; j < mm_mlp_infer_output_width(p); j++)
			assert_true(got[j] == want[j]);
	}
	mm_mlp_infer_free(p);
}

static void
test_mlp_infer_dense_hand(void **state)
{
	/* a 2 -> 3 -> 2 classifier small enough to write out */
	mm_model   *m = Mlp2(2, 3, 2, true, MM_MLP_RELU);
	double	   *W1 = ((mm_tensor *) Tensor(m, "W1"))->values;
	double	   *b1 = ((mm_tensor *) Tensor(m, "b1"))->values;
	double	   *W2 = ((mm_tensor *) Tensor(m, "W2"))->values;
	double	   *b2 = ((mm_tensor *) Tensor(m, "b2"))->values;
	static const double x[2] = {0.7, -1.3};
	double		h[3];
	double		z[2];
	double		p[2];
	double		got[2];
	double		mx;
	mm_mlp_infer *inf;
	mm_error	err;
	int			i;
	static const uint32_t widths[3][4] = {
		{5, 7, 3, 0}, {4, 6, 1, 0}, {3, 8, 5, 4}
	};

	for (i = 0; i < 3; i++)
	{
		double		s = b1[i] + W1[i * 2] * x[0] + W1[i * 2 + 1] * x[1];

		h[i] = s < 0 ? 0 : s;
	}
	for (i = 0; i < 2; i++)
		z[i] = b2[i] + W2[i * 3] * h[0] + W2[i * 3 + 1] * h[1] + W2[i * 3 + 2] * h[2];
	mx = z[0] > z[1] ? z[0] : z[1];
	p[0] = exp(z[0] - mx);
	p[1] = exp(z[1] - mx);
	{
		double		sum = p[0] + p[1];

		p[0] /= sum;
		p[1] /= sum;
	}
	assert_int_equal(mm_mlp_infer_new(m, &inf, &err), MM_OK);
	assert_int_equal(mm_mlp_infer_output_width(inf), 2);
	assert_int_equal(mm_mlp_infer_row(inf, x, got, &err), MM_OK);
	assert_true(got[0] == p[0] && got[1] == p[1]);
	assert_true(fabs(got[0] + got[1] - 1.0) < 1e-15);
	mm_mlp_infer_free(inf);
	mm_model_free(m);

	/* bigger ones against the written-out forward pass */
	m = MlpModel(2, widths[0], true, MM_MLP_TANH, false);
	AssertInferExact(m);
	mm_model_free(m);
	m = MlpModel(2, widths[1], false, MM_MLP_RELU, false);
	AssertInferExact(m);
	mm_model_free(m);
	m = MlpModel(3, widths[2], true, MM_MLP_RELU, false);
	AssertInferExact(m);
	mm_model_free(m);
}

/*
 * On a float64 model mm_mlp_infer_row gives exactly what mm_mlp_forward_row
 * (the trainer's row pass, mm_mlp.h) gives on the same weights, to the bit.
 */
static void
test_mlp_infer_matches_forward_row(void **state)
{
	/* a 3-class classifier, a regressor, a binary classifier without hidden
	 * layer */
	static const uint32_t shapes[3][4] = {
		{2, 5, 8, 3}, {3, 7, 6, 1}, {9, 2, 0, 0}
	};
	static const uint32_t layers[3] = {3, 3, 1};
	int			s;
	int			act;

	for (s = 0; s < 3; s++)
		for (act = MM_MLP_RELU; act <= MM_MLP_TANH; act++)
		{
			uint32_t	L = layers[s];
			const uint32_t *w = shapes[s];
			bool		classifier = w[L] > 1;
			mm_model   *m = MlpModel(L, w, classifier, act, false);
			int32_t		width[4];
			mm_mlp_net *net;
			mm_mlp_infer *p;
			mm_error	err;
			double	   *scratch;
			uint32_t	l;
			int			row;

			for (l = 0; l <= L; l++)
				width[l] = (int32_t) w[l];
			assert_int_equal(mm_mlp_net_create((int32_t) L, width, act, classifier,
											   &net, &err), MM_OK);
			for (l = 0; l < L; l++)
			{
				const mm_tensor *W = mm_mlp_infer_tensor(m, 'W', l + 1);
				const mm_tensor *b = mm_mlp_infer_tensor(m, 'b', l + 1);

				memcpy(net->W[l], W->values, W->nnz * sizeof(double));
				memcpy(net->b[l], b->values, b->nnz * sizeof(double));
			}
			scratch = malloc((mm_mlp_scratch_size(net) + 1) * sizeof(double));
			assert_int_equal(mm_mlp_infer_new(m, &p, &err), MM_OK);
			for (row = 0; row < 20; row++)
			{
				double		x[16];
				double		want[16];
				double		got[16];
				uint32_t	j;

				for (j = 0; j < w[0]; j++)
					x[j] = RandSigned() * 3.0;
				mm_mlp_forward_row(net, x, want, scratch);
				assert_int_equal(mm_mlp_infer_row(p, x, got, &err), MM_OK);
				assert_memory_equal(want, got, w[L] * sizeof(double));
			}
			mm_mlp_infer_free(p);
			free(scratch);
			mm_mlp_net_free(net);
			mm_model_free(m);
		}
}

/* Convert the weight tensors of m to float32 in place (exact on a grid). */
static void
ToFloat32(mm_model *m)
{
	uint32_t	i;

	for (i = 0; i < m->n_tensors; i++)
	{
		mm_tensor  *t = &m->tensors[i];
		float	   *f;
		uint64_t	k;

		if (!mm_is_weight_tensor(m, t) || t->dtype != MM_DTYPE_F64)
			continue;
		f = malloc(t->nnz * sizeof(float));
		for (k = 0; k < t->nnz; k++)
			f[k] = (float) ((double *) t->values)[k];
		memcpy(t->values, f, t->nnz * sizeof(float));
		free(f);
		t->dtype = MM_DTYPE_F32;
	}
}

/* mm_compact_weights: pruned then quantized weights go dense when smaller */
static void
test_compact_weights(void **state)
{
	mm_model   *dense = Mlp2(12, 20, 3, true, MM_MLP_RELU);
	mm_model   *sparse;
	mm_model   *q;
	mm_model   *qa;
	mm_model   *before;
	mm_error	err;
	mm_buf		a;
	mm_buf		b;

	assert_int_equal(mm_prune(dense, MM_PRUNE_MAGNITUDE, 0.6, &sparse, NULL, &err), MM_OK);
	assert_int_equal(Tensor(sparse, "W1")->layout, MM_LAYOUT_SPARSE);
	assert_int_equal(mm_quantize(sparse, MM_DTYPE_I8, MM_QUANT_SYMMETRIC,
								 MM_QUANT_PER_CHANNEL, &q, &err), MM_OK);
	assert_int_equal(mm_model_copy(q, &before, &err), MM_OK);
	assert_int_equal(mm_compact_weights(q, &err), MM_OK);
	assert_int_equal(Tensor(q, "W1")->layout, MM_LAYOUT_DENSE);
	/* the same values, fewer bytes */
	for (uint32_t r = 0; r < Tensor(q, "W1")->rows; r++)
		for (uint32_t c = 0; c < Tensor(q, "W1")->cols; c++)
			assert_true(mm_tensor_get(Tensor(q, "W1"), r, c) ==
						mm_tensor_get(Tensor(before, "W1"), r, c));
	mm_buf_init(&a);
	mm_buf_init(&b);
	assert_int_equal(mm_model_serialize(before, &a, &err), MM_OK);
	assert_int_equal(mm_model_serialize(q, &b, &err), MM_OK);
	assert_true(b.len < a.len);
	mm_buf_free(&a);
	mm_buf_free(&b);
	/* asymmetric zero points: a dense copy would not read 0; stays sparse */
	assert_int_equal(mm_quantize(sparse, MM_DTYPE_I8, MM_QUANT_ASYMMETRIC,
								 MM_QUANT_PER_TENSOR, &qa, &err), MM_OK);
	if (Tensor(qa, "W1")->zero_points[0] != 0)
	{
		assert_int_equal(mm_compact_weights(qa, &err), MM_OK);
		assert_int_equal(Tensor(qa, "W1")->layout, MM_LAYOUT_SPARSE);
	}
	mm_model_free(dense);
	mm_model_free(sparse);
	mm_model_free(q);
	mm_model_free(qa);
	mm_model_free(before);
}

static void
test_mlp_infer_layouts(void **state)
{
	static const uint32_t w[4] = {6, 9, 7, 3};
	mm_model   *src = MlpModel(3, w, true, MM_MLP_RELU, true);
	mm_model   *f16;
	mm_model   *sparse;
	mm_model   *f32;
	mm_error	err;

	AssertInferExact(src);
	/* float16 of grid values is exact */
	assert_int_equal(mm_quantize(src, MM_DTYPE_F16, 0, 0, &f16, &err), MM_OK);
	AssertInferExact(f16);
	/* sparse weights */
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.7, &sparse, NULL, &err),
					 MM_OK);
	assert_int_equal(Tensor(sparse, "W2")->layout, MM_LAYOUT_SPARSE);
	AssertInferExact(sparse);
	/* sparse float16 */
	mm_model_free(f16);
	assert_int_equal(mm_quantize(sparse, MM_DTYPE_F16, 0, 0, &f16, &err), MM_OK);
	assert_int_equal(Tensor(f16, "W2")->layout, MM_LAYOUT_SPARSE);
	AssertInferExact(f16);
	/* float32, dense and sparse */
	assert_int_equal(mm_model_copy(src, &f32, &err), MM_OK);
	ToFloat32(f32);
	RoundTrip(f32);
	AssertInferExact(f32);
	mm_model_free(f32);
	assert_int_equal(mm_model_copy(sparse, &f32, &err), MM_OK);
	ToFloat32(f32);
	AssertInferExact(f32);
	mm_model_free(f32);
	mm_model_free(f16);
	mm_model_free(sparse);
	mm_model_free(src);
}

static void
test_mlp_infer_int8(void **state)
{
	static const uint32_t w[4] = {16, 32, 24, 4};
	mm_model   *src = MlpModel(3, w, true, MM_MLP_RELU, false);
	mm_model   *pruned;
	mm_model   *q[3];
	mm_error	err;
	int			v;
	double		worst = 0.0;
	uint32_t	l;

	/* weights of a trained size: Glorot's range, as mm_mlp initializes */
	for (l = 1; l <= 3; l++)
	{
		mm_tensor  *t = (mm_tensor *) mm_mlp_infer_tensor(src, 'W', l);
		double		r = sqrt(6.0 / (t->rows + t->cols));
		uint64_t	k;

		for (k = 0; k < t->nnz; k++)
			((double *) t->values)[k] *= r;
	}

	assert_int_equal(mm_quantize(src, MM_DTYPE_I8, 0, 0, &q[0], &err), MM_OK);
	assert_int_equal(mm_quantize(src, MM_DTYPE_I8, MM_QUANT_ASYMMETRIC,
								 MM_QUANT_PER_TENSOR, &q[1], &err), MM_OK);
	/* prune, then quantize: sparse int8 */
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.7, &pruned, NULL, &err),
					 MM_OK);
	assert_int_equal(mm_quantize(pruned, MM_DTYPE_I8, 0, 0, &q[2], &err), MM_OK);
	assert_int_equal(Tensor(q[2], "W1")->layout, MM_LAYOUT_SPARSE);
	assert_int_equal(Tensor(q[2], "W1")->dtype, MM_DTYPE_I8);
	RoundTrip(q[2]);

	for (v = 0; v < 3; v++)
	{
		const mm_model *ref = (v == 2) ? pruned : src;
		mm_mlp_infer *fp;
		mm_mlp_infer *port;
		mm_mlp_infer *avx;
		int			row;

		assert_int_equal(mm_mlp_infer_new(ref, &fp, &err), MM_OK);
		assert_int_equal(mm_mlp_infer_new(q[v], &port, &err), MM_OK);
		assert_int_equal(mm_mlp_infer_new(q[v], &avx, &err), MM_OK);
		mm_mlp_infer_set_kernel(port, MM_QK_PORTABLE);
		mm_mlp_infer_set_kernel(avx, MM_QK_AVX2);
		for (row = 0; row < 50; row++)
		{
			double		x[16];
			double		p0[4];
			double		p1[4];
			double		p2[4];
			int			j;

			for (j = 0; j < 16; j++)
				x[j] = RandSigned() * 2.0;
			assert_int_equal(mm_mlp_infer_row(fp, x, p0, &err), MM_OK);
			assert_int_equal(mm_mlp_infer_row(port, x, p1, &err), MM_OK);
			assert_int_equal(mm_mlp_infer_row(avx, x, p2, &err), MM_OK);
			assert_memory_equal(p1, p2, sizeof(p1));
			for (j = 0; j < 4; j++)
				worst = fmax(worst, fabs(p0[j] - p1[j]));
		}
		mm_mlp_infer_free(fp);
		mm_mlp_infer_free(port);
		mm_mlp_infer_free(avx);
	}
	/* int8 weights and activations: probabilities within 0.01 (0.004 here) */
	assert_true(worst < 0.01);
	for (v = 0; v < 3; v++)
		mm_model_free(q[v]);
	mm_model_free(pruned);
	mm_model_free(src);
}

static void
test_mlp_infer_errors(void **state)
{
	static const double coef[2] = {1.0, 2.0};
	mm_model   *lin = LinearModel(coef, 2);
	mm_model   *m = Mlp2(3, 4, 3, true, MM_MLP_RELU);
	mm_mlp_infer *p = (mm_mlp_infer *) 1;
	mm_error	err;
	double		x[3] = {1.0, NAN, 0.0};
	double		out[3];
	uint32_t	L;

	assert_int_equal(mm_mlp_infer_new(lin, &p, &err), MM_ERR_UNSUPPORTED);
	assert_null(p);
	assert_int_equal(mm_mlp_infer_layers(m, &L, &err), MM_OK);
	assert_int_equal(L, 2);

	/* NaN input */
	assert_int_equal(mm_mlp_infer_new(m, &p, &err), MM_OK);
	assert_int_equal(mm_mlp_infer_row(p, x, out, &err), MM_ERR_DATA);
	mm_mlp_infer_free(p);

	/* overflow */
	((double *) ((mm_tensor *) Tensor(m, "W1"))->values)[0] = 1e308;
	x[0] = 1e10;
	x[1] = 0.0;
	assert_int_equal(mm_mlp_infer_new(m, &p, &err), MM_OK);
	assert_int_equal(mm_mlp_infer_row(p, x, out, &err), MM_ERR_RANGE);
	mm_mlp_infer_free(p);

	/* broken contracts */
	assert_int_equal(mm_model_set_attr(m, "layers", 3, NULL), MM_OK);
	assert_int_equal(mm_mlp_infer_new(m, &p, &err), MM_ERR_INVALID);
	assert_non_null(strstr(err.message, "W3"));
	assert_int_equal(mm_model_set_attr(m, "layers", 1.5, NULL), MM_OK);
	assert_int_equal(mm_mlp_infer_new(m, &p, &err), MM_ERR_INVALID);
	assert_non_null(strstr(err.message, "layers"));
	assert_int_equal(mm_model_set_attr(m, "layers", 2, NULL), MM_OK);
	assert_int_equal(mm_model_set_attr(m, "activation", 7, NULL), MM_OK);
	assert_int_equal(mm_mlp_infer_new(m, &p, &err), MM_ERR_INVALID);
	assert_non_null(strstr(err.message, "activation"));
	assert_int_equal(mm_model_set_attr(m, "activation", MM_MLP_RELU, NULL), MM_OK);
	assert_int_equal(mm_model_add_class(m, "extra", NULL), MM_OK);
	assert_int_equal(mm_mlp_infer_new(m, &p, &err), MM_ERR_INVALID);
	assert_non_null(strstr(err.message, "output layer"));
	/* pruning and quantizing check the contract too */
	{
		mm_model   *out2;

		assert_int_equal(mm_prune(m, MM_PRUNE_MAGNITUDE, 0.5, &out2, NULL, &err),
						 MM_ERR_INVALID);
		assert_int_equal(mm_quantize(m, MM_DTYPE_I8, 0, 0, &out2, &err),
						 MM_ERR_INVALID);
	}
	mm_model_free(m);
	mm_model_free(lin);
}

/* ---------------------------------------------------------------------
 * Allocation failure and cancellation
 * ---------------------------------------------------------------------
 */

typedef mm_status (*Operation) (const mm_model *src, mm_model **out);

static mm_status
OpMagnitude(const mm_model *src, mm_model **out)
{
	return mm_prune(src, MM_PRUNE_MAGNITUDE, 0.6, out, NULL, NULL);
}

static mm_status
OpGlobal(const mm_model *src, mm_model **out)
{
	return mm_prune(src, MM_PRUNE_GLOBAL, 0.6, out, NULL, NULL);
}

static mm_status
OpStructured(const mm_model *src, mm_model **out)
{
	return mm_prune(src, MM_PRUNE_STRUCTURED, 0.5, out, NULL, NULL);
}

static mm_status
OpInt8(const mm_model *src, mm_model **out)
{
	return mm_quantize(src, MM_DTYPE_I8, MM_QUANT_ASYMMETRIC,
					   MM_QUANT_PER_CHANNEL, out, NULL);
}

static mm_status
OpF16(const mm_model *src, mm_model **out)
{
	return mm_quantize(src, MM_DTYPE_F16, 0, 0, out, NULL);
}

static mm_status
OpInfer(const mm_model *src, mm_model **out)
{
	mm_mlp_infer *p;
	mm_model   *q;
	mm_status	st;

	*out = NULL;
	st = mm_quantize(src, MM_DTYPE_I8, 0, 0, &q, NULL);
	if (st != MM_OK)
		return st;
	st = mm_mlp_infer_new(q, &p, NULL);
	mm_mlp_infer_free(p);
	mm_model_free(q);
	return st;
}

static void
test_out_of_memory(void **state)
{
	Operation	ops[] = {OpMagnitude, OpGlobal, OpStructured, OpInt8, OpF16, OpInfer};
	size_t		o;

	for (o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
	{
		size_t		fail_at;
		bool		done = false;

		for (fail_at = 1; !done; fail_at++)
		{
			mm_model   *src = Mlp2(5, 6, 3, true, MM_MLP_RELU);
			mm_model   *out = NULL;
			mm_status	st;

			UseTestAllocator(fail_at);
			st = ops[o] (src, &out);
			if (st == MM_OK)
				done = true;
			else
			{
				assert_int_equal(st, MM_ERR_NOMEM);
				assert_null(out);
			}
			mm_model_free(out);
			mm_set_runtime(NULL);
			/* src was built with malloc before the test allocator */
			assert_int_equal(ta.outstanding, 0);
			mm_model_free(src);
			assert_true(fail_at < 10000);
		}
	}
}

static void
test_interrupt(void **state)
{
	mm_model   *src = Mlp2(5, 6, 3, true, MM_MLP_RELU);
	mm_model   *out;
	mm_model   *q;
	double		X[5] = {1, 2, 3, 4, 5};
	double		Y[6];
	mm_error	err;

	assert_int_equal(mm_quantize(src, MM_DTYPE_I8, 0, 0, &q, &err), MM_OK);
	UseTestAllocator(0);
	ta.stop = true;
	assert_int_equal(mm_prune(src, MM_PRUNE_MAGNITUDE, 0.5, &out, NULL, &err),
					 MM_ERR_INTERRUPTED);
	assert_int_equal(mm_prune(src, MM_PRUNE_STRUCTURED, 0.5, &out, NULL, &err),
					 MM_ERR_INTERRUPTED);
	assert_int_equal(mm_quantize(src, MM_DTYPE_I8, 0, 0, &out, &err),
					 MM_ERR_INTERRUPTED);
	assert_int_equal(mm_qk_gemm(Tensor(q, "W1"), X, 1, NULL, Y, MM_QK_AUTO, &err),
					 MM_ERR_INTERRUPTED);
	assert_int_equal(mm_fk_gemm_f64(X, 1, 5, X, 1, NULL, Y, &err),
					 MM_ERR_INTERRUPTED);
	assert_int_equal(ta.outstanding, 0);
	mm_set_runtime(NULL);
	mm_model_free(q);
	mm_model_free(src);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_identical, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_compact_weights, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_prune_magnitude_linear, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_prune_ties_deterministic, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_prune_magnitude_mlp_exact, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_prune_global, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_prune_structured, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_prune_structured_deep, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_prune_structured_unsupported, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_prune_sparse_and_float_sources, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_prune_artifact_shrinks, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_prune_errors, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_quantize_int8, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_quantize_linear_values, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_quantize_f16, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_quantize_errors, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_qinput, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_qinput_avx2_identical, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_qkernel_avx2_identical, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_qkernel_large_sums, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_qkernel_gemm, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_float_kernels, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_mlp_infer_dense_hand, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_mlp_infer_matches_forward_row, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_mlp_infer_layouts, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_mlp_infer_int8, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_mlp_infer_errors, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_out_of_memory, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_interrupt, Setup, Teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
