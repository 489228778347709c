/*
 * mm_metrics.c
 *	  Classification metrics: accuracy, the confusion matrix, precision,
 *	  recall and F1 (binary or macro), ROC AUC and log loss.  See
 *	  mm_metrics.h for the definitions, which are scikit-learn's.
 *
 * ROC AUC is the Mann-Whitney statistic from one sort of the scores
 * (O(n log n)): walking up the sorted scores a group of tied scores at a
 * time, each positive row of a group outranks every negative row below the
 * group and ties with the negative rows inside it, which count one half.
 * That is the same as averaging ranks over ties.  Twice the count is an
 * integer, kept exactly in 64 bits whenever it fits.
 */
#include "mm_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* log_loss clips the probability of the true class from below at this */
#define MM_LOG_LOSS_EPS 1e-15

/* above this many rows, twice the Mann-Whitney count may not fit in 64 bits */
#define MM_AUC_EXACT_ROWS ((int64_t) 1 << 32)

typedef struct ScoredRow
{
	double		score;
	int32_t		positive;
} ScoredRow;

static int
CompareScore(const void *a, const void *b)
{
	double		x = ((const ScoredRow *) a)->score;
	double		y = ((const ScoredRow *) b)->score;

	return (x > y) - (x < y);
}

static mm_status
Interrupted(mm_error *err)
{
	return mm_fail(err, MM_ERR_INTERRUPTED, "metrics computation interrupted");
}

/*
 * Check classes, probabilities and scores before computing anything, so
 * that an error never leaves half-filled results behind.
 */
static mm_status
CheckInput(const int32_t *y, const int32_t *pred, const double *proba,
		   const double *score, int64_t n, int32_t K, mm_error *err)
{
	int64_t		i;

	if (n < 1)
		return mm_fail(err, MM_ERR_INVALID, "metrics need at least one row");
	if (K < 2)
		return mm_fail(err, MM_ERR_INVALID,
					   "metrics need at least two classes, not %d", (int) K);
	for (i = 0; i < n; i++)
	{
		if (y[i] < 0 || y[i] >= K)
			return mm_fail(err, MM_ERR_INVALID,
						   "true class of row %lld is %d, not in 0..%d",
						   (long long) i + 1, (int) y[i], (int) K - 1);
		if (pred[i] < 0 || pred[i] >= K)
			return mm_fail(err, MM_ERR_INVALID,
						   "predicted class of row %lld is %d, not in 0..%d",
						   (long long) i + 1, (int) pred[i], (int) K - 1);
	}
	if (proba != NULL)
	{
		for (i = 0; i < n; i++)
		{
			const double *row = proba + (size_t) i * (size_t) K;

			for (int32_t k = 0; k < K; k++)
				if (isnan(row[k]))
					return mm_fail(err, MM_ERR_DATA,
								   "probability of class %d in row %lld is NaN",
								   (int) k, (long long) i + 1);
		}
	}
	if (score != NULL)
	{
		for (i = 0; i < n; i++)
			if (isnan(score[i]))
				return mm_fail(err, MM_ERR_DATA, "score of row %lld is NaN",
							   (long long) i + 1);
	}
	return MM_OK;
}

/*
 * ROC AUC of a binary problem from the scores: NaN when only one class has
 * rows.  Polls mm_should_stop() before and after the sort.
 */
static mm_status
RocAuc(const int32_t *y, const double *score, int64_t n, double *auc,
	   mm_error *err)
{
	ScoredRow  *rows;
	size_t		bytes;
	int64_t		n_pos = 0,
				n_neg,
				i,
				j;
	uint64_t	neg_below = 0;
	uint64_t	twice_exact = 0;
	double		twice_approx = 0.0;
	double		twice;

	for (i = 0; i < n; i++)
		n_pos += y[i] == 1;
	n_neg = n - n_pos;
	if (n_pos == 0 || n_neg == 0)
	{
		*auc = NAN;
		return MM_OK;
	}

	if ((uint64_t) n > SIZE_MAX ||
		!mm_size_mul((size_t) n, sizeof(ScoredRow), &bytes))
		return mm_fail(err, MM_ERR_LIMIT, "too many rows to rank");
	if (mm_should_stop())
		return Interrupted(err);
	rows = mm_alloc(bytes);
	if (rows == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory ranking %lld scores",
					   (long long) n);
	for (i = 0; i < n; i++)
	{
		rows[i].score = score[i];
		rows[i].positive = y[i] == 1;
	}
	qsort(rows, (size_t) n, sizeof(ScoredRow), CompareScore);
	if (mm_should_stop())
	{
		mm_free(rows);
		return Interrupted(err);
	}

	for (i = 0; i < n; i = j)
	{
		uint64_t	pos = 0,
					neg = 0;

		for (j = i; j < n && rows[j].score == rows[i].score; j++)
		{
			if (rows[j].positive)
				pos++;
			else
				neg++;
		}
		/* unsigned: wraps harmlessly when the exact count is not used */
		twice_exact += pos * (2 * neg_below + neg);
		twice_approx += (double) pos * (double) (2 * neg_below + neg);
		neg_below += neg;
	}
	mm_free(rows);

	twice = n <= MM_AUC_EXACT_ROWS ? (double) twice_exact : twice_approx;
	*auc = twice / (2.0 * (double) n_pos * (double) n_neg);
	return MM_OK;
}

/*
 * Mean of -log(max(p, eps)) over the probability each row gives its true
 * class, summed with Neumaier's compensation.
 */
static double
LogLoss(const int32_t *y, const double *proba, int64_t n, int32_t K)
{
	double		sum = 0.0,
				comp = 0.0;

	for (int64_t i = 0; i < n; i++)
	{
		double		p = proba[(size_t) i * (size_t) K + (size_t) y[i]];
		double		term = -log(p > MM_LOG_LOSS_EPS ? p : MM_LOG_LOSS_EPS);
		double		t = sum + term;

		if (fabs(sum) >= fabs(term))
			comp += (sum - t) + term;
		else
			comp += (term - t) + sum;
		sum = t;
	}
	return (sum + comp) / (double) n;
}

/* Precision, recall and F1 of class k from the confusion matrix. */
static void
ClassScores(const int64_t *confusion, int32_t K, int32_t k,
			double *precision, double *recall, double *f1)
{
	int64_t		tp = confusion[(size_t) k * K + k];
	int64_t		predicted = 0,
				actual = 0;

	for (int32_t r = 0; r < K; r++)
		predicted += confusion[(size_t) r * K + k];
	for (int32_t c = 0; c < K; c++)
		actual += confusion[(size_t) k * K + c];
	*precision = predicted > 0 ? (double) tp / (double) predicted : 0.0;
	*recall = actual > 0 ? (double) tp / (double) actual : 0.0;
	*f1 = *precision + *recall > 0.0 ?
		2.0 * *precision * *recall / (*precision + *recall) : 0.0;
}

mm_status
mm_class_metrics_compute(const int32_t *y, const int32_t *pred,
						 const double *proba, const double *score, int64_t n,
						 int32_t K, mm_class_metrics *out, mm_error *err)
{
	mm_status	st;
	int64_t    *confusion;
	size_t		cells,
				bytes;
	int64_t		correct = 0;

	memset(out, 0, sizeof(*out));
	out->roc_auc = NAN;
	out->log_loss = NAN;

	st = CheckInput(y, pred, proba, score, n, K, err);
	if (st != MM_OK)
		return st;

	if (!mm_size_mul((size_t) K, (size_t) K, &cells) ||
		!mm_size_mul(cells, sizeof(int64_t), &bytes))
		return mm_fail(err, MM_ERR_LIMIT,
					   "too many classes for a confusion matrix: %d", (int) K);
	confusion = mm_alloc0(bytes);
	if (confusion == NULL)
		return mm_fail(err, MM_ERR_NOMEM,
					   "out of memory for a confusion matrix of %d classes",
					   (int) K);
	for (int64_t i = 0; i < n; i++)
	{
		confusion[(size_t) y[i] * K + pred[i]]++;
		correct += y[i] == pred[i];
	}

	if (K == 2 && score != NULL)
	{
		st = RocAuc(y, score, n, &out->roc_auc, err);
		if (st != MM_OK)
		{
			mm_free(confusion);
			out->roc_auc = NAN;
			return st;
		}
	}

	out->rows = n;
	out->n_classes = K;
	out->accuracy = (double) correct / (double) n;
	if (K == 2)
		ClassScores(confusion, K, 1, &out->precision, &out->recall, &out->f1);
	else
	{
		double		sum_p = 0.0,
					sum_r = 0.0,
					sum_f = 0.0;

		for (int32_t k = 0; k < K; k++)
		{
			double		p,
						r,
						f;

			ClassScores(confusion, K, k, &p, &r, &f);
			sum_p += p;
			sum_r += r;
			sum_f += f;
		}
		out->precision = sum_p / (double) K;
		out->recall = sum_r / (double) K;
		out->f1 = sum_f / (double) K;
	}
	if (proba != NULL)
		out->log_loss = LogLoss(y, proba, n, K);
	out->confusion = confusion;
	return MM_OK;
}

void
mm_class_metrics_free(mm_class_metrics *m)
{
	if (m == NULL)
		return;
	mm_free(m->confusion);
	m->confusion = NULL;
}
