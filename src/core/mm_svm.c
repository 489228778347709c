/*
 * mm_svm.c
 *	  The L2-regularized linear SVM by dual coordinate descent, binary or
 *	  one-vs-rest.  See mm_svm.h for the objective and conventions; the
 *	  comments here are about the how.
 */
#include "mm_svm.h"

#include <math.h>
#include <string.h>

/* LIBLINEAR skips a coordinate whose projected gradient is below this. */
#define SVM_PG_EPS			1.0e-12

/* scikit-learn's LinearSVC defaults (random_state aside). */
void
mm_svm_default_options(mm_svm_options *opt)
{
	opt->C = 1.0;
	opt->loss = MM_SVM_SQUARED_HINGE;
	opt->tol = 1e-4;
	opt->max_iter = 1000;
	opt->fit_intercept = true;
	opt->intercept_scaling = 1.0;
	opt->seed = 0;
}

int32_t
mm_svm_n_models(int32_t n_classes)
{
	return n_classes == 2 ? 1 : n_classes;
}

/*
 * splitmix64 (Steele, Lea and Flood 2014): a 64-bit state, the same stream
 * on every platform.
 */
typedef struct CdRandom
{
	uint64_t	state;
} CdRandom;

static uint64_t
RandomNext(CdRandom *r)
{
	uint64_t	z = (r->state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in [0, bound), bound >= 1, without modulo bias. */
static uint64_t
RandomBelow(CdRandom *r, uint64_t bound)
{
	uint64_t	threshold = (UINT64_C(0) - bound) % bound;

	for (;;)
	{
		uint64_t	x = RandomNext(r);

		if (x >= threshold)
			return x % bound;
	}
}

/* The work arrays of one fit, shared by the one-vs-rest models. */
typedef struct SvmWork
{
	const double *X;
	int64_t		n;
	int32_t		d;
	double		bias;			/* the constant feature, 0 without one */
	double	   *sqnorm;			/* ||x_i||^2 + bias^2 */
	double	   *alpha;			/* dual variables */
	int64_t    *index;			/* coordinate order, active set first */
	int8_t	   *y;				/* +1 / -1 */
	double	   *w;				/* d weights, then the bias weight */
	CdRandom	random;
} SvmWork;

/* x_i'w plus the constant feature's term */
static inline double
RowDot(const SvmWork *wk, int64_t i)
{
	const double *x = wk->X + (size_t) i * wk->d;
	double		v = wk->bias * wk->w[wk->d];
	int32_t		j;

	for (j = 0; j < wk->d; j++)
		v += x[j] * wk->w[j];
	return v;
}

/* w += a x_i (and the constant feature) */
static inline void
RowAxpy(SvmWork *wk, int64_t i, double a)
{
	const double *x = wk->X + (size_t) i * wk->d;
	int32_t		j;

	for (j = 0; j < wk->d; j++)
		wk->w[j] += a * x[j];
	wk->w[wk->d] += a * wk->bias;
}

/*
 * One binary problem with labels wk->y: LIBLINEAR's solve_l2r_l1l2_svc.
 * The dual is
 *	   min_a (1/2) a'Q a - e'a,  0 <= a_i <= U,  Q_ij = y_i y_j x_i'x_j + D_ii
 * with U = C, D = 0 for the hinge and U = inf, D = 1 / (2C) for the squared
 * hinge; w = sum a_i y_i x_i is kept along.  Each sweep visits the active
 * coordinates in a shuffled order, takes the exact minimizing step of each,
 * and drops from the active set the ones stuck at a bound whose gradient
 * points outward beyond last sweep's extremes (shrinking).  When the
 * projected gradients span less than tol on the active set, the whole set is
 * checked once more before stopping.
 */
static mm_status
SolveBinary(SvmWork *wk, const mm_svm_options *opt, int32_t *n_iter,
			bool *converged, double *spread, mm_error *err)
{
	int64_t		n = wk->n;
	int64_t		active = n;
	double		diag = opt->loss == MM_SVM_HINGE ? 0.0 : 0.5 / opt->C;
	double		upper = opt->loss == MM_SVM_HINGE ? opt->C : INFINITY;
	double		pg_max_old = INFINITY;
	double		pg_min_old = -INFINITY;
	int32_t		iter = 0;
	int64_t		i,
				s;

	*converged = false;
	*spread = INFINITY;
	for (i = 0; i < n; i++)
	{
		wk->alpha[i] = 0.0;
		wk->index[i] = i;
	}
	memset(wk->w, 0, ((size_t) wk->d + 1) * sizeof(double));

	while (iter < opt->max_iter)
	{
		double		pg_max_new = -INFINITY;
		double		pg_min_new = INFINITY;

		if (mm_should_stop())
			return mm_fail(err, MM_ERR_INTERRUPTED,
						   "linear svm fit interrupted");
		mm_report_progress(iter + 1, NAN);

		for (s = 0; s < active; s++)
		{
			int64_t		t = s + (int64_t) RandomBelow(&wk->random,
													  (uint64_t) (active - s));
			int64_t		tmp = wk->index[s];

			wk->index[s] = wk->index[t];
			wk->index[t] = tmp;
		}

		for (s = 0; s < active; s++)
		{
			double		yi;
			double		G;
			double		PG = 0.0;
			double		qd;

			i = wk->index[s];
			yi = wk->y[i];
			G = yi * RowDot(wk, i) - 1.0 + wk->alpha[i] * diag;

			if (wk->alpha[i] == 0.0)
			{
				if (G > pg_max_old)
				{
					/* at the lower bound and staying: shrink */
					active--;
					wk->index[s] = wk->index[active];
					wk->index[active] = i;
					s--;
					continue;
				}
				else if (G < 0.0)
					PG = G;
			}
			else if (wk->alpha[i] == upper)
			{
				if (G < pg_min_old)
				{
					active--;
					wk->index[s] = wk->index[active];
					wk->index[active] = i;
					s--;
					continue;
				}
				else if (G > 0.0)
					PG = G;
			}
			else
				PG = G;

			if (PG > pg_max_new)
				pg_max_new = PG;
			if (PG < pg_min_new)
				pg_min_new = PG;

			if (fabs(PG) > SVM_PG_EPS)
			{
				double		a_old = wk->alpha[i];
				double		a_new;

				qd = wk->sqnorm[i] + diag;
				if (qd > 0.0)
				{
					a_new = a_old - G / qd;
					if (a_new < 0.0)
						a_new = 0.0;
					if (a_new > upper)
						a_new = upper;
				}
				else
				{
					/* x_i = 0 under the hinge: the dual is linear in a_i */
					a_new = G < 0.0 ? upper : 0.0;
				}
				wk->alpha[i] = a_new;
				if (a_new != a_old)
					RowAxpy(wk, i, (a_new - a_old) * yi);
			}
		}

		iter++;
		*spread = pg_max_new - pg_min_new;
		if (*spread <= opt->tol)
		{
			if (active == n)
			{
				*converged = true;
				break;
			}
			/* converged on the active set: check every coordinate */
			active = n;
			pg_max_old = INFINITY;
			pg_min_old = -INFINITY;
			continue;
		}
		pg_max_old = pg_max_new > 0.0 ? pg_max_new : INFINITY;
		pg_min_old = pg_min_new < 0.0 ? pg_min_new : -INFINITY;
	}
	*n_iter = iter;
	return MM_OK;
}

/* sqnorm, alpha, index: 8 bytes a row; y: 1; w: d + 1; class counts */
size_t
mm_svm_work_bytes(int64_t n, int32_t d, int32_t n_classes)
{
	size_t		rows;
	size_t		bytes;

	if (n < 0 || d < 0 || n_classes < 0 ||
		!mm_size_mul((size_t) n, 3 * sizeof(double) + 1, &rows) ||
		!mm_size_add(rows, ((size_t) d + 1) * sizeof(double), &bytes) ||
		!mm_size_add(bytes, (size_t) n_classes * sizeof(int64_t), &bytes))
		return 0;
	return bytes;
}

static mm_status
CheckSvmOptions(const mm_svm_options *opt, mm_error *err)
{
	if (!isfinite(opt->C) || !(opt->C > 0.0))
		return mm_fail(err, MM_ERR_INVALID, "C must be a finite number > 0");
	if (opt->loss != MM_SVM_SQUARED_HINGE && opt->loss != MM_SVM_HINGE)
		return mm_fail(err, MM_ERR_INVALID, "unknown svm loss %d",
					   (int) opt->loss);
	if (!isfinite(opt->tol) || !(opt->tol > 0.0))
		return mm_fail(err, MM_ERR_INVALID,
					   "tol must be a finite number > 0");
	if (opt->max_iter < 1)
		return mm_fail(err, MM_ERR_INVALID, "max_iter must be at least 1");
	if (opt->fit_intercept &&
		(!isfinite(opt->intercept_scaling) || !(opt->intercept_scaling > 0.0)))
		return mm_fail(err, MM_ERR_INVALID,
					   "intercept_scaling must be a finite number > 0");
	return MM_OK;
}

/*
 * Labels in range, at least two classes, every class present (counts
 * classes into the caller's array of n_classes slots).
 */
static mm_status
CheckLabels(const int32_t *label, int64_t n, int32_t n_classes,
			int64_t *counts, mm_error *err)
{
	int32_t		present = 0;
	int32_t		missing = -1;
	int32_t		c;
	int64_t		i;

	for (c = 0; c < n_classes; c++)
		counts[c] = 0;
	for (i = 0; i < n; i++)
	{
		if (label[i] < 0 || label[i] >= n_classes)
			return mm_fail(err, MM_ERR_INVALID,
						   "class index %d of row %lld is out of range",
						   (int) label[i], (long long) i + 1);
		counts[label[i]]++;
	}
	for (c = 0; c < n_classes; c++)
	{
		if (counts[c] > 0)
			present++;
		else if (missing < 0)
			missing = c;
	}
	if (present < 2)
	{
		mm_fail(err, MM_ERR_DATA, "training rows hold only one class");
		mm_error_detail(err,
						"A classifier needs rows of at least two classes.");
		return MM_ERR_DATA;
	}
	if (missing >= 0)
		return mm_fail(err, MM_ERR_DATA, "class %d has no training rows",
					   (int) missing);
	return MM_OK;
}

mm_status
mm_svm_fit(const double *X, int64_t n, int32_t d, const int32_t *label,
		   int32_t n_classes, const mm_svm_options *opt, double *coef,
		   double *intercept, mm_cd_info *info, mm_error *err)
{
	SvmWork		wk;
	int64_t    *counts;
	int32_t		n_models;
	int32_t		m;
	int64_t		i;
	size_t		nn;
	size_t		bytes;
	mm_status	st;

	if (info != NULL)
	{
		info->n_iter = 0;
		info->converged = false;
		info->dual_gap = 0.0;
	}
	st = CheckSvmOptions(opt, err);
	if (st != MM_OK)
		return st;
	if (n_classes == 1)
		return mm_fail(err, MM_ERR_DATA, "training rows hold only one class");
	if (n_classes < 2)
		return mm_fail(err, MM_ERR_INVALID, "need at least two classes");
	if (d < 0)
		return mm_fail(err, MM_ERR_INVALID, "negative number of features");
	if (n < 1)
		return mm_fail(err, MM_ERR_DATA, "no rows to fit the model on");
	if (!mm_size_mul((size_t) n, (size_t) d, &nn))
		return mm_fail(err, MM_ERR_LIMIT, "too many values");
	for (i = 0; (size_t) i < nn; i++)
		if (!isfinite(X[i]))
		{
			mm_fail(err, MM_ERR_DATA, "feature value is not finite");
			mm_error_detail(err, "Row %lld, feature %d.",
							(long long) (i / (d > 0 ? d : 1)) + 1,
							(int) (i % (d > 0 ? d : 1)) + 1);
			return MM_ERR_DATA;
		}

	counts = mm_alloc((size_t) n_classes * sizeof(int64_t));
	if (counts == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory fitting a linear svm");
	st = CheckLabels(label, n, n_classes, counts, err);
	mm_free(counts);
	if (st != MM_OK)
		return st;

	/* sqnorm, alpha, index (8 bytes each), y, w: one block per array */
	memset(&wk, 0, sizeof(wk));
	wk.X = X;
	wk.n = n;
	wk.d = d;
	wk.bias = opt->fit_intercept ? opt->intercept_scaling : 0.0;
	wk.random.state = opt->seed;
	if (!mm_size_mul((size_t) n, sizeof(double), &bytes))
		return mm_fail(err, MM_ERR_LIMIT, "too many rows");
	wk.sqnorm = mm_alloc(bytes);
	wk.alpha = mm_alloc(bytes);
	wk.index = mm_alloc((size_t) n * sizeof(int64_t));
	wk.y = mm_alloc((size_t) n);
	wk.w = mm_alloc(((size_t) d + 1) * sizeof(double));
	if (wk.sqnorm == NULL || wk.alpha == NULL || wk.index == NULL ||
		wk.y == NULL || wk.w == NULL)
	{
		st = mm_fail(err, MM_ERR_NOMEM, "out of memory fitting a linear svm");
		goto done;
	}
	for (i = 0; i < n; i++)
	{
		const double *x = X + (size_t) i * d;
		double		v = wk.bias * wk.bias;
		int32_t		j;

		for (j = 0; j < d; j++)
			v += x[j] * x[j];
		wk.sqnorm[i] = v;
	}

	n_models = mm_svm_n_models(n_classes);
	if (info != NULL)
		info->converged = true;
	for (m = 0; m < n_models; m++)
	{
		int32_t		positive = n_models == 1 ? 1 : m;
		int32_t		iters = 0;
		bool		converged;
		double		spread;

		for (i = 0; i < n; i++)
			wk.y[i] = label[i] == positive ? 1 : -1;
		st = SolveBinary(&wk, opt, &iters, &converged, &spread, err);
		if (st != MM_OK)
			goto done;
		memcpy(coef + (size_t) m * d, wk.w, (size_t) d * sizeof(double));
		intercept[m] = wk.bias * wk.w[d];
		if (info != NULL)
		{
			if (iters > info->n_iter)
				info->n_iter = iters;
			if (!converged)
				info->converged = false;
			if (m == 0 || spread > info->dual_gap)
				info->dual_gap = spread;
		}
	}

done:
	mm_free(wk.sqnorm);
	mm_free(wk.alpha);
	mm_free(wk.index);
	mm_free(wk.y);
	mm_free(wk.w);
	return st;
}

void
mm_svm_decision(const double *coef, const double *intercept,
				int32_t n_models, int32_t d, const double *x, double *scores)
{
	int32_t		m,
				j;

	for (m = 0; m < n_models; m++)
	{
		const double *w = coef + (size_t) m * d;
		double		v = intercept[m];

		for (j = 0; j < d; j++)
			v += x[j] * w[j];
		scores[m] = v;
	}
}

int32_t
mm_svm_predict_class(const double *scores, int32_t n_models)
{
	int32_t		best = 0;
	int32_t		m;

	if (n_models == 1)
		return scores[0] > 0.0 ? 1 : 0;
	for (m = 1; m < n_models; m++)
		if (scores[m] > scores[best])
			best = m;
	return best;
}

double
mm_svm_objective(const double *X, int64_t n, int32_t d, const int32_t *label,
				 int32_t positive, const mm_svm_options *opt,
				 const double *coef, double intercept)
{
	double		penalty = 0.0;
	double		loss = 0.0;
	int64_t		i;
	int32_t		j;

	for (j = 0; j < d; j++)
		penalty += coef[j] * coef[j];
	if (opt->fit_intercept)
	{
		double		wb = intercept / opt->intercept_scaling;

		penalty += wb * wb;
	}
	for (i = 0; i < n; i++)
	{
		const double *x = X + (size_t) i * d;
		double		f = intercept;
		double		margin;

		for (j = 0; j < d; j++)
			f += x[j] * coef[j];
		margin = 1.0 - (label[i] == positive ? f : -f);
		if (margin > 0.0)
			loss += opt->loss == MM_SVM_HINGE ? margin : margin * margin;
	}
	return 0.5 * penalty + opt->C * loss;
}
