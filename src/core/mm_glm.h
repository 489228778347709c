/*
 * mm_glm.h
 *	  Logistic regression in the core: binary (logit link) and multinomial
 *	  (softmax), with L2 and, for the binary model, L1 / elastic-net
 *	  penalties.  Pure numerics over OpenBLAS/LAPACK; nothing here is wired
 *	  into SQL yet.
 *
 * mm_glm.c has the entry points and the binary model, mm_glm_multinomial.c
 * the softmax model, mm_glm_solve.c the solvers, mm_glm_internal.h what
 * they share.
 *
 * THE OBJECTIVES (what SQL parameters must be named after)
 *
 * Rows i = 1..n with features x_i (p values), weight w_i >= 0 (1 when no
 * weights are given), linear predictor eta_i = b + x_i . beta (b = 0 when
 * fit_intercept is false).  The intercept is never penalized.
 *
 * Binary, y_i in {0, 1}, mu_i = 1 / (1 + exp(-eta_i)):
 *
 *	   F(b, beta) = sum_i w_i * loss_i + (l2 / 2) * ||beta||_2^2
 *					+ l1 * ||beta||_1
 *	   loss_i = -y_i log(mu_i) - (1 - y_i) log(1 - mu_i)
 *
 * so deviance = 2 * sum_i w_i loss_i (R's "residual deviance"; the
 * unpenalized fit is R's glm(..., family = binomial, weights = w) exactly).
 * scikit-learn's LogisticRegression minimizes
 *	   C * sum_i s_i loss_i + penalty(beta)	 (s = sample_weight)
 * with penalty 0.5 ||beta||^2 ('l2'), ||beta||_1 ('l1'), or
 * l1_ratio ||beta||_1 + (1 - l1_ratio)/2 ||beta||^2 ('elasticnet');
 * dividing by C gives F with
 *	   l2 = 1 / C,	l1 = 0					(penalty='l2')
 *	   l1 = 1 / C,	l2 = 0					(penalty='l1')
 *	   l1 = l1_ratio / C,  l2 = (1 - l1_ratio) / C  (penalty='elasticnet')
 *	   l1 = l2 = 0							(penalty='none': R's glm)
 * (solvers lbfgs, newton-cg, newton-cholesky, sag, saga: their intercept is
 * unpenalized as here; liblinear penalizes the intercept and is not matched).
 * The loss is a sum, not a mean: l2 does not scale with n.  glmnet's lambda
 * (mean loss) corresponds to l2 = n * lambda * (1 - alpha), l1 = n * lambda
 * * alpha, for unit weights and glmnet's standardize = FALSE.
 *
 * Multinomial, K >= 2 classes, y_i in {0..K-1}, one coefficient vector and
 * one intercept per class (W is K x p, b has K entries), eta_ik = b_k +
 * x_i . W_k, pi_ik = softmax(eta_i)_k:
 *
 *	   F(b, W) = sum_i w_i * (-log pi_{i,y_i}) + (l2 / 2) * ||W||_F^2
 *
 * which is scikit-learn's LogisticRegression(multi_class='multinomial',
 * penalty='l2', C = 1 / l2) (solver lbfgs, newton-cg, sag, saga), whose
 * coef_ and intercept_ have exactly our layout.  The loss does not change
 * when one vector is added to every W_k, nor one constant to every b_k; the
 * penalty fixes W (at the optimum sum_k W_k = 0), nothing fixes b: we return
 * the solution with sum_k b_k = 0 (scikit-learn's solvers end there too,
 * starting from zero).  Without penalty (l2 = 0) the same normalization
 * applies to W: sum_k W_k = 0, the minimum-norm solution.  Note that K = 2
 * multinomial with l2 equals binary with l2 / 2 (W_1 = -W_0 = beta / 2).
 *
 * SOLVERS
 *
 * Newton (the default for up to MM_GLM_NEWTON_MAX_PARAMS parameters): the
 * exact Hessian of F (its smooth part), accumulated in row blocks with BLAS
 * (dsyrk for binary, dgemm per class pair for multinomial), Jacobi
 * equilibrated, factored by Cholesky (dpotrf) and solved (dpotrs); then a
 * backtracking line search (step halving, Armijo condition).  Cholesky of
 * the Hessian, not QR of the weighted design: Newton corrects errors in the
 * step, so the final accuracy is set by the gradient, which is computed
 * directly; the solve only has to stay positive definite, which holds for
 * an equilibrated condition number up to about 1e13 (see RANK).  The
 * multinomial Hessian is taken in the (K-1)(p+1) coordinates of an
 * orthonormal basis of the sum-zero subspace (Helmert), where it is
 * positive definite; W and b are mapped back, sum-zero.  Cost per
 * iteration: n p^2 / 2 (binary), n (p+1)^2 K (K-1) / 2 (multinomial).
 *
 * L-BFGS (own implementation, 10 pairs, preconditioned by the Hessian
 * diagonal at the start, backtracking line search with Armijo's condition,
 * or Hager and Zhang's approximate Wolfe condition once F is flat to
 * rounding): for many parameters, at n p K per evaluation.  Standardize the
 * features for it: it is much slower than Newton on badly scaled data.
 *
 * Proximal Newton (binary with l1 > 0): the same Hessian, a quadratic model
 * minimized by cyclic coordinate descent with soft thresholding, a line
 * search on F (Tseng and Yun's sufficient decrease).  Zeros are exact.
 *
 * CONVERGENCE
 *
 * Both must hold after an iteration:
 *	   |F_k - F_(k-1)| <= tol * (|F_k| + 0.1)		  (R's glm criterion on F)
 *	   max_j |g_j| / scale_j <= gtol
 * g is the gradient of F (with L1: the minimum-norm subgradient); scale_j
 * is sum_i w_i |x_ij| for a coefficient and sum_i w_i for an intercept, the
 * size the gradient component has when every prediction is wrong, so the
 * test does not depend on n or on the units of the features.
 *
 * SEPARATION (no penalty only)
 *
 * When the classes can be separated by a hyperplane (completely or
 * quasi-completely), the unpenalized maximum likelihood estimate does not
 * exist: coefficients grow without bound while the deviance falls.  After
 * each iteration the change of the parameters over the last
 * MM_GLM_SEPARATION_LAG iterations, and at iterations 4, 8, 16, .. and at
 * the end the change since the previous power of two, is tested as a
 * separation certificate: a direction along which no row's loss increases
 * (within a relative 1e-6) and some row's linear predictor moves by more
 * than 1e-3.  A finite estimate admits no such direction, so the test
 * cannot fire on data that are not (nearly) separable.  When it fires the
 * fit stops with MM_OK, converged = false, separable = true, and the finite
 * parameters of the last iteration (Newton: within a few iterations of the
 * start for complete separation, 10-20 for quasi-complete).  The same
 * happens if the Hessian becomes singular on separable data.  L-BFGS
 * creeps along the divergent direction: it detects complete separation,
 * but on quasi-complete separation it may meet its tolerances first and
 * report convergence, with large coefficients, as R's glm does; then
 * saturated_rows > 0 (R's "fitted probabilities numerically 0 or 1"
 * warning) is the sign to look at.  A penalty (l2 > 0 or l1 > 0) always
 * gives a finite estimate and is the usual remedy.
 *
 * RANK
 *
 * Without penalty, a design whose equilibrated Hessian at the start (where
 * every row has the same weight, so that it measures the design alone) has
 * an estimated reciprocal condition below MM_GLM_RCOND_MIN is rank
 * deficient: MM_ERR_DATA, with a hint to drop collinear or constant features
 * or to add l2.  (R would report NA coefficients instead.)  With a penalty
 * the Hessian is positive definite and any design is accepted.
 *
 * DATA
 *
 * X is n x p doubles, row-major (x[i * ldx + j], ldx >= p) or column-major
 * (x[i + j * ldx], ldx >= n); ldx = 0 means tight (p or n).  It is only
 * read, and must be finite.  No copy of X is made: memory beyond the
 * outputs is mm_glm_workspace_bytes(), which the caller may count against
 * a limit.  Weights are optional (NULL: all 1), finite and >= 0 with a
 * positive sum; every class must have positive weight.
 */
#ifndef MM_GLM_H
#define MM_GLM_H

#include "mm_core.h"

/* Newton is chosen automatically up to this many parameters */
#define MM_GLM_NEWTON_MAX_PARAMS 400
/* below this reciprocal condition an unpenalized Hessian is singular */
#define MM_GLM_RCOND_MIN 1e-13
/* iterations over which the separation certificate is measured */
#define MM_GLM_SEPARATION_LAG 3

typedef enum mm_glm_layout
{
	MM_GLM_ROW_MAJOR = 0,
	MM_GLM_COL_MAJOR = 1
} mm_glm_layout;

typedef enum mm_glm_solver
{
	MM_GLM_SOLVER_AUTO = 0,		/* Newton up to MM_GLM_NEWTON_MAX_PARAMS
								 * parameters, else L-BFGS; proximal Newton
								 * when l1 > 0 */
	MM_GLM_SOLVER_NEWTON,
	MM_GLM_SOLVER_LBFGS,
	MM_GLM_SOLVER_PROX_NEWTON	/* reported when l1 > 0 */
} mm_glm_solver;

/* Why the iterations ended */
typedef enum mm_glm_stop
{
	MM_GLM_STOP_CONVERGED = 0,	/* both criteria held */
	MM_GLM_STOP_MAX_ITER,		/* max_iter iterations without converging */
	MM_GLM_STOP_SEPARATED,		/* separation certificate, see above */
	MM_GLM_STOP_STALLED			/* the line search found no decrease while
								 * the gradient was above gtol: rounding
								 * noise exceeds the tolerances (the result
								 * is as good as the arithmetic allows) */
} mm_glm_stop;

/* The rows: design X, optional weights */
typedef struct mm_glm_data
{
	int32_t		n;				/* rows, >= 1 */
	int32_t		p;				/* features, >= 0 */
	const double *x;			/* n x p, may be NULL when p = 0 */
	mm_glm_layout layout;
	int32_t		ldx;			/* leading dimension; 0 = tight */
	const double *weights;		/* n, or NULL for unit weights */
} mm_glm_data;

typedef struct mm_glm_options
{
	double		l2;				/* >= 0, see the objectives */
	double		l1;				/* >= 0, binary only */
	bool		fit_intercept;
	mm_glm_solver solver;
	int32_t		max_iter;		/* 0 = default: 100 Newton, 1000 L-BFGS */
	double		tol;			/* relative change of F, default 1e-10 */
	double		gtol;			/* relative gradient, default 1e-8 */
} mm_glm_options;

/* What happened, filled on MM_OK */
typedef struct mm_glm_info
{
	int32_t		iterations;		/* accepted steps */
	double		deviance;		/* 2 * sum w_i loss_i at the result */
	double		null_deviance;	/* the same for the intercept-only model (all
								 * predictions 1/2, resp. 1/K, without
								 * intercept) */
	double		objective;		/* F at the result */
	double		grad_max;		/* max_j |g_j| / scale_j at the result */
	int32_t		saturated_rows; /* rows whose fitted probability of their own
								 * label is within 10 DBL_EPSILON of 0 or 1:
								 * R's glm warns "fitted probabilities
								 * numerically 0 or 1 occurred" when this is
								 * not 0 */
	bool		converged;
	bool		separable;
	mm_glm_stop stop;
	mm_glm_solver solver;		/* the solver that ran */
} mm_glm_info;

/* Defaults: no penalty, intercept, auto solver, tolerances as above. */
extern void mm_glm_options_default(mm_glm_options *opt);

/*
 * Binary logistic regression.  y has n entries, each exactly 0.0 or 1.0.
 * coef receives p coefficients (may be NULL when p = 0), *intercept the
 * intercept (0 without one).  opt NULL means mm_glm_options_default().
 * Returns MM_OK (look at info->converged and info->separable), or
 * MM_ERR_INVALID (options, sizes), MM_ERR_DATA (non-finite data, a single
 * class, rank deficient design without penalty), MM_ERR_NOMEM, MM_ERR_LIMIT,
 * MM_ERR_INTERRUPTED (mm_should_stop(), polled every iteration and every few
 * row blocks).  On error coef and intercept are unspecified.
 */
extern mm_status mm_glm_logistic_fit(const mm_glm_data *data, const double *y,
									 const mm_glm_options *opt, double *coef,
									 double *intercept, mm_glm_info *info,
									 mm_error *err);

/*
 * Multinomial logistic regression over n_classes >= 2 classes, y in
 * 0..n_classes-1.  coef receives n_classes x p row-major (coef[k * p + j]:
 * class k's coefficients contiguous, scikit-learn's coef_), intercept
 * n_classes values (sum 0; all 0 without intercept).  l1 must be 0
 * (MM_ERR_UNSUPPORTED otherwise).  Errors as mm_glm_logistic_fit.
 */
extern mm_status mm_glm_multinomial_fit(const mm_glm_data *data,
										const int32_t *y, int32_t n_classes,
										const mm_glm_options *opt,
										double *coef, double *intercept,
										mm_glm_info *info, mm_error *err);

/*
 * Upper bound of the bytes a fit allocates besides its outputs (n_classes =
 * 2 for binary), for the options given; 0 if it does not fit in size_t.
 */
extern size_t mm_glm_workspace_bytes(int32_t n, int32_t p, int32_t n_classes,
									 const mm_glm_options *opt);

#endif							/* MM_GLM_H */
