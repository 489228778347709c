/*
 * mm_predict.h
 *	  Row encoding and row prediction from a parsed model, without BLAS: a
 *	  fixed loop order so a model predicts bit-identically on every machine
 *	  (DESIGN.md, runtime).
 *
 * RAW ROWS.  Every function here takes a row of raw feature values in the
 * model's feature order: values[j] is the number for a numeric feature, and
 * for a categorical feature the index of its category in the feature's
 * vocabulary (0 .. n_categories - 1, as a double), or -1 for a category the
 * model has never seen (mm_encoder_category maps a label to that index).
 * nulls may be NULL (no NULLs); nulls[j] marks feature j NULL, and it is
 * imputed as the model records (numeric: impute_value; categorical:
 * impute_value is a category index, or -1 for "no category"), or refused
 * (MM_ERR_DATA) when the feature says impute = error.  A numeric value that
 * is NaN or infinite is refused (MM_ERR_DATA).
 *
 * ENCODING.  The input vector the parameters apply to has width
 * mm_model_input_width() slots, in feature order: a numeric feature takes
 * one slot holding (x - center) / scale; a categorical feature takes one
 * slot per category, or one per category after the first with drop_first
 * (the first category is the reference level), and its slots are all 0
 * except a 1 in the slot of its category.  An unseen category (-1), and
 * the reference level under drop_first, set every slot of the feature to
 * 0: an unseen category predicts like the reference level of an
 * unpenalized model, and like "no effect" of one without a reference level.
 *
 * OUTPUTS.  For a regressor, one value.  For a classifier, the class index
 * (0 .. n_classes - 1, the order of model->classes) and, for algorithms
 * with probabilities, one probability per class:
 *	 logistic_regression (binary): tensors coef 1 x width, intercept 1 x 1;
 *	   eta = intercept + coef . x, P(class 1) = 1 / (1 + exp(-eta)),
 *	   class 1 iff eta > 0.
 *	 softmax_regression: coef K x width, intercept 1 x K (K = n_classes);
 *	   eta_k = intercept_k + coef_k . x, probabilities softmax(eta) computed
 *	   with the largest eta subtracted; class = first k with the largest eta.
 *	 linear_svm: coef M x width, intercept 1 x M with M = 1 for two classes
 *	   (decision > 0 means class 1) and M = K otherwise (one-vs-rest, first
 *	   largest decision wins); no probabilities (MM_ERR_UNSUPPORTED).
 *	 mlp_classifier / mlp_regressor: the network of mm_mlp_infer.h on the
 *	   encoded row; a classifier's outputs are its K softmax probabilities
 *	   (class = first largest), a regressor's its one output.
 * Linear regressors (linear_regression, lasso, elastic_net): coef 1 x width,
 * intercept 1 x 1, value = intercept + coef . x.  Every dot product is
 * summed left to right starting from the intercept.
 */
#ifndef MM_PREDICT_H
#define MM_PREDICT_H

#include <stddef.h>

#include "mm_core.h"
#include "mm_model.h"

/* Raw row -> input vector, shared by training and prediction. */
typedef struct mm_encoder
{
	const mm_model *model;		/* not owned */
	uint32_t	n_features;
	uint32_t	width;			/* mm_model_input_width(model) */
	bool		plain;			/* every feature numeric, center 0, scale 1 */
	uint32_t   *slot;			/* per feature: its first slot */
	uint32_t  **sorted;			/* per categorical feature: category indices
								 * sorted by label (bytewise), NULL for
								 * numeric features */
	double	   *impute;			/* per feature: value / category for NULL */
	bool	   *impute_error;	/* per feature: NULL is an error */
} mm_encoder;

/* Build an encoder from the model's features (tensors are not looked at). */
extern mm_status mm_encoder_new(const mm_model *model, mm_encoder **out,
								mm_error *err);
extern void mm_encoder_free(mm_encoder *e);

/*
 * Index of the category spelled label[0 .. len) of categorical feature j,
 * or -1 when the vocabulary does not hold it (or feature j is numeric).
 * O(log n_categories).
 */
extern int32_t mm_encoder_category(const mm_encoder *e, uint32_t j,
								   const char *label, size_t len);

/*
 * Encode a raw row (see above) into x[0 .. width).  Besides the errors
 * above: MM_ERR_INVALID for a categorical value that is not an integer in
 * [-1, n_categories), MM_ERR_RANGE when (x - center) / scale overflows.
 */
extern mm_status mm_encoder_encode(const mm_encoder *e, const double *values,
								   const bool *nulls, double *x,
								   mm_error *err);

typedef struct mm_predictor
{
	const mm_model *model;		/* not owned */
	uint32_t	n_features;
	uint32_t	width;
	uint32_t	n_classes;		/* 0 for regressors */
	uint32_t	n_outputs;		/* rows of coef: 1, K (softmax, OvR SVM) */
	bool		has_proba;		/* logistic and softmax */
	mm_encoder *enc;
	struct mm_mlp_infer *mlp;	/* MLPs: the network, else NULL */
	double	   *coef;			/* n_outputs x width, row-major */
	double	   *intercept;		/* n_outputs */
	double	   *xbuf;			/* width: the encoded row */
	double	   *scratch;		/* n_outputs */
	/* kept for callers of the numeric fast path */
	double	   *impute;			/* = enc->impute */
	bool	   *impute_error;	/* = enc->impute_error */
	/* an MLP regressor's output is a z-score: value = out * scale + center */
	double		target_center;
	double		target_scale;
	/*
	 * The number each class stands for, when every class label is an
	 * integer (attribute label_kind = 2, integer targets); else NULL
	 */
	double	   *class_values;
	/* grouped models: one predictor per group (the top level predicts
	 * nothing itself) and, per group, its class indexes in the top
	 * level's classes */
	uint32_t	n_groups;
	struct mm_predictor **groups;
	int32_t   **group_class;
} mm_predictor;

/*
 * Build a predictor: linear regressors, logistic_regression,
 * softmax_regression, linear_svm, with numeric and categorical features.
 * MM_ERR_UNSUPPORTED for algorithms not servable yet; MM_ERR_CORRUPT for
 * tensors of the wrong shape.  A predictor is not thread safe (it owns a
 * scratch buffer); it refers to the model, which must outlive it.
 */
extern mm_status mm_predictor_new(const mm_model *model, mm_predictor **out,
								  mm_error *err);
extern void mm_predictor_free(mm_predictor *p);

/*
 * Predict one raw row: the value of a regressor, the class index of a
 * classifier (as a double).  MM_ERR_RANGE when a regressor's value is out
 * of the range of double precision.
 */
extern mm_status mm_predict_row(const mm_predictor *p, const double *values,
								const bool *nulls, double *out, mm_error *err);

/*
 * Classifiers: the class index and, when proba is not NULL, n_classes
 * probabilities (MM_ERR_UNSUPPORTED when the algorithm has none and proba
 * is not NULL).  score, when not NULL, receives a ranking score for the
 * positive class of a binary model (P(class 1), or the SVM decision
 * value), NaN for multiclass.  MM_ERR_INVALID for a regressor.
 */
extern mm_status mm_predict_class(const mm_predictor *p, const double *values,
								  const bool *nulls, int32_t *cls,
								  double *proba, double *score,
								  mm_error *err);

/*
 * Grouped models (mm_model.groups): mm_predictor_new builds a predictor per
 * group; the top level's n_features and n_classes (the union) describe the
 * model, and mm_predict_row / mm_predict_class on it are MM_ERR_INVALID.
 * mm_predictor_route returns the predictor of the group whose keys equal
 * keys (as mm_model_find_group), or NULL when the model has no such group;
 * *group receives its index.  Raw rows for it use its own encoder (its own
 * vocabularies).  A class index cls of group g is class group_class[g][cls]
 * of the top level.
 */
extern const mm_predictor *mm_predictor_route(const mm_predictor *p,
											  const char *const *keys,
											  const size_t *lens,
											  int32_t *group);

#endif							/* MM_PREDICT_H */
