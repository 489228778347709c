/*
 * test_metrics.c
 *	  Unit tests of the classification metrics (src/core/mm_metrics.c)
 *	  against scikit-learn's values in test/unit/fixtures/metrics (made by
 *	  make_metrics_fixtures.py there; see its header for the format), plus
 *	  a large ranking case, the errors, allocation failure and
 *	  cancellation.
 */
#include <math.h>

#include "cd_test_common.h"
#include "mm_metrics.h"

#define METRICS_FIXTURE "test/unit/fixtures/metrics/metrics_ref.txt"
#define REL_TOL 1e-12

/* One case of the fixture file: inputs and scikit-learn's results. */
typedef struct MetricsCase
{
	int32_t		K;
	int64_t		n;
	int32_t    *y;
	int32_t    *pred;
	double	   *score;			/* NULL when the case has none */
	double	   *proba;			/* NULL when the case has none */
	double		expect[6];		/* accuracy precision recall f1 roc_auc
								 * log_loss */
	int64_t    *confusion;
} MetricsCase;

static double
ParseNumber(const char *s)
{
	char	   *end;
	double		v = strtod(s, &end);

	assert_true(end != s && *end == '\0');
	return v;
}

/* Read the case called name from the fixture file; fail when absent. */
static MetricsCase
ReadCase(const char *name)
{
	FILE	   *fp = fopen(METRICS_FIXTURE, "r");
	char	   *buf = NULL;
	size_t		cap = 0;
	char	   *line;
	char	   *tok[MAX_TOKENS];
	MetricsCase c;
	int			has_score = 0,
				has_proba = 0;
	bool		found = false;

	memset(&c, 0, sizeof(c));
	if (fp == NULL)
		fail_msg("cannot open %s (run the tests from the repository root)",
				 METRICS_FIXTURE);
	while ((line = NextLine(fp, &buf, &cap)) != NULL)
	{
		int			nt = Tokens(line, tok, MAX_TOKENS);

		if (nt == 6 && strcmp(tok[0], "case") == 0 &&
			strcmp(tok[1], name) == 0)
		{
			c.K = atoi(tok[2]);
			c.n = atoll(tok[3]);
			has_score = atoi(tok[4]);
			has_proba = atoi(tok[5]);
			found = true;
			break;
		}
	}
	if (!found)
		fail_msg("no case %s in %s", name, METRICS_FIXTURE);
	assert_true(c.K >= 2 && c.K <= 16 && c.n >= 1);

	c.y = malloc(sizeof(int32_t) * c.n);
	c.pred = malloc(sizeof(int32_t) * c.n);
	c.score = has_score ? malloc(sizeof(double) * c.n) : NULL;
	c.proba = has_proba ? malloc(sizeof(double) * c.n * c.K) : NULL;
	c.confusion = malloc(sizeof(int64_t) * c.K * c.K);
	for (int64_t i = 0; i < c.n; i++)
	{
		int			want = 2 + has_score + (has_proba ? c.K : 0);
		int			t = 2;

		line = NextLine(fp, &buf, &cap);
		assert_non_null(line);
		assert_int_equal(Tokens(line, tok, MAX_TOKENS), want);
		c.y[i] = atoi(tok[0]);
		c.pred[i] = atoi(tok[1]);
		if (has_score)
			c.score[i] = ParseNumber(tok[t++]);
		if (has_proba)
			for (int32_t k = 0; k < c.K; k++)
				c.proba[i * c.K + k] = ParseNumber(tok[t++]);
	}

	line = NextLine(fp, &buf, &cap);
	assert_non_null(line);
	assert_int_equal(Tokens(line, tok, MAX_TOKENS), 7);
	assert_string_equal(tok[0], "expect");
	for (int m = 0; m < 6; m++)
		c.expect[m] = ParseNumber(tok[m + 1]);

	line = NextLine(fp, &buf, &cap);
	assert_non_null(line);
	assert_int_equal(Tokens(line, tok, MAX_TOKENS), 1 + c.K * c.K);
	assert_string_equal(tok[0], "confusion");
	for (int32_t k = 0; k < c.K * c.K; k++)
		c.confusion[k] = atoll(tok[k + 1]);

	free(buf);
	fclose(fp);
	return c;
}

static void
FreeCase(MetricsCase *c)
{
	free(c->y);
	free(c->pred);
	free(c->score);
	free(c->proba);
	free(c->confusion);
}

/* got within REL_TOL of want, relative; NaN matches only NaN */
static void
AssertClose(const char *name, const char *what, double got, double want)
{
	if (isnan(want))
	{
		if (!isnan(got))
			fail_msg("%s: %s is %.17g, scikit-learn says undefined (nan)",
					 name, what, got);
		return;
	}
	if (!(fabs(got - want) <= REL_TOL * fabs(want)))
		fail_msg("%s: %s is %.17g, scikit-learn says %.17g", name, what, got,
				 want);
}

/* Compute the metrics of a fixture case and compare every one. */
static void
RunCase(const char *name)
{
	MetricsCase c = ReadCase(name);
	mm_class_metrics m;
	mm_error	err;
	static const char *const what[6] = {
		"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"
	};

	mm_error_clear(&err);
	assert_int_equal(mm_class_metrics_compute(c.y, c.pred, c.proba, c.score,
											  c.n, c.K, &m, &err), MM_OK);
	assert_int_equal(err.status, MM_OK);
	assert_int_equal(m.rows, c.n);
	assert_int_equal(m.n_classes, c.K);
	{
		double		got[6] = {m.accuracy, m.precision, m.recall, m.f1,
		m.roc_auc, m.log_loss};

		for (int k = 0; k < 6; k++)
			AssertClose(name, what[k], got[k], c.expect[k]);
	}
	assert_non_null(m.confusion);
	for (int32_t k = 0; k < c.K * c.K; k++)
		if (m.confusion[k] != c.confusion[k])
			fail_msg("%s: confusion[%d][%d] is %lld, scikit-learn says %lld",
					 name, (int) (k / c.K), (int) (k % c.K),
					 (long long) m.confusion[k], (long long) c.confusion[k]);
	mm_class_metrics_free(&m);
	assert_null(m.confusion);
	FreeCase(&c);
}

/* ---------------------------------------------------------------------
 * scikit-learn fixtures
 * ---------------------------------------------------------------------
 */

/* binary, scores on a grid of tenths, ties within and across classes */
static void
test_binary_ties(void **state)
{
	RunCase("binary_ties");
}

/* every score tied: AUC one half */
static void
test_binary_all_tied(void **state)
{
	RunCase("binary_all_tied");
}

/* scores of any sign (decision values), integer-rounded: ties */
static void
test_binary_decision(void **state)
{
	RunCase("binary_decision");
}

/* nothing predicted positive: precision and F1 are 0 (zero_division) */
static void
test_binary_no_positive(void **state)
{
	RunCase("binary_no_positive");
}

/* only class 0 has rows: AUC is NaN, recall 0, log loss still defined */
static void
test_binary_one_class(void **state)
{
	RunCase("binary_one_class");
}

/* K = 3 from softmax probabilities; a score is given but AUC is binary */
static void
test_multi_k3(void **state)
{
	RunCase("multi_k3");
}

/* K = 5: class 4 never predicted, class 3 has no true rows */
static void
test_multi_k5_gaps(void **state)
{
	RunCase("multi_k5_gaps");
}

/* K = 4 with a class in neither y nor pred: still in the macro mean */
static void
test_multi_k4_absent(void **state)
{
	RunCase("multi_k4_absent");
}

/* log loss with true-class probabilities at and below 1e-15, 0, subnormal */
static void
test_logloss_clip(void **state)
{
	RunCase("logloss_clip");
}

/* binary log loss with the true class near 0 and near 1 */
static void
test_logloss_binary(void **state)
{
	RunCase("logloss_binary");
}

/* ---------------------------------------------------------------------
 * Ranking at scale
 * ---------------------------------------------------------------------
 */

#define LARGE_N 400000
#define LARGE_LEVELS 1000

static uint32_t
NextRandom(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t) (*s >> 33);
}

/*
 * 400,000 rows whose scores take 1,000 values (heavy ties): the sort-based
 * AUC must match a count over a histogram of the values, finish quickly
 * (an O(n^2) pairwise count would take minutes), poll before and after the
 * sort, and give 1 - AUC for negated scores.
 */
static void
test_roc_auc_large(void **state)
{
	int32_t    *y = malloc(sizeof(int32_t) * LARGE_N);
	int32_t    *pred = malloc(sizeof(int32_t) * LARGE_N);
	double	   *score = malloc(sizeof(double) * LARGE_N);
	int64_t		pos[LARGE_LEVELS] = {0},
				neg[LARGE_LEVELS] = {0};
	int64_t		n_pos = 0,
				n_neg = 0;
	double		below = 0.0,
				count = 0.0,
				expect;
	uint64_t	seed = 42;
	mm_class_metrics m;
	mm_error	err;

	for (int i = 0; i < LARGE_N; i++)
	{
		int			level;

		y[i] = NextRandom(&seed) % 3 == 0;
		/* positives lean to higher levels */
		level = (int) (NextRandom(&seed) % LARGE_LEVELS);
		if (y[i] && level < LARGE_LEVELS / 2 && NextRandom(&seed) % 2)
			level += LARGE_LEVELS / 2;
		score[i] = (double) level / 7.0 - 50.0;
		pred[i] = level >= LARGE_LEVELS / 2;
		if (y[i])
			pos[level]++, n_pos++;
		else
			neg[level]++, n_neg++;
	}
	for (int v = 0; v < LARGE_LEVELS; v++)
	{
		count += (double) pos[v] * (below + 0.5 * (double) neg[v]);
		below += (double) neg[v];
	}
	expect = count / ((double) n_pos * (double) n_neg);

	assert_int_equal(mm_class_metrics_compute(y, pred, NULL, score, LARGE_N, 2,
											  &m, &err), MM_OK);
	AssertClose("large", "roc_auc", m.roc_auc, expect);
	assert_true(m.roc_auc > 0.6 && m.roc_auc < 0.9);
	assert_true(polls >= 2);
	mm_class_metrics_free(&m);

	for (int i = 0; i < LARGE_N; i++)
		score[i] = -score[i];
	assert_int_equal(mm_class_metrics_compute(y, pred, NULL, score, LARGE_N, 2,
											  &m, &err), MM_OK);
	AssertClose("large negated", "roc_auc", m.roc_auc, 1.0 - expect);
	mm_class_metrics_free(&m);
	free(y);
	free(pred);
	free(score);
}

/* ---------------------------------------------------------------------
 * Errors, allocation failure, cancellation
 * ---------------------------------------------------------------------
 */

static const int32_t small_y[4] = {0, 1, 1, 0};
static const int32_t small_pred[4] = {0, 1, 0, 0};
static const double small_score[4] = {0.1, 0.9, 0.4, 0.3};
static const double small_proba[8] = {0.9, 0.1, 0.1, 0.9, 0.6, 0.4, 0.7, 0.3};

/* Expect status st with a message, and nothing left to free. */
static void
ExpectError(mm_status got, mm_status st, const mm_error *err,
			const mm_class_metrics *m)
{
	assert_int_equal(got, st);
	assert_int_equal(err->status, st);
	assert_true(err->message[0] != '\0');
	assert_null(m->confusion);
}

static void
test_error_no_rows(void **state)
{
	mm_class_metrics m;
	mm_error	err;

	ExpectError(mm_class_metrics_compute(small_y, small_pred, NULL, NULL, 0, 2,
										 &m, &err), MM_ERR_INVALID, &err, &m);
	ExpectError(mm_class_metrics_compute(small_y, small_pred, NULL, NULL, -1, 2,
										 &m, &err), MM_ERR_INVALID, &err, &m);
}

static void
test_error_one_class(void **state)
{
	int32_t		zeros[4] = {0, 0, 0, 0};
	mm_class_metrics m;
	mm_error	err;

	ExpectError(mm_class_metrics_compute(zeros, zeros, NULL, NULL, 4, 1,
										 &m, &err), MM_ERR_INVALID, &err, &m);
	ExpectError(mm_class_metrics_compute(zeros, zeros, NULL, NULL, 4, 0,
										 &m, &err), MM_ERR_INVALID, &err, &m);
}

static void
test_error_class_out_of_range(void **state)
{
	int32_t		y[4] = {0, 1, 2, 0};
	int32_t		neg[4] = {0, 1, -1, 0};
	mm_class_metrics m;
	mm_error	err;

	/* true class 2 with K = 2 */
	ExpectError(mm_class_metrics_compute(y, small_pred, NULL, NULL, 4, 2,
										 &m, &err), MM_ERR_INVALID, &err, &m);
	assert_non_null(strstr(err.message, "row 3"));
	/* predicted class 2 with K = 2 */
	ExpectError(mm_class_metrics_compute(small_y, y, NULL, NULL, 4, 2,
										 &m, &err), MM_ERR_INVALID, &err, &m);
	/* negative classes */
	ExpectError(mm_class_metrics_compute(neg, small_pred, NULL, NULL, 4, 2,
										 &m, &err), MM_ERR_INVALID, &err, &m);
	ExpectError(mm_class_metrics_compute(small_y, neg, NULL, NULL, 4, 2,
										 &m, &err), MM_ERR_INVALID, &err, &m);
	/* y = 2 is fine with K = 3 */
	assert_int_equal(mm_class_metrics_compute(y, small_pred, NULL, NULL, 4, 3,
											  &m, &err), MM_OK);
	mm_class_metrics_free(&m);
}

static void
test_error_nan_score(void **state)
{
	double		score[4] = {0.1, 0.9, NAN, 0.3};
	mm_class_metrics m;
	mm_error	err;

	ExpectError(mm_class_metrics_compute(small_y, small_pred, NULL, score, 4, 2,
										 &m, &err), MM_ERR_DATA, &err, &m);
	assert_non_null(strstr(err.message, "row 3"));
	/* checked even when K > 2, where the score is not used */
	ExpectError(mm_class_metrics_compute(small_y, small_pred, NULL, score, 4, 3,
										 &m, &err), MM_ERR_DATA, &err, &m);
}

static void
test_error_nan_proba(void **state)
{
	double		proba[8];
	mm_class_metrics m;
	mm_error	err;

	memcpy(proba, small_proba, sizeof(proba));
	/* NaN in a column that is not the true class counts too */
	proba[3] = NAN;
	ExpectError(mm_class_metrics_compute(small_y, small_pred, proba, NULL, 4, 2,
										 &m, &err), MM_ERR_DATA, &err, &m);
}

/* Each allocation failing in turn: NOMEM and no leak (run under ASan). */
static void
test_out_of_memory(void **state)
{
	mm_class_metrics m;
	mm_error	err;

	for (alloc_fail_at = 1; alloc_fail_at <= 2; alloc_fail_at++)
	{
		alloc_count = 0;
		ExpectError(mm_class_metrics_compute(small_y, small_pred, small_proba,
											 small_score, 4, 2, &m, &err),
					MM_ERR_NOMEM, &err, &m);
	}
	/* two allocations in all: the next run succeeds */
	alloc_count = 0;
	assert_int_equal(mm_class_metrics_compute(small_y, small_pred, small_proba,
											  small_score, 4, 2, &m, &err),
					 MM_OK);
	mm_class_metrics_free(&m);
}

/* Stop requested before and after the sort. */
static void
test_interrupted(void **state)
{
	mm_class_metrics m;
	mm_error	err;

	for (stop_after = 1; stop_after <= 2; stop_after++)
	{
		polls = 0;
		ExpectError(mm_class_metrics_compute(small_y, small_pred, small_proba,
											 small_score, 4, 2, &m, &err),
					MM_ERR_INTERRUPTED, &err, &m);
		assert_int_equal(polls, stop_after);
	}
	/* without scores nothing is sorted and nothing polled */
	polls = 0;
	stop_flag = true;
	assert_int_equal(mm_class_metrics_compute(small_y, small_pred, small_proba,
											  NULL, 4, 2, &m, &err), MM_OK);
	assert_true(isnan(m.roc_auc));
	mm_class_metrics_free(&m);
}

/* Freeing twice, or a NULL record, is harmless. */
static void
test_free_twice(void **state)
{
	mm_class_metrics m;
	mm_error	err;

	assert_int_equal(mm_class_metrics_compute(small_y, small_pred, NULL, NULL,
											  4, 2, &m, &err), MM_OK);
	assert_true(isnan(m.roc_auc) && isnan(m.log_loss));
	mm_class_metrics_free(&m);
	mm_class_metrics_free(&m);
	mm_class_metrics_free(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, Setup, Teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_binary_ties),
		T(test_binary_all_tied),
		T(test_binary_decision),
		T(test_binary_no_positive),
		T(test_binary_one_class),
		T(test_multi_k3),
		T(test_multi_k5_gaps),
		T(test_multi_k4_absent),
		T(test_logloss_clip),
		T(test_logloss_binary),
		T(test_roc_auc_large),
		T(test_error_no_rows),
		T(test_error_one_class),
		T(test_error_class_out_of_range),
		T(test_error_nan_score),
		T(test_error_nan_proba),
		T(test_out_of_memory),
		T(test_interrupted),
		T(test_free_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
