/*
 * mm_enet.c
 *	  Elastic net (lasso, ridge) by cyclic coordinate descent on the Gram
 *	  matrix of one-pass moments.  See mm_enet.h for the objective and
 *	  conventions; the comments here are about the how.
 */
#include "mm_enet.h"
#include "mm_linreg_internal.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

/*
 * A constant column centered on rounded means keeps noise of a few ulps of
 * its mean; a centered norm below this many ulps (times sqrt(n)) counts as
 * constant.  The same rule as mm_linreg_solve.c.
 */
#define CONSTANT_ULPS		16.0

/* ---------------------------------------------------------------------
 * Moments from a linear regression state
 * ---------------------------------------------------------------------
 */

/*
 * Gram matrix and cross-products from a flushed state; see mm_enet.h.  The
 * triangle T is copied with zeros below the diagonal (the state's strict
 * lower part is not defined) and squared by one dsyrk.
 */
mm_status
mm_cd_gram_from_linreg(const mm_linreg_state *s, bool fit_intercept,
					   mm_cd_gram **out, mm_error *err)
{
	int32_t		p = s->p;
	int32_t		k = MM_LINREG_K(s);
	const double *mean = MM_LINREG_MEAN(s);
	const double *R = MM_LINREG_R(s);
	const double *ycol = R + (size_t) p * k;
	size_t		pp;
	size_t		count;
	size_t		bytes;
	mm_cd_gram *g;
	double	   *T;
	double		n;
	int32_t		i,
				j;

	*out = NULL;
	if (s->block_n != 0)
		return mm_fail(err, MM_ERR_INVALID,
					   "linear regression state has pending rows");
	if (s->n == 0)
		return mm_fail(err, MM_ERR_DATA, "no rows to fit the model on");
	if (!mm_linreg_stats_finite(s->p, MM_LINREG_MEAN(s), MM_LINREG_R(s)))
		return mm_linreg_fail_not_finite(err);

	/* header, then x_mean[p], xy[p], G[p * p] */
	if (!mm_size_mul((size_t) p, (size_t) p, &pp) ||
		!mm_size_add(pp, 2 * (size_t) p, &count) ||
		!mm_size_mul(count, sizeof(double), &bytes) ||
		!mm_size_add(bytes, sizeof(mm_cd_gram), &bytes))
		return mm_fail(err, MM_ERR_LIMIT, "too many features");
	g = mm_alloc(bytes);
	T = mm_alloc(pp == 0 ? 1 : pp * sizeof(double));
	if (g == NULL || T == NULL)
	{
		mm_free(g);
		mm_free(T);
		return mm_fail(err, MM_ERR_NOMEM,
					   "out of memory forming the gram matrix");
	}
	g->p = p;
	g->n = s->n;
	g->centered = fit_intercept;
	g->x_mean = (double *) (g + 1);
	g->xy = g->x_mean + p;
	g->G = g->xy + p;
	n = (double) s->n;

	for (j = 0; j < p; j++)
	{
		for (i = 0; i <= j; i++)
			T[(size_t) j * p + i] = R[(size_t) j * k + i];
		for (; i < p; i++)
			T[(size_t) j * p + i] = 0.0;
	}
	if (p > 0)
		cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, p, p, 1.0, T, p,
					0.0, g->G, p);
	mm_free(T);
	for (j = 0; j < p; j++)
		for (i = j + 1; i < p; i++)
			g->G[(size_t) j * p + i] = g->G[(size_t) i * p + j];

	/* X'y = T' r, y'y = the squared norm of R's last column */
	for (j = 0; j < p; j++)
	{
		double		v = 0.0;

		for (i = 0; i <= j; i++)
			v += R[(size_t) j * k + i] * ycol[i];
		g->xy[j] = v;
	}
	g->yy = 0.0;
	for (i = 0; i < k; i++)
		g->yy += ycol[i] * ycol[i];
	memcpy(g->x_mean, mean, (size_t) p * sizeof(double));
	g->y_mean = mean[p];

	if (fit_intercept)
	{
		/* a constant column: exactly zero, so its coefficient stays 0 */
		for (j = 0; j < p; j++)
		{
			double		norm = sqrt(g->G[(size_t) j * p + j]);

			if (norm <= CONSTANT_ULPS * DBL_EPSILON * sqrt(n) * fabs(mean[j]))
			{
				for (i = 0; i < p; i++)
				{
					g->G[(size_t) j * p + i] = 0.0;
					g->G[(size_t) i * p + j] = 0.0;
				}
				g->xy[j] = 0.0;
			}
		}
	}
	else
	{
		/* raw moments: add n mean mean' back */
		for (j = 0; j < p; j++)
		{
			for (i = 0; i < p; i++)
				g->G[(size_t) j * p + i] += n * mean[i] * mean[j];
			g->xy[j] += n * mean[j] * mean[p];
		}
		g->yy += n * mean[p] * mean[p];
	}

	if (!isfinite(g->yy))
	{
		mm_free(g);
		return mm_linreg_fail_not_finite(err);
	}
	for (j = 0; j < p; j++)
	{
		bool		ok = isfinite(g->xy[j]);

		for (i = 0; ok && i <= j; i++)
			ok = isfinite(g->G[(size_t) j * p + i]);
		if (!ok)
		{
			mm_free(g);
			return mm_linreg_fail_not_finite(err);
		}
	}
	*out = g;
	return MM_OK;
}

void
mm_cd_gram_free(mm_cd_gram *g)
{
	mm_free(g);
}

/* header, x_mean, xy and G, plus the scratch triangle T or H */
size_t
mm_cd_gram_bytes(int32_t p)
{
	size_t		pp;
	size_t		count;
	size_t		bytes;

	if (p < 0 ||
		!mm_size_mul((size_t) p, (size_t) p, &pp) ||
		!mm_size_mul(pp, 2, &count) ||
		!mm_size_add(count, 3 * (size_t) p + 1, &count) ||
		!mm_size_mul(count, sizeof(double), &bytes) ||
		!mm_size_add(bytes, sizeof(mm_cd_gram), &bytes))
		return 0;
	return bytes;
}

/* ---------------------------------------------------------------------
 * Elastic net
 * ---------------------------------------------------------------------
 */

/* scikit-learn's ElasticNet defaults. */
void
mm_enet_default_options(mm_enet_options *opt)
{
	opt->alpha = 1.0;
	opt->l1_ratio = 0.5;
	opt->tol = 1e-4;
	opt->max_iter = 1000;
	opt->warm_start = false;
}

double
mm_enet_alpha_max(const mm_cd_gram *g, double l1_ratio)
{
	double		big = 0.0;
	int32_t		j;

	for (j = 0; j < g->p; j++)
		if (fabs(g->xy[j]) > big)
			big = fabs(g->xy[j]);
	if (big == 0.0)
		return 0.0;
	if (!(l1_ratio > 0.0) || g->n == 0)
		return INFINITY;
	return big / ((double) g->n * l1_ratio);
}

/* H = G w, from scratch. */
static void
GramTimes(const mm_cd_gram *g, const double *w, double *H)
{
	int32_t		p = g->p;
	int32_t		i,
				j;

	for (i = 0; i < p; i++)
		H[i] = 0.0;
	for (j = 0; j < p; j++)
	{
		const double *col = g->G + (size_t) j * p;

		if (w[j] == 0.0)
			continue;
		for (i = 0; i < p; i++)
			H[i] += w[j] * col[i];
	}
}

/*
 * Duality gap of the n-scaled problem
 *	   (1/2) ||y - X w||^2 + l1 ||w||_1 + (l2 / 2) ||w||^2
 * (on centered moments when there is an intercept), given H = G w.
 *
 * With l1 > 0 it is scikit-learn's gap (enet_coordinate_descent_gram): the
 * problem is seen as a lasso on [X; sqrt(l2) I] and the residual is scaled
 * into the dual feasible set.  With l1 = 0 that scaling is 0 and the gap
 * never closes; pure ridge (l2 > 0) instead uses its unconstrained dual at
 * the residual r = y - X w:
 *	   r'r - r'y + (l2 / 2) ||w||^2 + ||X'r||^2 / (2 l2)
 * where r'r - r'y = w'(G w - X'y) and X'r = X'y - G w, free of the
 * cancellation in ||r||^2.  With l1 = l2 = 0 (least squares) there is no
 * bounded dual: returns 0 and the coefficient-change rule alone stops.
 */
static double
DualGap(const mm_cd_gram *g, const double *w, const double *H, double l1,
		double l2)
{
	int32_t		p = g->p;
	double		q_dot_w = 0.0;
	double		w_dot_h = 0.0;
	double		w_norm2 = 0.0;
	double		w_norm1 = 0.0;
	double		dual_norm = 0.0;
	double		r_norm2;
	double		cst;
	double		gap;
	int32_t		j;

	if (l1 == 0.0 && l2 == 0.0)
		return 0.0;
	if (l1 == 0.0)
	{
		double		xtr2 = 0.0;
		double		w_dot_xtr = 0.0;

		for (j = 0; j < p; j++)
		{
			double		xtr = g->xy[j] - H[j];

			xtr2 += xtr * xtr;
			w_dot_xtr += w[j] * xtr;
			w_norm2 += w[j] * w[j];
		}
		gap = -w_dot_xtr + 0.5 * l2 * w_norm2 + xtr2 / (2.0 * l2);
		return gap > 0.0 ? gap : 0.0;
	}

	for (j = 0; j < p; j++)
	{
		double		xta = g->xy[j] - H[j] - l2 * w[j];

		if (fabs(xta) > dual_norm)
			dual_norm = fabs(xta);
		q_dot_w += w[j] * g->xy[j];
		w_dot_h += w[j] * H[j];
		w_norm2 += w[j] * w[j];
		w_norm1 += fabs(w[j]);
	}
	r_norm2 = g->yy + w_dot_h - 2.0 * q_dot_w;
	if (r_norm2 < 0.0)
		r_norm2 = 0.0;			/* rounding in the cancellation */
	if (dual_norm > l1)
	{
		cst = l1 / dual_norm;
		gap = 0.5 * (r_norm2 + r_norm2 * cst * cst);
	}
	else
	{
		cst = 1.0;
		gap = r_norm2;
	}
	gap += l1 * w_norm1 - cst * g->yy + cst * q_dot_w +
		0.5 * l2 * (1.0 + cst * cst) * w_norm2;
	return gap;
}

static mm_status
CheckEnetOptions(const mm_enet_options *opt, mm_error *err)
{
	if (!isfinite(opt->alpha) || opt->alpha < 0.0)
		return mm_fail(err, MM_ERR_INVALID,
					   "alpha must be a finite number >= 0");
	if (!(opt->l1_ratio >= 0.0 && opt->l1_ratio <= 1.0))
		return mm_fail(err, MM_ERR_INVALID,
					   "l1_ratio must be between 0 and 1");
	if (!isfinite(opt->tol) || opt->tol < 0.0)
		return mm_fail(err, MM_ERR_INVALID,
					   "tol must be a finite number >= 0");
	if (opt->max_iter < 1)
		return mm_fail(err, MM_ERR_INVALID, "max_iter must be at least 1");
	return MM_OK;
}

/*
 * Cyclic coordinate descent with covariance updates.  H = G w is kept up to
 * date by one column axpy per coefficient that moves, and recomputed from
 * scratch before every gap check so that rounding cannot drift into the
 * stopping decision.  The update of coordinate j minimizes the n-scaled
 * objective in w_j alone:
 *	   w_j = S(xy_j - (G w)_j + G_jj w_j, l1) / (G_jj + l2)
 * with S the soft threshold, l1 = n alpha l1_ratio, l2 = n alpha
 * (1 - l1_ratio).  A column with G_jj = 0 (zero, or constant with an
 * intercept) keeps coefficient 0.
 */
mm_status
mm_enet_fit(const mm_cd_gram *g, const mm_enet_options *opt, double *coef,
			double *intercept, mm_cd_info *info, mm_error *err)
{
	int32_t		p = g->p;
	double		n = (double) g->n;
	double		l1;
	double		l2;
	double		gap_tol;
	double		gap = 0.0;
	double	   *H;
	int32_t		iter;
	int32_t		i,
				j;
	bool		converged = false;
	bool		small_steps;
	mm_status	st;

	*intercept = 0.0;
	if (info != NULL)
	{
		info->n_iter = 0;
		info->converged = false;
		info->dual_gap = 0.0;
	}
	st = CheckEnetOptions(opt, err);
	if (st != MM_OK)
		return st;
	if (g->n < 1)
		return mm_fail(err, MM_ERR_DATA, "no rows to fit the model on");
	l1 = opt->alpha * opt->l1_ratio * n;
	l2 = opt->alpha * (1.0 - opt->l1_ratio) * n;
	gap_tol = opt->tol * g->yy;

	for (j = 0; j < p; j++)
	{
		if (!opt->warm_start || g->G[(size_t) j * p + j] == 0.0)
			coef[j] = 0.0;
		else if (!isfinite(coef[j]))
			return mm_fail(err, MM_ERR_INVALID,
						   "warm start coefficients must be finite");
	}
	H = mm_alloc((p == 0 ? 1 : (size_t) p) * sizeof(double));
	if (H == NULL)
		return mm_fail(err, MM_ERR_NOMEM,
					   "out of memory fitting an elastic net");
	GramTimes(g, coef, H);

	for (iter = 0; iter < opt->max_iter; iter++)
	{
		double		w_max = 0.0;
		double		dw_max = 0.0;

		mm_report_progress(iter + 1, NAN);
		if (mm_should_stop())
		{
			mm_free(H);
			return mm_fail(err, MM_ERR_INTERRUPTED,
						   "elastic net fit interrupted");
		}
		for (j = 0; j < p; j++)
		{
			const double *col = g->G + (size_t) j * p;
			double		gjj = col[j];
			double		w_old = coef[j];
			double		w_new;
			double		tmp;

			if (gjj == 0.0)
				continue;
			tmp = g->xy[j] - H[j] + gjj * w_old;
			if (tmp > l1)
				w_new = (tmp - l1) / (gjj + l2);
			else if (tmp < -l1)
				w_new = (tmp + l1) / (gjj + l2);
			else
				w_new = 0.0;
			if (w_new != w_old)
			{
				double		d = w_new - w_old;

				for (i = 0; i < p; i++)
					H[i] += d * col[i];
				coef[j] = w_new;
			}
			if (fabs(w_new - w_old) > dw_max)
				dw_max = fabs(w_new - w_old);
			if (fabs(w_new) > w_max)
				w_max = fabs(w_new);
		}

		small_steps = w_max == 0.0 || dw_max / w_max < opt->tol;
		if (small_steps || iter == opt->max_iter - 1)
		{
			GramTimes(g, coef, H);
			gap = DualGap(g, coef, H, l1, l2);
			if (l1 == 0.0 && l2 == 0.0 ? small_steps : gap <= gap_tol)
			{
				converged = true;
				iter++;
				break;
			}
		}
	}
	mm_free(H);

	if (g->centered)
	{
		double		b0 = g->y_mean;

		for (j = 0; j < p; j++)
			b0 -= g->x_mean[j] * coef[j];
		*intercept = b0;
	}
	if (info != NULL)
	{
		info->n_iter = iter;
		info->converged = converged;
		info->dual_gap = gap / n;
	}
	return MM_OK;
}

mm_status
mm_enet_fit_linreg(const mm_linreg_state *s, bool fit_intercept,
				   const mm_enet_options *opt, double *coef,
				   double *intercept, mm_cd_info *info, mm_error *err)
{
	mm_cd_gram *g;
	mm_status	st;

	st = CheckEnetOptions(opt, err);
	if (st != MM_OK)
		return st;
	st = mm_cd_gram_from_linreg(s, fit_intercept, &g, err);
	if (st != MM_OK)
		return st;
	st = mm_enet_fit(g, opt, coef, intercept, info, err);
	mm_cd_gram_free(g);
	return st;
}

