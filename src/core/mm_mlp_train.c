/*
 * mm_mlp_train.c
 *	  Training of the multilayer perceptron: options and memory plan,
 *	  initialization, the epochs of minibatches (whose gradient comes from
 *	  mm_mlp_backprop.c), the Adam and SGD steps, early stopping.
 *	  See mm_mlp.h for what is computed; the comments here are about the
 *	  how.
 *
 * Every buffer is sized once before the first epoch (mm_mlp_work_bytes()
 * adds up the same sizes): the network, the row order, one minibatch of
 * gathered rows, the activations and deltas of a minibatch, and the
 * gradient and optimizer state, which are flat arrays laid out as the
 * network's params so that the optimizer steps are single loops.
 */
#include "mm_mlp_internal.h"

#include <math.h>
#include <string.h>

#define ADAM_BETA1		0.9
#define ADAM_BETA2		0.999
#define ADAM_EPSILON	1e-8

/* scikit-learn's batch_size='auto' */
#define MLP_AUTO_BATCH	200

/*
 * splitmix64 (Steele, Lea and Flood 2014), as in mm_svm.c: a 64-bit state,
 * the same stream on every platform.
 */
typedef struct MlpRandom
{
	uint64_t	state;
} MlpRandom;

static uint64_t
RandomNext(MlpRandom *r)
{
	uint64_t	z = (r->state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in [0, bound), bound >= 1, without modulo bias. */
static uint64_t
RandomBelow(MlpRandom *r, uint64_t bound)
{
	uint64_t	threshold = (UINT64_C(0) - bound) % bound;

	for (;;)
	{
		uint64_t	x = RandomNext(r);

		if (x >= threshold)
			return x % bound;
	}
}

/* Uniform in [0, 1) on the 2^-53 grid. */
static double
RandomUnit(MlpRandom *r)
{
	return (double) (RandomNext(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Fisher-Yates shuffle of idx[0..m-1]. */
static void
Shuffle(MlpRandom *r, int64_t *idx, int64_t m)
{
	int64_t		i;

	for (i = m - 1; i > 0; i--)
	{
		int64_t		j = (int64_t) RandomBelow(r, (uint64_t) i + 1);
		int64_t		t = idx[i];

		idx[i] = idx[j];
		idx[j] = t;
	}
}

/* ---------------------------------------------------------------------
 * Options and sizes
 * ---------------------------------------------------------------------
 */

/* Every option in range; the message names the field. */
static mm_status
CheckOptions(const mm_mlp_options *opt, mm_error *err)
{
	int32_t		h;

	if (opt->n_hidden < 0 || opt->n_hidden > MM_MLP_MAX_HIDDEN)
		return mm_fail(err, MM_ERR_INVALID,
					   "n_hidden must be between 0 and %d, not %d",
					   MM_MLP_MAX_HIDDEN, (int) opt->n_hidden);
	for (h = 0; h < opt->n_hidden; h++)
		if (opt->hidden[h] < 1)
			return mm_fail(err, MM_ERR_INVALID,
						   "hidden layer %d must have at least 1 unit, not %d",
						   (int) h + 1, (int) opt->hidden[h]);
	if (opt->activation != MM_MLP_RELU && opt->activation != MM_MLP_TANH)
		return mm_fail(err, MM_ERR_INVALID,
					   "activation must be relu (%d) or tanh (%d), not %d",
					   MM_MLP_RELU, MM_MLP_TANH, opt->activation);
	if (opt->solver != MM_MLP_ADAM && opt->solver != MM_MLP_SGD)
		return mm_fail(err, MM_ERR_INVALID,
					   "solver must be adam (%d) or sgd (%d), not %d",
					   MM_MLP_ADAM, MM_MLP_SGD, opt->solver);
	if (!isfinite(opt->learning_rate) || opt->learning_rate < 0.0)
		return mm_fail(err, MM_ERR_INVALID,
					   "learning_rate must be a finite number > 0");
	if (!(opt->momentum >= 0.0 && opt->momentum <= 1.0))
		return mm_fail(err, MM_ERR_INVALID,
					   "momentum must be between 0 and 1");
	if (opt->batch_size < 0)
		return mm_fail(err, MM_ERR_INVALID, "batch_size must be at least 1");
	if (opt->max_epochs < 1)
		return mm_fail(err, MM_ERR_INVALID, "max_epochs must be at least 1");
	if (!isfinite(opt->l2) || opt->l2 < 0.0)
		return mm_fail(err, MM_ERR_INVALID,
					   "l2 must be a finite number >= 0");
	if (!(opt->validation_fraction >= 0.0 && opt->validation_fraction < 1.0) ||
		(opt->early_stopping && opt->validation_fraction == 0.0))
		return mm_fail(err, MM_ERR_INVALID,
					   "validation_fraction must be > 0 and < 1");
	if (opt->n_iter_no_change < 1)
		return mm_fail(err, MM_ERR_INVALID,
					   "n_iter_no_change must be at least 1");
	if (!isfinite(opt->tol) || opt->tol < 0.0)
		return mm_fail(err, MM_ERR_INVALID,
					   "tol must be a finite number >= 0");
	return MM_OK;
}

/* Every size of one fit, computed once for the fit and for work_bytes. */
typedef struct MlpPlan
{
	int32_t		L;
	int32_t		width[MM_MLP_MAX_LAYERS + 1];
	int64_t		n_validation;
	int64_t		n_train;
	int32_t		batch;
	int64_t		n_params;
	size_t		net_bytes;
	size_t		index_bytes;	/* the row order */
	size_t		batch_bytes;	/* gathered rows and their labels/targets */
	size_t		buffer_bytes;	/* activations and deltas */
	size_t		state_bytes;	/* gradient, optimizer state, best weights */
} MlpPlan;

/* count * size added to *total; false on overflow */
static bool
AddBytes(size_t *total, size_t count, size_t size)
{
	size_t		bytes;

	return mm_size_mul(count, size, &bytes) &&
		mm_size_add(*total, bytes, total);
}

/*
 * The plan of a fit.  Arguments must have been checked; a validation set
 * too small to use is the fit's error, not the plan's, so that work_bytes
 * still answers.  MM_ERR_LIMIT on overflow.
 */
static mm_status
Plan(int64_t n, int32_t d, int32_t K, const mm_mlp_options *opt,
	 MlpPlan *plan, mm_error *err)
{
	int32_t		h;
	size_t		per_row;
	size_t		copies;

	memset(plan, 0, sizeof(*plan));
	plan->L = opt->n_hidden + 1;
	plan->width[0] = d;
	for (h = 0; h < opt->n_hidden; h++)
		plan->width[h + 1] = opt->hidden[h];
	plan->width[plan->L] = K;

	if (opt->early_stopping)
	{
		double		v = ceil(opt->validation_fraction * (double) n);

		plan->n_validation = v < (double) n ? (int64_t) v : n;
	}
	plan->n_train = n - plan->n_validation;
	if (opt->batch_size == 0)
		plan->batch = plan->n_train < MLP_AUTO_BATCH ?
			(int32_t) plan->n_train : MLP_AUTO_BATCH;
	else
		plan->batch = plan->n_train < opt->batch_size ?
			(int32_t) plan->n_train : opt->batch_size;
	if (plan->batch < 1)
		plan->batch = 1;

	/* gradient, one (SGD) or two (Adam) moments, the best weights */
	copies = 1 + (opt->solver == MM_MLP_ADAM ? 2 : 1) +
		(opt->early_stopping ? 1 : 0);
	per_row = (size_t) d * sizeof(double) +
		(K == 1 ? sizeof(double) : sizeof(int32_t));
	if (!mm_mlp_net_bytes(plan->L, plan->width, &plan->n_params,
						  &plan->net_bytes) ||
		!AddBytes(&plan->index_bytes, (size_t) n, sizeof(int64_t)) ||
		!AddBytes(&plan->batch_bytes, (size_t) plan->batch, per_row) ||
		!mm_mlp_buffer_bytes(plan->L, plan->width, plan->batch,
							 &plan->buffer_bytes) ||
		!AddBytes(&plan->state_bytes, (size_t) plan->n_params,
				  copies * sizeof(double)))
		return mm_fail(err, MM_ERR_LIMIT,
					   "the network is too large to train");
	return MM_OK;
}

size_t
mm_mlp_work_bytes(int64_t n, int32_t d, int32_t K, const mm_mlp_options *opt)
{
	MlpPlan		plan;
	size_t		total = 0;

	if (n < 1 || d < 1 || K < 1 || CheckOptions(opt, NULL) != MM_OK ||
		Plan(n, d, K, opt, &plan, NULL) != MM_OK)
		return 0;
	if (!mm_size_add(total, plan.net_bytes, &total) ||
		!mm_size_add(total, plan.index_bytes, &total) ||
		!mm_size_add(total, plan.batch_bytes, &total) ||
		!mm_size_add(total, plan.buffer_bytes, &total) ||
		!mm_size_add(total, plan.state_bytes, &total))
		return 0;
	return total;
}

/* ---------------------------------------------------------------------
 * The fit
 * ---------------------------------------------------------------------
 */

/*
 * Glorot-uniform initialization as scikit-learn's _init_coef: every weight
 * and bias of a layer uniform in +-sqrt(6 / (in + out)), layer by layer, W
 * row by row, then b.
 */
static void
InitWeights(mm_mlp_net *net, MlpRandom *rng)
{
	int32_t		l;

	for (l = 0; l < net->L; l++)
	{
		double		bound = sqrt(6.0 / ((double) net->in[l] + net->out[l]));
		size_t		n_w = (size_t) net->out[l] * net->in[l];
		size_t		i;

		for (i = 0; i < n_w; i++)
			net->W[l][i] = bound * (2.0 * RandomUnit(rng) - 1.0);
		for (i = 0; i < (size_t) net->out[l]; i++)
			net->b[l][i] = bound * (2.0 * RandomUnit(rng) - 1.0);
	}
}

/* Rows idx[0..rows-1] of X (and their labels or targets) side by side. */
static void
Gather(const double *X, int32_t d, const int32_t *label,
	   const double *target, const int64_t *idx, int32_t rows, double *Xb,
	   int32_t *lb, double *yb)
{
	int32_t		r;

	for (r = 0; r < rows; r++)
	{
		memcpy(Xb + (size_t) r * d, X + (size_t) idx[r] * d,
			   (size_t) d * sizeof(double));
		if (label != NULL)
			lb[r] = label[idx[r]];
		else
			yb[r] = target[idx[r]];
	}
}

/* What the fit works with besides the network. */
typedef struct MlpFit
{
	const double *X;
	int32_t		d;
	const int32_t *label;
	const double *target;
	int64_t    *idx;			/* validation rows, then training rows */
	double	   *Xb;				/* a gathered minibatch */
	int32_t    *lb;
	double	   *yb;
	mm_mlp_buffers buf;
	double	   *grad;
	double	   *m;				/* Adam's first moment, SGD's velocity */
	double	   *v;				/* Adam's second moment */
	double	   *best;			/* weights of the best epoch */
	double		val_mean;		/* regressor: validation targets' mean */
	double		val_ss;			/* and sum of squares about it */
} MlpFit;

/*
 * Accuracy (classifier) or R2 (regressor) of the network on the
 * validation rows idx[0..n_val-1], a minibatch at a time.  R2 of constant
 * targets is 1 when predicted exactly, else 0 (scikit-learn's r2_score).
 */
static double
ValidationScore(const mm_mlp_net *net, MlpFit *f, int64_t n_val,
				int32_t batch)
{
	int32_t		K = net->out[net->L - 1];
	const double *P = f->buf.act[net->L - 1];
	int64_t		correct = 0;
	double		ss_res = 0.0;
	int64_t		s;

	for (s = 0; s < n_val; s += batch)
	{
		int32_t		rows = n_val - s < batch ? (int32_t) (n_val - s) : batch;
		int32_t		r;

		Gather(f->X, f->d, f->label, f->target, f->idx + s, rows, f->Xb,
			   f->lb, f->yb);
		mm_mlp_forward_layers(net, f->Xb, rows, f->buf.act, NULL, NULL);
		for (r = 0; r < rows; r++)
		{
			const double *p = P + (size_t) r * K;

			if (net->classifier)
			{
				int32_t		best = 0;
				int32_t		k;

				for (k = 1; k < K; k++)
					if (p[k] > p[best])
						best = k;
				correct += best == f->lb[r];
			}
			else
				ss_res += (f->yb[r] - p[0]) * (f->yb[r] - p[0]);
		}
	}
	if (net->classifier)
		return (double) correct / (double) n_val;
	if (f->val_ss == 0.0)
		return ss_res == 0.0 ? 1.0 : 0.0;
	return 1.0 - ss_res / f->val_ss;
}

/* The arguments and data, after the options. */
static mm_status
CheckData(const double *X, int64_t n, int32_t d, const int32_t *label,
		  const double *target, int32_t K, mm_error *err)
{
	size_t		values;
	size_t		i;

	if (label != NULL && target != NULL)
		return mm_fail(err, MM_ERR_INVALID,
					   "give labels or targets, not both");
	if (label == NULL && target == NULL)
		return mm_fail(err, MM_ERR_INVALID, "no labels or targets given");
	if (label != NULL && K < 2)
		return mm_fail(err, MM_ERR_INVALID,
					   "a classifier needs at least two classes");
	if (target != NULL && K != 1)
		return mm_fail(err, MM_ERR_INVALID,
					   "a regressor has one output, not %d", (int) K);
	if (d < 1)
		return mm_fail(err, MM_ERR_INVALID, "need at least one feature");
	if (n < 1 || X == NULL)
		return mm_fail(err, MM_ERR_DATA, "no rows to fit the model on");
	if (!mm_size_mul((size_t) n, (size_t) d, &values))
		return mm_fail(err, MM_ERR_LIMIT, "too many values");
	for (i = 0; i < values; i++)
		if (!isfinite(X[i]))
			return mm_fail(err, MM_ERR_DATA, "feature value is not finite");
	for (i = 0; i < (size_t) n; i++)
	{
		if (label != NULL && (label[i] < 0 || label[i] >= K))
			return mm_fail(err, MM_ERR_INVALID,
						   "label %d out of range [0, %d)", (int) label[i],
						   (int) K);
		if (target != NULL && !isfinite(target[i]))
			return mm_fail(err, MM_ERR_DATA, "target value is not finite");
	}
	return MM_OK;
}

/* The error of a loss or weight gone infinite or NaN. */
static mm_status
Diverged(mm_error *err, int32_t epoch)
{
	mm_fail(err, MM_ERR_DATA, "neural network training diverged");
	mm_error_detail(err, "The training loss became infinite or NaN in epoch %d.",
					(int) epoch);
	mm_error_hint(err, "Lower learning_rate or scale the features.");
	return MM_ERR_DATA;
}

/*
 * One Adam or SGD step over all parameters.  beta1_t and beta2_t are the
 * betas to the power of the step count (from 1), kept as running products:
 * no pow(), whose last bit may differ between libms.
 */
static void
Step(const mm_mlp_options *opt, double lr, int64_t n_params, double *param,
	 const double *grad, double *m, double *v, double beta1_t,
	 double beta2_t)
{
	int64_t		i;

	if (opt->solver == MM_MLP_ADAM)
	{
		double		rate = lr * sqrt(1.0 - beta2_t) / (1.0 - beta1_t);

		for (i = 0; i < n_params; i++)
		{
			m[i] = ADAM_BETA1 * m[i] + (1.0 - ADAM_BETA1) * grad[i];
			v[i] = ADAM_BETA2 * v[i] + (1.0 - ADAM_BETA2) * grad[i] * grad[i];
			param[i] -= rate * m[i] / (sqrt(v[i]) + ADAM_EPSILON);
		}
	}
	else
	{
		for (i = 0; i < n_params; i++)
		{
			m[i] = opt->momentum * m[i] - lr * grad[i];
			param[i] += m[i];
		}
	}
}

/*
 * Epochs of shuffled minibatches until max_epochs or scikit-learn's
 * stopping rule (see mm_mlp.h): no_improve counts the epochs in a row that
 * did not beat the best by tol, and the fit stops once it exceeds
 * n_iter_no_change.
 */
static mm_status
Train(mm_mlp_net *net, MlpFit *f, const MlpPlan *plan,
	  const mm_mlp_options *opt, MlpRandom *rng, mm_mlp_info *info,
	  mm_error *err)
{
	int64_t    *train_idx = f->idx + plan->n_validation;
	double		lr = mm_mlp_learning_rate(opt);
	double		beta1_t = 1.0;
	double		beta2_t = 1.0;
	double		best_score = -INFINITY;
	int32_t		no_improve = 0;
	int32_t		epoch;
	int64_t		i;

	info->best_loss = INFINITY;
	for (epoch = 1; epoch <= opt->max_epochs; epoch++)
	{
		double		total = 0.0;
		int64_t		s;

		Shuffle(rng, train_idx, plan->n_train);
		for (s = 0; s < plan->n_train; s += plan->batch)
		{
			int32_t		rows = plan->n_train - s < plan->batch ?
				(int32_t) (plan->n_train - s) : plan->batch;
			double		loss;

			if (mm_should_stop())
				return mm_fail(err, MM_ERR_INTERRUPTED,
							   "neural network fit interrupted");
			Gather(f->X, f->d, f->label, f->target, train_idx + s, rows,
				   f->Xb, f->lb, f->yb);
			loss = mm_mlp_backprop(net, f->Xb, rows, f->lb, f->yb, opt->l2,
								   &f->buf, f->grad);
			if (!isfinite(loss))
			{
				/* backprop stops early (NaN) when asked to */
				if (mm_should_stop())
					return mm_fail(err, MM_ERR_INTERRUPTED,
								   "neural network fit interrupted");
				return Diverged(err, epoch);
			}
			total += loss * rows;
			beta1_t *= ADAM_BETA1;
			beta2_t *= ADAM_BETA2;
			Step(opt, lr, net->n_params, net->params, f->grad, f->m, f->v,
				 beta1_t, beta2_t);
			info->updates++;
		}
		info->epochs = epoch;
		info->loss = total / (double) plan->n_train;
		mm_report_progress(epoch, info->loss);

		if (opt->early_stopping)
		{
			double		score = ValidationScore(net, f, plan->n_validation,
												plan->batch);

			if (score < best_score + opt->tol)
				no_improve++;
			else
				no_improve = 0;
			if (score > best_score)
			{
				best_score = score;
				info->best_epoch = epoch;
				memcpy(f->best, net->params,
					   (size_t) net->n_params * sizeof(double));
			}
		}
		else
		{
			if (info->loss > info->best_loss - opt->tol)
				no_improve++;
			else
				no_improve = 0;
			info->best_epoch = epoch;
		}
		if (info->loss < info->best_loss)
			info->best_loss = info->loss;
		if (no_improve > opt->n_iter_no_change)
		{
			info->converged = true;
			info->stopped_early = opt->early_stopping;
			break;
		}
	}

	if (opt->early_stopping && info->best_epoch > 0)
	{
		memcpy(net->params, f->best, (size_t) net->n_params * sizeof(double));
		info->best_validation_score = best_score;
	}
	for (i = 0; i < net->n_params; i++)
		if (!isfinite(net->params[i]))
			return Diverged(err, info->epochs);
	return MM_OK;
}

/*
 * Check, plan, allocate, draw the initial weights and the validation rows,
 * train; the network is returned only on success.
 */
mm_status
mm_mlp_fit(const double *X, int64_t n, int32_t d, const int32_t *label,
		   const double *target, int32_t K, const mm_mlp_options *opt,
		   mm_mlp_net **out, mm_mlp_info *info, mm_error *err)
{
	MlpPlan		plan;
	MlpFit		f;
	MlpRandom	rng;
	mm_mlp_info local;
	mm_mlp_net *net = NULL;
	mm_status	st;
	int64_t		i;

	*out = NULL;
	if (info == NULL)
		info = &local;
	memset(info, 0, sizeof(*info));
	info->best_validation_score = NAN;
	memset(&f, 0, sizeof(f));

	if ((st = CheckOptions(opt, err)) != MM_OK ||
		(st = CheckData(X, n, d, label, target, K, err)) != MM_OK ||
		(st = Plan(n, d, K, opt, &plan, err)) != MM_OK)
		return st;
	if (opt->early_stopping &&
		(plan.n_validation < 1 || plan.n_train < 1))
	{
		mm_fail(err, MM_ERR_DATA,
				"too few rows to hold out a validation set");
		mm_error_detail(err, "%lld rows, validation_fraction %g.",
						(long long) n, opt->validation_fraction);
		return MM_ERR_DATA;
	}
	info->n_train = plan.n_train;
	info->n_validation = plan.n_validation;
	info->batch_size = plan.batch;

	st = mm_mlp_net_create(plan.L, plan.width, opt->activation, label != NULL,
						   &net, err);
	if (st != MM_OK)
		return st;
	f.X = X;
	f.d = d;
	f.label = label;
	f.target = target;
	f.idx = mm_alloc(plan.index_bytes);
	f.Xb = mm_alloc(plan.batch_bytes);
	f.grad = mm_alloc(plan.state_bytes);
	if (f.idx == NULL || f.Xb == NULL || f.grad == NULL)
	{
		st = mm_fail(err, MM_ERR_NOMEM,
					 "out of memory training a neural network");
		goto done;
	}
	if ((st = mm_mlp_buffers_alloc(net, plan.batch, &f.buf, err)) != MM_OK)
		goto done;
	if (label != NULL)
		f.lb = (int32_t *) (f.Xb + (size_t) plan.batch * d);
	else
		f.yb = f.Xb + (size_t) plan.batch * d;
	f.m = f.grad + net->n_params;
	memset(f.m, 0, (size_t) net->n_params * sizeof(double));
	if (opt->solver == MM_MLP_ADAM)
	{
		f.v = f.m + net->n_params;
		memset(f.v, 0, (size_t) net->n_params * sizeof(double));
	}
	if (opt->early_stopping)
		f.best = (f.v != NULL ? f.v : f.m) + net->n_params;

	/* the weights, then the validation rows, then each epoch's order */
	rng.state = opt->seed;
	InitWeights(net, &rng);
	for (i = 0; i < n; i++)
		f.idx[i] = i;
	if (opt->early_stopping)
	{
		Shuffle(&rng, f.idx, n);
		if (target != NULL)
		{
			for (i = 0; i < plan.n_validation; i++)
				f.val_mean += target[f.idx[i]];
			f.val_mean /= (double) plan.n_validation;
			for (i = 0; i < plan.n_validation; i++)
				f.val_ss += (target[f.idx[i]] - f.val_mean) *
					(target[f.idx[i]] - f.val_mean);
		}
	}

	st = Train(net, &f, &plan, opt, &rng, info, err);

done:
	mm_free(f.buf.block);
	mm_free(f.grad);
	mm_free(f.Xb);
	mm_free(f.idx);
	if (st != MM_OK)
		mm_mlp_net_free(net);
	else
		*out = net;
	return st;
}
