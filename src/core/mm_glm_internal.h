/*
 * mm_glm_internal.h
 *	  What the files of the logistic regression share: the design view with
 *	  its BLAS products, the problem a solver minimizes, the solvers.
 *
 * mm_glm.c holds the public entry points, validation and the binary model;
 * mm_glm_multinomial.c the softmax model; mm_glm_solve.c the Newton, L-BFGS
 * and proximal Newton drivers, which know nothing of the models: they
 * minimize a problem given by callbacks.
 */
#ifndef MM_GLM_INTERNAL_H
#define MM_GLM_INTERNAL_H

#include <float.h>
#include <math.h>

#include "mm_glm.h"

/* The design matrix as the BLAS sees it (ldx resolved, never 0) */
typedef struct mm_glm_design
{
	int32_t		n;
	int32_t		p;
	const double *x;
	bool		row_major;
	int32_t		ldx;
} mm_glm_design;

/* Rows per block when the Hessian is accumulated */
extern int32_t mm_glm_block_rows(const mm_glm_design *X);

/* out (n) = X v (p) + shift */
extern void mm_glm_design_mul(const mm_glm_design *X, const double *v,
							  double shift, double *out);

/* out (p) = X^T r (n) */
extern void mm_glm_design_tmul(const mm_glm_design *X, const double *r,
							   double *out);

/* out_j (p) = sum_i c_i x_ij^2 */
extern void mm_glm_design_sq_tmul(const mm_glm_design *X, const double *c,
								  double *out);

/*
 * Z (rows x p, column-major, leading dimension rows) = diag(c) X[i0 .. i0 +
 * rows - 1, :].
 */
extern void mm_glm_design_scale_rows(const mm_glm_design *X, int32_t i0,
									 int32_t rows, const double *c, double *Z);

/* H (p x p block, leading dimension ldh) += X[i0 .., :]^T Z */
extern void mm_glm_design_gemm_block(const mm_glm_design *X, int32_t i0,
									 int32_t rows, const double *Z, double *H,
									 int32_t ldh);

/*
 * A smooth convex function of m parameters and what the drivers need of it.
 * value: F at theta.  derivs: F, its gradient g (m) and, when hess is not
 * NULL, its Hessian (m x m column-major, at least the upper triangle), or
 * when hdiag is not NULL its diagonal.  separated (NULL when the problem is
 * penalized): whether a parameter change is a separation certificate.
 * gscale: the scale of each gradient component (mm_glm.h, convergence).
 * The first n_l1 parameters carry the l1 penalty (proximal Newton only).
 */
typedef struct mm_glm_problem
{
	int32_t		m;
	void	   *ctx;
	mm_status	(*value) (void *ctx, const double *theta, double *f,
						  mm_error *err);
	mm_status	(*derivs) (void *ctx, const double *theta, double *f,
						   double *g, double *hess, double *hdiag,
						   mm_error *err);
	mm_status	(*separated) (void *ctx, const double *direction,
							  bool *result, mm_error *err);
	const double *gscale;
	double		l1;
	int32_t		n_l1;
} mm_glm_problem;

/* Iteration controls resolved from mm_glm_options */
typedef struct mm_glm_controls
{
	int32_t		max_iter;
	double		tol;
	double		gtol;
} mm_glm_controls;

/*
 * The drivers.  theta holds the start and receives the result; info gets
 * iterations, objective, grad_max, converged, separable, stop and solver
 * (deviances are the caller's).
 */
extern mm_status mm_glm_newton(const mm_glm_problem *pr, double *theta,
							   const mm_glm_controls *ctl, mm_glm_info *info,
							   mm_error *err);
extern mm_status mm_glm_lbfgs(const mm_glm_problem *pr, double *theta,
							  const mm_glm_controls *ctl, mm_glm_info *info,
							  mm_error *err);
extern mm_status mm_glm_prox_newton(const mm_glm_problem *pr, double *theta,
									const mm_glm_controls *ctl,
									mm_glm_info *info, mm_error *err);

/* Doubles each driver allocates for m parameters (0 on overflow) */
extern size_t mm_glm_solver_doubles(mm_glm_solver solver, int32_t m);

/* Solver and controls for options and parameter count */
extern mm_glm_solver mm_glm_pick_solver(const mm_glm_options *opt, int32_t m);
extern void mm_glm_resolve_controls(const mm_glm_options *opt,
									mm_glm_solver solver,
									mm_glm_controls *ctl);

/*
 * Checks shared by both models: options, sizes, finiteness of X and the
 * weights; fills the design view and the total weight.
 */
extern mm_status mm_glm_check_input(const mm_glm_data *data,
									const mm_glm_options *opt,
									mm_glm_design *X, double *weight_sum,
									mm_error *err);

/*
 * Doubles the multinomial model allocates besides the driver's, for rows
 * of block rows (false on overflow).
 */
extern bool mm_glm_multinomial_doubles(int32_t n, int32_t p, int32_t n_classes,
									   int32_t block, size_t *count);

/* Allocate count doubles (count may be 0), reporting MM_ERR_NOMEM */
extern double *mm_glm_alloc_doubles(size_t count, mm_error *err);

/* Sum with Neumaier's compensation (the objective's terms) */
typedef struct mm_glm_sum
{
	double		sum;
	double		comp;
} mm_glm_sum;

static inline void
mm_glm_sum_add(mm_glm_sum *s, double v)
{
	double		t = s->sum + v;

	if (fabs(s->sum) >= fabs(v))
		s->comp += (s->sum - t) + v;
	else
		s->comp += (v - t) + s->sum;
	s->sum = t;
}

static inline double
mm_glm_sum_value(const mm_glm_sum *s)
{
	return s->sum + s->comp;
}

/* log(1 + exp(t)) without overflow or cancellation */
static inline double
mm_glm_softplus(double t)
{
	return t > 0.0 ? t + log1p(exp(-t)) :
		log1p(exp(t));
}

/*
 * Whether a row's loss -log(probability of its label) says that probability
 * is within 10 DBL_EPSILON of 1 or of 0 (R's glm.fit test).
 */
static inline bool
mm_glm_saturated(double loss)
{
	return loss < 10.0 * DBL_EPSILON ||
		loss > 33.741068296123108;	/* -log(10 DBL_EPSILON) */
}

/* Per-parameter gradient scales: sum_i w_i |x_ij| (floored), per class */
extern void mm_glm_column_scales(const mm_glm_design *X, const double *w,
								 double *scale);

/* How often (in row blocks) long loops poll mm_should_stop() */
#define MM_GLM_POLL_BLOCKS 16

#endif							/* MM_GLM_INTERNAL_H */
