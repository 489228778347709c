/*
 * mm_mlp.h
 *	  The multilayer perceptron: a feed-forward network trained by minibatch
 *	  Adam or SGD with momentum, as scikit-learn's MLPClassifier and
 *	  MLPRegressor, and its forward pass for prediction.
 *
 * A network has L weight layers.  Layer l = 1..L maps in_l inputs to out_l
 * outputs with a weight matrix W_l of out_l x in_l values, row-major (a row
 * is one output unit), and a bias b_l of out_l values; in_1 = d, the input
 * width, and in_l = out_{l-1}.  Hidden layers apply ReLU or tanh.  A
 * classifier has out_L = K >= 2 units under a softmax (also for K = 2) and
 * minimizes the mean log loss; a regressor has one identity output unit and
 * minimizes the mean squared error / 2.  The saved model holds W_l and b_l
 * as tensors "W1".."WL" and "b1".."bL" (b as 1 x out_l), and attributes
 * "layers" = L and "activation" = MM_MLP_RELU or MM_MLP_TANH: this layout is
 * a contract, the glue and the model format rely on it.
 *
 * Training follows scikit-learn 1.2 (sklearn/neural_network/_multilayer_
 * perceptron.py and _stochastic_optimizers.py):
 *	 - Glorot-uniform initialization, W and b uniform in +-sqrt(6 / (in + out))
 *	   (the factor 2 of the logistic activation does not arise here);
 *	 - each minibatch minimizes loss + l2 / (2 n_batch) * sum ||W_l||^2 (the
 *	   biases are not penalized), scikit-learn's alpha;
 *	 - the epoch's training loss is the row-weighted mean of the minibatch
 *	   losses;
 *	 - without early stopping, training stops when the epoch loss has not
 *	   fallen below the best loss minus tol for more than n_iter_no_change
 *	   epochs in a row (so at the earliest after n_iter_no_change + 2
 *	   epochs); with early stopping a seeded random validation_fraction of
 *	   the rows (rounded up) is held out, the rule looks at the validation
 *	   score (accuracy, or R2 for a regressor) rising by tol, and the weights
 *	   of the best epoch are returned.
 * The random numbers are our own (splitmix64 seeded by opt->seed: the
 * initial weights, then the validation rows, then a Fisher-Yates shuffle of
 * the training rows before each epoch), so a seed gives the same stream on
 * every platform; numpy's generator is not reproduced, so weights differ
 * from scikit-learn's while the accuracy is comparable.  With OpenBLAS on
 * one thread the same inputs and seed give bit-identical weights.
 *
 * The fit polls mm_should_stop() once before every minibatch.  Memory comes
 * from mm_alloc; mm_mlp_work_bytes() says how much.
 */
#ifndef MM_MLP_H
#define MM_MLP_H

#include "mm_core.h"

#define MM_MLP_MAX_HIDDEN	8	/* hidden layers at most */

#define MM_MLP_RELU			1	/* the "activation" attribute's values */
#define MM_MLP_TANH			2

#define MM_MLP_ADAM			1
#define MM_MLP_SGD			2

typedef struct mm_mlp_options
{
	int32_t		n_hidden;		/* hidden layers, 0..MM_MLP_MAX_HIDDEN;
								 * default 1 (0 gives a linear model) */
	int32_t		hidden[MM_MLP_MAX_HIDDEN];	/* their widths, >= 1; default
											 * {100} */
	int			activation;		/* MM_MLP_RELU (default) or MM_MLP_TANH */
	int			solver;			/* MM_MLP_ADAM (default) or MM_MLP_SGD */
	double		learning_rate;	/* > 0, or 0 (default) for the solver's
								 * default: 1e-3 for Adam, 0.01 for SGD */
	double		momentum;		/* SGD, in [0, 1]; default 0.9 (not
								 * Nesterov's) */
	int32_t		batch_size;		/* >= 1, clipped to the training rows; 0
								 * (default) is min(200, training rows) */
	int32_t		max_epochs;		/* >= 1; default 200 */
	double		l2;				/* >= 0, scikit-learn's alpha; default 1e-4 */
	bool		early_stopping; /* default false */
	double		validation_fraction;	/* in (0, 1) with early stopping,
										 * else [0, 1); default 0.1 */
	int32_t		n_iter_no_change;	/* >= 1; default 10 */
	double		tol;			/* >= 0; default 1e-4 */
	uint64_t	seed;			/* default 0 */
} mm_mlp_options;

/* scikit-learn's MLPClassifier defaults: one hidden layer of 100 ReLU, Adam. */
extern void mm_mlp_default_options(mm_mlp_options *opt);

/* The learning rate a fit uses: opt->learning_rate, or the solver's default. */
extern double mm_mlp_learning_rate(const mm_mlp_options *opt);

/*
 * A network.  One allocation holds the struct, its arrays and the
 * parameters, so mm_mlp_net_free() is a single mm_free().  params holds
 * W_1, b_1, W_2, b_2, ... back to back (n_params values); W[l] and b[l]
 * (0-based l for layer l + 1) point into it.
 */
typedef struct mm_mlp_net
{
	int32_t		L;				/* weight layers, >= 1 */
	int32_t    *in;				/* in[l]: inputs of layer l + 1 */
	int32_t    *out;			/* out[l]: outputs of layer l + 1 */
	double	  **W;				/* W[l]: out[l] x in[l], row-major */
	double	  **b;				/* b[l]: out[l] values */
	int			activation;		/* of the hidden layers */
	bool		classifier;		/* softmax output, else identity */
	int64_t		n_params;
	double	   *params;
} mm_mlp_net;

/*
 * A zeroed network with L layers of widths width[0] = d, width[1..L-1] the
 * hidden layers, width[L] = K or 1; the glue fills W and b from a model's
 * tensors to predict.  MM_ERR_INVALID: L < 1, a width < 1, a classifier
 * with fewer than 2 outputs, a regressor with more than 1, a bad
 * activation; MM_ERR_LIMIT: too many parameters; MM_ERR_NOMEM.
 */
extern mm_status mm_mlp_net_create(int32_t L, const int32_t *width,
								   int activation, bool classifier,
								   mm_mlp_net **net, mm_error *err);
extern void mm_mlp_net_free(mm_mlp_net *net);

/* What a fit did. */
typedef struct mm_mlp_info
{
	int32_t		epochs;			/* epochs run */
	int64_t		updates;		/* minibatch steps taken */
	int64_t		n_train;		/* rows trained on */
	int64_t		n_validation;	/* rows held out (early stopping), else 0 */
	int32_t		batch_size;		/* the minibatch size used */
	double		loss;			/* the last epoch's training loss,
								 * penalty included (scikit-learn's loss_) */
	double		best_loss;		/* the lowest epoch loss */
	double		best_validation_score;	/* early stopping: accuracy or R2
										 * of the returned weights; else NaN */
	int32_t		best_epoch;		/* early stopping: the epoch (1-based)
								 * whose weights are returned; else epochs */
	bool		converged;		/* the stopping rule ended the fit before
								 * max_epochs ran out */
	bool		stopped_early;	/* converged by the validation rule */
} mm_mlp_info;

/*
 * Peak bytes mm_mlp_fit() allocates besides X, label and target (the
 * returned network included) for n rows of d features and K classes (1 for
 * a regressor), for the glue's training memory limit; 0 on overflow or bad
 * arguments.
 */
extern size_t mm_mlp_work_bytes(int64_t n, int32_t d, int32_t K,
								const mm_mlp_options *opt);

/*
 * Train on the dense row-major n x d matrix X: a classifier when label is
 * given (class indices in [0, K), K >= 2, target NULL), a regressor when
 * target is given (K = 1, label NULL).  *out receives the network (free it
 * with mm_mlp_net_free); info may be NULL.  MM_ERR_INVALID: bad options
 * (the message names the field), bad arguments, a label out of range.
 * MM_ERR_DATA: a value of X or target is not finite, too few rows to hold
 * out a validation set, or the loss became non-finite (the hint says to
 * lower learning_rate or scale the features).  MM_ERR_LIMIT: too many
 * parameters.  MM_ERR_INTERRUPTED, MM_ERR_NOMEM.  MM_OK also when max_epochs
 * ran out (info->converged is false).  Classes without rows are allowed
 * (their outputs just learn to stay low).
 */
extern mm_status mm_mlp_fit(const double *X, int64_t n, int32_t d,
							const int32_t *label, const double *target,
							int32_t K, const mm_mlp_options *opt,
							mm_mlp_net **out, mm_mlp_info *info,
							mm_error *err);

/*
 * Batched forward pass over n rows of X (in[0] values each) with dgemm:
 * out receives n x out[L-1] values, class probabilities for a classifier,
 * predictions for a regressor.  Polls mm_should_stop() every 256 rows.
 * MM_ERR_NOMEM, MM_ERR_INTERRUPTED.  Agrees with mm_mlp_forward_row() to
 * rounding, not bit for bit.
 */
extern mm_status mm_mlp_forward(const mm_mlp_net *net, const double *X,
								int64_t n, double *out, mm_error *err);

/* Doubles of scratch mm_mlp_forward_row() needs. */
extern size_t mm_mlp_scratch_size(const mm_mlp_net *net);

/*
 * Forward pass of one row x (in[0] values) into out (out[L-1] values), in
 * plain loops and a fixed order, no BLAS: each unit's sum starts from its
 * bias and adds w_j x_j for j = 0, 1, ...; the softmax subtracts the row's
 * largest value, sums the exponentials left to right and divides.  So a
 * model predicts bit-identically wherever libm's exp and tanh agree.
 * scratch holds mm_mlp_scratch_size(net) doubles.
 */
extern void mm_mlp_forward_row(const mm_mlp_net *net, const double *x,
							   double *out, double *scratch);

#endif							/* MM_MLP_H */
