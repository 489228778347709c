/*
 * test_drift.c
 *	  Unit tests of the drift statistics (src/core/mm_drift.c).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "mm_drift.h"

#define N 10000

/* values 1..n shuffled by a fixed permutation */
static void
fill_uniform(double *v, int n, double scale, double shift)
{
	for (int i = 0; i < n; i++)
		v[i] = shift + scale * (double) ((i * 7919) % n + 1);
}

static void
tally(const double *edges, const double *v, int n, int64_t *hist)
{
	for (int i = 0; i < MM_DRIFT_BINS; i++)
		hist[i] = 0;
	for (int i = 0; i < n; i++)
		hist[mm_drift_bin(edges, v[i])]++;
}

/* Percentile edges of 1..10000 are 100, 200, ...; the CDF there is i/100. */
static void
test_baseline_edges(void **state)
{
	double	   *v = malloc(sizeof(double) * N);
	double		edges[MM_DRIFT_EDGES],
				cdf[MM_DRIFT_EDGES];

	fill_uniform(v, N, 1.0, 0.0);
	mm_drift_baseline(v, N, edges, cdf);
	for (int i = 0; i < MM_DRIFT_EDGES; i++)
	{
		assert_true(edges[i] == (double) ((i + 1) * 100));
		assert_true(fabs(cdf[i] - (double) (i + 1) / 100) < 1e-12);
	}
	free(v);
}

/* The same distribution has PSI and KS of zero; a shifted one does not. */
static void
test_psi_ks(void **state)
{
	double	   *base = malloc(sizeof(double) * N);
	double	   *same = malloc(sizeof(double) * N);
	double	   *shifted = malloc(sizeof(double) * N);
	double		edges[MM_DRIFT_EDGES],
				bcdf[MM_DRIFT_EDGES],
				ncdf[MM_DRIFT_EDGES];
	int64_t		hist[MM_DRIFT_BINS];

	fill_uniform(base, N, 1.0, 0.0);
	fill_uniform(same, N, 1.0, 0.0);
	fill_uniform(shifted, N, 1.0, 2500.0);
	mm_drift_baseline(base, N, edges, bcdf);

	tally(edges, same, N, hist);
	mm_drift_cdf(hist, N, ncdf);
	assert_true(mm_drift_psi(bcdf, ncdf) < 1e-12);
	assert_true(mm_drift_ks(bcdf, ncdf) < 1e-12);

	tally(edges, shifted, N, hist);
	mm_drift_cdf(hist, N, ncdf);
	/* a quarter of the mass moved above the range: KS is 0.25 */
	assert_true(fabs(mm_drift_ks(bcdf, ncdf) - 0.25) < 1e-12);
	assert_true(mm_drift_psi(bcdf, ncdf) > 0.25);
	free(base);
	free(same);
	free(shifted);
}

/* Ties: a constant sample puts every edge on the value, CDF 1 everywhere. */
static void
test_constant(void **state)
{
	double		v[50];
	double		edges[MM_DRIFT_EDGES],
				cdf[MM_DRIFT_EDGES];

	for (int i = 0; i < 50; i++)
		v[i] = 3.0;
	mm_drift_baseline(v, 50, edges, cdf);
	for (int i = 0; i < MM_DRIFT_EDGES; i++)
	{
		assert_true(edges[i] == 3.0);
		assert_true(cdf[i] == 1.0);
	}
	assert_int_equal(mm_drift_bin(edges, 2.0), 0);
	assert_int_equal(mm_drift_bin(edges, 3.0), 0);
	assert_int_equal(mm_drift_bin(edges, 4.0), MM_DRIFT_EDGES);
}

/* PSI of a hand-computed case: one decile doubles, another halves. */
static void
test_psi_value(void **state)
{
	double		b[MM_DRIFT_EDGES],
				n[MM_DRIFT_EDGES];
	double		expect;

	for (int i = 0; i < MM_DRIFT_EDGES; i++)
		b[i] = n[i] = (double) (i + 1) / 100;
	/* new: first decile 0.2, second 0.05, the rest as before (sum 1.05 is
	 * not a distribution, but PSI is defined per decile) */
	for (int i = 0; i < MM_DRIFT_EDGES; i++)
		n[i] = i < 10 ? (double) (i + 1) / 50 : n[i];
	for (int i = 10; i < 20; i++)
		n[i] = 0.2 + (double) (i - 9) / 200;
	expect = (0.2 - 0.1) * log(2.0) + (0.05 - 0.1) * log(0.5);
	for (int i = 19; i < MM_DRIFT_EDGES; i++)
		n[i] = b[i] + (i == 19 ? 0.05 : 0.05);
	/* decile 2 onwards: differences of shifted CDFs are unchanged, except
	 * the last decile, 1 - cdf[89], which shrinks by 0.05 */
	expect += (0.05 - 0.1) * log(0.5);
	assert_true(fabs(mm_drift_psi(b, n) - expect) < 1e-12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline_edges),
		cmocka_unit_test(test_psi_ks),
		cmocka_unit_test(test_constant),
		cmocka_unit_test(test_psi_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
