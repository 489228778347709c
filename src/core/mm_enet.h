/*
 * mm_enet.h
 *	  Elastic net (lasso, ridge) regression by coordinate descent on the
 *	  Gram matrix of one pass over the data.
 *
 * The objective is exactly scikit-learn's ElasticNet (and Lasso when
 * l1_ratio = 1):
 *
 *	   (1 / (2 n)) ||y - b0 - X b||^2 + alpha l1_ratio ||b||_1
 *						  + (alpha (1 - l1_ratio) / 2) ||b||^2
 *
 * with the intercept b0 not penalized.  Training needs only the Gram matrix
 * of the centered design, which comes from a one-pass mm_linreg_state (its
 * R'R): mm_cd_gram_from_linreg() forms G = X'X, X'y and y'y, centered when an
 * intercept is fitted.  Cyclic coordinate descent with covariance updates
 * (Friedman, Hastie and Tibshirani 2010) then works in p x p memory whatever
 * the number of rows.  Coefficients are in the units of the original
 * columns (no scaling), as scikit-learn's coef_ and intercept_.
 *
 * Stopping is scikit-learn's: after a sweep whose largest coefficient change
 * is below tol times the largest coefficient (or after the last sweep), the
 * duality gap is computed and the fit has converged when it is at most
 * tol * ||y - mean(y)||^2 / n in objective units (||y||^2 / n without an
 * intercept).  Not converging within max_iter sweeps is not an error: the
 * result says so, and the glue warns, as scikit-learn does.  Differences,
 * all where scikit-learn cannot stop: with l1_ratio = 0 (pure ridge) its gap
 * never closes (it scales the dual point by 0 / ||X'r||_inf), here the dual
 * point is the residual itself and ridge converges normally; with alpha = 0
 * (least squares, no bounded dual) the coefficient-change rule alone stops;
 * "at most" rather than "below" lets a constant target (gap and bound both
 * 0) stop after one sweep.
 *
 * Every loop polls mm_should_stop() once per sweep over the coordinates and
 * returns MM_ERR_INTERRUPTED when it says stop.  Memory comes from mm_alloc.
 */
#ifndef MM_ENET_H
#define MM_ENET_H

#include "mm_cd_info.h"
#include "mm_core.h"
#include "mm_linreg.h"

/*
 * Second moments of one data set.  With an intercept (centered = true) they
 * are about the means: G = Xc'Xc, xy = Xc'yc, yy = yc'yc; without, they are
 * raw: X'X, X'y, y'y.  One block of memory: free with mm_cd_gram_free().
 */
typedef struct mm_cd_gram
{
	int32_t		p;				/* features */
	int64_t		n;				/* rows */
	bool		centered;		/* intercept fitted */
	double		y_mean;
	double		yy;
	double	   *x_mean;			/* p */
	double	   *xy;				/* p */
	double	   *G;				/* p x p, both triangles, column-major */
} mm_cd_gram;

/*
 * Moments from a flushed linear regression state (block_n == 0):
 * G = T'T with T the leading p x p triangle of R (one dsyrk), X'y = T'r with r
 * the first p entries of R's last column, y'y the squared norm of that whole
 * column; without an intercept n mean mean' is added back.  A column whose
 * centered norm is zero, or only rounding noise around its mean (as
 * mm_linreg_solve judges it), is set to exactly zero in G and xy when
 * centered: its coefficient is then 0, as a constant column's is in
 * scikit-learn.  MM_ERR_DATA when the state has no rows or its statistics
 * are not finite; MM_ERR_INVALID when it has pending rows.
 */
extern mm_status mm_cd_gram_from_linreg(const mm_linreg_state *s,
										bool fit_intercept, mm_cd_gram **out,
										mm_error *err);
extern void mm_cd_gram_free(mm_cd_gram *g);

/*
 * Peak bytes mm_cd_gram_from_linreg() and mm_enet_fit() allocate for p
 * features (the moments plus a p x p scratch triangle), for the glue's
 * training memory limit; 0 on overflow.
 */
extern size_t mm_cd_gram_bytes(int32_t p);

typedef struct mm_enet_options
{
	double		alpha;			/* >= 0; default 1 (scikit-learn's) */
	double		l1_ratio;		/* in [0, 1]; default 0.5; 1 = lasso */
	double		tol;			/* >= 0; default 1e-4 */
	int32_t		max_iter;		/* >= 1 sweeps; default 1000 */
	bool		warm_start;		/* start from the coefficients in coef
								 * instead of zero; default false */
} mm_enet_options;

extern void mm_enet_default_options(mm_enet_options *opt);

/*
 * Fit from moments.  coef has p slots (read first when warm_start);
 * *intercept is y_mean - x_mean'coef when g is centered, else 0.  info may
 * be NULL.  MM_ERR_INVALID for options out of range, MM_ERR_INTERRUPTED,
 * MM_ERR_NOMEM; MM_OK also when not converged (see info).
 */
extern mm_status mm_enet_fit(const mm_cd_gram *g, const mm_enet_options *opt,
							 double *coef, double *intercept,
							 mm_cd_info *info, mm_error *err);

/*
 * The smallest alpha for which every coefficient is zero:
 * max_j |xy_j| / (n l1_ratio) (infinite when l1_ratio = 0), scikit-learn's
 * alpha_max, the usual top of a regularization path.
 */
extern double mm_enet_alpha_max(const mm_cd_gram *g, double l1_ratio);

/*
 * Gram build, fit and free in one call: the convenience the glue uses.
 */
extern mm_status mm_enet_fit_linreg(const mm_linreg_state *s,
									bool fit_intercept,
									const mm_enet_options *opt, double *coef,
									double *intercept, mm_cd_info *info,
									mm_error *err);

#endif							/* MM_ENET_H */
