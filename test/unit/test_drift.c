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

/* ---------------------------------------------------------------------
 * Categorical drift: PSI and Jensen-Shannon over shares
 * ---------------------------------------------------------------------
 */

/* relative closeness, for values computed by hand */
static void
assert_close(double got, double want)
{
	if (!(fabs(got - want) <= 1e-12 * fabs(want)))
		fail_msg("got %.17g, want %.17g", got, want);
}

/* Identical distributions: PSI and JS exactly 0, empty buckets included. */
static void
test_shares_identical(void **state)
{
	double		p[5] = {0.5, 0.25, 0.0, 0.125, 0.125};

	assert_true(mm_drift_psi_shares(p, p, 5) == 0.0);
	assert_true(mm_drift_js(p, p, 5) == 0.0);
}

/* PSI of shares against a hand computation, and against mm_drift_psi. */
static void
test_psi_shares_value(void **state)
{
	double		base[3] = {0.5, 0.3, 0.2};
	double		now[3] = {0.4, 0.4, 0.2};
	double		bcdf[MM_DRIFT_EDGES],
				ncdf[MM_DRIFT_EDGES];
	double		bdec[10],
				ndec[10];

	/* -0.1 ln 0.8 + 0.1 ln(4/3) = 0.1 ln(5/3) */
	assert_close(mm_drift_psi_shares(base, now, 3), 0.1 * log(5.0 / 3.0));
	assert_close(mm_drift_psi_shares(base, now, 3), 0.05108256237659907);
	/* PSI is symmetric (up to rounding of the logarithm) */
	assert_close(mm_drift_psi_shares(now, base, 3),
				 mm_drift_psi_shares(base, now, 3));

	/*
	 * decile shares of two CDFs, one decile empty in the new data: the
	 * same floor and sum as mm_drift_psi, to the bit
	 */
	for (int i = 0; i < MM_DRIFT_EDGES; i++)
	{
		bcdf[i] = (double) (i + 1) / 100;
		ncdf[i] = i < 20 ? (double) (i + 1) / 100 * 1.5 : (i < 30 ? ncdf[19] : bcdf[i]);
	}
	for (int d = 0; d < 10; d++)
	{
		bdec[d] = (d == 9 ? 1.0 : bcdf[10 * d + 9]) - (d == 0 ? 0.0 : bcdf[10 * d - 1]);
		ndec[d] = (d == 9 ? 1.0 : ncdf[10 * d + 9]) - (d == 0 ? 0.0 : ncdf[10 * d - 1]);
	}
	assert_true(ndec[2] == 0.0);
	assert_true(mm_drift_psi_shares(bdec, ndec, 10) == mm_drift_psi(bcdf, ncdf));
}

/* NULLs as an eleventh bucket: mm_drift_psi_nulls is psi_shares over 11. */
static void
test_psi_shares_nulls(void **state)
{
	double		bcdf[MM_DRIFT_EDGES],
				ncdf[MM_DRIFT_EDGES];
	double		bsh[11],
				nsh[11];
	double		bnull = 0.05,
				nnull = 0.3;

	for (int i = 0; i < MM_DRIFT_EDGES; i++)
	{
		bcdf[i] = (double) (i + 1) / 100;
		ncdf[i] = (double) (i + 1) * (i + 1) / 10000;
	}
	for (int d = 0; d < 10; d++)
	{
		bsh[d] = ((d == 9 ? 1.0 : bcdf[10 * d + 9]) - (d == 0 ? 0.0 : bcdf[10 * d - 1])) * (1.0 - bnull);
		nsh[d] = ((d == 9 ? 1.0 : ncdf[10 * d + 9]) - (d == 0 ? 0.0 : ncdf[10 * d - 1])) * (1.0 - nnull);
	}
	bsh[10] = bnull;
	nsh[10] = nnull;
	assert_true(mm_drift_psi_shares(bsh, nsh, 11) ==
				mm_drift_psi_nulls(bcdf, bnull, ncdf, nnull));
}

/* A category unseen in the baseline: large but finite PSI, by the floor. */
static void
test_psi_shares_new_category(void **state)
{
	double		base[4] = {0.6, 0.4, 0.0, 0.0};
	double		now[4] = {0.5, 0.3, 0.2, 0.0};
	double		psi = mm_drift_psi_shares(base, now, 4);
	double		expect = (0.5 - 0.6) * log(0.5 / 0.6) + (0.3 - 0.4) * log(0.3 / 0.4)
		+ (0.2 - MM_PSI_FLOOR) * log(0.2 / MM_PSI_FLOOR);

	assert_true(isfinite(psi));
	assert_true(psi > 1.0);
	assert_close(psi, expect);
	assert_close(psi, 1.566420764587036);
	/* every share below the floor counts as the floor */
	now[3] = MM_PSI_FLOOR / 2;
	assert_true(mm_drift_psi_shares(base, now, 4) == psi);
}

/* JS against hand computations (checked with scipy's jensenshannon^2). */
static void
test_js_value(void **state)
{
	double		p2[2] = {0.5, 0.5},
				q2[2] = {1.0, 0.0};
	double		p4[4] = {0.5, 0.3, 0.2, 0.0},
				q4[4] = {0.1, 0.3, 0.4, 0.2};

	/*
	 * m = (0.75, 0.25): KL(p2 || m) = 0.5 log2(2/3) + 0.5 log2 2 = 1 - 0.5
	 * log2 3, KL(q2 || m) = log2(4/3) = 2 - log2 3, and JS is their mean,
	 * 1.5 - 0.75 log2 3
	 */
	assert_close(mm_drift_js(p2, q2, 2), 1.5 - 0.75 * log2(3.0));
	assert_close(mm_drift_js(p2, q2, 2), 0.3112781244591328);
	assert_close(mm_drift_js(p4, q4, 4), 0.22950452328914686);
}

/* JS is symmetric to the bit and stays in [0, 1]; PSI is symmetric too. */
static void
test_js_symmetric_bounded(void **state)
{
	uint64_t	s = 7;

	for (int trial = 0; trial < 200; trial++)
	{
		double		p[6],
					q[6],
					sp = 0.0,
					sq = 0.0,
					js;

		for (int i = 0; i < 6; i++)
		{
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			p[i] = (s >> 40) % 4 == 0 ? 0.0 : (double) (s >> 11) / 9007199254740992.0;
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			q[i] = (s >> 40) % 4 == 0 ? 0.0 : (double) (s >> 11) / 9007199254740992.0;
			sp += p[i];
			sq += q[i];
		}
		for (int i = 0; i < 6; i++)
		{
			p[i] = sp > 0.0 ? p[i] / sp : 1.0 / 6;
			q[i] = sq > 0.0 ? q[i] / sq : 1.0 / 6;
		}
		js = mm_drift_js(p, q, 6);
		assert_true(js == mm_drift_js(q, p, 6));
		assert_true(js >= 0.0 && js <= 1.0);
		assert_close(mm_drift_psi_shares(q, p, 6),
					 mm_drift_psi_shares(p, q, 6));
	}
}

/* Disjoint supports: JS is 1, its maximum; PSI finite through the floor. */
static void
test_js_disjoint(void **state)
{
	double		p[4] = {0.3, 0.7, 0.0, 0.0},
				q[4] = {0.0, 0.0, 0.5, 0.5},
				one[3] = {1.0, 0.0, 0.0},
				other[3] = {0.0, 0.0, 1.0};

	assert_close(mm_drift_js(p, q, 4), 1.0);
	assert_true(mm_drift_js(p, q, 4) <= 1.0);
	assert_true(mm_drift_js(one, other, 3) == 1.0);
	assert_true(isfinite(mm_drift_psi_shares(p, q, 4)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline_edges),
		cmocka_unit_test(test_psi_ks),
		cmocka_unit_test(test_constant),
		cmocka_unit_test(test_psi_value),
		cmocka_unit_test(test_shares_identical),
		cmocka_unit_test(test_psi_shares_value),
		cmocka_unit_test(test_psi_shares_nulls),
		cmocka_unit_test(test_psi_shares_new_category),
		cmocka_unit_test(test_js_value),
		cmocka_unit_test(test_js_symmetric_bounded),
		cmocka_unit_test(test_js_disjoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
