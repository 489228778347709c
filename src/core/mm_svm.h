/*
 * mm_svm.h
 *	  The L2-regularized linear SVM by dual coordinate descent, binary or
 *	  one-vs-rest.
 *
 * LIBLINEAR's dual coordinate descent (Hsieh et al. 2008, solvers 1 and 3)
 * as scikit-learn's LinearSVC(dual=True) runs it, minimizing
 *
 *	   (1/2) (||w||^2 + w_b^2) + C sum_i loss(y_i (x_i'w + s w_b))
 *
 * with loss(m) = max(0, 1 - m)^2 (squared hinge, LinearSVC's default) or
 * max(0, 1 - m) (hinge), y_i in {-1, +1}.  The intercept is LIBLINEAR's: an
 * extra constant feature of value s = intercept_scaling (default 1) whose
 * weight w_b IS penalized like the others, and intercept = s w_b.  So the
 * intercept shrinks toward 0, and changes with s (a large s makes it nearly
 * unpenalized).  Coordinates are visited in an order shuffled each sweep by a
 * seeded generator of our own (splitmix64), so a seed gives the same model on
 * every platform; LIBLINEAR's shrinking of the active set is kept, as its
 * stopping rule (the spread of projected gradients below tol).
 *
 * More than two classes: one-vs-rest, one binary model per class (class k
 * positive, every other class negative), prediction by the largest
 * decision value, as LinearSVC(multi_class='ovr').  Two classes: one model,
 * class 1 positive (scikit-learn's classes_[1]).
 *
 * Every loop polls mm_should_stop() once per sweep over the coordinates and
 * returns MM_ERR_INTERRUPTED when it says stop.  Memory comes from mm_alloc.
 */
#ifndef MM_SVM_H
#define MM_SVM_H

#include "mm_cd_info.h"
#include "mm_core.h"

typedef enum mm_svm_loss
{
	MM_SVM_SQUARED_HINGE = 0,	/* LIBLINEAR -s 1; LinearSVC's default */
	MM_SVM_HINGE = 1			/* LIBLINEAR -s 3; LinearSVC(loss='hinge') */
} mm_svm_loss;

typedef struct mm_svm_options
{
	double		C;				/* > 0; default 1 */
	mm_svm_loss loss;			/* default MM_SVM_SQUARED_HINGE */
	double		tol;			/* > 0; default 1e-4 */
	int32_t		max_iter;		/* >= 1 sweeps per model; default 1000 */
	bool		fit_intercept;	/* default true */
	double		intercept_scaling;	/* > 0; default 1 (see above) */
	uint64_t	seed;			/* coordinate order; default 0 */
} mm_svm_options;

extern void mm_svm_default_options(mm_svm_options *opt);

/* Binary models fitted for n_classes classes: 1 for two, else n_classes. */
extern int32_t mm_svm_n_models(int32_t n_classes);

/*
 * Bytes mm_svm_fit() allocates besides X itself for n rows, d features and
 * n_classes classes, for the glue's training memory limit; 0 on overflow.
 */
extern size_t mm_svm_work_bytes(int64_t n, int32_t d, int32_t n_classes);

/*
 * Fit on the dense row-major n x d matrix X with class indices label[i] in
 * [0, n_classes).  coef receives mm_svm_n_models(n_classes) rows of d
 * weights (row-major, as scikit-learn's coef_), intercept one value per
 * model (0 without fit_intercept).  info may be NULL.
 * MM_ERR_DATA: a value of X is not finite, only one class has rows, or a
 * class in [0, n_classes) has none.  MM_ERR_INVALID: bad options or a label
 * out of range.  MM_ERR_INTERRUPTED, MM_ERR_NOMEM.  MM_OK also when a model
 * did not converge within max_iter (info->converged is false).
 */
extern mm_status mm_svm_fit(const double *X, int64_t n, int32_t d,
							const int32_t *label, int32_t n_classes,
							const mm_svm_options *opt, double *coef,
							double *intercept, mm_cd_info *info,
							mm_error *err);

/*
 * Decision values of one row x (d values): scores[m] = intercept[m] +
 * x'coef[m] for each of n_models models.  Plain loops, no BLAS.
 */
extern void mm_svm_decision(const double *coef, const double *intercept,
							int32_t n_models, int32_t d, const double *x,
							double *scores);

/*
 * Predicted class index from decision values: with one model, 1 when the
 * score is > 0, else 0; otherwise the first model with the largest score.
 */
extern int32_t mm_svm_predict_class(const double *scores, int32_t n_models);

/*
 * The primal objective of one binary model (see above) over the rows of X,
 * with y_i = +1 when label[i] == positive and -1 otherwise.  The penalty on
 * the intercept is (intercept / intercept_scaling)^2 / 2 when fit_intercept.
 */
extern double mm_svm_objective(const double *X, int64_t n, int32_t d,
							   const int32_t *label, int32_t positive,
							   const mm_svm_options *opt, const double *coef,
							   double intercept);

#endif							/* MM_SVM_H */
