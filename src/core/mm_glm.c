/*
 * mm_glm.c
 *	  Binary logistic regression, and what both logistic models share:
 *	  options, input checks, the design matrix products.  See mm_glm.h for
 *	  the objective, the solvers and the conventions.
 *
 * The parameters of the binary model are theta = (beta_1 .. beta_p, b):
 * the intercept last, so that the coefficient block of the Hessian starts
 * at its corner and the l1 penalty covers the first p parameters.
 */
#include "mm_glm_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "mm_lapack.h"

/* separation certificate tolerances (mm_glm.h) */
#define SEPARATION_REL_TOL 1e-6
#define SEPARATION_MIN_MOVE 1e-3

/* ---------------------------------------------------------------------
 * Options, checks, allocation
 * ---------------------------------------------------------------------
 */

void
mm_glm_options_default(mm_glm_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->l2 = 0.0;
	opt->l1 = 0.0;
	opt->fit_intercept = true;
	opt->solver = MM_GLM_SOLVER_AUTO;
	opt->max_iter = 0;
	opt->tol = 1e-10;
	opt->gtol = 1e-8;
}

double *
mm_glm_alloc_doubles(size_t count, mm_error *err)
{
	size_t		bytes;
	double	   *p;

	if (!mm_size_mul(count > 0 ? count : 1, sizeof(double), &bytes))
	{
		mm_fail(err, MM_ERR_LIMIT, "logistic regression workspace too large");
		return NULL;
	}
	p = mm_alloc(bytes);
	if (p == NULL)
		mm_fail(err, MM_ERR_NOMEM,
				"out of memory for a logistic regression workspace");
	return p;
}

static bool
FiniteNonNegative(double v)
{
	return isfinite(v) && v >= 0.0;
}

/*
 * Check options and data (mm_glm.h, DATA) and resolve the design view.
 */
mm_status
mm_glm_check_input(const mm_glm_data *data, const mm_glm_options *opt,
				   mm_glm_design *X, double *weight_sum, mm_error *err)
{
	mm_glm_sum wsum = {0.0, 0.0};
	int32_t		i,
				j;

	if (data == NULL)
		return mm_fail(err, MM_ERR_INVALID, "no data given");
	if (!FiniteNonNegative(opt->l2))
		return mm_fail(err, MM_ERR_INVALID,
					   "l2 must be a finite number >= 0, not %g", opt->l2);
	if (!FiniteNonNegative(opt->l1))
		return mm_fail(err, MM_ERR_INVALID,
					   "l1 must be a finite number >= 0, not %g", opt->l1);
	if (!FiniteNonNegative(opt->tol) || !FiniteNonNegative(opt->gtol))
		return mm_fail(err, MM_ERR_INVALID,
					   "tolerances must be finite numbers >= 0");
	if (opt->max_iter < 0)
		return mm_fail(err, MM_ERR_INVALID,
					   "max_iter must be >= 0 (0 is the default), not %d",
					   (int) opt->max_iter);
	if ((int) opt->solver < (int) MM_GLM_SOLVER_AUTO ||
		(int) opt->solver > (int) MM_GLM_SOLVER_PROX_NEWTON)
		return mm_fail(err, MM_ERR_INVALID, "unknown solver %d",
					   (int) opt->solver);
	if (opt->l1 > 0.0 && opt->solver == MM_GLM_SOLVER_LBFGS)
		return mm_fail(err, MM_ERR_UNSUPPORTED,
					   "the lbfgs solver does not support an l1 penalty");

	if (data->n < 1)
		return mm_fail(err, MM_ERR_DATA, "no rows to fit");
	if (data->p < 0)
		return mm_fail(err, MM_ERR_INVALID, "negative number of features");
	if (data->p > 0 && data->x == NULL)
		return mm_fail(err, MM_ERR_INVALID, "no design matrix given");
	if (data->layout != MM_GLM_ROW_MAJOR && data->layout != MM_GLM_COL_MAJOR)
		return mm_fail(err, MM_ERR_INVALID, "unknown matrix layout %d",
					   (int) data->layout);

	X->n = data->n;
	X->p = data->p;
	X->x = data->x;
	X->row_major = data->layout == MM_GLM_ROW_MAJOR;
	if (data->ldx == 0)
		X->ldx = X->row_major ? (data->p > 0 ? data->p : 1) : data->n;
	else
		X->ldx = data->ldx;
	if (X->ldx < (X->row_major ? data->p : data->n) || X->ldx < 1)
		return mm_fail(err, MM_ERR_INVALID,
					   "leading dimension %d is too small", (int) data->ldx);

	/* in storage order */
	for (i = 0; i < (X->row_major ? X->n : X->p); i++)
		for (j = 0; j < (X->row_major ? X->p : X->n); j++)
		{
			if (!isfinite(X->x[(size_t) i * X->ldx + j]))
			{
				mm_fail(err, MM_ERR_DATA,
						"feature %d of row %d is not finite",
						(int) (X->row_major ? j : i) + 1,
						(int) (X->row_major ? i : j) + 1);
				mm_error_hint(err, "Remove or impute NaN and infinite values before training.");
				return MM_ERR_DATA;
			}
		}

	if (data->weights != NULL)
	{
		for (i = 0; i < X->n; i++)
		{
			if (!FiniteNonNegative(data->weights[i]))
				return mm_fail(err, MM_ERR_DATA,
							   "weight of row %d is not a finite number >= 0",
							   (int) i + 1);
			mm_glm_sum_add(&wsum, data->weights[i]);
		}
		*weight_sum = mm_glm_sum_value(&wsum);
	}
	else
		*weight_sum = (double) X->n;
	if (!(*weight_sum > 0.0) || !isfinite(*weight_sum))
		return mm_fail(err, MM_ERR_DATA,
					   "the weights must have a positive finite sum");
	return MM_OK;
}

/* ---------------------------------------------------------------------
 * Products with the design matrix
 * ---------------------------------------------------------------------
 */

int32_t
mm_glm_block_rows(const mm_glm_design *X)
{
	int32_t		rows = 65536 / (X->p > 0 ? X->p : 1);

	if (rows < 16)
		rows = 16;
	if (rows > 1024)
		rows = 1024;
	if (rows > X->n)
		rows = X->n;
	return rows;
}

void
mm_glm_design_mul(const mm_glm_design *X, const double *v, double shift,
				  double *out)
{
	int32_t		i;

	if (X->p == 0)
	{
		for (i = 0; i < X->n; i++)
			out[i] = shift;
		return;
	}
	if (X->row_major)
		mm_blas_dgemv('T', X->p, X->n, 1.0, X->x, X->ldx, v, 1, 0.0, out, 1);
	else
		mm_blas_dgemv('N', X->n, X->p, 1.0, X->x, X->ldx, v, 1, 0.0, out, 1);
	if (shift != 0.0)
		for (i = 0; i < X->n; i++)
			out[i] += shift;
}

void
mm_glm_design_tmul(const mm_glm_design *X, const double *r, double *out)
{
	if (X->p == 0)
		return;
	if (X->row_major)
		mm_blas_dgemv('N', X->p, X->n, 1.0, X->x, X->ldx, r, 1, 0.0, out, 1);
	else
		mm_blas_dgemv('T', X->n, X->p, 1.0, X->x, X->ldx, r, 1, 0.0, out, 1);
}

void
mm_glm_design_sq_tmul(const mm_glm_design *X, const double *c, double *out)
{
	int32_t		i,
				j;

	for (j = 0; j < X->p; j++)
		out[j] = 0.0;
	if (X->row_major)
	{
		for (i = 0; i < X->n; i++)
		{
			const double *row = X->x + (size_t) i * X->ldx;

			for (j = 0; j < X->p; j++)
				out[j] += c[i] * row[j] * row[j];
		}
	}
	else
	{
		for (j = 0; j < X->p; j++)
		{
			const double *col = X->x + (size_t) j * X->ldx;
			double		s = 0.0;

			for (i = 0; i < X->n; i++)
				s += c[i] * col[i] * col[i];
			out[j] = s;
		}
	}
}

void
mm_glm_design_scale_rows(const mm_glm_design *X, int32_t i0, int32_t rows,
						 const double *c, double *Z)
{
	int32_t		r,
				j;

	if (X->row_major)
	{
		for (r = 0; r < rows; r++)
		{
			const double *row = X->x + (size_t) (i0 + r) * X->ldx;

			for (j = 0; j < X->p; j++)
				Z[(size_t) j * rows + r] = c[r] * row[j];
		}
	}
	else
	{
		for (j = 0; j < X->p; j++)
		{
			const double *col = X->x + (size_t) j * X->ldx + i0;
			double	   *z = Z + (size_t) j * rows;

			for (r = 0; r < rows; r++)
				z[r] = c[r] * col[r];
		}
	}
}

void
mm_glm_design_gemm_block(const mm_glm_design *X, int32_t i0, int32_t rows,
						 const double *Z, double *H, int32_t ldh)
{
	if (X->p == 0)
		return;
	if (X->row_major)
		mm_blas_dgemm('N', 'N', X->p, X->p, rows, 1.0,
					  X->x + (size_t) i0 * X->ldx, X->ldx, Z, rows, 1.0, H,
					  ldh);
	else
		mm_blas_dgemm('T', 'N', X->p, X->p, rows, 1.0, X->x + i0, X->ldx, Z,
					  rows, 1.0, H, ldh);
}

void
mm_glm_column_scales(const mm_glm_design *X, const double *w, double *scale)
{
	int32_t		i,
				j;

	for (j = 0; j < X->p; j++)
		scale[j] = 0.0;
	if (X->row_major)
	{
		for (i = 0; i < X->n; i++)
		{
			const double *row = X->x + (size_t) i * X->ldx;
			double		wi = w ? w[i] : 1.0;

			for (j = 0; j < X->p; j++)
				scale[j] += wi * fabs(row[j]);
		}
	}
	else
	{
		for (j = 0; j < X->p; j++)
		{
			const double *col = X->x + (size_t) j * X->ldx;

			for (i = 0; i < X->n; i++)
				scale[j] += (w ? w[i] : 1.0) * fabs(col[i]);
		}
	}
	for (j = 0; j < X->p; j++)
		if (!(scale[j] >= DBL_MIN))
			scale[j] = DBL_MIN;
}

/* ---------------------------------------------------------------------
 * The binary model
 * ---------------------------------------------------------------------
 */

typedef struct BinaryFit
{
	mm_glm_design X;
	const double *y;
	const double *w;			/* NULL: unit weights */
	double		l2;
	bool		fit_intercept;
	int32_t		m;				/* p + fit_intercept */
	int32_t		block;			/* rows per Hessian block */
	double	   *eta;			/* n: linear predictors */
	double	   *work;			/* n: residuals, then Hessian weights */
	double	   *z;				/* block x p */
	double	   *cbuf;			/* block */
} BinaryFit;

/* Doubles the binary model allocates besides the driver's */
static bool
BinaryDoubles(int32_t n, int32_t p, int32_t block, size_t *count)
{
	size_t		c,
				zb;

	if (!mm_size_mul((size_t) block, (size_t) (p > 0 ? p : 1), &zb) ||
		!mm_size_mul((size_t) n, 2, &c) ||
		!mm_size_add(c, zb, &c) ||
		!mm_size_add(c, (size_t) block + 2 * ((size_t) p + 1), &c))
		return false;
	*count = c;
	return true;
}

/*
 * eta = X beta + b and the weighted loss sum; with saturated, also count the
 * rows fitted with a probability of their label numerically 0 or 1.
 */
static double
BinaryLoss(BinaryFit *fit, const double *theta, int32_t *saturated)
{
	mm_glm_sum loss = {0.0, 0.0};
	double		b = fit->fit_intercept ? theta[fit->X.p] : 0.0;
	int32_t		i;

	mm_glm_design_mul(&fit->X, theta, b, fit->eta);
	for (i = 0; i < fit->X.n; i++)
	{
		double		eta = fit->eta[i];
		double		l = fit->y[i] > 0.5 ? mm_glm_softplus(-eta) :
			mm_glm_softplus(eta);

		mm_glm_sum_add(&loss, fit->w ? fit->w[i] * l : l);
		if (saturated && mm_glm_saturated(l))
			(*saturated)++;
	}
	return mm_glm_sum_value(&loss);
}

static double
L2Term(double l2, const double *beta, int32_t p)
{
	double		s = 0.0;
	int32_t		j;

	if (l2 == 0.0)
		return 0.0;
	for (j = 0; j < p; j++)
		s += beta[j] * beta[j];
	return 0.5 * l2 * s;
}

static mm_status
BinaryValue(void *ctx, const double *theta, double *f, mm_error *err)
{
	BinaryFit  *fit = ctx;

	(void) err;
	*f = BinaryLoss(fit, theta, NULL) + L2Term(fit->l2, theta, fit->X.p);
	return MM_OK;
}

/*
 * F, its gradient, and its Hessian (upper triangle) or Hessian diagonal.
 * mu and 1 - mu are computed without cancellation, so the weights
 * mu (1 - mu) keep their relative accuracy on rows fitted almost exactly.
 */
static mm_status
BinaryDerivs(void *ctx, const double *theta, double *f, double *g,
			 double *hess, double *hdiag, mm_error *err)
{
	BinaryFit  *fit = ctx;
	const mm_glm_design *X = &fit->X;
	int32_t		n = X->n,
				p = X->p,
				m = fit->m;
	mm_glm_sum rsum = {0.0, 0.0},
				dsum = {0.0, 0.0};
	int32_t		i,
				j;

	*f = BinaryLoss(fit, theta, NULL) + L2Term(fit->l2, theta, p);

	/* residuals w (mu - y) */
	for (i = 0; i < n; i++)
	{
		double		e = exp(-fabs(fit->eta[i]));
		double		small = e / (1.0 + e);	/* min(mu, 1 - mu) */
		double		one_minus_mu = fit->eta[i] >= 0.0 ? small : 1.0 - small;
		double		mu = fit->eta[i] >= 0.0 ? 1.0 - small : small;
		double		r = fit->y[i] > 0.5 ? -one_minus_mu : mu;

		if (fit->w)
			r *= fit->w[i];
		fit->work[i] = r;
		mm_glm_sum_add(&rsum, r);
	}
	mm_glm_design_tmul(X, fit->work, g);
	for (j = 0; j < p; j++)
		g[j] += fit->l2 * theta[j];
	if (fit->fit_intercept)
		g[p] = mm_glm_sum_value(&rsum);

	if (hess == NULL && hdiag == NULL)
		return MM_OK;

	/* Hessian weights w mu (1 - mu) */
	for (i = 0; i < n; i++)
	{
		double		e = exp(-fabs(fit->eta[i]));
		double		d = e / ((1.0 + e) * (1.0 + e));

		if (fit->w)
			d *= fit->w[i];
		fit->work[i] = d;
		mm_glm_sum_add(&dsum, d);
	}

	if (hdiag != NULL)
	{
		mm_glm_design_sq_tmul(X, fit->work, hdiag);
		for (j = 0; j < p; j++)
			hdiag[j] += fit->l2;
		if (fit->fit_intercept)
			hdiag[p] = mm_glm_sum_value(&dsum);
	}
	if (hess != NULL)
	{
		int32_t		i0,
					blocks = 0;

		memset(hess, 0, sizeof(double) * (size_t) m * m);
		for (i0 = 0; i0 < n && p > 0; i0 += fit->block)
		{
			int32_t		rows = n - i0 < fit->block ? n - i0 : fit->block;
			int32_t		r;

			if (++blocks % MM_GLM_POLL_BLOCKS == 0 && mm_should_stop())
				return mm_fail(err, MM_ERR_INTERRUPTED,
							   "logistic regression interrupted");
			for (r = 0; r < rows; r++)
				fit->cbuf[r] = sqrt(fit->work[i0 + r]);
			mm_glm_design_scale_rows(X, i0, rows, fit->cbuf, fit->z);
			mm_blas_dsyrk('U', 'T', p, rows, 1.0, fit->z, rows, 1.0, hess, m);
		}
		for (j = 0; j < p; j++)
			hess[(size_t) j * m + j] += fit->l2;
		if (fit->fit_intercept)
		{
			mm_glm_design_tmul(X, fit->work, hess + (size_t) p * m);
			hess[(size_t) p * m + p] = mm_glm_sum_value(&dsum);
		}
	}
	return MM_OK;
}

/*
 * Separation certificate: along direction, no row's loss increases (the
 * linear predictor of a 1 does not fall, of a 0 does not rise, within a
 * relative SEPARATION_REL_TOL) and some row's moves by SEPARATION_MIN_MOVE.
 */
static mm_status
BinarySeparated(void *ctx, const double *direction, bool *result,
				mm_error *err)
{
	BinaryFit  *fit = ctx;
	double		shift = fit->fit_intercept ? direction[fit->X.p] : 0.0;
	double		smax = 0.0,
				smin = 0.0;
	int32_t		i;

	(void) err;
	mm_glm_design_mul(&fit->X, direction, shift, fit->work);
	for (i = 0; i < fit->X.n; i++)
	{
		double		s;

		if (fit->w && fit->w[i] == 0.0)
			continue;
		s = fit->y[i] > 0.5 ? fit->work[i] : -fit->work[i];
		if (fabs(s) > smax)
			smax = fabs(s);
		if (s < smin)
			smin = s;
	}
	*result = smax > SEPARATION_MIN_MOVE && smin >= -SEPARATION_REL_TOL * smax;
	return MM_OK;
}

size_t
mm_glm_workspace_bytes(int32_t n, int32_t p, int32_t n_classes,
					   const mm_glm_options *opt)
{
	mm_glm_options def;
	mm_glm_design X;
	size_t		model,
				m,
				solver_doubles,
				total;
	int32_t		block;

	if (opt == NULL)
	{
		mm_glm_options_default(&def);
		opt = &def;
	}
	if (n < 1 || p < 0 || n_classes < 2)
		return 0;
	X.n = n;
	X.p = p;
	block = mm_glm_block_rows(&X);
	if (!mm_size_mul((size_t) n_classes > 2 ? (size_t) n_classes - 1 : 1,
					 (size_t) p + (opt->fit_intercept ? 1 : 0), &m) ||
		m > INT32_MAX)
		return 0;
	if (n_classes == 2)
	{
		if (!BinaryDoubles(n, p, block, &model))
			return 0;
	}
	else if (!mm_glm_multinomial_doubles(n, p, n_classes, block, &model))
		return 0;
	solver_doubles = mm_glm_solver_doubles(mm_glm_pick_solver(opt, (int32_t) m),
										   (int32_t) m);
	if (solver_doubles == 0 ||
		!mm_size_add(model, solver_doubles, &total) ||
		/* dpocon: 3m doubles and m integers */
		!mm_size_add(total, 4 * m + 1, &total) ||
		!mm_size_mul(total, sizeof(double), &total))
		return 0;
	return total;
}

mm_status
mm_glm_logistic_fit(const mm_glm_data *data, const double *y,
					const mm_glm_options *opt, double *coef,
					double *intercept, mm_glm_info *info, mm_error *err)
{
	mm_glm_options def;
	mm_glm_design X;
	BinaryFit	fit;
	mm_glm_problem pr;
	mm_glm_controls ctl;
	mm_glm_solver solver;
	mm_glm_info result;
	mm_glm_sum pos = {0.0, 0.0};
	double		wsum,
				ybar,
				loss;
	double	   *block,
			   *gscale,
			   *theta;
	size_t		count;
	int32_t		i,
				m;
	mm_status	st;

	if (opt == NULL)
	{
		mm_glm_options_default(&def);
		opt = &def;
	}
	st = mm_glm_check_input(data, opt, &X, &wsum, err);
	if (st != MM_OK)
		return st;
	if (y == NULL || (coef == NULL && X.p > 0) || intercept == NULL ||
		info == NULL)
		return mm_fail(err, MM_ERR_INVALID, "missing argument");
	for (i = 0; i < X.n; i++)
	{
		if (y[i] != 0.0 && y[i] != 1.0)
		{
			mm_fail(err, MM_ERR_DATA, "label of row %d is %g, not 0 or 1",
					(int) i + 1, y[i]);
			return MM_ERR_DATA;
		}
		if (y[i] == 1.0)
			mm_glm_sum_add(&pos, data->weights ? data->weights[i] : 1.0);
	}
	ybar = mm_glm_sum_value(&pos) / wsum;
	if (!(ybar > 0.0 && ybar < 1.0))
	{
		mm_fail(err, MM_ERR_DATA,
				"binary logistic regression needs rows of both classes");
		mm_error_detail(err, "Every row with a positive weight has label %d.",
						ybar > 0.0 ? 1 : 0);
		return MM_ERR_DATA;
	}
	m = X.p + (opt->fit_intercept ? 1 : 0);
	if (m == 0)
		return mm_fail(err, MM_ERR_INVALID,
					   "nothing to fit: no features and no intercept");

	memset(&fit, 0, sizeof(fit));
	fit.X = X;
	fit.y = y;
	fit.w = data->weights;
	fit.l2 = opt->l2;
	fit.fit_intercept = opt->fit_intercept;
	fit.m = m;
	fit.block = mm_glm_block_rows(&X);
	if (!BinaryDoubles(X.n, X.p, fit.block, &count))
		return mm_fail(err, MM_ERR_LIMIT,
					   "logistic regression workspace too large");
	block = mm_glm_alloc_doubles(count, err);
	if (block == NULL)
		return err ? err->status : MM_ERR_NOMEM;
	fit.eta = block;
	fit.work = fit.eta + X.n;
	fit.cbuf = fit.work + X.n;
	gscale = fit.cbuf + fit.block;
	theta = gscale + m;
	fit.z = theta + m;

	mm_glm_column_scales(&X, data->weights, gscale);
	memset(theta, 0, sizeof(double) * m);
	if (opt->fit_intercept)
	{
		gscale[X.p] = wsum;
		theta[X.p] = log(ybar) - log1p(-ybar);
	}

	memset(&pr, 0, sizeof(pr));
	pr.m = m;
	pr.ctx = &fit;
	pr.value = BinaryValue;
	pr.derivs = BinaryDerivs;
	pr.separated = (opt->l2 == 0.0 && opt->l1 == 0.0) ? BinarySeparated : NULL;
	pr.gscale = gscale;
	pr.l1 = opt->l1;
	pr.n_l1 = X.p;

	solver = mm_glm_pick_solver(opt, m);
	mm_glm_resolve_controls(opt, solver, &ctl);
	memset(&result, 0, sizeof(result));
	if (solver == MM_GLM_SOLVER_PROX_NEWTON)
		st = mm_glm_prox_newton(&pr, theta, &ctl, &result, err);
	else if (solver == MM_GLM_SOLVER_LBFGS)
		st = mm_glm_lbfgs(&pr, theta, &ctl, &result, err);
	else
		st = mm_glm_newton(&pr, theta, &ctl, &result, err);

	if (st == MM_OK)
	{
		if (X.p > 0)
			memcpy(coef, theta, sizeof(double) * X.p);
		*intercept = opt->fit_intercept ? theta[X.p] : 0.0;
		loss = BinaryLoss(&fit, theta, &result.saturated_rows);
		result.deviance = 2.0 * loss;
		if (opt->fit_intercept)
			result.null_deviance = -2.0 * wsum *
				(ybar * log(ybar) + (1.0 - ybar) * log1p(-ybar));
		else
			result.null_deviance = 2.0 * wsum * log(2.0);
		*info = result;
	}
	mm_free(block);
	return st;
}
