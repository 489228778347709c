/*
 * mm_linreg_whiten.c
 *	  The whitened block fold of mm_linreg.c: the fast way a block of rows
 *	  enters a least-squares state whose R is already well established.
 *	  See mm_linreg_whiten.h and the header of mm_linreg.c.
 */
#include "mm_linreg_whiten.h"

#include <math.h>
#include <string.h>

#include "mm_lapack.h"

/*
 * The largest growth of the per-row rounding bound over a column's scale,
 * the largest whitened weight (trace) of a block, and the widest state
 * (k = p + 1) the fold is offered for.
 */
#define WHITEN_MAX_GROWTH	32.0
#define WHITEN_MAX_WEIGHT	1.0
#define WHITEN_MAX_K		256

void
mm_linreg_whiten_layout(int32_t k, double *work, mm_whiten_work *w)
{
	w->Rinv = work;
	w->L = w->Rinv + (size_t) k * k;
	w->G = w->L + (size_t) k * k;
	w->vec1 = w->G + (size_t) k * (k + 1);
	w->vec2 = w->vec1 + k;
	w->delta = w->vec2 + k;
	w->Wt = w->delta + k;
}

/*
 * Doubles the whitened fold needs for k columns and m new rows on n_a
 * folded ones, or 0 when it is not worth trying: more than WHITEN_MAX_K
 * columns (its k x k scratch and O(k^3) inverse would no longer be small
 * next to the block), or too few rows folded so far for the block to pass
 * the weight guard (trace(W'W) is about k m / n_a).
 */
size_t
mm_linreg_whiten_work_size(int32_t k, int32_t m, int64_t n_a)
{
	if (k > WHITEN_MAX_K || m < 1 ||
		(double) n_a < (double) k * m / WHITEN_MAX_WEIGHT)
		return 0;
	/* as mm_linreg_whiten_layout carves it */
	return (size_t) k * k * 3 + (size_t) k * 4 + (size_t) (k + 1) * m;
}

/*
 * The whitened fold (see mm_linreg_whiten.h) of m pending rows, row-major and
 * shifted by the running means (so their mean is some delta).  With
 * W = rows R^-1 and wbar = delta R^-1, the block adds
 *     W'W - (m^2 / (n_a + m)) wbar wbar'
 * in whitened units (its centered cross-products plus the d row of the
 * merge formula, n_a m / (n_a + m) delta delta'; the subtraction is of a
 * term m / (n_a + m) times smaller than W'W and cannot cancel much), and
 * R <- chol(I + that) R.
 *
 * mm_linreg_whiten_ready computes R^-1 and its transpose into w (carved
 * by mm_linreg_whiten_layout from mm_linreg_whiten_work_size(k, m, n_a)
 * doubles) and says whether R passes the guards that do not depend on the
 * block: R nonsingular and finite, and the rounding bound of R^-1 growing
 * by at most WHITEN_MAX_GROWTH over each column's scale.  It changes
 * nothing else.
 */
bool
mm_linreg_whiten_ready(int32_t k, const double *R, const mm_whiten_work *w)
{
	double	   *Rinv = w->Rinv;
	double	   *L = w->L;
	double	   *s = w->vec1;
	double	   *v = w->vec2;
	double	   *rdiag = w->delta;
	int32_t		i,
				j,
				l;

	for (j = 0; j < k; j++)
	{
		double		d = R[(size_t) j * k + j];

		if (!(d != 0.0) || !isfinite(1.0 / d))
			return false;
		rdiag[j] = 1.0 / d;
	}

	/*
	 * R^-1 column by column: R x = e_j by back substitution, column
	 * oriented (each x_i, once known, is taken off the entries above it),
	 * so the inner loops are independent updates rather than one long sum.
	 */
	for (j = 0; j < k; j++)
	{
		double	   *col = Rinv + (size_t) j * k;

		memset(col, 0, sizeof(double) * k);
		col[j] = 1.0;
		for (i = j; i >= 0; i--)
		{
			const double *ri = R + (size_t) i * k;
			double		xi = col[i] * rdiag[i];

			col[i] = xi;
			for (l = 0; l < i; l++)
				col[l] -= xi * ri[l];
		}
		for (i = 0; i <= j; i++)
			if (!isfinite(col[i]))
				return false;
	}

	/*
	 * The growth guard.  With s_l the norm of R's column l (the spread of
	 * column l of the folded rows), a row b becomes b + e with
	 * |e_j| <= c u sum_l |b_l| (|R^-1| |R|)_lj; for rows of the usual size
	 * (|b_l| ~ s_l) that is sum_i v_i |R_ij| with v_i = sum_l s_l |R^-1_li|,
	 * which must stay within WHITEN_MAX_GROWTH s_j.
	 */
	for (l = 0; l < k; l++)
	{
		double		ss = 0.0;

		for (i = 0; i <= l; i++)
			ss += R[(size_t) l * k + i] * R[(size_t) l * k + i];
		s[l] = sqrt(ss);
	}
	for (i = 0; i < k; i++)
	{
		double		sum = 0.0;

		for (l = 0; l <= i; l++)
			sum += s[l] * fabs(Rinv[(size_t) i * k + l]);
		v[i] = sum;
	}
	for (j = 0; j < k; j++)
	{
		double		t = 0.0;

		for (i = 0; i <= j; i++)
			t += v[i] * fabs(R[(size_t) j * k + i]);
		if (!(t <= WHITEN_MAX_GROWTH * s[j]))
			return false;
	}

	/* L = (R^-1)', so that W' = L rows' is a plain product */
	for (j = 0; j < k; j++)
		for (i = 0; i < k; i++)
			L[(size_t) i * k + j] = Rinv[(size_t) j * k + i];
	return true;
}

/*
 * The rest of the whitened fold, after mm_linreg_whiten_ready accepted R.
 * On success R is updated and w->delta holds the block's mean minus the
 * running mean; returns false, with R unchanged, when the block's whitened
 * weight (the trace) is above WHITEN_MAX_WEIGHT.
 */
bool
mm_linreg_whiten_fold(int32_t k, int64_t n_a, double *R, const double *rows,
					  int32_t m, const mm_whiten_work *w)
{
	double	   *L = w->L;
	double	   *G = w->G;
	double	   *wbar = w->vec1;
	double	   *t = w->vec2;
	double	   *delta = w->delta;
	double	   *Wt = w->Wt;
	size_t		ldw = (size_t) k + 1;
	double		c;
	double		trace = 0.0;
	int32_t		i,
				j,
				l;

	/*
	 * W' = L rows' into the first k rows of Wt, a row of ones under it, and
	 * one product gives both W'W and W'1 = m wbar (G's last column).
	 */
	mm_blas_dgemm('N', 'N', k, m, k, 1.0, L, k, rows, k, 0.0, Wt, k + 1);
	for (i = 0; i < m; i++)
		Wt[(size_t) i * ldw + k] = 1.0;
	mm_blas_dgemm('N', 'T', k, k + 1, m, 1.0, Wt, k + 1, Wt, k + 1, 0.0, G, k);
	for (j = 0; j < k; j++)
		wbar[j] = G[(size_t) k * k + j] / m;

	/* minus the part of the block's mean that the merge does not keep */
	c = (double) m * ((double) m / ((double) n_a + (double) m));
	for (j = 0; j < k; j++)
	{
		double		cw = c * wbar[j];

		for (i = 0; i <= j; i++)
			G[(size_t) j * k + i] -= cw * wbar[i];
		trace += G[(size_t) j * k + j];
	}
	if (!(trace <= WHITEN_MAX_WEIGHT))
		return false;

	/*
	 * S = chol(I + G), upper, in G's upper triangle, right looking: row j
	 * of S, then the rank-one update of the trailing triangle.  The pivots
	 * are near 1.
	 */
	for (j = 0; j < k; j++)
		G[(size_t) j * k + j] += 1.0;
	for (j = 0; j < k; j++)
	{
		double		djj = G[(size_t) j * k + j];
		double		rs;

		if (!(djj > 0.0))
			return false;
		djj = sqrt(djj);
		G[(size_t) j * k + j] = djj;
		rs = 1.0 / djj;
		for (l = j + 1; l < k; l++)
			G[(size_t) l * k + j] *= rs;
		for (l = j + 1; l < k; l++)
		{
			double	   *gl = G + (size_t) l * k;
			double		sjl = gl[j];

			for (i = j + 1; i <= l; i++)
				gl[i] -= G[(size_t) i * k + j] * sjl;
		}
	}

	/* the block's mean, back from whitened units: delta = wbar R */
	for (j = 0; j < k; j++)
	{
		double		sum = 0.0;

		for (l = 0; l <= j; l++)
			sum += wbar[l] * R[(size_t) j * k + l];
		delta[j] = sum;
	}

	/* R <- S R, column by column: t = sum over l of S's column l times R_lj */
	for (j = 0; j < k; j++)
	{
		double	   *rc = R + (size_t) j * k;

		for (i = 0; i <= j; i++)
			t[i] = 0.0;
		for (l = 0; l <= j; l++)
		{
			const double *sl = G + (size_t) l * k;
			double		rlj = rc[l];

			for (i = 0; i <= l; i++)
				t[i] += sl[i] * rlj;
		}
		memcpy(rc, t, sizeof(double) * (j + 1));
	}
	return true;
}
