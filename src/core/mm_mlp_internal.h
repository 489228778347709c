/*
 * mm_mlp_internal.h
 *	  What mm_mlp.c (the network and its forward passes) and mm_mlp_train.c
 *	  and mm_mlp_backprop.c (the fit and its gradient) share, and the loss
 *	  and gradient that test/unit/test_mlp.c checks against finite
 *	  differences.  Not for the glue.
 */
#ifndef MM_MLP_INTERNAL_H
#define MM_MLP_INTERNAL_H

#include <math.h>

#include "mm_mlp.h"

/* Weight layers at most: the hidden ones and the output layer. */
#define MM_MLP_MAX_LAYERS	(MM_MLP_MAX_HIDDEN + 1)

/*
 * The hidden activation of one value.  ReLU keeps a NaN a NaN, as numpy's
 * maximum does.
 */
static inline double
MlpActivate(int activation, double z)
{
	if (activation == MM_MLP_TANH)
		return tanh(z);
	return z < 0.0 ? 0.0 : z;
}

/*
 * Softmax of z[0..K-1] in place: subtract the largest value, exponentiate,
 * sum left to right, divide.  When lse is not NULL it receives the
 * log-sum-exp of the input, so that -log p_k = lse - z_k without taking the
 * log of a probability that may have underflowed.
 */
static inline void
MlpSoftmax(double *z, int32_t K, double *lse)
{
	double		max = z[0];
	double		sum = 0.0;
	int32_t		k;

	for (k = 1; k < K; k++)
		if (z[k] > max)
			max = z[k];
	for (k = 0; k < K; k++)
	{
		z[k] = exp(z[k] - max);
		sum += z[k];
	}
	for (k = 0; k < K; k++)
		z[k] /= sum;
	if (lse != NULL)
		*lse = max + log(sum);
}

/*
 * Parameters and bytes of the single allocation of a network with L layers
 * of widths width[0..L] (see mm_mlp_net_create); false on overflow.
 */
extern bool mm_mlp_net_bytes(int32_t L, const int32_t *width,
							 int64_t *n_params, size_t *bytes);

/*
 * Forward pass of rows rows of X (row-major, in[0] wide) with dgemm: act[l]
 * (rows x out[l], row-major) receives the output of layer l + 1 after its
 * activation, the last one probabilities or predictions.  When label is
 * not NULL (a classifier), *log_loss receives the sum over the rows of
 * -log p_label.
 */
extern void mm_mlp_forward_layers(const mm_mlp_net *net, const double *X,
								  int32_t rows, double *const *act,
								  const int32_t *label, double *log_loss);

/*
 * The activations and deltas of a minibatch: act[l] (rows x out[l]) holds
 * layer l + 1's output, delta[0] and delta[1] (rows x the widest layer)
 * the backpropagated errors, all in block.
 */
typedef struct mm_mlp_buffers
{
	double	   *block;
	double	   *act[MM_MLP_MAX_LAYERS];
	double	   *delta[2];
} mm_mlp_buffers;

/*
 * Bytes of the buffers of up to rows rows of a network with L layers of
 * widths width[0..L]; false on overflow.
 */
extern bool mm_mlp_buffer_bytes(int32_t L, const int32_t *width,
								int32_t rows, size_t *bytes);

/* Allocate them (mm_free(buf->block) frees).  MM_ERR_LIMIT, MM_ERR_NOMEM. */
extern mm_status mm_mlp_buffers_alloc(const mm_mlp_net *net, int32_t rows,
									  mm_mlp_buffers *buf, mm_error *err);

/*
 * The loss of one minibatch of rows rows (X row-major and contiguous,
 * label for a classifier, target for a regressor), returned, and its
 * gradient into grad (net->n_params values, laid out as net->params).
 */
extern double mm_mlp_backprop(const mm_mlp_net *net, const double *X,
							  int32_t rows, const int32_t *label,
							  const double *target, double l2,
							  mm_mlp_buffers *buf, double *grad);

/*
 * The minibatch loss of net on the n rows of X, as the fit minimizes it
 * (mean log loss, or mean squared error / 2, plus l2 / (2 n) sum ||W||^2),
 * and its gradient with respect to net->params (grad has net->n_params
 * values, laid out as params): mm_mlp_backprop() on buffers of its own, the
 * code the fit runs on each minibatch.  MM_ERR_NOMEM.
 */
extern mm_status mm_mlp_loss_grad(const mm_mlp_net *net, const double *X,
								  int32_t n, const int32_t *label,
								  const double *target, double l2,
								  double *loss, double *grad, mm_error *err);

#endif							/* MM_MLP_INTERNAL_H */
