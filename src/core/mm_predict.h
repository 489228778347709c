/*
 * mm_predict.h
 *	  Row prediction from a parsed model, without BLAS: a fixed loop order so
 *	  a model predicts bit-identically on every machine (DESIGN.md, runtime).
 *
 * A predictor is built once per parsed model (it expands the parameters
 * into plain doubles) and then applied to rows of raw feature values in the
 * model's feature order.  NULL features are imputed as the model records, or
 * refused when the model says impute = error.
 */
#ifndef MM_PREDICT_H
#define MM_PREDICT_H

#include "mm_core.h"
#include "mm_model.h"

typedef struct mm_predictor
{
	const mm_model *model;		/* not owned */
	uint32_t	n_features;
	uint32_t	width;
	double		intercept;
	double	   *coef;			/* width weights, input order */
	double	   *impute;			/* per feature: value for NULL */
	bool	   *impute_error;	/* per feature: NULL is an error */
} mm_predictor;

/* Build a predictor; MM_ERR_UNSUPPORTED for algorithms not servable yet. */
extern mm_status mm_predictor_new(const mm_model *model, mm_predictor **out,
								  mm_error *err);
extern void mm_predictor_free(mm_predictor *p);

/*
 * Predict one row.  values has n_features entries; nulls may be NULL (no
 * NULLs).  Non-finite inputs are refused (MM_ERR_DATA).
 */
extern mm_status mm_predict_row(const mm_predictor *p, const double *values,
								const bool *nulls, double *out, mm_error *err);

#endif							/* MM_PREDICT_H */
