/*
 * mm_drift.c
 *	  Baselines, PSI and KS; PSI and Jensen-Shannon divergence over the
 *	  shares of categories.  See mm_drift.h.
 */
#include "mm_drift.h"

#include <math.h>
#include <stdlib.h>

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Number of values <= x in sorted[0..n). */
static size_t
count_le(const double *sorted, size_t n, double x)
{
	size_t		lo = 0,
				hi = n;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (sorted[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
mm_drift_baseline(double *values, size_t n, double *edges, double *cdf)
{
	qsort(values, n, sizeof(double), cmp_double);
	for (int i = 0; i < MM_DRIFT_EDGES; i++)
	{
		/*
		 * nearest-rank quantile, the smallest value with CDF >= q for q =
		 * (i + 1) / 100: rank ceil(q n), in integers so that no rounding of
		 * q moves it
		 */
		size_t		rank = ((size_t) (i + 1) * n + MM_DRIFT_EDGES) / (MM_DRIFT_EDGES + 1);

		if (rank < 1)
			rank = 1;
		if (rank > n)
			rank = n;
		edges[i] = values[rank - 1];
		cdf[i] = (double) count_le(values, n, edges[i]) / (double) n;
	}
}

int
mm_drift_bin(const double *edges, double x)
{
	int			lo = 0,
				hi = MM_DRIFT_EDGES;

	/* first edge with x <= edge, or MM_DRIFT_EDGES */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (x <= edges[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void
mm_drift_cdf(const int64_t *hist, int64_t n, double *cdf)
{
	int64_t		run = 0;

	for (int i = 0; i < MM_DRIFT_EDGES; i++)
	{
		run += hist[i];
		cdf[i] = n > 0 ? (double) run / (double) n : 0.0;
	}
}

/* Proportion of decile d (0..9) from a CDF on the percentile edges. */
static double
decile(const double *cdf, int d)
{
	double		hi = d == 9 ? 1.0 : cdf[10 * d + 9];
	double		lo = d == 0 ? 0.0 : cdf[10 * d - 1];
	double		p = hi - lo;

	return p < MM_PSI_FLOOR ? MM_PSI_FLOOR : p;
}

double
mm_drift_psi(const double *base_cdf, const double *new_cdf)
{
	double		psi = 0.0;

	for (int d = 0; d < 10; d++)
	{
		double		b = decile(base_cdf, d);
		double		a = decile(new_cdf, d);

		psi += (a - b) * log(a / b);
	}
	return psi;
}

static double
floored(double p)
{
	return p < MM_PSI_FLOOR ? MM_PSI_FLOOR : p;
}

/* Share of decile d (0..9) from a CDF, without the floor. */
static double
raw_decile(const double *cdf, int d)
{
	double		hi = d == 9 ? 1.0 : cdf[10 * d + 9];
	double		lo = d == 0 ? 0.0 : cdf[10 * d - 1];

	return hi - lo;
}

double
mm_drift_psi_nulls(const double *base_cdf, double base_null,
				   const double *new_cdf, double new_null)
{
	double		psi = 0.0;
	double		b,
				a;
	bool		new_empty = new_null >= 1.0;

	for (int d = 0; d < 10; d++)
	{
		b = floored(raw_decile(base_cdf, d) * (1.0 - base_null));
		a = floored(new_empty ? 0.0 : raw_decile(new_cdf, d) * (1.0 - new_null));
		psi += (a - b) * log(a / b);
	}
	b = floored(base_null);
	a = floored(new_null);
	psi += (a - b) * log(a / b);
	return psi;
}

double
mm_drift_ks(const double *base_cdf, const double *new_cdf)
{
	double		ks = 0.0;

	for (int i = 0; i < MM_DRIFT_EDGES; i++)
	{
		double		gap = fabs(base_cdf[i] - new_cdf[i]);

		if (gap > ks)
			ks = gap;
	}
	return ks;
}

/*
 * The same sum as mm_drift_psi and mm_drift_psi_nulls, over given shares:
 * a bucket empty on both sides floors to the same value and adds 0; one
 * empty on one side only (a new category) adds a large but finite term.
 */
double
mm_drift_psi_shares(const double *base, const double *now, int k)
{
	double		psi = 0.0;

	for (int i = 0; i < k; i++)
	{
		double		b = floored(base[i]);
		double		a = floored(now[i]);

		psi += (a - b) * log(a / b);
	}
	return psi;
}

/* p log2(p / m), 0 when p is 0; m >= p / 2 > 0 otherwise. */
static double
JsTerm(double p, double m)
{
	return p > 0.0 ? p * log2(p / m) : 0.0;
}

/*
 * 0.5 KL(base || m) + 0.5 KL(now || m) with m the average distribution,
 * summed bucket by bucket so that swapping the arguments gives the same
 * bits.  Rounding can step just outside [0, 1] (disjoint supports, or
 * nearly identical distributions); the result is clamped to it.
 */
double
mm_drift_js(const double *base, const double *now, int k)
{
	double		js = 0.0;

	for (int i = 0; i < k; i++)
	{
		double		m = 0.5 * (base[i] + now[i]);

		js += 0.5 * (JsTerm(base[i], m) + JsTerm(now[i], m));
	}
	if (js < 0.0)
		js = 0.0;
	if (js > 1.0)
		js = 1.0;
	return js;
}
