/*
 * mm_glm_solve.c
 *	  The minimizers behind the logistic regressions: Newton with an
 *	  equilibrated Cholesky solve, L-BFGS, and proximal Newton for an l1
 *	  penalty.  See mm_glm.h for what they promise and mm_glm_internal.h for
 *	  the problem they are given.
 *
 * Every driver polls mm_should_stop() once per iteration, checks the same
 * two convergence criteria, and, when the problem provides a separation
 * test (unpenalized fits), applies it to the change of the parameters over
 * the last MM_GLM_SEPARATION_LAG iterations and over doubling windows (see
 * SeparationWatch).  A line search that finds no
 * decrease ends the fit: converged if the gradient is already within gtol
 * (the objective cannot move measurably any more), stalled otherwise.
 */
#include "mm_glm_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "mm_lapack.h"

/* Armijo's sufficient decrease constant and the number of step halvings */
#define ARMIJO_C 1e-4
#define MAX_HALVINGS 60
/* L-BFGS memory */
#define LBFGS_PAIRS 10
/* coordinate descent inside proximal Newton */
#define CD_MAX_SWEEPS 2000
#define CD_REL_TOL 1e-6

/* ---------------------------------------------------------------------
 * Shared pieces
 * ---------------------------------------------------------------------
 */

mm_glm_solver
mm_glm_pick_solver(const mm_glm_options *opt, int32_t m)
{
	if (opt->l1 > 0.0)
		return MM_GLM_SOLVER_PROX_NEWTON;
	switch (opt->solver)
	{
		case MM_GLM_SOLVER_NEWTON:
		case MM_GLM_SOLVER_PROX_NEWTON:
			return MM_GLM_SOLVER_NEWTON;
		case MM_GLM_SOLVER_LBFGS:
			return MM_GLM_SOLVER_LBFGS;
		case MM_GLM_SOLVER_AUTO:
			break;
	}
	return m <= MM_GLM_NEWTON_MAX_PARAMS ? MM_GLM_SOLVER_NEWTON :
		MM_GLM_SOLVER_LBFGS;
}

void
mm_glm_resolve_controls(const mm_glm_options *opt, mm_glm_solver solver,
						mm_glm_controls *ctl)
{
	ctl->max_iter = opt->max_iter;
	if (ctl->max_iter == 0)
		ctl->max_iter = solver == MM_GLM_SOLVER_LBFGS ? 1000 : 100;
	ctl->tol = opt->tol;
	ctl->gtol = opt->gtol;
}

/*
 * Doubles a driver allocates: the vectors, the ring of past parameters, the
 * Hessian (Newton kinds) or the pairs (L-BFGS), dpocon's workspace.
 */
size_t
mm_glm_solver_doubles(mm_glm_solver solver, int32_t m)
{
	size_t		mz = (size_t) (m > 0 ? m : 1);
	size_t		square,
				count;

	if (solver == MM_GLM_SOLVER_LBFGS)
	{
		if (!mm_size_mul(mz, 7 + MM_GLM_SEPARATION_LAG + 2 * LBFGS_PAIRS,
						 &count) ||
			!mm_size_add(count, 2 * LBFGS_PAIRS, &count))
			return 0;
		return count;
	}
	if (!mm_size_mul(mz, mz, &square) ||
		!mm_size_mul(mz, 8 + MM_GLM_SEPARATION_LAG, &count) ||
		!mm_size_add(count, square, &count))
		return 0;
	return count;
}

/* Allocate the doubles a driver needs in one block */
static double *
DriverAlloc(mm_glm_solver solver, int32_t m, mm_error *err)
{
	size_t		count = mm_glm_solver_doubles(solver, m);

	if (count == 0)
	{
		mm_fail(err, MM_ERR_LIMIT, "too many parameters: %d", (int) m);
		return NULL;
	}
	return mm_glm_alloc_doubles(count, err);
}

static double
Dot(int32_t m, const double *a, const double *b)
{
	double		s = 0.0;
	int32_t		j;

	for (j = 0; j < m; j++)
		s += a[j] * b[j];
	return s;
}

/* max_j |g_j| / scale_j */
static double
RelativeGradient(const mm_glm_problem *pr, const double *g)
{
	double		worst = 0.0;
	int32_t		j;

	for (j = 0; j < pr->m; j++)
	{
		double		r = fabs(g[j]) / pr->gscale[j];

		if (!(r <= worst))
			worst = r;
	}
	return worst;
}

static bool
Converged(const mm_glm_controls *ctl, double f, double f_prev, double gmax)
{
	return fabs(f - f_prev) <= ctl->tol * (fabs(f) + 0.1) && gmax <= ctl->gtol;
}

static mm_status
Interrupted(mm_error *err)
{
	return mm_fail(err, MM_ERR_INTERRUPTED,
				   "logistic regression interrupted");
}

/*
 * Watching for separation (unpenalized problems).  After each accepted
 * step the change over the last MM_GLM_SEPARATION_LAG iterations is tested
 * (Newton diverges at a steady pace, so this fires within a few iterations
 * once the finite part has settled), and at iterations 4, 8, 16, .. and at
 * the end the change since the previous power of two (first-order methods
 * creep along the divergent direction: a long window catches them).
 */
typedef struct SeparationWatch
{
	const mm_glm_problem *pr;
	double	   *ring;			/* LAG x m: theta of the last iterations */
	double	   *snap;			/* m: theta at iteration snap_iter */
	int32_t		snap_iter;
	double	   *scratch;		/* m */
} SeparationWatch;

static void
WatchStart(SeparationWatch *w, const mm_glm_problem *pr, double *ring,
		   double *snap, double *scratch, const double *theta)
{
	w->pr = pr;
	w->ring = ring;
	w->snap = snap;
	w->scratch = scratch;
	w->snap_iter = 0;
	memcpy(ring, theta, sizeof(double) * pr->m);
	memcpy(snap, theta, sizeof(double) * pr->m);
}

/* Is theta - old a separation certificate? */
static mm_status
Certificate(SeparationWatch *w, const double *theta, const double *old,
			bool *separated, mm_error *err)
{
	int32_t		j;

	*separated = false;
	if (w->pr->separated == NULL)
		return MM_OK;
	for (j = 0; j < w->pr->m; j++)
		w->scratch[j] = theta[j] - old[j];
	return w->pr->separated(w->pr->ctx, w->scratch, separated, err);
}

/* After the step that made iteration iter (>= 1) */
static mm_status
WatchStep(SeparationWatch *w, int32_t iter, const double *theta,
		  bool *separated, mm_error *err)
{
	double	   *slot = w->ring + (size_t) (iter % MM_GLM_SEPARATION_LAG) * w->pr->m;
	mm_status	st;

	*separated = false;
	if (w->pr->separated == NULL)
		return MM_OK;
	if (iter >= MM_GLM_SEPARATION_LAG)
	{
		st = Certificate(w, theta, slot, separated, err);
		if (st != MM_OK || *separated)
			return st;
	}
	memcpy(slot, theta, sizeof(double) * w->pr->m);
	if ((iter & (iter - 1)) == 0)
	{
		if (iter >= 4)
		{
			st = Certificate(w, theta, w->snap, separated, err);
			if (st != MM_OK || *separated)
				return st;
		}
		memcpy(w->snap, theta, sizeof(double) * w->pr->m);
		w->snap_iter = iter;
	}
	return MM_OK;
}

/* At the end, or when the Hessian turns singular at iteration iter */
static mm_status
WatchFinal(SeparationWatch *w, int32_t iter, const double *theta,
		   bool *separated, mm_error *err)
{
	/* the ring holds iterations iter - LAG + 1 .. iter */
	int32_t		oldest = iter + 1 >= MM_GLM_SEPARATION_LAG ?
		(iter + 1) % MM_GLM_SEPARATION_LAG : 0;
	mm_status	st;

	*separated = false;
	if (w->pr->separated == NULL || iter == 0)
		return MM_OK;
	st = Certificate(w, theta,
					 w->ring + (size_t) oldest * w->pr->m, separated, err);
	if (st != MM_OK || *separated || w->snap_iter >= iter)
		return st;
	return Certificate(w, theta, w->snap, separated, err);
}

/* When a solver loop ends: a last check, unless separation already stopped it. */
static mm_status
WatchEnd(SeparationWatch *w, int32_t iter, const double *theta,
		 mm_glm_stop *stop, mm_error *err)
{
	bool		separated;
	mm_status	st;

	if (*stop == MM_GLM_STOP_SEPARATED)
		return MM_OK;
	st = WatchFinal(w, iter, theta, &separated, err);
	if (st == MM_OK && separated)
		*stop = MM_GLM_STOP_SEPARATED;
	return st;
}

/*
 * Solve H d = -g by Cholesky of the Jacobi-equilibrated H: S H S with S =
 * diag(1 / sqrt(H_jj)).  Reads the upper triangle of H and destroys it.
 * *singular is set, with status MM_OK, when H is not numerically positive
 * definite: a diagonal entry that is not positive, a failed factorization,
 * or with check_rank a reciprocal condition below MM_GLM_RCOND_MIN.
 */
static mm_status
NewtonStep(int32_t m, double *H, const double *g, double *d, double *scale,
		   bool check_rank, bool *singular, mm_error *err)
{
	double		anorm = 0.0;
	int32_t		failed;
	int32_t		i,
				j;
	mm_status	st;

	*singular = false;
	for (j = 0; j < m; j++)
	{
		double		h = H[(size_t) j * m + j];

		if (!(h > 0.0) || !isfinite(h))
		{
			*singular = true;
			return MM_OK;
		}
		scale[j] = 1.0 / sqrt(h);
	}
	for (j = 0; j < m; j++)
	{
		double	   *col = H + (size_t) j * m;

		for (i = 0; i <= j; i++)
			col[i] *= scale[i] * scale[j];
	}
	if (check_rank)
	{
		/* 1-norm of the symmetric matrix from its upper triangle */
		for (j = 0; j < m; j++)
		{
			double		s = 0.0;

			for (i = 0; i <= j; i++)
				s += fabs(H[(size_t) j * m + i]);
			for (i = j + 1; i < m; i++)
				s += fabs(H[(size_t) i * m + j]);
			if (s > anorm)
				anorm = s;
		}
	}

	st = mm_lapack_dpotrf('U', m, H, m, &failed, NULL);
	if (st == MM_ERR_DATA)
	{
		*singular = true;
		return MM_OK;
	}
	if (st != MM_OK)
		return mm_fail(err, st, "Cholesky factorization of the Hessian failed");
	if (check_rank)
	{
		double		rcond;

		st = mm_lapack_dpocon('U', m, H, m, anorm, &rcond, err);
		if (st != MM_OK)
			return st;
		if (!(rcond >= MM_GLM_RCOND_MIN))
		{
			*singular = true;
			return MM_OK;
		}
	}
	for (j = 0; j < m; j++)
		d[j] = -g[j] * scale[j];
	st = mm_lapack_dpotrs('U', m, 1, H, m, d, m, err);
	if (st != MM_OK)
		return st;
	for (j = 0; j < m; j++)
		d[j] *= scale[j];
	return MM_OK;
}

static mm_status
SingularHessian(const mm_glm_problem *pr, mm_error *err)
{
	mm_fail(err, MM_ERR_DATA, "the design matrix is rank deficient");
	if (pr->separated != NULL)
	{
		mm_error_detail(err, "The Hessian of the unpenalized log-likelihood is singular: some features are constant or linear combinations of others.");
		mm_error_hint(err, "Remove collinear or constant features, or set l2 > 0.");
	}
	else
		mm_error_detail(err, "The penalized Hessian is not numerically positive definite.");
	return MM_ERR_DATA;
}

static void
FinishInfo(mm_glm_info *info, int32_t iter, double f, double gmax,
		   mm_glm_stop stop, mm_glm_solver solver)
{
	info->iterations = iter;
	info->objective = f;
	info->grad_max = gmax;
	info->stop = stop;
	info->converged = stop == MM_GLM_STOP_CONVERGED;
	info->separable = stop == MM_GLM_STOP_SEPARATED;
	info->solver = solver;
}

/* ---------------------------------------------------------------------
 * Newton
 * ---------------------------------------------------------------------
 */

/*
 * Damped Newton: the exact Hessian, an equilibrated Cholesky solve, step
 * halving until Armijo's condition holds.
 */
mm_status
mm_glm_newton(const mm_glm_problem *pr, double *theta,
			  const mm_glm_controls *ctl, mm_glm_info *info, mm_error *err)
{
	int32_t		m = pr->m;
	double	   *block,
			   *g,
			   *d,
			   *trial,
			   *scale,
			   *hess;
	double		f = 0.0,
				f_prev = 0.0,
				gmax = 0.0;
	int32_t		iter = 0;
	mm_glm_stop stop = MM_GLM_STOP_MAX_ITER;
	SeparationWatch watch;
	bool		separated;
	mm_status	st;

	block = DriverAlloc(MM_GLM_SOLVER_NEWTON, m, err);
	if (block == NULL)
		return err ? err->status : MM_ERR_NOMEM;
	g = block;
	d = g + m;
	trial = d + m;
	scale = trial + m;
	hess = scale + m;
	WatchStart(&watch, pr, hess + (size_t) m * m,
			   hess + (size_t) m * m + (size_t) MM_GLM_SEPARATION_LAG * m,
			   trial, theta);

	st = pr->derivs(pr->ctx, theta, &f, g, hess, NULL, err);
	for (;;)
	{
		bool		singular,
					accepted = false;
		double		gd,
					t = 1.0,
					f_trial = f;
		int32_t		h,
					j;

		if (st != MM_OK)
			goto done;
		if (mm_should_stop())
		{
			st = Interrupted(err);
			goto done;
		}
		gmax = RelativeGradient(pr, g);
		if (iter > 0 && Converged(ctl, f, f_prev, gmax))
		{
			stop = MM_GLM_STOP_CONVERGED;
			break;
		}
		if (iter >= ctl->max_iter)
		{
			stop = MM_GLM_STOP_MAX_ITER;
			break;
		}

		/*
		 * The rank test only at the start: there every row has the same
		 * Hessian weight, so it tests the design; later the weights of
		 * well-fitted rows fade and the condition says less.
		 */
		st = NewtonStep(m, hess, g, d, scale,
						pr->separated != NULL && iter == 0, &singular, err);
		if (st != MM_OK)
			goto done;
		if (singular)
		{
			/* on separable data the weights can vanish: say so if we can */
			st = WatchFinal(&watch, iter, theta, &separated, err);
			if (st != MM_OK)
				goto done;
			if (separated)
			{
				FinishInfo(info, iter, f, gmax, MM_GLM_STOP_SEPARATED,
						   MM_GLM_SOLVER_NEWTON);
				goto done;
			}
			st = SingularHessian(pr, err);
			goto done;
		}

		gd = Dot(m, g, d);
		if (!(gd < 0.0))
		{
			/* no descent direction: g is zero to rounding */
			stop = gmax <= ctl->gtol ? MM_GLM_STOP_CONVERGED :
				MM_GLM_STOP_STALLED;
			break;
		}
		for (h = 0; h < MAX_HALVINGS; h++)
		{
			for (j = 0; j < m; j++)
				trial[j] = theta[j] + t * d[j];
			st = pr->value(pr->ctx, trial, &f_trial, err);
			if (st != MM_OK)
				goto done;
			if (isfinite(f_trial) && f_trial <= f + ARMIJO_C * t * gd)
			{
				accepted = true;
				break;
			}
			t *= 0.5;
		}
		if (!accepted)
		{
			stop = gmax <= ctl->gtol ? MM_GLM_STOP_CONVERGED :
				MM_GLM_STOP_STALLED;
			break;
		}

		memcpy(theta, trial, sizeof(double) * m);
		f_prev = f;
		iter++;
		mm_report_progress(iter, f);
		st = pr->derivs(pr->ctx, theta, &f, g, hess, NULL, err);
		if (st != MM_OK)
			goto done;
		st = WatchStep(&watch, iter, theta, &separated, err);
		if (st != MM_OK)
			goto done;
		if (separated)
		{
			gmax = RelativeGradient(pr, g);
			stop = MM_GLM_STOP_SEPARATED;
			break;
		}
	}
	st = WatchEnd(&watch, iter, theta, &stop, err);
	if (st != MM_OK)
		goto done;
	FinishInfo(info, iter, f, gmax, stop, MM_GLM_SOLVER_NEWTON);

done:
	mm_free(block);
	return st;
}

/* ---------------------------------------------------------------------
 * L-BFGS
 * ---------------------------------------------------------------------
 */

/*
 * L-BFGS in the variables phi_j = theta_j * sq_j, sq_j the square root of
 * the Hessian diagonal at the start, so that the first step is a diagonal
 * Newton step and badly scaled features hurt less.  Backtracking line
 * search: a trial point is taken when Armijo's condition holds with a real
 * decrease, or, once F is flat to rounding, when the directional derivative
 * has fallen to 0.9 of its start (the approximate Wolfe condition of Hager
 * and Zhang): without it the iterations would wander at the noise level.
 * A pair is kept only when its curvature s.y is clearly positive; a
 * direction that does not descend, or a line search that fails, drops the
 * memory once before giving up.
 */
mm_status
mm_glm_lbfgs(const mm_glm_problem *pr, double *theta,
			 const mm_glm_controls *ctl, mm_glm_info *info, mm_error *err)
{
	int32_t		m = pr->m;
	double	   *block,
			   *g,
			   *gnew,
			   *d,
			   *trial,
			   *sq,
			   *q,
			   *S,
			   *Y,
			   *rho,
			   *alpha;
	double		f = 0.0,
				f_prev = 0.0,
				gmax = 0.0,
				gamma = 1.0;
	int32_t		iter = 0,
				npairs = 0,
				newest = -1,
				j;
	mm_glm_stop stop = MM_GLM_STOP_MAX_ITER;
	SeparationWatch watch;
	bool		separated;
	mm_status	st;

	block = DriverAlloc(MM_GLM_SOLVER_LBFGS, m, err);
	if (block == NULL)
		return err ? err->status : MM_ERR_NOMEM;
	g = block;
	gnew = g + m;
	d = gnew + m;
	trial = d + m;
	sq = trial + m;
	q = sq + m;
	S = q + m;
	Y = S + (size_t) LBFGS_PAIRS * m;
	rho = Y + (size_t) LBFGS_PAIRS * m;
	alpha = rho + LBFGS_PAIRS;
	WatchStart(&watch, pr, alpha + LBFGS_PAIRS,
			   alpha + LBFGS_PAIRS + (size_t) MM_GLM_SEPARATION_LAG * m,
			   q, theta);

	st = pr->derivs(pr->ctx, theta, &f, g, NULL, sq, err);
	if (st != MM_OK)
		goto done;
	for (j = 0; j < m; j++)
		sq[j] = (sq[j] > 0.0 && isfinite(sq[j])) ? sqrt(sq[j]) : 1.0;

	for (;;)
	{
		bool		accepted = false,
					restarted = false;
		double		gd = 0.0,
					t,
					f_trial = f,
					sy,
					yy;
		int32_t		h,
					i,
					slot;

		if (mm_should_stop())
		{
			st = Interrupted(err);
			goto done;
		}
		gmax = RelativeGradient(pr, g);
		if (iter > 0 && Converged(ctl, f, f_prev, gmax))
		{
			stop = MM_GLM_STOP_CONVERGED;
			break;
		}
		if (iter >= ctl->max_iter)
		{
			stop = MM_GLM_STOP_MAX_ITER;
			break;
		}

retry:
		/* two-loop recursion on the scaled gradient */
		for (j = 0; j < m; j++)
			q[j] = g[j] / sq[j];
		for (i = 0; i < npairs; i++)
		{
			slot = (newest - i + LBFGS_PAIRS) % LBFGS_PAIRS;
			alpha[slot] = rho[slot] * Dot(m, S + (size_t) slot * m, q);
			for (j = 0; j < m; j++)
				q[j] -= alpha[slot] * Y[(size_t) slot * m + j];
		}
		for (j = 0; j < m; j++)
			q[j] *= gamma;
		for (i = npairs - 1; i >= 0; i--)
		{
			double		beta;

			slot = (newest - i + LBFGS_PAIRS) % LBFGS_PAIRS;
			beta = rho[slot] * Dot(m, Y + (size_t) slot * m, q);
			for (j = 0; j < m; j++)
				q[j] += (alpha[slot] - beta) * S[(size_t) slot * m + j];
		}
		for (j = 0; j < m; j++)
			d[j] = -q[j] / sq[j];
		gd = Dot(m, g, d);

		if (gd < 0.0)
		{
			double		flat = 8.0 * DBL_EPSILON * fabs(f);

			t = 1.0;
			for (h = 0; h < MAX_HALVINGS; h++)
			{
				for (j = 0; j < m; j++)
					trial[j] = theta[j] + t * d[j];
				st = pr->derivs(pr->ctx, trial, &f_trial, gnew, NULL, NULL,
								err);
				if (st != MM_OK)
					goto done;
				if (isfinite(f_trial) &&
					((f_trial <= f + ARMIJO_C * t * gd && f_trial < f - flat) ||
					 (f_trial <= f + flat &&
					  fabs(Dot(m, gnew, d)) <= 0.9 * fabs(gd))))
				{
					accepted = true;
					break;
				}
				t *= 0.5;
			}
		}
		if (!accepted)
		{
			if (npairs > 0 && !restarted)
			{
				npairs = 0;
				gamma = 1.0;
				restarted = true;
				goto retry;
			}
			stop = gmax <= ctl->gtol ? MM_GLM_STOP_CONVERGED :
				MM_GLM_STOP_STALLED;
			break;
		}

		/* the new pair, in the scaled variables */
		slot = (newest + 1) % LBFGS_PAIRS;
		sy = 0.0;
		yy = 0.0;
		for (j = 0; j < m; j++)
		{
			double		s = (trial[j] - theta[j]) * sq[j];
			double		y = (gnew[j] - g[j]) / sq[j];

			S[(size_t) slot * m + j] = s;
			Y[(size_t) slot * m + j] = y;
			sy += s * y;
			yy += y * y;
		}
		if (sy > DBL_EPSILON * yy && yy > 0.0)
		{
			rho[slot] = 1.0 / sy;
			gamma = sy / yy;
			newest = slot;
			if (npairs < LBFGS_PAIRS)
				npairs++;
		}

		memcpy(theta, trial, sizeof(double) * m);
		memcpy(g, gnew, sizeof(double) * m);
		f_prev = f;
		f = f_trial;
		iter++;
		mm_report_progress(iter, f);
		st = WatchStep(&watch, iter, theta, &separated, err);
		if (st != MM_OK)
			goto done;
		if (separated)
		{
			gmax = RelativeGradient(pr, g);
			stop = MM_GLM_STOP_SEPARATED;
			break;
		}
	}
	st = WatchEnd(&watch, iter, theta, &stop, err);
	if (st != MM_OK)
		goto done;
	FinishInfo(info, iter, f, gmax, stop, MM_GLM_SOLVER_LBFGS);

done:
	mm_free(block);
	return st;
}

/* ---------------------------------------------------------------------
 * Proximal Newton for an l1 penalty
 * ---------------------------------------------------------------------
 */

static double
L1Norm(const mm_glm_problem *pr, const double *theta)
{
	double		s = 0.0;
	int32_t		j;

	for (j = 0; j < pr->n_l1; j++)
		s += fabs(theta[j]);
	return s;
}

/* max_j |minimum-norm subgradient_j| / scale_j */
static double
RelativeKkt(const mm_glm_problem *pr, const double *theta, const double *g)
{
	double		worst = 0.0;
	int32_t		j;

	for (j = 0; j < pr->m; j++)
	{
		double		v = g[j];
		double		r;

		if (j < pr->n_l1)
		{
			if (theta[j] > 0.0)
				v = g[j] + pr->l1;
			else if (theta[j] < 0.0)
				v = g[j] - pr->l1;
			else
				v = fabs(g[j]) > pr->l1 ? fabs(g[j]) - pr->l1 : 0.0;
		}
		r = fabs(v) / pr->gscale[j];
		if (!(r <= worst))
			worst = r;
	}
	return worst;
}

/*
 * Minimize g.d + d'Hd/2 + l1 * sum_{j < n_l1} |theta_j + d_j| by cyclic
 * coordinate descent (H full, both triangles).  Each coordinate step is an
 * exact minimization, so the model never increases from d = 0: d is a
 * descent direction unless it is 0.
 */
static mm_status
ProxDirection(const mm_glm_problem *pr, const double *theta, const double *g,
			  const double *H, double *d, double *Hd, mm_error *err)
{
	int32_t		m = pr->m;
	int32_t		sweep,
				i,
				j;

	memset(d, 0, sizeof(double) * m);
	memset(Hd, 0, sizeof(double) * m);
	for (sweep = 0; sweep < CD_MAX_SWEEPS; sweep++)
	{
		double		max_change = 0.0,
					max_size = 0.0;

		if (sweep > 0 && sweep % 100 == 0 && mm_should_stop())
			return Interrupted(err);
		for (j = 0; j < m; j++)
		{
			const double *col = H + (size_t) j * m;
			double		a = col[j];
			double		b,
						step,
						change;

			if (!(a > 0.0))
				continue;
			b = g[j] + Hd[j] - a * d[j];
			if (j < pr->n_l1)
			{
				double		z = theta[j] - b / a;
				double		thr = pr->l1 / a;
				double		u = z > thr ? z - thr : (z < -thr ? z + thr : 0.0);

				step = u - theta[j];
			}
			else
				step = -b / a;
			change = step - d[j];
			if (change != 0.0)
			{
				for (i = 0; i < m; i++)
					Hd[i] += change * col[i];
				d[j] = step;
			}
			if (fabs(change) * sqrt(a) > max_change)
				max_change = fabs(change) * sqrt(a);
			if (fabs(step) * sqrt(a) > max_size)
				max_size = fabs(step) * sqrt(a);
		}
		if (max_change <= CD_REL_TOL * max_size)
			break;
	}
	return MM_OK;
}

/*
 * Proximal Newton (as in newGLMNET): the quadratic model of the smooth part
 * plus the l1 term, minimized by coordinate descent; a line search on the
 * whole objective with Tseng and Yun's sufficient decrease
 *	   F(theta + t d) <= F(theta) + c t (g.d + l1 |theta + d|_1 - l1 |theta|_1).
 */
mm_status
mm_glm_prox_newton(const mm_glm_problem *pr, double *theta,
				   const mm_glm_controls *ctl, mm_glm_info *info,
				   mm_error *err)
{
	int32_t		m = pr->m;
	double	   *block,
			   *g,
			   *d,
			   *trial,
			   *Hd,
			   *hess;
	double		fs = 0.0,
				F,
				F_prev = 0.0,
				gmax = 0.0;
	int32_t		iter = 0,
				i,
				j;
	mm_glm_stop stop = MM_GLM_STOP_MAX_ITER;
	mm_status	st;

	block = DriverAlloc(MM_GLM_SOLVER_PROX_NEWTON, m, err);
	if (block == NULL)
		return err ? err->status : MM_ERR_NOMEM;
	g = block;
	d = g + m;
	trial = d + m;
	Hd = trial + m;
	hess = Hd + m;

	st = pr->derivs(pr->ctx, theta, &fs, g, hess, NULL, err);
	F = fs + pr->l1 * L1Norm(pr, theta);
	for (;;)
	{
		bool		accepted = false;
		double		delta,
					t = 1.0,
					F_trial = F;
		int32_t		h;

		if (st != MM_OK)
			goto done;
		if (mm_should_stop())
		{
			st = Interrupted(err);
			goto done;
		}
		gmax = RelativeKkt(pr, theta, g);
		if (iter > 0 && Converged(ctl, F, F_prev, gmax))
		{
			stop = MM_GLM_STOP_CONVERGED;
			break;
		}
		if (iter >= ctl->max_iter)
		{
			stop = MM_GLM_STOP_MAX_ITER;
			break;
		}

		for (j = 0; j < m; j++)
			for (i = j + 1; i < m; i++)
				hess[(size_t) j * m + i] = hess[(size_t) i * m + j];
		st = ProxDirection(pr, theta, g, hess, d, Hd, err);
		if (st != MM_OK)
			goto done;
		for (j = 0; j < m; j++)
			trial[j] = theta[j] + d[j];
		delta = Dot(m, g, d) + pr->l1 * (L1Norm(pr, trial) - L1Norm(pr, theta));
		if (!(delta < 0.0))
		{
			stop = gmax <= ctl->gtol ? MM_GLM_STOP_CONVERGED :
				MM_GLM_STOP_STALLED;
			break;
		}
		for (h = 0; h < MAX_HALVINGS; h++)
		{
			double		f_trial;

			for (j = 0; j < m; j++)
				trial[j] = theta[j] + t * d[j];
			st = pr->value(pr->ctx, trial, &f_trial, err);
			if (st != MM_OK)
				goto done;
			F_trial = f_trial + pr->l1 * L1Norm(pr, trial);
			if (isfinite(F_trial) && F_trial <= F + ARMIJO_C * t * delta)
			{
				accepted = true;
				break;
			}
			t *= 0.5;
		}
		if (!accepted)
		{
			stop = gmax <= ctl->gtol ? MM_GLM_STOP_CONVERGED :
				MM_GLM_STOP_STALLED;
			break;
		}
		memcpy(theta, trial, sizeof(double) * m);
		F_prev = F;
		iter++;
		mm_report_progress(iter, F);
		st = pr->derivs(pr->ctx, theta, &fs, g, hess, NULL, err);
		F = fs + pr->l1 * L1Norm(pr, theta);
	}
	FinishInfo(info, iter, F, gmax, stop, MM_GLM_SOLVER_PROX_NEWTON);

done:
	mm_free(block);
	return st;
}
