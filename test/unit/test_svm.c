/*
 * test_svm.c
 *	  Unit tests of the linear SVM (mm_svm.c): dual coordinate descent,
 *	  binary and one-vs-rest.
 *
 * The reference tests compare with scikit-learn 1.2.1, whose results and
 * data live in test/unit/fixtures/cd (see cd_test_common.h): LinearSVC on
 * the standardized breast cancer data (binary) and iris (one-vs-rest), on
 * the same split: held-out accuracy within one point, per-model objectives
 * close.  The other tests use seeded pseudo-random data.
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

#include "cd_test_common.h"
#include "mm_core.h"
#include "mm_svm.h"

/* ---------------------------------------------------------------------
 * Random data
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

static double
RandUnit(void)
{
	return (double) (RandU64() >> 11) * (1.0 / 9007199254740992.0);
}

static double
RandNormal(void)
{
	double		u = RandUnit();
	double		v = RandUnit();

	return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

/* ---------------------------------------------------------------------
 * SVM helpers
 * ---------------------------------------------------------------------
 */

/* A classification data set split as in the fixture. */
typedef struct ClassData
{
	int32_t		d;
	int32_t		n_classes;
	int64_t		n_train;
	int64_t		n_test;
	double	   *X_train;
	int32_t    *y_train;
	double	   *X_test;
	int32_t    *y_test;
} ClassData;

/*
 * Read "scaler <dataset> mean|scale ..." from svm_ref.txt into mean/scale
 * (d values each); false when the dataset has none.
 */
static bool
ReadScaler(const char *dataset, int32_t d, double *mean, double *scale)
{
	FILE	   *fp = OpenFixture("svm_ref.txt");
	char	   *buf = NULL;
	size_t		cap = 0;
	char	   *line;
	int			found = 0;

	while ((line = NextLine(fp, &buf, &cap)) != NULL)
	{
		char	   *tok[MAX_TOKENS];
		int			nt = Tokens(line, tok, MAX_TOKENS);
		double	   *dst;
		int32_t		j;

		if (strcmp(tok[0], "scaler") != 0 || strcmp(tok[1], dataset) != 0)
			continue;
		assert_int_equal(nt, 3 + d);
		dst = strcmp(tok[2], "mean") == 0 ? mean : scale;
		for (j = 0; j < d; j++)
			dst[j] = strtod(tok[3 + j], NULL);
		found++;
	}
	free(buf);
	fclose(fp);
	assert_true(found == 0 || found == 2);
	return found == 2;
}

/*
 * The dataset's rows split by the stored flags; standardized with the
 * stored StandardScaler when scaled ((x - mean) / scale: the two roundings
 * numpy does, so the values are bit-identical).
 */
static ClassData
LoadClassification(const char *dataset, bool scaled)
{
	char		file[128];
	Table		t;
	ClassData	c;
	double	   *mean = NULL;
	double	   *scale = NULL;
	int64_t		i;
	int32_t		j;

	snprintf(file, sizeof(file), "%s.txt", dataset);
	t = ReadTable(file, 2);
	c.d = t.cols - 2;
	c.n_classes = 0;
	c.n_train = c.n_test = 0;
	for (i = 0; i < t.rows; i++)
	{
		int32_t		lab = (int32_t) t.v[i * t.cols + 1];

		if (t.v[i * t.cols] != 0.0)
			c.n_test++;
		else
			c.n_train++;
		if (lab + 1 > c.n_classes)
			c.n_classes = lab + 1;
	}
	if (scaled)
	{
		mean = malloc(c.d * sizeof(double));
		scale = malloc(c.d * sizeof(double));
		assert_true(ReadScaler(dataset, c.d, mean, scale));
	}
	c.X_train = malloc((size_t) c.n_train * c.d * sizeof(double));
	c.y_train = malloc((size_t) c.n_train * sizeof(int32_t));
	c.X_test = malloc((size_t) c.n_test * c.d * sizeof(double));
	c.y_test = malloc((size_t) c.n_test * sizeof(int32_t));
	c.n_train = c.n_test = 0;
	for (i = 0; i < t.rows; i++)
	{
		const double *row = t.v + i * t.cols;
		bool		test = row[0] != 0.0;
		double	   *x = test ? c.X_test + c.n_test * c.d :
			c.X_train + c.n_train * c.d;

		for (j = 0; j < c.d; j++)
			x[j] = scaled ? (row[2 + j] - mean[j]) / scale[j] : row[2 + j];
		if (test)
			c.y_test[c.n_test++] = (int32_t) row[1];
		else
			c.y_train[c.n_train++] = (int32_t) row[1];
	}
	free(mean);
	free(scale);
	free(t.v);
	return c;
}

static void
ClassFree(ClassData *c)
{
	free(c->X_train);
	free(c->y_train);
	free(c->X_test);
	free(c->y_test);
}

/* Percent of rows whose predicted class is their label. */
static double
Accuracy(const double *coef, const double *intercept, int32_t n_models,
		 int32_t d, const double *X, const int32_t *y, int64_t n)
{
	double		scores[16];
	int64_t		right = 0;
	int64_t		i;

	for (i = 0; i < n; i++)
	{
		mm_svm_decision(coef, intercept, n_models, d, X + i * d, scores);
		right += mm_svm_predict_class(scores, n_models) == y[i];
	}
	return 100.0 * (double) right / (double) n;
}

static void
SvmFitOk(const double *X, int64_t n, int32_t d, const int32_t *y,
		 int32_t n_classes, const mm_svm_options *opt, double *coef,
		 double *intercept, mm_cd_info *info)
{
	mm_error	err;
	mm_status	st = mm_svm_fit(X, n, d, y, n_classes, opt, coef, intercept,
								info, &err);

	if (st != MM_OK)
		fail_msg("svm fit: %s", err.message);
}

/* ---------------------------------------------------------------------
 * SVM tests
 * ---------------------------------------------------------------------
 */

/*
 * Every case of svm_ref.txt: held-out accuracy within one point of
 * LinearSVC's; each binary model's objective within 1e-7 (relative) of
 * LinearSVC's at tol 1e-8, within 1e-4 at the default tol 1e-4 (both
 * solvers stop early there, each with its own coordinate order); at tol
 * 1e-8 the weights agree within 1e-6 of their largest.  (Measured: 2e-9,
 * 5e-6 and 2e-8; the predictions are the same.)
 */
static void
test_svm_vs_sklearn(void **state)
{
	FILE	   *fp = OpenFixture("svm_ref.txt");
	char	   *buf = NULL;
	size_t		cap = 0;
	char	   *line;
	int			cases = 0;
	double		worst_obj[2] = {0.0, 0.0};
	double		worst_acc = 0.0;
	double		worst_w = 0.0;

	while ((line = NextLine(fp, &buf, &cap)) != NULL)
	{
		char	   *tok[MAX_TOKENS];
		int			nt = Tokens(line, tok, MAX_TOKENS);
		ClassData	c;
		mm_svm_options opt;
		mm_cd_info	info;
		double	   *coef;
		double		intercept[16];
		double		ref_acc,
					acc;
		int32_t		n_models;
		int32_t		m;
		bool		tight;

		if (strcmp(tok[0], "svm") != 0)
			continue;
		assert_int_equal(nt, 11);
		c = LoadClassification(tok[1], atoi(tok[2]) != 0);
		mm_svm_default_options(&opt);
		if (strcmp(tok[3], "hinge") == 0)
			opt.loss = MM_SVM_HINGE;
		else
			assert_string_equal(tok[3], "squared_hinge");
		opt.C = strtod(tok[4], NULL);
		opt.tol = strtod(tok[5], NULL);
		opt.max_iter = atoi(tok[6]);
		opt.fit_intercept = atoi(tok[7]) != 0;
		opt.intercept_scaling = strtod(tok[8], NULL);
		ref_acc = strtod(tok[9], NULL);
		n_models = atoi(tok[10]);
		assert_int_equal(n_models, mm_svm_n_models(c.n_classes));
		tight = opt.tol < 1e-6;

		coef = malloc((size_t) n_models * c.d * sizeof(double));
		SvmFitOk(c.X_train, c.n_train, c.d, c.y_train, c.n_classes, &opt,
				 coef, intercept, &info);
		assert_true(info.converged);
		acc = Accuracy(coef, intercept, n_models, c.d, c.X_test, c.y_test,
					   c.n_test);
		if (fabs(acc - ref_acc) > worst_acc)
			worst_acc = fabs(acc - ref_acc);
		if (!(fabs(acc - ref_acc) <= 1.0))
			fail_msg("%s %s C %g tol %g: accuracy %.3f, LinearSVC %.3f",
					 tok[1], tok[3], opt.C, opt.tol, acc, ref_acc);
		if (!opt.fit_intercept)
			for (m = 0; m < n_models; m++)
				assert_true(intercept[m] == 0.0);

		for (m = 0; m < n_models; m++)
		{
			char	   *mt[MAX_TOKENS];
			int			nm;
			int32_t		positive = n_models == 1 ? 1 : m;
			double		ref_obj,
						obj,
						rel,
						wscale = 0.0,
						wdiff;
			int32_t		j;

			line = NextLine(fp, &buf, &cap);
			assert_non_null(line);
			nm = Tokens(line, mt, MAX_TOKENS);
			assert_int_equal(nm, 3 + c.d);
			assert_string_equal(mt[0], "model");
			ref_obj = strtod(mt[1], NULL);
			obj = mm_svm_objective(c.X_train, c.n_train, c.d, c.y_train,
								   positive, &opt, coef + (size_t) m * c.d,
								   intercept[m]);
			rel = fabs(obj - ref_obj) / ref_obj;
			if (rel > worst_obj[tight])
				worst_obj[tight] = rel;
			if (!(rel <= (tight ? 1e-7 : 1e-4)))
				fail_msg("%s %s C %g tol %g model %d: objective %.17g, LinearSVC %.17g",
						 tok[1], tok[3], opt.C, opt.tol, (int) m, obj,
						 ref_obj);
			if (!tight)
				continue;
			wdiff = fabs(intercept[m] - strtod(mt[2], NULL));
			wscale = fabs(strtod(mt[2], NULL));
			for (j = 0; j < c.d; j++)
			{
				double		ref = strtod(mt[3 + j], NULL);

				if (fabs(ref) > wscale)
					wscale = fabs(ref);
				if (fabs(coef[(size_t) m * c.d + j] - ref) > wdiff)
					wdiff = fabs(coef[(size_t) m * c.d + j] - ref);
			}
			if (wdiff / wscale > worst_w)
				worst_w = wdiff / wscale;
			if (!(wdiff <= 1e-6 * wscale))
				fail_msg("%s %s C %g model %d: weights differ by %g (scale %g)",
						 tok[1], tok[3], opt.C, (int) m, wdiff, wscale);
		}
		free(coef);
		ClassFree(&c);
		cases++;
	}
	free(buf);
	fclose(fp);
	assert_true(cases >= 20);
	printf("   %d svm cases: max |accuracy - LinearSVC| %.3g points, max relative objective difference %.3g (tol 1e-8), %.3g (tol 1e-4), max relative weight difference %.3g (tol 1e-8)\n",
		   cases, worst_acc, worst_obj[1], worst_obj[0], worst_w);
}

/*
 * The seed decides the coordinate order and nothing else: the same seed
 * gives the same bits, another seed the same model to the tolerance.
 */
static void
test_svm_deterministic(void **state)
{
	ClassData	c = LoadClassification("breast_cancer", true);
	mm_svm_options opt;
	mm_cd_info	info;
	double		a[32],
				b[32],
				e[32],
				ia,
				ib,
				ie;
	double		oa,
				oe;

	mm_svm_default_options(&opt);
	opt.seed = 42;
	opt.tol = 1e-8;
	opt.max_iter = 100000;
	SvmFitOk(c.X_train, c.n_train, c.d, c.y_train, 2, &opt, a, &ia, &info);
	SvmFitOk(c.X_train, c.n_train, c.d, c.y_train, 2, &opt, b, &ib, &info);
	assert_memory_equal(a, b, c.d * sizeof(double));
	assert_memory_equal(&ia, &ib, sizeof(double));
	opt.seed = 7;
	SvmFitOk(c.X_train, c.n_train, c.d, c.y_train, 2, &opt, e, &ie, &info);
	assert_memory_not_equal(a, e, c.d * sizeof(double));
	oa = mm_svm_objective(c.X_train, c.n_train, c.d, c.y_train, 1, &opt, a, ia);
	oe = mm_svm_objective(c.X_train, c.n_train, c.d, c.y_train, 1, &opt, e, ie);
	assert_true(fabs(oa - oe) <= 1e-6 * oa);
	ClassFree(&c);
}

/* Two well separated blobs, a hard margin in effect: both losses stop. */
static void
test_svm_separable(void **state)
{
	enum
	{
		N = 400, D = 3
	};
	double	   *X = malloc(N * D * sizeof(double));
	int32_t		y[N];
	mm_svm_loss losses[] = {MM_SVM_SQUARED_HINGE, MM_SVM_HINGE};
	double		Cs[] = {1.0, 1e3, 1e6};
	int			i,
				j;
	size_t		l,
				k;

	rng_state = 11;
	for (i = 0; i < N; i++)
	{
		y[i] = i % 2;
		for (j = 0; j < D; j++)
			X[i * D + j] = 0.3 * RandNormal() + (y[i] ? 2.0 : -2.0) + j;
	}
	for (l = 0; l < 2; l++)
		for (k = 0; k < 3; k++)
		{
			mm_svm_options opt;
			mm_cd_info	info;
			double		coef[D],
						b0;

			mm_svm_default_options(&opt);
			opt.loss = losses[l];
			opt.C = Cs[k];
			opt.max_iter = 100000;
			SvmFitOk(X, N, D, y, 2, &opt, coef, &b0, &info);
			assert_true(info.converged);
			assert_true(info.n_iter < opt.max_iter);
			assert_true(Accuracy(coef, &b0, 1, D, X, y, N) == 100.0);
		}
	free(X);
}

/* One-vs-rest on random blobs: one model per class, the right shape. */
static void
test_svm_multiclass_shapes(void **state)
{
	enum
	{
		N = 300, D = 2, K = 4
	};
	double		X[N * D];
	int32_t		y[N];
	double		coef[K * D],
				b[K];
	mm_svm_options opt;
	mm_cd_info	info;
	int			i;

	rng_state = 5;
	for (i = 0; i < N; i++)
	{
		y[i] = i % K;
		X[i * D] = RandNormal() + 4.0 * (y[i] & 1);
		X[i * D + 1] = RandNormal() + 4.0 * (y[i] >> 1);
	}
	mm_svm_default_options(&opt);
	assert_int_equal(mm_svm_n_models(K), K);
	assert_int_equal(mm_svm_n_models(2), 1);
	opt.max_iter = 100000;		/* about 1500 sweeps here */
	SvmFitOk(X, N, D, y, K, &opt, coef, b, &info);
	assert_true(info.converged);
	assert_true(Accuracy(coef, b, K, D, X, y, N) > 90.0);
}

static void
ExpectSvmFails(const double *X, int64_t n, int32_t d, const int32_t *y,
			   int32_t n_classes, const mm_svm_options *opt, mm_status want,
			   const char *message)
{
	mm_error	err;
	double		coef[64],
				b[8];

	mm_error_clear(&err);
	assert_int_equal(mm_svm_fit(X, n, d, y, n_classes, opt, coef, b, NULL,
								&err), want);
	assert_int_equal(err.status, want);
	assert_string_equal(err.message, message);
}

/* One class, a missing class, labels out of range, NaN, bad options. */
static void
test_svm_bad_input(void **state)
{
	double		X[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	int32_t		same[4] = {1, 1, 1, 1};
	int32_t		two[4] = {0, 1, 0, 1};
	int32_t		gap[4] = {0, 2, 0, 2};
	int32_t		bad[4] = {0, 1, 5, 1};
	mm_svm_options opt;
	mm_error	err;
	double		coef[8],
				b[4];

	mm_svm_default_options(&opt);
	ExpectSvmFails(X, 4, 2, same, 2, &opt, MM_ERR_DATA,
				   "training rows hold only one class");
	mm_error_clear(&err);
	assert_int_equal(mm_svm_fit(X, 4, 2, same, 2, &opt, coef, b, NULL, &err),
					 MM_ERR_DATA);
	assert_string_equal(err.detail,
						"A classifier needs rows of at least two classes.");
	ExpectSvmFails(X, 4, 2, same, 1, &opt, MM_ERR_DATA,
				   "training rows hold only one class");
	ExpectSvmFails(X, 4, 2, gap, 3, &opt, MM_ERR_DATA,
				   "class 1 has no training rows");
	ExpectSvmFails(X, 4, 2, bad, 2, &opt, MM_ERR_INVALID,
				   "class index 5 of row 3 is out of range");
	ExpectSvmFails(X, 0, 2, two, 2, &opt, MM_ERR_DATA,
				   "no rows to fit the model on");
	X[5] = NAN;
	ExpectSvmFails(X, 4, 2, two, 2, &opt, MM_ERR_DATA,
				   "feature value is not finite");
	mm_svm_fit(X, 4, 2, two, 2, &opt, coef, b, NULL, &err);
	assert_string_equal(err.detail, "Row 3, feature 2.");
	X[5] = 6;

	opt.C = 0.0;
	ExpectSvmFails(X, 4, 2, two, 2, &opt, MM_ERR_INVALID,
				   "C must be a finite number > 0");
	opt.C = INFINITY;
	ExpectSvmFails(X, 4, 2, two, 2, &opt, MM_ERR_INVALID,
				   "C must be a finite number > 0");
	opt.C = 1.0;
	opt.tol = 0.0;
	ExpectSvmFails(X, 4, 2, two, 2, &opt, MM_ERR_INVALID,
				   "tol must be a finite number > 0");
	opt.tol = 1e-4;
	opt.max_iter = 0;
	ExpectSvmFails(X, 4, 2, two, 2, &opt, MM_ERR_INVALID,
				   "max_iter must be at least 1");
	opt.max_iter = 10;
	opt.intercept_scaling = -1.0;
	ExpectSvmFails(X, 4, 2, two, 2, &opt, MM_ERR_INVALID,
				   "intercept_scaling must be a finite number > 0");
	opt.fit_intercept = false;	/* then the scaling is not looked at */
	assert_int_equal(mm_svm_fit(X, 4, 2, two, 2, &opt, coef, b, NULL, &err),
					 MM_OK);
	assert_true(b[0] == 0.0);
	opt.fit_intercept = true;
	opt.intercept_scaling = 1.0;
	opt.loss = (mm_svm_loss) 9;
	ExpectSvmFails(X, 4, 2, two, 2, &opt, MM_ERR_INVALID, "unknown svm loss 9");
}

/* Zero rows, a zero feature vector under the hinge: no division by zero. */
static void
test_svm_zero_rows(void **state)
{
	double		X[8] = {0, 0, 1, 1, 0, 0, -1, -1};
	int32_t		y[4] = {1, 1, 0, 0};
	mm_svm_options opt;
	mm_cd_info	info;
	double		coef[2],
				b;

	mm_svm_default_options(&opt);
	opt.loss = MM_SVM_HINGE;
	opt.fit_intercept = false;
	SvmFitOk(X, 4, 2, y, 2, &opt, coef, &b, &info);
	assert_true(isfinite(coef[0]) && isfinite(coef[1]));
	assert_true(coef[0] > 0.0 && coef[1] > 0.0);
	assert_true(info.converged);
}

/* max_iter reached is not an error. */
static void
test_svm_not_converged(void **state)
{
	ClassData	c = LoadClassification("breast_cancer", true);
	mm_svm_options opt;
	mm_cd_info	info;
	double		coef[32],
				b;

	mm_svm_default_options(&opt);
	opt.C = 10.0;
	opt.tol = 1e-10;
	opt.max_iter = 5;
	SvmFitOk(c.X_train, c.n_train, c.d, c.y_train, 2, &opt, coef, &b, &info);
	assert_false(info.converged);
	assert_int_equal(info.n_iter, 5);
	assert_true(info.dual_gap > opt.tol);
	ClassFree(&c);
}

/* One poll per sweep of each one-vs-rest model; a stop ends the fit. */
static void
test_svm_interrupt(void **state)
{
	ClassData	c = LoadClassification("iris", false);
	ClassData	bc = LoadClassification("breast_cancer", true);
	mm_svm_options opt;
	mm_cd_info	info;
	double		coef[32],
				b[4];

	mm_svm_default_options(&opt);
	opt.tol = 1e-8;
	opt.max_iter = 100000;
	polls = 0;
	SvmFitOk(bc.X_train, bc.n_train, bc.d, bc.y_train, 2, &opt, coef, b,
			 &info);
	assert_true(info.n_iter > 100);
	assert_int_equal(polls, info.n_iter);
	polls = 0;
	stop_after = 100;
	ExpectSvmFails(bc.X_train, bc.n_train, bc.d, bc.y_train, 2, &opt,
				   MM_ERR_INTERRUPTED, "linear svm fit interrupted");
	assert_int_equal(polls, 100);
	stop_after = 0;
	polls = 0;
	SvmFitOk(c.X_train, c.n_train, c.d, c.y_train, c.n_classes, &opt, coef, b,
			 &info);
	assert_true(polls > info.n_iter);	/* the sum over the three models */

	stop_flag = true;
	ExpectSvmFails(c.X_train, c.n_train, c.d, c.y_train, c.n_classes, &opt,
				   MM_ERR_INTERRUPTED, "linear svm fit interrupted");
	stop_flag = false;
	ClassFree(&c);
	ClassFree(&bc);
}

static void
test_svm_out_of_memory(void **state)
{
	ClassData	c = LoadClassification("iris", false);
	mm_svm_options opt;
	mm_error	err;
	double		coef[16],
				b[4];
	int			k;

	mm_svm_default_options(&opt);
	for (k = 1; k <= 6; k++)
	{
		alloc_fail_at = k;
		alloc_count = 0;
		assert_int_equal(mm_svm_fit(c.X_train, c.n_train, c.d, c.y_train,
									c.n_classes, &opt, coef, b, NULL, &err),
						 MM_ERR_NOMEM);
	}
	alloc_fail_at = 0;
	assert_int_equal(mm_svm_fit(c.X_train, c.n_train, c.d, c.y_train,
								c.n_classes, &opt, coef, b, NULL, &err),
					 MM_OK);
	assert_true(mm_svm_work_bytes(100, 4, 3) >= 100 * 25);
	assert_true(mm_svm_work_bytes(INT64_MAX, 4, 3) == 0);
	ClassFree(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_svm_vs_sklearn, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_svm_deterministic, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_svm_separable, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_svm_multiclass_shapes, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_svm_bad_input, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_svm_zero_rows, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_svm_not_converged, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_svm_interrupt, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_svm_out_of_memory, Setup, Teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
