/*
 * mm_metrics.h
 *	  Classification metrics from predicted classes, probabilities and
 *	  ranking scores, with scikit-learn's definitions.
 *
 * Rows i = 0..n-1 have a true class y[i] and a predicted class pred[i], both
 * in [0, K).  Definitions (scikit-learn 1.2, sklearn.metrics):
 *	 accuracy	  share of rows with pred == y.
 *	 confusion	  K x K counts, row = true class, column = predicted
 *				  (confusion_matrix(labels = 0..K-1)).
 *	 precision_k  TP_k / (TP_k + FP_k), 0 when nothing was predicted k
 *				  (zero_division = 0); recall_k TP_k / (TP_k + FN_k), 0 when
 *				  class k has no rows; f1_k = 2 P R / (P + R), 0 when P + R = 0.
 *	 precision, recall, f1: for K = 2 those of class 1 (average = 'binary',
 *				  the positive class is the second label); for K > 2 the
 *				  unweighted mean over all K classes (average = 'macro').
 *	 roc_auc	  K = 2 only, from score[i] (higher = more likely class 1):
 *				  the Mann-Whitney statistic with ties counted one half
 *				  (roc_auc_score); NaN when only one class has rows or
 *				  score is NULL.
 *	 log_loss	  mean over rows of -log(max(proba[i][y[i]], eps)) with
 *				  eps = 1e-15 (log_loss(eps=1e-15); 1.2 defaults to machine epsilon), probabilities as given
 *				  (row-major n x K); NaN when proba is NULL.
 */
#ifndef MM_METRICS_H
#define MM_METRICS_H

#include "mm_core.h"

typedef struct mm_class_metrics
{
	int64_t		rows;
	int32_t		n_classes;
	double		accuracy;
	double		precision;
	double		recall;
	double		f1;
	double		roc_auc;		/* NaN: not binary, one class, no score */
	double		log_loss;		/* NaN: no probabilities */
	int64_t    *confusion;		/* K x K row-major, from mm_alloc; free with
								 * mm_class_metrics_free */
} mm_class_metrics;

/*
 * Compute the metrics over n >= 1 rows with K >= 2 classes.  proba (n x K)
 * and score (n) may be NULL.  MM_ERR_INVALID: n < 1, K < 2, a class out of
 * range; MM_ERR_DATA: a probability or score that is NaN; MM_ERR_NOMEM.
 * MM_ERR_INTERRUPTED when mm_should_stop() says stop (polled while sorting
 * large score arrays).
 */
extern mm_status mm_class_metrics_compute(const int32_t *y,
										  const int32_t *pred,
										  const double *proba,
										  const double *score, int64_t n,
										  int32_t K, mm_class_metrics *out,
										  mm_error *err);
extern void mm_class_metrics_free(mm_class_metrics *m);

#endif							/* MM_METRICS_H */
