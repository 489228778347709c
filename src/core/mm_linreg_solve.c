/*
 * mm_linreg_solve.c
 *	  Solving a least-squares state: rank detection on the column-scaled R
 *	  (QR with column pivoting), the triangular solve with power-of-two column
 *	  scaling, ridge and no-intercept fits as one more dtpqrt update of a copy
 *	  of R, and the sums of squares of any linear model over a state.  The
 *	  state itself (folds, merges, serialization) is in mm_linreg.c.
 */
#include "mm_linreg.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "mm_lapack.h"
#include "mm_linreg_internal.h"

/*
 * A constant column centered on rounded means can keep noise of a few ulps
 * of its mean; a centered column norm below this many ulps (times sqrt(n))
 * counts as constant.
 */
#define CONSTANT_ULPS		16.0

/* Intercept, no penalty, the default rank tolerance. */
void
mm_linreg_default_options(mm_linreg_options *opt)
{
	opt->fit_intercept = true;
	opt->l2 = 0.0;
	opt->rank_tol = 0.0;
}

/*
 * Whether the means and the upper triangle of R are all finite.
 */
bool
mm_linreg_stats_finite(int32_t p, const double *mean, const double *R)
{
	int32_t		k = p + 1;
	int32_t		i,
				j;

	for (j = 0; j < k; j++)
	{
		if (!isfinite(mean[j]))
			return false;
		for (i = 0; i <= j; i++)
			if (!isfinite(R[(size_t) j * k + i]))
				return false;
	}
	return true;
}

/* The error for statistics that overflowed (or took in a NaN). */
mm_status
mm_linreg_fail_not_finite(mm_error *err)
{
	mm_fail(err, MM_ERR_DATA, "sums of squares are not finite");
	mm_error_detail(err,
					"Values are too large to square, or a row held NaN or Infinity.");
	return MM_ERR_DATA;
}

/*
 * Euclidean norm of v[0..n-1], scaled so that it neither overflows nor
 * underflows.
 */
static double
ScaledNorm(const double *v, int32_t n)
{
	double		big = 0.0;
	double		sum = 0.0;
	int32_t		i;

	for (i = 0; i < n; i++)
		if (fabs(v[i]) > big)
			big = fabs(v[i]);
	if (big == 0.0)
		return 0.0;
	for (i = 0; i < n; i++)
	{
		double		t = v[i] / big;

		sum += t * t;
	}
	return big * sqrt(sum);
}

/*
 * Rank check of the p x p triangle R (leading dimension ld) and the solve
 * R b = rhs.  Columns are scaled to unit norm and factored with column
 * pivoting; the first pivot position k with |t_kk| <= tol |t_11| makes the
 * design rank deficient, and its column is the one to drop.  A column of
 * zero norm (constant, with intercept) is reported directly; so is one whose
 * norm is rounding noise around its mean (means may be NULL).
 */
static mm_status
SolveChecked(int32_t p, const double *R, int32_t ld, const double *rhs,
			 int64_t n, const double *means, double tol, double *coef,
			 int32_t *bad_column, mm_error *err)
{
	size_t		count = (size_t) p * p + 2 * (size_t) p;
	double	   *buf;
	double	   *S;
	double	   *norm;
	double	   *tau;
	int32_t    *jpvt;
	int32_t		i,
				j;
	int32_t		zero_pivot;
	mm_status	st;

	buf = mm_alloc(count * sizeof(double) + (size_t) p * sizeof(int32_t));
	if (buf == NULL)
		return mm_fail(err, MM_ERR_NOMEM,
					   "out of memory solving a linear regression");
	S = buf;
	norm = S + (size_t) p * p;
	tau = norm + p;
	jpvt = (int32_t *) (tau + p);

	for (j = 0; j < p; j++)
	{
		norm[j] = ScaledNorm(R + (size_t) j * ld, j + 1);
		if (norm[j] == 0.0 ||
			(means != NULL &&
			 norm[j] <= CONSTANT_ULPS * DBL_EPSILON * sqrt((double) n) *
			 fabs(means[j])))
		{
			*bad_column = j;
			mm_fail(err, MM_ERR_DATA, "feature %d is constant", (int) j + 1);
			mm_error_detail(err, means != NULL ?
							"A constant feature is redundant with the intercept." :
							"The feature is zero in every row.");
			mm_free(buf);
			return MM_ERR_DATA;
		}
	}

	/* rank: pivoted QR of the column-scaled triangle */
	for (j = 0; j < p; j++)
	{
		for (i = 0; i <= j; i++)
			S[(size_t) j * p + i] = R[(size_t) j * ld + i] / norm[j];
		for (; i < p; i++)
			S[(size_t) j * p + i] = 0.0;
		jpvt[j] = 0;
	}
	st = mm_lapack_dgeqp3(p, p, S, p, jpvt, tau, err);
	if (st != MM_OK)
	{
		mm_free(buf);
		return st;
	}
	for (j = 0; j < p; j++)
	{
		if (!(fabs(S[(size_t) j * p + j]) > tol * fabs(S[0])))
		{
			*bad_column = jpvt[j] - 1;
			mm_fail(err, MM_ERR_DATA, "design matrix is rank deficient");
			mm_error_detail(err,
							"Feature %d is a linear combination of other features (relative tolerance %g on the column-scaled factor).",
							(int) jpvt[j], tol);
			mm_free(buf);
			return MM_ERR_DATA;
		}
	}

	/*
	 * Solve with columns scaled by powers of two near their norms (their
	 * exponents go where the pivots were): exact, so this is the plain back
	 * substitution, but safe from overflow and underflow.
	 */
	for (j = 0; j < p; j++)
	{
		jpvt[j] = ilogb(norm[j]);
		for (i = 0; i <= j; i++)
			S[(size_t) j * p + i] = scalbn(R[(size_t) j * ld + i], -jpvt[j]);
		for (; i < p; i++)
			S[(size_t) j * p + i] = 0.0;
		coef[j] = rhs[j];
	}
	st = mm_lapack_dtrtrs('U', 'N', p, 1, S, p, coef, p, &zero_pivot, err);
	if (st == MM_OK)
	{
		for (j = 0; j < p; j++)
			coef[j] = scalbn(coef[j], -jpvt[j]);
	}
	else if (st == MM_ERR_DATA)
		*bad_column = zero_pivot;
	mm_free(buf);
	return st;
}

/*
 * Coefficients from a flushed state; see mm_linreg.h.  Works on a copy of
 * R: without intercept it first becomes the uncentered R (one dtpqrt update
 * by sqrt(n) mean'), with ridge it is updated by sqrt(l2) [I 0], whose R'R
 * adds l2 to the diagonal of X'X and leaves the y column alone.
 */
mm_status
mm_linreg_solve(const mm_linreg_state *s, const mm_linreg_options *opt,
				double *coef, double *intercept, int32_t *bad_column,
				mm_error *err)
{
	mm_linreg_options defaults;
	int32_t		p = s->p;
	int32_t		k = MM_LINREG_K(s);
	int32_t		bad_dummy;
	int32_t		nparams;
	double		tol;
	const double *mean = MM_LINREG_MEAN(s);
	const double *Rs = MM_LINREG_R(s);
	double	   *buf;
	double	   *R;
	double	   *extra;
	size_t		count;
	int32_t		j;
	mm_status	st = MM_OK;

	if (opt == NULL)
	{
		mm_linreg_default_options(&defaults);
		opt = &defaults;
	}
	if (bad_column == NULL)
		bad_column = &bad_dummy;
	*bad_column = -1;
	*intercept = 0.0;

	if (!isfinite(opt->l2) || opt->l2 < 0.0)
		return mm_fail(err, MM_ERR_INVALID,
					   "l2 must be a finite number >= 0");
	if (isnan(opt->rank_tol) || opt->rank_tol >= 1.0)
		return mm_fail(err, MM_ERR_INVALID,
					   "rank tolerance must be below 1");
	tol = opt->rank_tol > 0.0 ? opt->rank_tol : MM_LINREG_RANK_TOL;
	if (s->block_n != 0)
		return mm_fail(err, MM_ERR_INVALID,
					   "linear regression state has pending rows");

	if (s->n == 0)
		return mm_fail(err, MM_ERR_DATA, "no rows to fit the model on");
	nparams = p + (opt->fit_intercept ? 1 : 0);
	if (opt->l2 == 0.0 && s->n < nparams)
	{
		mm_fail(err, MM_ERR_DATA, "not enough rows to fit the model");
		mm_error_detail(err, "%lld rows for %d parameters.",
						(long long) s->n, (int) nparams);
		return MM_ERR_DATA;
	}
	if (!mm_linreg_stats_finite(s->p, mean, Rs))
		return mm_linreg_fail_not_finite(err);

	/* copy of R, then p x k rows for a ridge or no-intercept update */
	count = (size_t) k * k + (size_t) p * k + mm_lapack_dtpqrt_work_size(k);
	buf = mm_alloc(count * sizeof(double));
	if (buf == NULL)
		return mm_fail(err, MM_ERR_NOMEM,
					   "out of memory solving a linear regression");
	R = buf;
	extra = R + (size_t) k * k;
	memcpy(R, Rs, (size_t) k * k * sizeof(double));

	if (!opt->fit_intercept)
	{
		double		root_n = sqrt((double) s->n);

		for (j = 0; j < k; j++)
			extra[j] = root_n * mean[j];
		st = mm_lapack_dtpqrt(1, k, 0, R, k, extra, 1,
							  extra + (size_t) p * k, err);
	}

	if (st == MM_OK && opt->l2 > 0.0)
	{
		double		root_l2 = sqrt(opt->l2);
		int32_t		zero_pivot;

		memset(extra, 0, (size_t) p * k * sizeof(double));
		for (j = 0; j < p; j++)
			extra[(size_t) j * p + j] = root_l2;
		st = mm_lapack_dtpqrt(p, k, 0, R, k, extra, p,
							  extra + (size_t) p * k, err);
		if (st == MM_OK)
		{
			memcpy(coef, R + (size_t) p * k, (size_t) p * sizeof(double));
			st = mm_lapack_dtrtrs('U', 'N', p, 1, R, k, coef, p, &zero_pivot,
								  err);
			if (st == MM_ERR_DATA)
				*bad_column = zero_pivot;
		}
	}
	else if (st == MM_OK)
		st = SolveChecked(p, R, k, R + (size_t) p * k, s->n,
						  opt->fit_intercept ? mean : NULL, tol, coef,
						  bad_column, err);
	mm_free(buf);
	if (st != MM_OK)
		return st;

	if (opt->fit_intercept)
	{
		double		b0 = mean[p];

		for (j = 0; j < p; j++)
			b0 -= mean[j] * coef[j];
		*intercept = b0;
	}
	return MM_OK;
}

/*
 * ||R [coef; -1]||^2 + n (mean_x'coef + intercept - mean_y)^2: the squared
 * residuals about the means plus the offset of the mean residual.
 */
double
mm_linreg_sse(const mm_linreg_state *s, const double *coef, double intercept)
{
	int32_t		p = s->p;
	int32_t		k = MM_LINREG_K(s);
	const double *mean = MM_LINREG_MEAN(s);
	const double *R = MM_LINREG_R(s);
	double		sse = 0.0;
	double		offset = intercept - mean[p];
	int32_t		i,
				j;

	for (i = 0; i < k; i++)
	{
		double		v = -R[(size_t) p * k + i];

		for (j = i; j < p; j++)
			v += R[(size_t) j * k + i] * coef[j];
		sse += v * v;
	}
	for (j = 0; j < p; j++)
		offset += mean[j] * coef[j];
	return sse + (double) s->n * offset * offset;
}

/* The y column of R holds the centered y's norm: sum of its squares. */
double
mm_linreg_sst(const mm_linreg_state *s)
{
	int32_t		p = s->p;
	int32_t		k = MM_LINREG_K(s);
	const double *ycol = MM_LINREG_R(s) + (size_t) p * k;
	double		sst = 0.0;
	int32_t		i;

	for (i = 0; i < k; i++)
		sst += ycol[i] * ycol[i];
	return sst;
}
