/*
 * test_mlp.c
 *	  Unit tests of the multilayer perceptron (mm_mlp.c, mm_mlp_train.c).
 *
 * The acceptance test trains scikit-learn's default MLPClassifier setup
 * (one hidden layer of 100 ReLU units, Adam) on the digits data of
 * test/unit/fixtures/mlp (made by make_digits.py there) and asks for 95%
 * held-out accuracy; scikit-learn 1.2.1 reaches 96.9% to 97.3% on the same
 * split with seeds 0..2.  The other tests use seeded pseudo-random data:
 * a smooth regression, bit-identical refits, the one-row forward pass
 * against the batched one, backpropagation against finite differences,
 * the stopping rules (whose epoch counts scikit-learn reproduces: with a
 * huge tol both rules stop after n_iter_no_change + 2 epochs), bad options
 * and data, interrupts, and the memory accounting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cd_test_common.h"
#include "mm_core.h"
#include "mm_lapack.h"
#include "mm_mlp.h"
#include "mm_mlp_internal.h"

#define DIGITS_FILE "test/unit/fixtures/mlp/digits.txt"

/* ---------------------------------------------------------------------
 * Timing: each test prints how long it took
 * ---------------------------------------------------------------------
 */

static struct timespec test_start;

static int
TimedSetup(void **state)
{
	clock_gettime(CLOCK_MONOTONIC, &test_start);
	return Setup(state);
}

static int
TimedTeardown(void **state)
{
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	print_message("    (%.2f s)\n", (double) (end.tv_sec - test_start.tv_sec) +
				  (end.tv_nsec - test_start.tv_nsec) * 1e-9);
	return Teardown(state);
}

/* ---------------------------------------------------------------------
 * Random data
 * ---------------------------------------------------------------------
 */

static uint64_t rng_state;

static uint64_t
RandU64(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double
RandUnit(void)
{
	return (double) (RandU64() >> 11) * (1.0 / 9007199254740992.0);
}

static double
RandNormal(void)
{
	double		u = RandUnit();
	double		v = RandUnit();

	return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

/* A data set: n rows of d features, labels or targets. */
typedef struct Data
{
	int64_t		n;
	int32_t		d;
	int32_t		K;				/* classes, 1 for a regression */
	double	   *X;
	int32_t    *label;
	double	   *target;
} Data;

static void
DataFree(Data *data)
{
	free(data->X);
	free(data->label);
	free(data->target);
}

/*
 * The smooth regression y = sin(x1) + cos(2 x2) / 2 + x3^2 / 4 on x uniform
 * in [-2, 2]^3 (scikit-learn's MLPRegressor reaches R2 0.97 to 0.98 on it).
 */
static Data
SmoothRegression(int64_t n, uint64_t seed)
{
	Data		data = {n, 3, 1, NULL, NULL, NULL};
	int64_t		i;

	rng_state = seed;
	data.X = malloc((size_t) n * 3 * sizeof(double));
	data.target = malloc((size_t) n * sizeof(double));
	assert_non_null(data.X);
	assert_non_null(data.target);
	for (i = 0; i < n; i++)
	{
		double	   *x = data.X + i * 3;
		int			j;

		for (j = 0; j < 3; j++)
			x[j] = 4.0 * RandUnit() - 2.0;
		data.target[i] = sin(x[0]) + 0.5 * cos(2.0 * x[1]) + 0.25 * x[2] * x[2];
	}
	return data;
}

/* K Gaussian blobs in d dimensions, centers 3 apart along the axes. */
static Data
Blobs(int64_t n, int32_t d, int32_t K, uint64_t seed)
{
	Data		data = {n, d, K, NULL, NULL, NULL};
	int64_t		i;

	rng_state = seed;
	data.X = malloc((size_t) n * d * sizeof(double));
	data.label = malloc((size_t) n * sizeof(int32_t));
	assert_non_null(data.X);
	assert_non_null(data.label);
	for (i = 0; i < n; i++)
	{
		int32_t		k = (int32_t) (i % K);
		int32_t		j;

		data.label[i] = k;
		for (j = 0; j < d; j++)
			data.X[i * d + j] = RandNormal() + (j == k % d ? 3.0 : 0.0);
	}
	return data;
}

/* ---------------------------------------------------------------------
 * Digits
 * ---------------------------------------------------------------------
 */

/*
 * The fixture, from the repository root (where `make unit` runs the tests)
 * or else found from the test binary's own path (build/unit*).
 */
static FILE *
OpenDigits(void)
{
	char		exe[1024];
	char		path[1200];
	ssize_t		len;
	FILE	   *fp = fopen(DIGITS_FILE, "r");

	if (fp != NULL)
		return fp;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0)
	{
		exe[len] = '\0';
		snprintf(path, sizeof(path), "%s/../../" DIGITS_FILE,
				 dirname(exe));
		fp = fopen(path, "r");
	}
	if (fp == NULL)
		fail_msg("cannot open " DIGITS_FILE
				 " (run the tests from the repository root)");
	return fp;
}

/* The digits, gray levels scaled by 1/16 into [0, 1]. */
static Data
LoadDigits(void)
{
	static const char digits[] = "0123456789abcdefg";
	FILE	   *fp = OpenDigits();
	char	   *buf = NULL;
	size_t		cap = 0;
	char	   *line;
	long long	rows;
	int			feats;
	Data		data = {0, 0, 10, NULL, NULL, NULL};
	int64_t		i;

	line = NextLine(fp, &buf, &cap);
	assert_non_null(line);
	assert_int_equal(sscanf(line, "%lld %d", &rows, &feats), 2);
	assert_int_equal(rows, 1797);
	assert_int_equal(feats, 64);
	data.n = rows;
	data.d = feats;
	data.X = malloc((size_t) rows * feats * sizeof(double));
	data.label = malloc((size_t) rows * sizeof(int32_t));
	assert_non_null(data.X);
	assert_non_null(data.label);
	for (i = 0; i < data.n; i++)
	{
		int32_t		j;

		line = NextLine(fp, &buf, &cap);
		assert_non_null(line);
		for (j = 0; j < feats; j++)
		{
			const char *c = strchr(digits, line[j]);

			assert_true(line[j] != '\0' && c != NULL);
			data.X[i * feats + j] = (double) (c - digits) / 16.0;
		}
		assert_true(line[feats] == ' ');
		data.label[i] = atoi(line + feats + 1);
		assert_in_range(data.label[i], 0, 9);
	}
	assert_null(NextLine(fp, &buf, &cap));
	free(buf);
	fclose(fp);
	return data;
}

/* Rows with i % 4 == 3 (test) or not (train), as the Python check. */
static Data
SplitRows(const Data *all, bool test)
{
	Data		part = {0, all->d, all->K, NULL, NULL, NULL};
	int64_t		i;

	part.X = malloc((size_t) all->n * all->d * sizeof(double));
	if (all->label != NULL)
		part.label = malloc((size_t) all->n * sizeof(int32_t));
	else
		part.target = malloc((size_t) all->n * sizeof(double));
	for (i = 0; i < all->n; i++)
	{
		if ((i % 4 == 3) != test)
			continue;
		memcpy(part.X + part.n * all->d, all->X + i * all->d,
			   (size_t) all->d * sizeof(double));
		if (all->label != NULL)
			part.label[part.n] = all->label[i];
		else
			part.target[part.n] = all->target[i];
		part.n++;
	}
	return part;
}

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

static mm_mlp_net *
FitOk(const Data *data, const mm_mlp_options *opt, mm_mlp_info *info)
{
	mm_mlp_net *net = NULL;
	mm_error	err;
	mm_status	st;

	mm_error_clear(&err);
	st = mm_mlp_fit(data->X, data->n, data->d, data->label, data->target,
					data->K, opt, &net, info, &err);
	if (st != MM_OK)
		fail_msg("mm_mlp_fit failed: %s (%s)", err.message, err.detail);
	assert_non_null(net);
	return net;
}

static void
ExpectFitFails(const Data *data, int32_t K, const mm_mlp_options *opt,
			   mm_status status, const char *message)
{
	mm_mlp_net *net = (mm_mlp_net *) 1;
	mm_error	err;

	mm_error_clear(&err);
	assert_int_equal(mm_mlp_fit(data->X, data->n, data->d, data->label,
								data->target, K, opt, &net, NULL, &err),
					 status);
	assert_null(net);
	assert_int_equal(err.status, status);
	if (strstr(err.message, message) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", message, err.message);
}

/* Accuracy of a classifier, or R2 of a regressor, on data. */
static double
Score(const mm_mlp_net *net, const Data *data)
{
	int32_t		K = net->out[net->L - 1];
	double	   *out = malloc((size_t) data->n * K * sizeof(double));
	mm_error	err;
	double		score;
	int64_t		i;

	assert_non_null(out);
	assert_int_equal(mm_mlp_forward(net, data->X, data->n, out, &err), MM_OK);
	if (net->classifier)
	{
		int64_t		correct = 0;

		for (i = 0; i < data->n; i++)
		{
			int32_t		best = 0;
			int32_t		k;

			for (k = 1; k < K; k++)
				if (out[i * K + k] > out[i * K + best])
					best = k;
			correct += best == data->label[i];
		}
		score = (double) correct / data->n;
	}
	else
	{
		double		mean = 0.0,
					ss_tot = 0.0,
					ss_res = 0.0;

		for (i = 0; i < data->n; i++)
			mean += data->target[i];
		mean /= data->n;
		for (i = 0; i < data->n; i++)
		{
			ss_tot += (data->target[i] - mean) * (data->target[i] - mean);
			ss_res += (data->target[i] - out[i]) * (data->target[i] - out[i]);
		}
		score = 1.0 - ss_res / ss_tot;
	}
	free(out);
	return score;
}

static bool
SameNet(const mm_mlp_net *a, const mm_mlp_net *b)
{
	return a->n_params == b->n_params &&
		memcmp(a->params, b->params, (size_t) a->n_params * sizeof(double)) == 0;
}

/* ---------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------
 */

/* The acceptance line: default options, >= 95% on held-out digits. */
static void
test_mlp_digits(void **state)
{
	Data		all = LoadDigits();
	Data		train = SplitRows(&all, false);
	Data		test = SplitRows(&all, true);
	mm_mlp_options opt;
	mm_mlp_info info;
	mm_mlp_net *net;
	double		accuracy;

	assert_int_equal(train.n, 1348);
	assert_int_equal(test.n, 449);
	mm_mlp_default_options(&opt);
	net = FitOk(&train, &opt, &info);
	accuracy = Score(net, &test);
	print_message("    digits: %d epochs, loss %.5f, train accuracy %.4f, "
				  "test accuracy %.4f\n", (int) info.epochs, info.loss,
				  Score(net, &train), accuracy);
	assert_true(accuracy >= 0.95);
	assert_int_equal(net->L, 2);
	assert_int_equal(net->in[0], 64);
	assert_int_equal(net->out[0], 100);
	assert_int_equal(net->in[1], 100);
	assert_int_equal(net->out[1], 10);
	assert_int_equal(net->n_params, 100 * 65 + 10 * 101);
	assert_int_equal(info.batch_size, 200);
	assert_int_equal(info.n_train, 1348);
	assert_int_equal(info.n_validation, 0);
	assert_int_equal(info.updates, (int64_t) info.epochs * 7);
	assert_true(isnan(info.best_validation_score));
	assert_true(info.loss < 0.05);
	mm_mlp_net_free(net);
	DataFree(&all);
	DataFree(&train);
	DataFree(&test);
}

/* A smooth function of three variables: held-out R2 above 0.9. */
static void
test_mlp_regressor(void **state)
{
	Data		all = SmoothRegression(1000, 7);
	Data		train = SplitRows(&all, false);
	Data		test = SplitRows(&all, true);
	mm_mlp_options opt;
	mm_mlp_info info;
	mm_mlp_net *net;
	double		r2;

	mm_mlp_default_options(&opt);
	net = FitOk(&train, &opt, &info);
	r2 = Score(net, &test);
	print_message("    regression: %d epochs, loss %.5f, test R2 %.4f\n",
				  (int) info.epochs, info.loss, r2);
	assert_true(r2 > 0.9);
	assert_false(net->classifier);
	assert_int_equal(net->out[net->L - 1], 1);
	mm_mlp_net_free(net);

	/* tanh, two hidden layers, SGD with momentum */
	opt.activation = MM_MLP_TANH;
	opt.solver = MM_MLP_SGD;
	opt.n_hidden = 2;
	opt.hidden[0] = 32;
	opt.hidden[1] = 16;
	opt.batch_size = 32;
	net = FitOk(&train, &opt, &info);
	r2 = Score(net, &test);
	print_message("    regression (tanh, sgd): %d epochs, test R2 %.4f\n",
				  (int) info.epochs, r2);
	assert_true(r2 > 0.9);
	assert_int_equal(net->L, 3);
	mm_mlp_net_free(net);
	DataFree(&all);
	DataFree(&train);
	DataFree(&test);
}

/* Same inputs and seed: the same bits; another seed: other weights. */
static void
test_mlp_deterministic(void **state)
{
	Data		blobs = Blobs(500, 5, 3, 11);
	Data		reg = SmoothRegression(400, 3);
	mm_mlp_options opt;
	mm_mlp_info info1,
				info2;
	int			variant;

	for (variant = 0; variant < 4; variant++)
	{
		const Data *data = variant % 2 == 0 ? &blobs : &reg;
		mm_mlp_net *a,
				   *b,
				   *c;

		mm_mlp_default_options(&opt);
		opt.hidden[0] = 20;
		opt.max_epochs = 15;
		opt.seed = 42;
		if (variant >= 2)
		{
			opt.solver = MM_MLP_SGD;
			opt.activation = MM_MLP_TANH;
			opt.early_stopping = true;
			opt.batch_size = 64;
		}
		a = FitOk(data, &opt, &info1);
		b = FitOk(data, &opt, &info2);
		assert_true(SameNet(a, b));
		assert_memory_equal(&info1, &info2, sizeof(info1));
		opt.seed = 43;
		c = FitOk(data, &opt, &info2);
		assert_false(SameNet(a, c));
		mm_mlp_net_free(a);
		mm_mlp_net_free(b);
		mm_mlp_net_free(c);
	}
	DataFree(&blobs);
	DataFree(&reg);
}

/* The one-row pass (no BLAS) agrees with the batched one to 1e-12. */
static void
test_mlp_forward_row(void **state)
{
	Data		blobs = Blobs(300, 6, 4, 5);
	Data		reg = SmoothRegression(300, 5);
	int			variant;

	for (variant = 0; variant < 4; variant++)
	{
		const Data *data = variant % 2 == 0 ? &blobs : &reg;
		int32_t		K = data->K;
		mm_mlp_options opt;
		mm_mlp_net *net;
		mm_error	err;
		double	   *batch = malloc((size_t) data->n * K * sizeof(double));
		double		row[8];
		double	   *scratch;
		int64_t		i;

		mm_mlp_default_options(&opt);
		opt.max_epochs = 20;
		if (variant >= 2)
		{
			opt.activation = MM_MLP_TANH;
			opt.n_hidden = 3;
			opt.hidden[0] = 17;
			opt.hidden[1] = 300;	/* wider than a dgemm block */
			opt.hidden[2] = 9;
		}
		net = FitOk(data, &opt, NULL);
		scratch = malloc((mm_mlp_scratch_size(net) + 1) * sizeof(double));
		assert_int_equal(mm_mlp_scratch_size(net),
						 2 * (variant >= 2 ? 300 : 100));
		assert_int_equal(mm_mlp_forward(net, data->X, data->n, batch, &err),
						 MM_OK);
		for (i = 0; i < data->n; i++)
		{
			double		sum = 0.0;
			int32_t		k;

			mm_mlp_forward_row(net, data->X + i * data->d, row, scratch);
			for (k = 0; k < K; k++)
			{
				double		want = batch[i * K + k];

				if (fabs(row[k] - want) > 1e-12 * fmax(1.0, fabs(want)))
					fail_msg("row %lld output %d: %.17g vs batched %.17g",
							 (long long) i, (int) k, row[k], want);
				sum += row[k];
			}
			if (net->classifier)
				assert_true(fabs(sum - 1.0) < 1e-14);
		}
		/* a batch of one row agrees too */
		assert_int_equal(mm_mlp_forward(net, data->X + 10 * data->d, 1,
										 row, &err), MM_OK);
		assert_true(fabs(row[0] - batch[10 * K]) <=
					1e-12 * fmax(1.0, fabs(batch[10 * K])));
		free(batch);
		free(scratch);
		mm_mlp_net_free(net);
	}
	DataFree(&blobs);
	DataFree(&reg);
}

/*
 * Backpropagation against central differences of the loss, on tiny
 * networks with random weights, l2 > 0 (the penalty's gradient too).
 */
static void
test_mlp_gradient(void **state)
{
	static const struct
	{
		int32_t		L;
		int32_t		width[5];
		int			activation;
	}			cases[] = {
		{3, {3, 5, 4, 3}, MM_MLP_RELU},
		{3, {3, 5, 4, 3}, MM_MLP_TANH},
		{2, {4, 6, 2}, MM_MLP_RELU},
		{3, {3, 5, 4, 1}, MM_MLP_TANH},
		{2, {2, 7, 1}, MM_MLP_RELU},
		{1, {4, 3}, MM_MLP_TANH},
		{4, {2, 3, 3, 3, 1}, MM_MLP_TANH},
	};
	const int32_t n = 7;
	size_t		c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		int32_t		L = cases[c].L;
		int32_t		d = cases[c].width[0];
		int32_t		K = cases[c].width[L];
		bool		classifier = K > 1;
		mm_mlp_net *net;
		mm_error	err;
		double		X[7 * 4];
		int32_t		label[7];
		double		target[7];
		double	   *grad;
		double	   *unused;
		double		loss,
					lp,
					lm;
		int64_t		p;
		int32_t		i;

		assert_int_equal(mm_mlp_net_create(L, cases[c].width,
										   cases[c].activation, classifier,
										   &net, &err), MM_OK);
		rng_state = 1000 + c;
		for (p = 0; p < net->n_params; p++)
			net->params[p] = RandNormal() * 0.7;
		for (i = 0; i < n * d; i++)
			X[i] = RandNormal();
		for (i = 0; i < n; i++)
		{
			label[i] = (int32_t) (RandU64() % (uint64_t) (classifier ? K : 1));
			target[i] = RandNormal();
		}
		grad = malloc((size_t) net->n_params * sizeof(double));
		unused = malloc((size_t) net->n_params * sizeof(double));
		assert_int_equal(mm_mlp_loss_grad(net, X, n,
										  classifier ? label : NULL,
										  classifier ? NULL : target, 0.3,
										  &loss, grad, &err), MM_OK);
		assert_true(isfinite(loss) && loss > 0.0);
		for (p = 0; p < net->n_params; p++)
		{
			double		keep = net->params[p];
			double		h = 1e-6;
			double		numeric;

			net->params[p] = keep + h;
			mm_mlp_loss_grad(net, X, n, classifier ? label : NULL,
							 classifier ? NULL : target, 0.3, &lp, unused,
							 &err);
			net->params[p] = keep - h;
			mm_mlp_loss_grad(net, X, n, classifier ? label : NULL,
							 classifier ? NULL : target, 0.3, &lm, unused,
							 &err);
			net->params[p] = keep;
			numeric = (lp - lm) / (2.0 * h);
			if (fabs(numeric - grad[p]) > 1e-7 * fmax(1.0, fabs(numeric)))
				fail_msg("case %d param %lld: backprop %.12g, finite "
						 "differences %.12g", (int) c, (long long) p,
						 grad[p], numeric);
		}
		free(grad);
		free(unused);
		mm_mlp_net_free(net);
	}
}

/*
 * The stopping rules.  With a tol no epoch can beat, both stop after
 * n_iter_no_change + 2 epochs (scikit-learn 1.2.1 too: n_iter_ is 5 for
 * n_iter_no_change = 3 on digits, with and without early stopping).  Early
 * stopping on digits stops well before max_epochs and returns the best
 * epoch's weights: a refit with max_epochs = best_epoch ends on exactly
 * those weights.
 */
static void
test_mlp_stopping(void **state)
{
	Data		all = LoadDigits();
	Data		train = SplitRows(&all, false);
	Data		test = SplitRows(&all, true);
	mm_mlp_options opt;
	mm_mlp_info info,
				info2;
	mm_mlp_net *net,
			   *net2;

	mm_mlp_default_options(&opt);
	opt.tol = 1e3;
	opt.n_iter_no_change = 3;
	net = FitOk(&train, &opt, &info);
	assert_int_equal(info.epochs, 5);
	assert_true(info.converged);
	assert_false(info.stopped_early);
	mm_mlp_net_free(net);

	opt.early_stopping = true;
	net = FitOk(&train, &opt, &info);
	assert_int_equal(info.epochs, 5);
	assert_true(info.converged);
	assert_true(info.stopped_early);
	assert_int_equal(info.n_validation, 135);	/* ceil(0.1 * 1348) */
	assert_int_equal(info.n_train, 1213);
	mm_mlp_net_free(net);

	/* max_epochs reached: not converged */
	opt.early_stopping = false;
	opt.tol = 1e-4;
	opt.n_iter_no_change = 10;
	opt.max_epochs = 3;
	net = FitOk(&train, &opt, &info);
	assert_int_equal(info.epochs, 3);
	assert_false(info.converged);
	assert_true(info.loss >= info.best_loss);
	mm_mlp_net_free(net);

	mm_mlp_default_options(&opt);
	opt.early_stopping = true;
	net = FitOk(&train, &opt, &info);
	print_message("    early stopping: %d epochs, best epoch %d, validation "
				  "accuracy %.4f, test accuracy %.4f\n", (int) info.epochs,
				  (int) info.best_epoch, info.best_validation_score,
				  Score(net, &test));
	assert_true(info.stopped_early && info.converged);
	assert_true(info.epochs < opt.max_epochs);
	/* accuracy on 135 rows moves by steps > tol: a new best resets the count */
	assert_int_equal(info.epochs, info.best_epoch + opt.n_iter_no_change + 1);
	assert_true(info.best_validation_score > 0.9);
	assert_true(Score(net, &test) > 0.9);

	opt.max_epochs = info.best_epoch;
	net2 = FitOk(&train, &opt, &info2);
	assert_int_equal(info2.epochs, info.best_epoch);
	assert_int_equal(info2.best_epoch, info.best_epoch);
	assert_true(info2.best_validation_score == info.best_validation_score);
	assert_true(SameNet(net, net2));
	mm_mlp_net_free(net);
	mm_mlp_net_free(net2);
	DataFree(&all);
	DataFree(&train);
	DataFree(&test);
}

/* Each option out of range is refused, naming the field. */
static void
test_mlp_bad_options(void **state)
{
	Data		data = Blobs(50, 2, 2, 1);
	mm_mlp_options opt;
	const struct
	{
		const char *field;
		int			which;
	}			cases[] = {
		{"n_hidden", 0}, {"n_hidden", 1}, {"hidden layer 2", 2},
		{"activation", 3}, {"solver", 4}, {"learning_rate", 5},
		{"learning_rate", 6}, {"momentum", 7}, {"momentum", 8},
		{"batch_size", 9}, {"max_epochs", 10}, {"l2", 11}, {"l2", 12},
		{"validation_fraction", 13}, {"validation_fraction", 14},
		{"validation_fraction", 15}, {"n_iter_no_change", 16},
		{"tol", 17}, {"tol", 18},
	};
	size_t		c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		mm_mlp_default_options(&opt);
		switch (cases[c].which)
		{
			case 0:
				opt.n_hidden = -1;
				break;
			case 1:
				opt.n_hidden = MM_MLP_MAX_HIDDEN + 1;
				break;
			case 2:
				opt.n_hidden = 3;
				opt.hidden[1] = 0;
				opt.hidden[2] = 4;
				break;
			case 3:
				opt.activation = 3;
				break;
			case 4:
				opt.solver = 0;
				break;
			case 5:
				opt.learning_rate = -0.1;
				break;
			case 6:
				opt.learning_rate = INFINITY;
				break;
			case 7:
				opt.momentum = 1.5;
				break;
			case 8:
				opt.momentum = NAN;
				break;
			case 9:
				opt.batch_size = -1;
				break;
			case 10:
				opt.max_epochs = 0;
				break;
			case 11:
				opt.l2 = -1e-3;
				break;
			case 12:
				opt.l2 = NAN;
				break;
			case 13:
				opt.validation_fraction = 1.0;
				break;
			case 14:
				opt.validation_fraction = -0.1;
				break;
			case 15:
				opt.early_stopping = true;
				opt.validation_fraction = 0.0;
				break;
			case 16:
				opt.n_iter_no_change = 0;
				break;
			case 17:
				opt.tol = -1.0;
				break;
			case 18:
				opt.tol = NAN;
				break;
		}
		ExpectFitFails(&data, 2, &opt, MM_ERR_INVALID, cases[c].field);
		assert_int_equal(mm_mlp_work_bytes(data.n, data.d, 2, &opt), 0);
	}

	/* the edges that are fine, and the solvers' default rates */
	mm_mlp_default_options(&opt);
	assert_true(mm_mlp_learning_rate(&opt) == 1e-3);
	opt.solver = MM_MLP_SGD;
	assert_true(mm_mlp_learning_rate(&opt) == 0.01);
	opt.learning_rate = 0.5;
	assert_true(mm_mlp_learning_rate(&opt) == 0.5);
	mm_mlp_default_options(&opt);
	opt.n_hidden = 0;			/* a linear softmax model */
	opt.momentum = 1.0;
	opt.batch_size = 1000;		/* clipped to the rows */
	opt.max_epochs = 2;
	opt.tol = 0.0;
	opt.l2 = 0.0;
	{
		mm_mlp_info info;
		mm_mlp_net *net = FitOk(&data, &opt, &info);

		assert_int_equal(net->L, 1);
		assert_int_equal(info.batch_size, 50);
		assert_int_equal(mm_mlp_scratch_size(net), 0);
		mm_mlp_net_free(net);
	}
	DataFree(&data);
}

/* Bad arguments and data. */
static void
test_mlp_bad_input(void **state)
{
	Data		data = Blobs(40, 3, 3, 2);
	Data		reg = SmoothRegression(40, 2);
	mm_mlp_options opt;
	mm_mlp_net *net = NULL;
	mm_error	err;
	Data		both = data;
	Data		none = data;
	Data		few = data;
	int32_t		width[3] = {3, 4, 1};

	mm_mlp_default_options(&opt);
	opt.max_epochs = 2;
	both.target = reg.target;
	ExpectFitFails(&both, 3, &opt, MM_ERR_INVALID, "not both");
	none.label = NULL;
	ExpectFitFails(&none, 3, &opt, MM_ERR_INVALID, "no labels or targets");
	ExpectFitFails(&data, 1, &opt, MM_ERR_INVALID, "at least two classes");
	ExpectFitFails(&reg, 2, &opt, MM_ERR_INVALID, "one output");
	data.label[7] = 3;
	ExpectFitFails(&data, 3, &opt, MM_ERR_INVALID, "label 3 out of range");
	data.label[7] = -1;
	ExpectFitFails(&data, 3, &opt, MM_ERR_INVALID, "label -1 out of range");
	data.label[7] = 1;
	data.X[5] = NAN;
	ExpectFitFails(&data, 3, &opt, MM_ERR_DATA, "feature value is not finite");
	data.X[5] = 0.0;
	reg.target[3] = INFINITY;
	ExpectFitFails(&reg, 1, &opt, MM_ERR_DATA, "target value is not finite");
	reg.target[3] = 0.0;
	few.n = 0;
	ExpectFitFails(&few, 3, &opt, MM_ERR_DATA, "no rows");
	few.n = 1;
	few.d = 0;
	ExpectFitFails(&few, 3, &opt, MM_ERR_INVALID, "at least one feature");

	/* early stopping needs a row on each side */
	few = data;
	few.n = 1;
	opt.early_stopping = true;
	ExpectFitFails(&few, 3, &opt, MM_ERR_DATA, "too few rows");
	few.n = 2;
	net = FitOk(&few, &opt, NULL);
	mm_mlp_net_free(net);
	opt.early_stopping = false;

	/* a class without rows is allowed: it only learns to stay unlikely */
	net = FitOk(&data, &opt, NULL);
	mm_mlp_net_free(net);
	data.K = 5;
	net = FitOk(&data, &opt, NULL);
	assert_int_equal(net->out[net->L - 1], 5);
	mm_mlp_net_free(net);

	/* networks built by hand (the glue, from a model's tensors) */
	assert_int_equal(mm_mlp_net_create(2, width, MM_MLP_RELU, true, &net,
									   &err), MM_ERR_INVALID);
	assert_null(net);
	assert_int_equal(mm_mlp_net_create(2, width, 0, false, &net, &err),
					 MM_ERR_INVALID);
	assert_int_equal(mm_mlp_net_create(0, width, MM_MLP_RELU, false, &net,
									   &err), MM_ERR_INVALID);
	assert_int_equal(mm_mlp_net_create(MM_MLP_MAX_LAYERS + 1, width,
									   MM_MLP_RELU, false, &net, &err),
					 MM_ERR_INVALID);
	width[1] = 0;
	assert_int_equal(mm_mlp_net_create(2, width, MM_MLP_RELU, false, &net,
									   &err), MM_ERR_INVALID);
	width[1] = INT32_MAX;
	width[0] = INT32_MAX;
	width[2] = 1;
	assert_int_equal(mm_mlp_net_create(2, width, MM_MLP_RELU, false, &net,
									   &err), MM_ERR_LIMIT);
	width[0] = 3;
	width[1] = 4;
	assert_int_equal(mm_mlp_net_create(2, width, MM_MLP_TANH, false, &net,
									   &err), MM_OK);
	assert_int_equal(net->n_params, 4 * 4 + 5);
	assert_true(net->b[0] == net->params + 12 && net->W[1] == net->params + 16 &&
				net->b[1] == net->params + 20);
	mm_mlp_net_free(net);
	data.K = 3;
	DataFree(&data);
	DataFree(&reg);
}

/* A loss gone to infinity is a data error with a hint. */
static void
test_mlp_diverged(void **state)
{
	Data		reg = SmoothRegression(200, 9);
	mm_mlp_options opt;
	mm_mlp_net *net = (mm_mlp_net *) 1;
	mm_error	err;
	int64_t		i;

	for (i = 0; i < reg.n * reg.d; i++)
		reg.X[i] *= 1e3;
	for (i = 0; i < reg.n; i++)
		reg.target[i] *= 1e6;
	mm_mlp_default_options(&opt);
	opt.solver = MM_MLP_SGD;
	opt.learning_rate = 1.0;
	assert_int_equal(mm_mlp_fit(reg.X, reg.n, reg.d, NULL, reg.target, 1,
								&opt, &net, NULL, &err), MM_ERR_DATA);
	assert_null(net);
	assert_string_equal(err.message, "neural network training diverged");
	assert_non_null(strstr(err.hint, "learning_rate"));
	assert_non_null(strstr(err.hint, "scale the features"));
	DataFree(&reg);
}

/*
 * Polls per minibatch: one before it, one after the forward pass and one
 * after each layer's backward step (2 + L, L = 2 layers here); a stop ends
 * the fit at once.
 */
static void
test_mlp_interrupt(void **state)
{
	Data		data = Blobs(300, 4, 3, 4);
	mm_mlp_options opt;
	mm_mlp_info info;
	mm_mlp_net *net;
	mm_error	err;
	double		out[3 * 600];

	mm_mlp_default_options(&opt);
	opt.batch_size = 50;
	opt.max_epochs = 4;
	polls = 0;
	net = FitOk(&data, &opt, &info);
	assert_int_equal(info.epochs, 4);
	assert_int_equal(info.updates, 24);
	assert_int_equal(polls, 24 * 4);
	mm_mlp_net_free(net);

	opt.early_stopping = true;	/* 270 training rows: 6 minibatches */
	polls = 0;
	net = FitOk(&data, &opt, &info);
	assert_int_equal(polls, info.updates * 4);
	assert_int_equal(info.updates, 4 * 6);

	polls = 0;
	stop_after = 7;
	ExpectFitFails(&data, 3, &opt, MM_ERR_INTERRUPTED,
				   "neural network fit interrupted");
	/* the 7th poll (inside the second minibatch's backward pass) stops it;
	 * the trainer asks once more to tell a stop from a divergence */
	assert_true(polls == 7 || polls == 8);
	stop_after = 0;
	stop_flag = true;
	ExpectFitFails(&data, 3, &opt, MM_ERR_INTERRUPTED,
				   "neural network fit interrupted");
	assert_int_equal(mm_mlp_forward(net, data.X, data.n, out, &err),
					 MM_ERR_INTERRUPTED);
	stop_flag = false;
	polls = 0;
	assert_int_equal(mm_mlp_forward(net, data.X, 300, out, &err), MM_OK);
	assert_int_equal(polls, 2);
	assert_int_equal(mm_mlp_forward(net, data.X, 0, out, &err), MM_OK);
	mm_mlp_net_free(net);
	DataFree(&data);
}

/* ---------------------------------------------------------------------
 * Memory: a counting allocator
 * ---------------------------------------------------------------------
 */

static size_t live_bytes;
static size_t peak_bytes;

static void *
CountAlloc(size_t size)
{
	size_t	   *p = malloc(size + 16);

	if (p == NULL)
		return NULL;
	p[0] = size;
	live_bytes += size;
	if (live_bytes > peak_bytes)
		peak_bytes = live_bytes;
	return (char *) p + 16;
}

static void *
CountRealloc(void *ptr, size_t size)
{
	fail_msg("unexpected realloc");
	return NULL;
}

static void
CountFree(void *ptr)
{
	size_t	   *p;

	if (ptr == NULL)
		return;
	p = (size_t *) ((char *) ptr - 16);
	live_bytes -= p[0];
	free(p);
}

static const mm_runtime count_runtime = {
	CountAlloc, CountRealloc, CountFree, TestShouldStop, TestFatal
};

/*
 * The fit allocates exactly mm_mlp_work_bytes() at its peak (the network
 * included); every allocation failure is reported as such, without leaks
 * (the sanitized build checks).
 */
static void
test_mlp_memory(void **state)
{
	Data		blobs = Blobs(333, 7, 4, 8);
	Data		reg = SmoothRegression(250, 8);
	mm_mlp_options opt;
	mm_error	err;
	int			variant;
	int			k;

	for (variant = 0; variant < 4; variant++)
	{
		const Data *data = variant % 2 == 0 ? &blobs : &reg;
		mm_mlp_net *net;
		size_t		want;

		mm_mlp_default_options(&opt);
		opt.max_epochs = 2;
		opt.n_hidden = 2;
		opt.hidden[0] = 30;
		opt.hidden[1] = 11;
		if (variant >= 2)
		{
			opt.solver = MM_MLP_SGD;
			opt.early_stopping = true;
			opt.batch_size = 64;
		}
		want = mm_mlp_work_bytes(data->n, data->d, data->K, &opt);
		mm_set_runtime(&count_runtime);
		live_bytes = peak_bytes = 0;
		net = FitOk(data, &opt, NULL);
		assert_int_equal(peak_bytes, want);
		mm_mlp_net_free(net);
		assert_int_equal(live_bytes, 0);
		mm_set_runtime(&test_runtime);
	}

	mm_mlp_default_options(&opt);
	opt.max_epochs = 2;
	opt.early_stopping = true;
	for (k = 1; k <= 5; k++)
	{
		mm_mlp_net *net = (mm_mlp_net *) 1;

		alloc_fail_at = k;
		alloc_count = 0;
		assert_int_equal(mm_mlp_fit(blobs.X, blobs.n, blobs.d, blobs.label,
									NULL, blobs.K, &opt, &net, NULL, &err),
						 MM_ERR_NOMEM);
		assert_null(net);
	}
	alloc_fail_at = 0;
	{
		mm_mlp_net *net = FitOk(&blobs, &opt, NULL);
		double		out[4];

		alloc_fail_at = 1;
		alloc_count = 0;
		assert_int_equal(mm_mlp_forward(net, blobs.X, 1, out, &err),
						 MM_ERR_NOMEM);
		alloc_fail_at = 0;
		mm_mlp_net_free(net);
	}

	assert_true(mm_mlp_work_bytes(1000, 10, 3, &opt) > 100 * 11 * 8);
	assert_int_equal(mm_mlp_work_bytes(INT64_MAX, 10, 3, &opt), 0);
	opt.hidden[0] = INT32_MAX;
	assert_int_equal(mm_mlp_work_bytes(1000, INT32_MAX, 3, &opt), 0);
	assert_int_equal(mm_mlp_work_bytes(0, 10, 3, &opt), 0);
	DataFree(&blobs);
	DataFree(&reg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mlp_digits, TimedSetup, TimedTeardown),
		cmocka_unit_test_setup_teardown(test_mlp_regressor, TimedSetup, TimedTeardown),
		cmocka_unit_test_setup_teardown(test_mlp_deterministic, TimedSetup, TimedTeardown),
		cmocka_unit_test_setup_teardown(test_mlp_forward_row, TimedSetup, TimedTeardown),
		cmocka_unit_test_setup_teardown(test_mlp_gradient, TimedSetup, TimedTeardown),
		cmocka_unit_test_setup_teardown(test_mlp_stopping, TimedSetup, TimedTeardown),
		cmocka_unit_test_setup_teardown(test_mlp_bad_options, TimedSetup, TimedTeardown),
		cmocka_unit_test_setup_teardown(test_mlp_bad_input, TimedSetup, TimedTeardown),
		cmocka_unit_test_setup_teardown(test_mlp_diverged, TimedSetup, TimedTeardown),
		cmocka_unit_test_setup_teardown(test_mlp_interrupt, TimedSetup, TimedTeardown),
		cmocka_unit_test_setup_teardown(test_mlp_memory, TimedSetup, TimedTeardown),
	};

	/* bit-identical refits are promised with OpenBLAS on one thread */
	mm_blas_set_threads(1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
