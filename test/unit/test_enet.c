/*
 * test_enet.c
 *	  Unit tests of the elastic net (mm_enet.c): coordinate descent on the
 *	  one-pass moments of a linear regression state.
 *
 * The reference tests compare with scikit-learn 1.2.1, whose results and
 * data live in test/unit/fixtures/cd (see cd_test_common.h): ElasticNet and
 * Lasso at tol 1e-12 on the diabetes data (raw, and scaled as
 * load_diabetes(scaled=True) does it, rebuilt here) and a synthetic set,
 * coefficients within 1e-5.
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
#include "mm_enet.h"
#include "mm_linreg.h"

/* what the issue asks: coefficients within 1e-5 of scikit-learn's */
#define ENET_COEF_TOL 1e-5

/* ---------------------------------------------------------------------
 * Elastic net helpers
 * ---------------------------------------------------------------------
 */

/* A regression data set: X row-major n x p, y. */
typedef struct RegData
{
	int64_t		n;
	int32_t		p;
	double	   *X;
	double	   *y;
} RegData;

static RegData
RegFromTable(const Table *t)
{
	RegData		d;
	int64_t		i;
	int32_t		j;

	d.n = t->rows;
	d.p = t->cols - 1;
	d.X = malloc((size_t) d.n * d.p * sizeof(double));
	d.y = malloc((size_t) d.n * sizeof(double));
	for (i = 0; i < d.n; i++)
	{
		for (j = 0; j < d.p; j++)
			d.X[i * d.p + j] = t->v[i * t->cols + j];
		d.y[i] = t->v[i * t->cols + d.p];
	}
	return d;
}

static void
RegFree(RegData *d)
{
	free(d->X);
	free(d->y);
}

/*
 * load_diabetes(scaled=True) from the raw data: each column centered,
 * divided by its (population) standard deviation and by sqrt(n).  Not
 * bit-identical with numpy's pairwise sums, which moves the answer by far
 * less than the tolerance.
 */
static void
ScaleDiabetes(RegData *d)
{
	int32_t		j;
	int64_t		i;

	for (j = 0; j < d->p; j++)
	{
		double		mean = 0.0;
		double		var = 0.0;
		double		sd;

		for (i = 0; i < d->n; i++)
			mean += d->X[i * d->p + j];
		mean /= (double) d->n;
		for (i = 0; i < d->n; i++)
		{
			double		c = d->X[i * d->p + j] - mean;

			var += c * c;
		}
		sd = sqrt(var / (double) d->n);
		for (i = 0; i < d->n; i++)
			d->X[i * d->p + j] =
				(d->X[i * d->p + j] - mean) / sd / sqrt((double) d->n);
	}
}

static RegData
LoadRegression(const char *dataset)
{
	Table		t;
	RegData		d;

	if (strcmp(dataset, "synth") == 0)
		t = ReadTable("synth.txt", 1);
	else
		t = ReadTable("diabetes.txt", 1);
	d = RegFromTable(&t);
	free(t.v);
	if (strcmp(dataset, "diabetes_scaled") == 0)
		ScaleDiabetes(&d);
	else if (strcmp(dataset, "diabetes_raw") != 0 &&
			 strcmp(dataset, "synth") != 0)
		fail_msg("unknown dataset %s", dataset);
	return d;
}

/*
 * One-pass state of rows [from, to) of d, flushed; block is the block
 * capacity (0 = default).
 */
static mm_linreg_state *
StateOf(const RegData *d, int64_t from, int64_t to, int32_t block)
{
	int32_t		cap = block > 0 ? block : mm_linreg_default_block(d->p);
	mm_linreg_state *s = malloc(mm_linreg_state_size(d->p, cap));
	mm_error	err;
	int64_t		i;

	assert_non_null(s);
	mm_linreg_init(s, d->p, cap);
	for (i = from; i < to; i++)
		assert_int_equal(mm_linreg_add(s, d->X + i * d->p, d->y[i], &err),
						 MM_OK);
	assert_int_equal(mm_linreg_flush(s, &err), MM_OK);
	return s;
}

static mm_cd_gram *
GramOf(const mm_linreg_state *s, bool fit_intercept)
{
	mm_cd_gram *g = NULL;
	mm_error	err;
	mm_status	st = mm_cd_gram_from_linreg(s, fit_intercept, &g, &err);

	if (st != MM_OK)
		fail_msg("gram: %s", err.message);
	return g;
}

/* scikit-learn's objective over the rows, in long double. */
static double
EnetObjective(const RegData *d, const double *coef, double b0, double alpha,
			  double l1_ratio)
{
	long double rss = 0.0L;
	long double l1 = 0.0L;
	long double l2 = 0.0L;
	int64_t		i;
	int32_t		j;

	for (i = 0; i < d->n; i++)
	{
		long double r = (long double) d->y[i] - b0;

		for (j = 0; j < d->p; j++)
			r -= (long double) d->X[i * d->p + j] * coef[j];
		rss += r * r;
	}
	for (j = 0; j < d->p; j++)
	{
		l1 += fabsl((long double) coef[j]);
		l2 += (long double) coef[j] * coef[j];
	}
	return (double) (rss / (2.0L * d->n) + alpha * l1_ratio * l1 +
					 0.5L * alpha * (1.0L - l1_ratio) * l2);
}

static void
EnetOptions(mm_enet_options *opt, double alpha, double l1_ratio, double tol,
			int32_t max_iter)
{
	mm_enet_default_options(opt);
	opt->alpha = alpha;
	opt->l1_ratio = l1_ratio;
	opt->tol = tol;
	opt->max_iter = max_iter;
}

static void
FitOk(const mm_cd_gram *g, const mm_enet_options *opt, double *coef,
	  double *b0, mm_cd_info *info)
{
	mm_error	err;
	mm_status	st = mm_enet_fit(g, opt, coef, b0, info, &err);

	if (st != MM_OK)
		fail_msg("enet fit: %s", err.message);
}

/* ---------------------------------------------------------------------
 * Elastic net tests
 * ---------------------------------------------------------------------
 */

/*
 * Every case of enet_ref.txt: the coefficients and intercept within 1e-5 of
 * scikit-learn's, converged, and an objective no worse than scikit-learn's
 * beyond rounding.
 */
static void
test_enet_vs_sklearn(void **state)
{
	FILE	   *fp = OpenFixture("enet_ref.txt");
	char	   *buf = NULL;
	size_t		cap = 0;
	char	   *line;
	int			cases = 0;
	double		worst_coef = 0.0;
	double		worst_b0 = 0.0;

	while ((line = NextLine(fp, &buf, &cap)) != NULL)
	{
		char	   *tok[MAX_TOKENS];
		int			nt = Tokens(line, tok, MAX_TOKENS);
		bool		fit_intercept;
		double		alpha,
					l1_ratio,
					tol,
					ref_obj,
					ref_b0,
					obj,
					b0;
		RegData		d;
		mm_linreg_state *s;
		mm_cd_gram *g;
		mm_enet_options opt;
		mm_cd_info	info;
		double	   *coef;
		int32_t		j;

		assert_string_equal(tok[0], "enet");
		d = LoadRegression(tok[1]);
		assert_int_equal(nt, 8 + d.p);
		fit_intercept = atoi(tok[2]) != 0;
		alpha = strtod(tok[3], NULL);
		l1_ratio = strtod(tok[4], NULL);
		tol = strtod(tok[5], NULL);
		ref_obj = strtod(tok[6], NULL);
		ref_b0 = strtod(tok[7], NULL);

		s = StateOf(&d, 0, d.n, 0);
		g = GramOf(s, fit_intercept);
		coef = malloc(d.p * sizeof(double));
		EnetOptions(&opt, alpha, l1_ratio, tol, 1000000);
		FitOk(g, &opt, coef, &b0, &info);
		if (!info.converged)
			fail_msg("%s alpha %g l1_ratio %g: not converged after %d sweeps (gap %g)",
					 tok[1], alpha, l1_ratio, info.n_iter, info.dual_gap);

		for (j = 0; j < d.p; j++)
		{
			double		ref = strtod(tok[8 + j], NULL);
			double		diff = fabs(coef[j] - ref);

			if (diff > worst_coef)
				worst_coef = diff;
			if (!(diff <= ENET_COEF_TOL))
				fail_msg("%s alpha %g l1_ratio %g: coef %d = %.17g, scikit-learn %.17g",
						 tok[1], alpha, l1_ratio, (int) j, coef[j], ref);
			/* lasso zeros are exact zeros on both sides */
			if (ref == 0.0 && l1_ratio > 0.0)
				assert_true(coef[j] == 0.0);
		}
		if (fabs(b0 - ref_b0) > worst_b0)
			worst_b0 = fabs(b0 - ref_b0);
		if (!(fabs(b0 - ref_b0) <= ENET_COEF_TOL))
			fail_msg("%s alpha %g l1_ratio %g: intercept %.17g, scikit-learn %.17g",
					 tok[1], alpha, l1_ratio, b0, ref_b0);
		if (!fit_intercept)
			assert_true(b0 == 0.0);
		obj = EnetObjective(&d, coef, b0, alpha, l1_ratio);
		if (!(obj <= ref_obj * (1.0 + 1e-10)))
			fail_msg("%s alpha %g l1_ratio %g: objective %.17g above scikit-learn's %.17g",
					 tok[1], alpha, l1_ratio, obj, ref_obj);

		free(coef);
		mm_cd_gram_free(g);
		free(s);
		RegFree(&d);
		cases++;
	}
	free(buf);
	fclose(fp);
	assert_true(cases >= 15);
	printf("   %d elastic net cases: max |coef - sklearn| %.3g, max |intercept - sklearn| %.3g\n",
		   cases, worst_coef, worst_b0);
}

/*
 * At alpha_max every coefficient is exactly zero after one sweep, the
 * intercept is the mean of y; just below it one coefficient moves.
 */
static void
test_enet_large_alpha_zero(void **state)
{
	RegData		d = LoadRegression("synth");
	mm_linreg_state *s = StateOf(&d, 0, d.n, 0);
	mm_cd_gram *g = GramOf(s, true);
	mm_enet_options opt;
	mm_cd_info	info;
	double		coef[16];
	double		b0;
	double		amax;
	double		ymean = 0.0;
	int			nonzero = 0;
	int32_t		j;
	int64_t		i;

	for (i = 0; i < d.n; i++)
		ymean += d.y[i];
	ymean /= (double) d.n;
	amax = mm_enet_alpha_max(g, 0.7);
	assert_true(amax > 0.0 && isfinite(amax));
	assert_true(isinf(mm_enet_alpha_max(g, 0.0)));

	EnetOptions(&opt, amax * (1.0 + 1e-9), 0.7, 1e-4, 1000);
	FitOk(g, &opt, coef, &b0, &info);
	for (j = 0; j < d.p; j++)
		assert_true(coef[j] == 0.0);
	assert_true(fabs(b0 - ymean) <= 1e-12 * fabs(ymean));
	assert_true(info.converged);
	assert_int_equal(info.n_iter, 1);
	assert_true(info.dual_gap == 0.0);

	opt.alpha = 1e6 * amax;
	FitOk(g, &opt, coef, &b0, &info);
	for (j = 0; j < d.p; j++)
		assert_true(coef[j] == 0.0);

	opt.alpha = 0.99 * amax;
	FitOk(g, &opt, coef, &b0, &info);
	for (j = 0; j < d.p; j++)
		nonzero += coef[j] != 0.0;
	assert_int_equal(nonzero, 1);
	mm_cd_gram_free(g);
	free(s);

	/* a constant target: nothing to fit, whatever alpha */
	for (i = 0; i < d.n; i++)
		d.y[i] = 2.5;
	s = StateOf(&d, 0, d.n, 0);
	g = GramOf(s, true);
	assert_true(mm_enet_alpha_max(g, 0.7) == 0.0);
	EnetOptions(&opt, 0.01, 0.7, 1e-4, 1000);
	FitOk(g, &opt, coef, &b0, &info);
	for (j = 0; j < d.p; j++)
		assert_true(coef[j] == 0.0);
	assert_true(fabs(b0 - 2.5) <= 1e-14);
	assert_true(info.converged);
	assert_int_equal(info.n_iter, 1);
	mm_cd_gram_free(g);
	free(s);
	RegFree(&d);
}

/*
 * A constant column (and an all-zero one) gets coefficient exactly 0 and
 * leaves the others as they are without it; also with alpha = 0, where
 * nothing else would hold it.
 */
static void
test_enet_constant_column(void **state)
{
	RegData		d = LoadRegression("synth");
	RegData		e;
	int32_t		pe = d.p + 2;
	double		settings[][2] = {{0.05, 0.5}, {0.1, 1.0}, {0.02, 0.0}, {0.0, 1.0}};
	int64_t		i;
	int32_t		j;
	size_t		c;

	e.n = d.n;
	e.p = pe;
	e.X = malloc((size_t) e.n * pe * sizeof(double));
	e.y = d.y;
	for (i = 0; i < d.n; i++)
	{
		/* columns: x0, 3.7, x1, 0, x2.. */
		double	   *row = e.X + i * pe;

		row[0] = d.X[i * d.p];
		row[1] = 3.7;
		row[2] = d.X[i * d.p + 1];
		row[3] = 0.0;
		for (j = 2; j < d.p; j++)
			row[j + 2] = d.X[i * d.p + j];
	}

	for (c = 0; c < sizeof(settings) / sizeof(settings[0]); c++)
	{
		mm_linreg_state *sd = StateOf(&d, 0, d.n, 0);
		mm_linreg_state *se = StateOf(&e, 0, e.n, 0);
		mm_cd_gram *gd = GramOf(sd, true);
		mm_cd_gram *ge = GramOf(se, true);
		mm_enet_options opt;
		mm_cd_info	info;
		double		cd[16],
					ce[16],
					bd,
					be;

		assert_true(ge->G[1 * pe + 1] == 0.0 && ge->xy[1] == 0.0);
		assert_true(ge->G[3 * pe + 3] == 0.0 && ge->xy[3] == 0.0);
		EnetOptions(&opt, settings[c][0], settings[c][1], 1e-12, 100000);
		FitOk(gd, &opt, cd, &bd, &info);
		assert_true(info.converged);
		FitOk(ge, &opt, ce, &be, &info);
		assert_true(info.converged);
		assert_true(ce[1] == 0.0 && ce[3] == 0.0);
		assert_true(fabs(ce[0] - cd[0]) <= 1e-10);
		assert_true(fabs(ce[2] - cd[1]) <= 1e-10);
		for (j = 2; j < d.p; j++)
			assert_true(fabs(ce[j + 2] - cd[j]) <= 1e-10);
		assert_true(fabs(be - bd) <= 1e-9);
		mm_cd_gram_free(gd);
		mm_cd_gram_free(ge);
		free(sd);
		free(se);
	}
	free(e.X);
	RegFree(&d);
}

/*
 * l1_ratio = 0 is ridge: the same coefficients as mm_linreg_solve with
 * l2 = n alpha, and (unlike scikit-learn) the duality gap closes.  alpha = 0
 * is least squares, stopped by the coefficient-change rule.
 */
static void
test_enet_ridge_and_ols(void **state)
{
	const char *sets[] = {"synth", "diabetes_raw"};
	size_t		k;

	for (k = 0; k < 2; k++)
	{
		RegData		d = LoadRegression(sets[k]);
		mm_linreg_state *s = StateOf(&d, 0, d.n, 0);
		mm_cd_gram *g = GramOf(s, true);
		double		alphas[] = {0.0, 0.01, 1.0};
		size_t		a;

		for (a = 0; a < 3; a++)
		{
			mm_linreg_options lopt;
			mm_enet_options opt;
			mm_cd_info	info;
			mm_error	err;
			double		ref[16],
						coef[16],
						rb0,
						b0,
						scale = 0.0;
			int32_t		bad;
			int32_t		j;

			mm_linreg_default_options(&lopt);
			lopt.l2 = alphas[a] * (double) d.n;
			assert_int_equal(mm_linreg_solve(s, &lopt, ref, &rb0, &bad, &err),
							 MM_OK);
			EnetOptions(&opt, alphas[a], 0.0, 1e-12, 1000000);
			FitOk(g, &opt, coef, &b0, &info);
			assert_true(info.converged);
			for (j = 0; j < d.p; j++)
				if (fabs(ref[j]) > scale)
					scale = fabs(ref[j]);
			for (j = 0; j < d.p; j++)
				if (!(fabs(coef[j] - ref[j]) <= 1e-8 * scale))
					fail_msg("%s alpha %g: coef %d %.17g, QR %.17g", sets[k],
							 alphas[a], (int) j, coef[j], ref[j]);
			assert_true(fabs(b0 - rb0) <= 1e-8 * (fabs(rb0) + scale));
		}
		mm_cd_gram_free(g);
		free(s);
		RegFree(&d);
	}
}

/*
 * The same fit whatever the block size, and from two states merged: the
 * moments come from the one-pass state, nothing else.
 */
static void
test_enet_one_pass_merge(void **state)
{
	RegData		d = LoadRegression("diabetes_raw");
	mm_linreg_state *whole = StateOf(&d, 0, d.n, 7);
	mm_linreg_state *a = StateOf(&d, 0, 100, 0);
	mm_linreg_state *b = StateOf(&d, 100, d.n, 13);
	mm_enet_options opt;
	mm_cd_info	info;
	mm_error	err;
	double		c1[16],
				c2[16],
				b1,
				b2;
	int32_t		j;

	assert_int_equal(mm_linreg_merge(a, b, &err), MM_OK);
	EnetOptions(&opt, 0.3, 0.6, 1e-12, 1000000);
	assert_int_equal(mm_enet_fit_linreg(whole, true, &opt, c1, &b1, &info,
										&err), MM_OK);
	assert_true(info.converged);
	assert_int_equal(mm_enet_fit_linreg(a, true, &opt, c2, &b2, &info, &err),
					 MM_OK);
	assert_true(info.converged);
	for (j = 0; j < d.p; j++)
		assert_true(fabs(c1[j] - c2[j]) <= 1e-7);
	assert_true(fabs(b1 - b2) <= 1e-6);
	free(whole);
	free(a);
	free(b);
	RegFree(&d);
}

/*
 * A warm-started path from alpha_max down gives the cold fits' answers and
 * costs fewer sweeps in all.
 */
static void
test_enet_warm_start(void **state)
{
	RegData		d = LoadRegression("diabetes_raw");
	mm_linreg_state *s = StateOf(&d, 0, d.n, 0);
	mm_cd_gram *g = GramOf(s, true);
	double		amax = mm_enet_alpha_max(g, 0.8);
	double		warm[16] = {0};
	int			warm_sweeps = 0,
				cold_sweeps = 0;
	int			k;

	for (k = 1; k <= 12; k++)
	{
		mm_enet_options opt;
		mm_cd_info	info;
		double		cold[16],
					b_warm,
					b_cold;
		int32_t		j;

		EnetOptions(&opt, amax * pow(0.5, k), 0.8, 1e-10, 1000000);
		opt.warm_start = true;
		FitOk(g, &opt, warm, &b_warm, &info);
		assert_true(info.converged);
		warm_sweeps += info.n_iter;
		opt.warm_start = false;
		cold[0] = 12345.0;		/* ignored */
		FitOk(g, &opt, cold, &b_cold, &info);
		assert_true(info.converged);
		cold_sweeps += info.n_iter;
		for (j = 0; j < d.p; j++)
			assert_true(fabs(warm[j] - cold[j]) <= 1e-5);
	}
	assert_true(warm_sweeps < cold_sweeps);
	mm_cd_gram_free(g);
	free(s);
	RegFree(&d);
}

/* max_iter reached is not an error; the result says so. */
static void
test_enet_not_converged(void **state)
{
	RegData		d = LoadRegression("diabetes_raw");
	mm_linreg_state *s = StateOf(&d, 0, d.n, 0);
	mm_cd_gram *g = GramOf(s, true);
	mm_enet_options opt;
	mm_cd_info	info;
	double		coef[16],
				b0;

	EnetOptions(&opt, 0.01, 1.0, 1e-12, 3);
	FitOk(g, &opt, coef, &b0, &info);
	assert_false(info.converged);
	assert_int_equal(info.n_iter, 3);
	assert_true(info.dual_gap > 0.0);
	/* least squares, which has no gap to close, and ridge */
	EnetOptions(&opt, 0.0, 1.0, 1e-12, 3);
	FitOk(g, &opt, coef, &b0, &info);
	assert_false(info.converged);
	assert_int_equal(info.n_iter, 3);
	EnetOptions(&opt, 0.001, 0.0, 1e-12, 3);
	FitOk(g, &opt, coef, &b0, &info);
	assert_false(info.converged);
	assert_true(info.dual_gap > 0.0);
	mm_cd_gram_free(g);
	free(s);
	RegFree(&d);
}

static void
ExpectEnetFails(const mm_cd_gram *g, const mm_enet_options *opt,
				mm_status want, const char *message)
{
	mm_error	err;
	double		coef[16],
				b0;

	mm_error_clear(&err);
	assert_int_equal(mm_enet_fit(g, opt, coef, &b0, NULL, &err), want);
	assert_int_equal(err.status, want);
	assert_string_equal(err.message, message);
}

static void
test_enet_bad_input(void **state)
{
	RegData		d = LoadRegression("synth");
	mm_linreg_state *s = StateOf(&d, 0, d.n, 0);
	mm_cd_gram *g = GramOf(s, true);
	mm_cd_gram *out = (mm_cd_gram *) 1;
	mm_enet_options opt;
	mm_error	err;
	int32_t		cap = mm_linreg_default_block(d.p);
	mm_linreg_state *t = malloc(mm_linreg_state_size(d.p, cap));
	double		coef[16],
				b0;

	EnetOptions(&opt, -1.0, 0.5, 1e-4, 100);
	ExpectEnetFails(g, &opt, MM_ERR_INVALID, "alpha must be a finite number >= 0");
	opt.alpha = NAN;
	ExpectEnetFails(g, &opt, MM_ERR_INVALID, "alpha must be a finite number >= 0");
	opt.alpha = INFINITY;
	ExpectEnetFails(g, &opt, MM_ERR_INVALID, "alpha must be a finite number >= 0");
	opt.alpha = 1.0;
	opt.l1_ratio = 1.5;
	ExpectEnetFails(g, &opt, MM_ERR_INVALID, "l1_ratio must be between 0 and 1");
	opt.l1_ratio = NAN;
	ExpectEnetFails(g, &opt, MM_ERR_INVALID, "l1_ratio must be between 0 and 1");
	opt.l1_ratio = 0.5;
	opt.tol = -1.0;
	ExpectEnetFails(g, &opt, MM_ERR_INVALID, "tol must be a finite number >= 0");
	opt.tol = 1e-4;
	opt.max_iter = 0;
	ExpectEnetFails(g, &opt, MM_ERR_INVALID, "max_iter must be at least 1");
	opt.max_iter = 100;
	opt.warm_start = true;
	coef[0] = NAN;
	assert_int_equal(mm_enet_fit(g, &opt, coef, &b0, NULL, &err),
					 MM_ERR_INVALID);
	assert_string_equal(err.message, "warm start coefficients must be finite");

	/* empty state, pending rows, non-finite statistics */
	mm_linreg_init(t, d.p, cap);
	assert_int_equal(mm_cd_gram_from_linreg(t, true, &out, &err), MM_ERR_DATA);
	assert_null(out);
	assert_string_equal(err.message, "no rows to fit the model on");
	assert_int_equal(mm_linreg_add(t, d.X, d.y[0], &err), MM_OK);
	assert_int_equal(mm_cd_gram_from_linreg(t, true, &out, &err),
					 MM_ERR_INVALID);
	assert_string_equal(err.message, "linear regression state has pending rows");
	{
		double		huge[16];
		int32_t		j;

		mm_linreg_init(t, d.p, cap);
		for (j = 0; j < d.p; j++)
			huge[j] = j == 2 ? 1e300 : 1.0;
		assert_int_equal(mm_linreg_add(t, huge, 1.0, &err), MM_OK);
		huge[2] = -1e300;
		assert_int_equal(mm_linreg_add(t, huge, 2.0, &err), MM_OK);
		/* the mean is fine, the squares overflow */
		assert_int_equal(mm_linreg_flush(t, &err), MM_OK);
		assert_int_equal(mm_cd_gram_from_linreg(t, true, &out, &err),
						 MM_ERR_DATA);
		assert_string_equal(err.message, "sums of squares are not finite");
	}
	free(t);
	mm_cd_gram_free(g);
	free(s);
	RegFree(&d);
}

/*
 * One poll per sweep: as many polls as sweeps in a full run, and a stop
 * asked at any poll (the first, or one in the middle) ends the fit there.
 */
static void
test_enet_interrupt(void **state)
{
	RegData		d = LoadRegression("diabetes_raw");
	mm_linreg_state *s = StateOf(&d, 0, d.n, 0);
	mm_cd_gram *g = GramOf(s, true);
	mm_enet_options opt;
	mm_cd_info	info;
	double		coef[16],
				b0;

	EnetOptions(&opt, 0.01, 1.0, 1e-12, 1000000);
	polls = 0;
	FitOk(g, &opt, coef, &b0, &info);
	assert_true(info.n_iter > 100);
	assert_int_equal(polls, info.n_iter);

	stop_flag = true;
	ExpectEnetFails(g, &opt, MM_ERR_INTERRUPTED, "elastic net fit interrupted");
	stop_flag = false;
	polls = 0;
	stop_after = 50;
	ExpectEnetFails(g, &opt, MM_ERR_INTERRUPTED, "elastic net fit interrupted");
	assert_int_equal(polls, 50);
	stop_after = 0;
	mm_cd_gram_free(g);
	free(s);
	RegFree(&d);
}

/* Every allocation failing in turn: MM_ERR_NOMEM and no leak (ASan). */
static void
test_enet_out_of_memory(void **state)
{
	RegData		d = LoadRegression("synth");
	mm_linreg_state *s = StateOf(&d, 0, d.n, 0);
	mm_enet_options opt;
	mm_error	err;
	double		coef[16],
				b0;
	int			k;

	EnetOptions(&opt, 0.1, 0.5, 1e-6, 1000);
	for (k = 1; k <= 3; k++)
	{
		mm_status	st;

		alloc_fail_at = k;
		alloc_count = 0;
		st = mm_enet_fit_linreg(s, true, &opt, coef, &b0, NULL, &err);
		assert_int_equal(st, MM_ERR_NOMEM);
	}
	alloc_fail_at = 0;
	assert_int_equal(mm_enet_fit_linreg(s, true, &opt, coef, &b0, NULL, &err),
					 MM_OK);
	assert_true(mm_cd_gram_bytes(6) >= 2 * 36 * sizeof(double));
	assert_true(mm_cd_gram_bytes(INT32_MAX) == 0);
	assert_true(mm_cd_gram_bytes(-1) == 0);
	free(s);
	RegFree(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enet_vs_sklearn, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_enet_large_alpha_zero, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_enet_constant_column, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_enet_ridge_and_ols, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_enet_one_pass_merge, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_enet_warm_start, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_enet_not_converged, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_enet_bad_input, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_enet_interrupt, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_enet_out_of_memory, Setup, Teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
