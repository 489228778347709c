/*
 * mm_drift.h
 *	  Baselines and drift statistics: percentile edges of a sample, the
 *	  empirical CDF at those edges, the Population Stability Index over
 *	  deciles and the Kolmogorov-Smirnov statistic on the percentile grid.
 *
 * A baseline of a numeric quantity is MM_DRIFT_EDGES percentile edges of a
 * training sample and the sample's CDF at each edge (ties make steps, so
 * the CDF is kept rather than assumed to be i/100).  New data is binned on
 * the same edges: hist[i] counts values x with edge[i-1] < x <= edge[i]
 * (hist[MM_DRIFT_EDGES] counts values above the last edge), which gives
 * the new CDF at every edge.  PSI uses the deciles (edges 9, 19, ..., 89),
 * KS the largest CDF gap over all edges: an approximation of the exact KS
 * statistic on a 99-point grid, documented as such.
 *
 * A categorical quantity is compared as shares over k buckets (each
 * category, plus e.g. "unseen" and NULL), one vector for the baseline and
 * one for new data, each summing to 1: PSI over the buckets with the same
 * floor as the deciles get, and the Jensen-Shannon divergence, which needs
 * no floor and stays in [0, 1].
 */
#ifndef MM_DRIFT_H
#define MM_DRIFT_H

#include "mm_core.h"

#define MM_DRIFT_EDGES 99
#define MM_DRIFT_BINS (MM_DRIFT_EDGES + 1)
#define MM_PSI_FLOOR 1e-4		/* proportions below are floored for PSI */

/*
 * Baseline from n finite values (sorted in place): edges[i] is the
 * ((i + 1) / 100) empirical quantile, cdf[i] the fraction of values <=
 * edges[i].  n must be >= 1.
 */
extern void mm_drift_baseline(double *values, size_t n, double *edges,
							  double *cdf);

/* Index of the bin of x for the edges (0 .. MM_DRIFT_EDGES). */
extern int	mm_drift_bin(const double *edges, double x);

/* CDF at each edge from a histogram of n values. */
extern void mm_drift_cdf(const int64_t *hist, int64_t n, double *cdf);

/* PSI over deciles between a baseline CDF and a new CDF. */
extern double mm_drift_psi(const double *base_cdf, const double *new_cdf);

/*
 * PSI with NULLs as an eleventh bin: each decile's share is scaled by the
 * non-NULL fraction, and the NULL fractions form their own bin, so a feature
 * that goes NULL drifts like any other shift.  A new CDF of all zeros (no
 * values at all) is allowed.
 */
extern double mm_drift_psi_nulls(const double *base_cdf, double base_null,
								 const double *new_cdf, double new_null);

/* Largest absolute gap between the two CDFs over the edges. */
extern double mm_drift_ks(const double *base_cdf, const double *new_cdf);

/*
 * PSI between two distributions over k buckets (shares summing to 1 each,
 * e.g. categories + "unseen" + NULL): sum (a-b) ln(a/b) with each share
 * floored at MM_PSI_FLOOR, as mm_drift_psi does for bins.
 */
extern double mm_drift_psi_shares(const double *base, const double *now, int k);

/*
 * Jensen-Shannon divergence in bits (log base 2, in [0, 1]) between two
 * distributions over k buckets; 0*log 0 = 0; no flooring.
 */
extern double mm_drift_js(const double *base, const double *now, int k);

#endif							/* MM_DRIFT_H */
