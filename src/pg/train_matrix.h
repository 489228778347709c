/*
 * train_matrix.h
 *	  What the two halves of the in-memory training path share:
 *	  train_matrix.c (scan, vocabularies, model, fit) and train_eval.c
 *	  (predictions, metrics, baselines, champion scoring).
 */
#ifndef MM_TRAIN_MATRIX_H
#define MM_TRAIN_MATRIX_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "mm_metrics.h"
#include "mm_model.h"
#include "mm_predict.h"
#include "mm_train.h"
#include "mm_train_input.h"

/* Distinct labels of one column, in order of first appearance (codes). */
typedef struct LabelDict
{
	int32		n;
	int32		cap;
	char	  **labels;			/* NUL-terminated copies */
	int32	   *lens;
	uint32	   *hashes;
	int64	   *train_count;	/* occurrences in training rows */
	int32	   *table;			/* open addressing: code + 1, 0 = empty */
	int32		table_cap;		/* power of two */
} LabelDict;

typedef struct MatrixRun
{
	const mm_train_spec *spec;
	const mm_train_input *in;
	int			p;				/* raw features */
	int			algorithm;		/* mm_algorithm */
	bool		classification;
	bool		impute_error;
	bool		fit_intercept;
	Size		mem_used;

	/* the rows, as read */
	int64		n;
	int64		cap;
	double	   *raw;			/* n x p: numbers or category codes; NaN =
								 * NULL */
	double	   *y;				/* regression value, or class label code */
	bool	   *is_test;
	int64		rows_read;
	int64		null_target;
	int64		n_train;
	int64		n_test;			/* held out, with a class the model knows */
	int64		unknown_label_rows; /* held out, class not in training */
	LabelDict	label_dict;
	LabelDict  *dicts;			/* per feature (categorical ones used) */
	int			n_group;		/* group_by columns */
	LabelDict  *gdicts;			/* per group_by column */
	int32	   *gkey;			/* n x n_group label codes, -1 = NULL */
	char	   *group_summary;	/* grouped: per-group metrics as JSON */

	/* resolved after the scan */
	int32		n_classes;
	const char *task;			/* regression, binary, multiclass */
	int32	   *class_of_code;	/* label code -> class index, or -1 */
	int32	  **vocab_of_code;	/* per categorical feature: code -> category
								 * index, or -1 */
	double	   *impute;			/* per feature */
	mm_model   *model;
	mm_encoder *enc;
	mm_predictor *pred;
	double	   *values;			/* p: one raw row as the predictor takes it */
	bool	   *nulls;

	/* predictions of every row (train_eval.c) */
	double	   *yhat;			/* regression value or class index */
	double	   *proba;			/* n x K when the model has probabilities */
	double	   *score;			/* binary: ranking score */

	/* champion scoring */
	int32		champion;
	double		champion_score;
	double		challenger_score;
	const char *key_metric;
} MatrixRun;

/* Raw row r as the predictor takes it, into run->values / run->nulls. */
extern void mm_matrix_row_values(MatrixRun *run, int64 r);
/* The class index of row r (-1 for a held-out row of an unknown class). */
extern int32 mm_matrix_row_class(const MatrixRun *run, int64 r);

extern MatrixRun *mm_matrix_read(const char *algorithm, Oid relid,
								 const char *target, ArrayType *features,
								 uint64 seed, double fraction, int64 sample);

/* train_eval.c */
extern bool mm_matrix_model_metrics(MatrixRun *run, const mm_model *m,
									StringInfo out, int64 *rows,
									double *seconds_per_row);
extern void mm_class_metrics_json(StringInfo buf, const mm_class_metrics *m);
extern void mm_matrix_predict_all(MatrixRun *run);
extern char *mm_matrix_metrics_json(MatrixRun *run);
extern char *mm_matrix_baselines_json(MatrixRun *run);
extern bool mm_matrix_score_champion(void *arg, int64 model_id, int32 champion,
									 char **reason);

#endif							/* MM_TRAIN_MATRIX_H */
