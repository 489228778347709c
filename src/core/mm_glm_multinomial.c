/*
 * mm_glm_multinomial.c
 *	  Multinomial (softmax) logistic regression with an l2 penalty.  See
 *	  mm_glm.h for the objective and the conventions.
 *
 * The loss does not change when a vector is added to every class's
 * parameters, so the K x (p + 1) parameters W have a singular Hessian.  The
 * solvers work instead on theta, (K - 1) x P (P = p + fit_intercept,
 * row-major, the intercept last in each row), with W = Q theta for Q the K x
 * (K - 1) Helmert basis of the vectors that sum to zero (orthonormal
 * columns, Q^T 1 = 0).  Then ||W||_F = ||theta||_F, so the penalty keeps its
 * form; the optimum of the penalized problem has sum_k W_k = 0 anyway, and
 * sum_k b_k = 0 is the normalization we promise.  The Hessian in theta is
 *	   H[(a, j), (c, l)] = sum_i w_i C_i[a, c] x_ij x_il + l2 [a = c, j = l < p]
 *	   C_i = Q^T (diag(pi_i) - pi_i pi_i^T) Q
 * accumulated in row blocks, one dgemm per pair a <= c.
 */
#include "mm_glm_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "mm_lapack.h"

/* separation certificate tolerances (mm_glm.h), as for the binary model */
#define SEPARATION_REL_TOL 1e-6
#define SEPARATION_MIN_MOVE 1e-3

typedef struct SoftmaxFit
{
	mm_glm_design X;
	const int32_t *y;
	const double *w;			/* NULL: unit weights */
	double		l2;
	bool		fit_intercept;
	int32_t		K;				/* classes */
	int32_t		Km1;			/* K - 1 */
	int32_t		P;				/* p + fit_intercept */
	int32_t		m;				/* (K - 1) P */
	int32_t		block;			/* rows per Hessian block */
	double	   *Q;				/* K x (K - 1), row-major */
	double	   *W;				/* K x P, row-major: Q theta */
	double	   *GW;				/* K x P: gradient in W */
	double	   *E;				/* n x K: predictors, then probabilities */
	double	   *R;				/* n x K: residuals, scratch */
	double	   *z;				/* block x p */
	double	   *U;				/* block x (K - 1): Q^T pi_i */
	double	   *cbuf;			/* block */
} SoftmaxFit;

bool
mm_glm_multinomial_doubles(int32_t n, int32_t p, int32_t n_classes,
						   int32_t block, size_t *count)
{
	size_t		K = (size_t) n_classes,
				P = (size_t) p + 1,
				c,
				t;

	/* Q, W, GW */
	if (!mm_size_mul(K, K + 2 * P, &c))
		return false;
	/* E, R */
	if (!mm_size_mul((size_t) n, 2 * K, &t) || !mm_size_add(c, t, &c))
		return false;
	/* z, U, cbuf */
	if (!mm_size_mul((size_t) block, (size_t) p + K + 1, &t) ||
		!mm_size_add(c, t, &c))
		return false;
	/* gscale and theta */
	if (!mm_size_mul(K, 2 * P, &t) || !mm_size_add(c, t, &c))
		return false;
	*count = c;
	return true;
}

/* The Helmert basis: column a is (1, .., 1, -(a + 1), 0, ..) normalized */
static void
HelmertBasis(int32_t K, double *Q)
{
	int32_t		Km1 = K - 1;
	int32_t		a,
				k;

	memset(Q, 0, sizeof(double) * (size_t) K * Km1);
	for (a = 0; a < Km1; a++)
	{
		double		norm = 1.0 / sqrt((double) (a + 1) * (double) (a + 2));

		for (k = 0; k <= a; k++)
			Q[(size_t) k * Km1 + a] = norm;
		Q[(size_t) (a + 1) * Km1 + a] = -(double) (a + 1) * norm;
	}
}

/* W = Q theta */
static void
ThetaToW(const SoftmaxFit *fit, const double *theta, double *W)
{
	int32_t		K = fit->K,
				Km1 = fit->Km1,
				P = fit->P;
	int32_t		k,
				a,
				j;

	for (k = 0; k < K; k++)
	{
		double	   *wk = W + (size_t) k * P;

		for (j = 0; j < P; j++)
			wk[j] = 0.0;
		for (a = 0; a < Km1; a++)
		{
			double		q = fit->Q[(size_t) k * Km1 + a];
			const double *ta = theta + (size_t) a * P;

			if (q == 0.0)
				continue;
			for (j = 0; j < P; j++)
				wk[j] += q * ta[j];
		}
	}
}

/* out (n x K) = predictors of the K x P parameters W */
static void
Predictors(const SoftmaxFit *fit, const double *W, double *out)
{
	const mm_glm_design *X = &fit->X;
	int32_t		K = fit->K,
				P = fit->P,
				p = X->p;
	int32_t		i,
				k;

	if (p > 0)
		mm_blas_dgemm('T', X->row_major ? 'N' : 'T', K, X->n, p, 1.0, W, P,
					  X->x, X->ldx, 0.0, out, K);
	else
		memset(out, 0, sizeof(double) * (size_t) X->n * K);
	if (fit->fit_intercept)
		for (i = 0; i < X->n; i++)
			for (k = 0; k < K; k++)
				out[(size_t) i * K + k] += W[(size_t) k * P + p];
}

/*
 * Weighted loss sum at theta, leaving the predictors in E.  Each row's loss
 * is (max - eta_y) + log1p(sum over the other classes of exp(eta_k - max)),
 * accurate also when it is tiny.  With probabilities, E receives softmax.
 * With saturated, rows whose label's probability is numerically 0 or 1 are
 * counted.
 */
static double
SoftmaxLoss(SoftmaxFit *fit, const double *theta, bool probabilities,
			int32_t *saturated)
{
	int32_t		K = fit->K;
	mm_glm_sum loss = {0.0, 0.0};
	int32_t		i,
				k;

	ThetaToW(fit, theta, fit->W);
	Predictors(fit, fit->W, fit->E);
	for (i = 0; i < fit->X.n; i++)
	{
		double	   *e = fit->E + (size_t) i * K;
		int32_t		kmax = 0;
		double		rest = 0.0,
					l;

		for (k = 1; k < K; k++)
			if (e[k] > e[kmax])
				kmax = k;
		for (k = 0; k < K; k++)
			if (k != kmax)
				rest += exp(e[k] - e[kmax]);
		l = (e[kmax] - e[fit->y[i]]) + log1p(rest);
		mm_glm_sum_add(&loss, fit->w ? fit->w[i] * l : l);
		if (saturated && mm_glm_saturated(l))
			(*saturated)++;
		if (probabilities)
		{
			double		top = e[kmax];

			for (k = 0; k < K; k++)
				e[k] = exp(e[k] - top) / (1.0 + rest);
		}
	}
	return mm_glm_sum_value(&loss);
}

static double
PenaltyTerm(const SoftmaxFit *fit, const double *theta)
{
	double		s = 0.0;
	int32_t		a,
				j;

	if (fit->l2 == 0.0)
		return 0.0;
	for (a = 0; a < fit->Km1; a++)
		for (j = 0; j < fit->X.p; j++)
		{
			double		v = theta[(size_t) a * fit->P + j];

			s += v * v;
		}
	return 0.5 * fit->l2 * s;
}

static mm_status
SoftmaxValue(void *ctx, const double *theta, double *f, mm_error *err)
{
	SoftmaxFit *fit = ctx;

	(void) err;
	*f = SoftmaxLoss(fit, theta, false, NULL) + PenaltyTerm(fit, theta);
	return MM_OK;
}

/* Hessian weight of row r of the block for the pair (a, c) */
static inline double
PairWeight(const SoftmaxFit *fit, const double *pi, const double *u, int32_t a,
		   int32_t c)
{
	int32_t		Km1 = fit->Km1;
	double		s = 0.0;
	int32_t		k;

	/* Helmert columns a and c are zero below rows a + 1 and c + 1 */
	for (k = 0; k <= (a > c ? a : c) + 1; k++)
		s += fit->Q[(size_t) k * Km1 + a] * fit->Q[(size_t) k * Km1 + c] * pi[k];
	return s - u[a] * u[c];
}

/* Accumulate the Hessian (upper triangle) from E = probabilities */
static mm_status
SoftmaxHessian(SoftmaxFit *fit, double *hess, mm_error *err)
{
	const mm_glm_design *X = &fit->X;
	int32_t		n = X->n,
				p = X->p,
				K = fit->K,
				Km1 = fit->Km1,
				P = fit->P,
				m = fit->m;
	int32_t		i0,
				blocks = 0,
				a,
				c,
				j,
				r,
				k;

	memset(hess, 0, sizeof(double) * (size_t) m * m);
	for (i0 = 0; i0 < n; i0 += fit->block)
	{
		int32_t		rows = n - i0 < fit->block ? n - i0 : fit->block;

		if (++blocks % MM_GLM_POLL_BLOCKS == 0 && mm_should_stop())
			return mm_fail(err, MM_ERR_INTERRUPTED,
						   "logistic regression interrupted");
		for (r = 0; r < rows; r++)
		{
			const double *pi = fit->E + (size_t) (i0 + r) * K;

			for (a = 0; a < Km1; a++)
			{
				double		s = 0.0;

				for (k = 0; k < K; k++)
					s += fit->Q[(size_t) k * Km1 + a] * pi[k];
				fit->U[(size_t) r * Km1 + a] = s;
			}
		}
		for (a = 0; a < Km1; a++)
			for (c = a; c < Km1; c++)
			{
				double	   *blk = hess + (size_t) c * P * m + (size_t) a * P;
				double		csum = 0.0;

				for (r = 0; r < rows; r++)
				{
					int32_t		i = i0 + r;
					double		v = PairWeight(fit, fit->E + (size_t) i * K,
											   fit->U + (size_t) r * Km1, a, c);

					fit->cbuf[r] = fit->w ? fit->w[i] * v : v;
					csum += fit->cbuf[r];
				}
				if (p > 0)
				{
					mm_glm_design_scale_rows(X, i0, rows, fit->cbuf, fit->z);
					mm_glm_design_gemm_block(X, i0, rows, fit->z, blk, m);
				}
				if (fit->fit_intercept)
				{
					double	   *col = blk + (size_t) p * m;

					if (p > 0)
					{
						if (X->row_major)
							mm_blas_dgemv('N', p, rows, 1.0,
										  X->x + (size_t) i0 * X->ldx, X->ldx,
										  fit->cbuf, 1, 1.0, col, 1);
						else
							mm_blas_dgemv('T', rows, p, 1.0, X->x + i0, X->ldx,
										  fit->cbuf, 1, 1.0, col, 1);
					}
					col[p] += csum;
				}
			}
	}

	for (a = 0; a < Km1; a++)
	{
		for (j = 0; j < p; j++)
		{
			size_t		d = (size_t) a * P + j;

			hess[d * m + d] += fit->l2;
		}
		/* intercept row of the off-diagonal blocks, by symmetry */
		if (fit->fit_intercept)
			for (c = a + 1; c < Km1; c++)
				for (j = 0; j < p; j++)
					hess[((size_t) c * P + j) * m + (size_t) a * P + p] =
						hess[((size_t) c * P + p) * m + (size_t) a * P + j];
	}
	return MM_OK;
}

/* The Hessian diagonal, for L-BFGS's preconditioning (R is scratch) */
static void
SoftmaxHessianDiagonal(SoftmaxFit *fit, double *hdiag)
{
	const mm_glm_design *X = &fit->X;
	int32_t		K = fit->K,
				Km1 = fit->Km1,
				P = fit->P,
				p = X->p;
	int32_t		a,
				i,
				j,
				k;

	for (a = 0; a < Km1; a++)
	{
		double		csum = 0.0;

		for (i = 0; i < X->n; i++)
		{
			const double *pi = fit->E + (size_t) i * K;
			double		ua = 0.0,
						s = 0.0;

			for (k = 0; k < K; k++)
			{
				double		q = fit->Q[(size_t) k * Km1 + a];

				ua += q * pi[k];
				s += q * q * pi[k];
			}
			fit->R[i] = (s - ua * ua) * (fit->w ? fit->w[i] : 1.0);
			csum += fit->R[i];
		}
		mm_glm_design_sq_tmul(X, fit->R, hdiag + (size_t) a * P);
		for (j = 0; j < p; j++)
			hdiag[(size_t) a * P + j] += fit->l2;
		if (fit->fit_intercept)
			hdiag[(size_t) a * P + p] = csum;
	}
}

static mm_status
SoftmaxDerivs(void *ctx, const double *theta, double *f, double *g,
			  double *hess, double *hdiag, mm_error *err)
{
	SoftmaxFit *fit = ctx;
	const mm_glm_design *X = &fit->X;
	int32_t		n = X->n,
				p = X->p,
				K = fit->K,
				Km1 = fit->Km1,
				P = fit->P;
	int32_t		i,
				k,
				a,
				j;

	*f = SoftmaxLoss(fit, theta, true, NULL) + PenaltyTerm(fit, theta);

	for (i = 0; i < n; i++)
	{
		const double *pi = fit->E + (size_t) i * K;
		double	   *r = fit->R + (size_t) i * K;
		double		wi = fit->w ? fit->w[i] : 1.0;

		for (k = 0; k < K; k++)
			r[k] = wi * (pi[k] - (k == fit->y[i] ? 1.0 : 0.0));
	}
	if (p > 0)
		mm_blas_dgemm(X->row_major ? 'N' : 'T', 'T', p, K, n, 1.0, X->x,
					  X->ldx, fit->R, K, 0.0, fit->GW, P);
	if (fit->fit_intercept)
		for (k = 0; k < K; k++)
		{
			mm_glm_sum s = {0.0, 0.0};

			for (i = 0; i < n; i++)
				mm_glm_sum_add(&s, fit->R[(size_t) i * K + k]);
			fit->GW[(size_t) k * P + p] = mm_glm_sum_value(&s);
		}
	for (a = 0; a < Km1; a++)
		for (j = 0; j < P; j++)
		{
			double		s = j < p ? fit->l2 * theta[(size_t) a * P + j] : 0.0;

			for (k = 0; k < K; k++)
				s += fit->Q[(size_t) k * Km1 + a] * fit->GW[(size_t) k * P + j];
			g[(size_t) a * P + j] = s;
		}

	if (hdiag != NULL)
		SoftmaxHessianDiagonal(fit, hdiag);
	if (hess != NULL)
		return SoftmaxHessian(fit, hess, err);
	return MM_OK;
}

/*
 * Separation certificate: along the direction, for every row the true
 * class's predictor rises at least as much as every other class's (within a
 * relative SEPARATION_REL_TOL), and some difference moves by
 * SEPARATION_MIN_MOVE.
 */
static mm_status
SoftmaxSeparated(void *ctx, const double *direction, bool *result,
				 mm_error *err)
{
	SoftmaxFit *fit = ctx;
	int32_t		K = fit->K;
	double		smax = 0.0,
				smin = 0.0;
	int32_t		i,
				k;

	(void) err;
	ThetaToW(fit, direction, fit->W);
	Predictors(fit, fit->W, fit->R);
	for (i = 0; i < fit->X.n; i++)
	{
		const double *d = fit->R + (size_t) i * K;

		if (fit->w && fit->w[i] == 0.0)
			continue;
		for (k = 0; k < K; k++)
		{
			double		s = d[fit->y[i]] - d[k];

			if (k == fit->y[i])
				continue;
			if (fabs(s) > smax)
				smax = fabs(s);
			if (s < smin)
				smin = s;
		}
	}
	*result = smax > SEPARATION_MIN_MOVE && smin >= -SEPARATION_REL_TOL * smax;
	return MM_OK;
}

mm_status
mm_glm_multinomial_fit(const mm_glm_data *data, const int32_t *y,
					   int32_t n_classes, const mm_glm_options *opt,
					   double *coef, double *intercept, mm_glm_info *info,
					   mm_error *err)
{
	mm_glm_options def;
	mm_glm_design X;
	SoftmaxFit	fit;
	mm_glm_problem pr;
	mm_glm_controls ctl;
	mm_glm_solver solver;
	mm_glm_info result;
	double		wsum,
				null_loss = 0.0,
				logmean = 0.0;
	double	   *block = NULL,
			   *gscale,
			   *theta,
			   *class_w;
	size_t		count,
				mz;
	int32_t		i,
				k,
				a,
				j,
				K = n_classes;
	mm_status	st;

	if (opt == NULL)
	{
		mm_glm_options_default(&def);
		opt = &def;
	}
	if (opt->l1 != 0.0)
		return mm_fail(err, MM_ERR_UNSUPPORTED,
					   "the multinomial model supports only an l2 penalty");
	st = mm_glm_check_input(data, opt, &X, &wsum, err);
	if (st != MM_OK)
		return st;
	if (y == NULL || (coef == NULL && X.p > 0) || intercept == NULL ||
		info == NULL)
		return mm_fail(err, MM_ERR_INVALID, "missing argument");
	if (K < 2)
		return mm_fail(err, MM_ERR_INVALID,
					   "multinomial regression needs at least 2 classes, not %d",
					   (int) K);

	memset(&fit, 0, sizeof(fit));
	fit.X = X;
	fit.y = y;
	fit.w = data->weights;
	fit.l2 = opt->l2;
	fit.fit_intercept = opt->fit_intercept;
	fit.K = K;
	fit.Km1 = K - 1;
	fit.P = X.p + (opt->fit_intercept ? 1 : 0);
	if (fit.P == 0)
		return mm_fail(err, MM_ERR_INVALID,
					   "nothing to fit: no features and no intercept");
	if (!mm_size_mul((size_t) fit.Km1, (size_t) fit.P, &mz) || mz > INT32_MAX)
		return mm_fail(err, MM_ERR_LIMIT,
					   "too many parameters: %d classes and %d features",
					   (int) K, (int) X.p);
	fit.m = (int32_t) mz;
	fit.block = mm_glm_block_rows(&X);
	if (!mm_glm_multinomial_doubles(X.n, X.p, K, fit.block, &count))
		return mm_fail(err, MM_ERR_LIMIT,
					   "logistic regression workspace too large");
	block = mm_glm_alloc_doubles(count, err);
	if (block == NULL)
		return err ? err->status : MM_ERR_NOMEM;
	fit.Q = block;
	fit.W = fit.Q + (size_t) K * fit.Km1;
	fit.GW = fit.W + (size_t) K * fit.P;
	fit.E = fit.GW + (size_t) K * fit.P;
	fit.R = fit.E + (size_t) X.n * K;
	fit.z = fit.R + (size_t) X.n * K;
	fit.U = fit.z + (size_t) fit.block * X.p;
	fit.cbuf = fit.U + (size_t) fit.block * fit.Km1;
	gscale = fit.cbuf + fit.block;
	theta = gscale + fit.m;
	/* class weights: scratch in GW until the first evaluation */
	class_w = fit.GW;

	/* labels, and the weight of every class */
	memset(class_w, 0, sizeof(double) * K);
	for (i = 0; i < X.n; i++)
	{
		if (y[i] < 0 || y[i] >= K)
		{
			mm_fail(err, MM_ERR_DATA, "label of row %d is %d, not in 0..%d",
					(int) i + 1, (int) y[i], (int) K - 1);
			goto fail;
		}
		class_w[y[i]] += data->weights ? data->weights[i] : 1.0;
	}
	for (k = 0; k < K; k++)
		if (!(class_w[k] > 0.0))
		{
			mm_fail(err, MM_ERR_DATA, "class %d has no rows", (int) k);
			mm_error_detail(err, "Every class of a multinomial model needs rows with a positive weight.");
			goto fail;
		}

	HelmertBasis(K, fit.Q);
	mm_glm_column_scales(&X, data->weights, gscale);
	for (a = 1; a < fit.Km1; a++)
		memcpy(gscale + (size_t) a * fit.P, gscale, sizeof(double) * X.p);
	memset(theta, 0, sizeof(double) * fit.m);
	if (opt->fit_intercept)
	{
		/* start at the intercept-only optimum: b_k = log of the share */
		for (k = 0; k < K; k++)
		{
			double		share = class_w[k] / wsum;

			null_loss -= class_w[k] * log(share);
			logmean += log(share) / K;
		}
		for (a = 0; a < fit.Km1; a++)
		{
			double		s = 0.0;

			for (k = 0; k < K; k++)
				s += fit.Q[(size_t) k * fit.Km1 + a] *
					(log(class_w[k] / wsum) - logmean);
			theta[(size_t) a * fit.P + X.p] = s;
			gscale[(size_t) a * fit.P + X.p] = wsum;
		}
	}
	else
		null_loss = wsum * log((double) K);

	memset(&pr, 0, sizeof(pr));
	pr.m = fit.m;
	pr.ctx = &fit;
	pr.value = SoftmaxValue;
	pr.derivs = SoftmaxDerivs;
	pr.separated = opt->l2 == 0.0 ? SoftmaxSeparated : NULL;
	pr.gscale = gscale;

	solver = mm_glm_pick_solver(opt, fit.m);
	mm_glm_resolve_controls(opt, solver, &ctl);
	memset(&result, 0, sizeof(result));
	if (solver == MM_GLM_SOLVER_LBFGS)
		st = mm_glm_lbfgs(&pr, theta, &ctl, &result, err);
	else
		st = mm_glm_newton(&pr, theta, &ctl, &result, err);

	if (st == MM_OK)
	{
		result.deviance = 2.0 * SoftmaxLoss(&fit, theta, false,
											   &result.saturated_rows);
		result.null_deviance = 2.0 * null_loss;
		ThetaToW(&fit, theta, fit.W);
		for (k = 0; k < K; k++)
		{
			for (j = 0; j < X.p; j++)
				coef[(size_t) k * X.p + j] = fit.W[(size_t) k * fit.P + j];
			intercept[k] = opt->fit_intercept ?
				fit.W[(size_t) k * fit.P + X.p] : 0.0;
		}
		*info = result;
	}
	mm_free(block);
	return st;

fail:
	mm_free(block);
	return MM_ERR_DATA;
}
