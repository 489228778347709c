/*
 * mm_mlp_backprop.c
 *	  The multilayer perceptron's loss and gradient over a minibatch: the
 *	  forward pass keeping every layer's activations, then backpropagation
 *	  with dgemm.  The fit (mm_mlp_train.c) calls it on each minibatch; the
 *	  unit tests check it against finite differences.  See mm_mlp.h for the
 *	  losses.
 */
#include "mm_mlp_internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/*
 * The activations (rows x width[l + 1] for each layer) and two deltas of
 * rows x the widest layer, in one block.
 */
bool
mm_mlp_buffer_bytes(int32_t L, const int32_t *width, int32_t rows,
					size_t *bytes)
{
	int32_t		widest = 0;
	size_t		part;
	int32_t		l;

	*bytes = 0;
	for (l = 1; l <= L; l++)
	{
		if (width[l] > widest)
			widest = width[l];
		if (!mm_size_mul((size_t) rows * width[l], sizeof(double), &part) ||
			!mm_size_add(*bytes, part, bytes))
			return false;
	}
	return mm_size_mul((size_t) rows * widest * 2, sizeof(double), &part) &&
		mm_size_add(*bytes, part, bytes);
}

/* One block, carved as mm_mlp_buffer_bytes() counts it. */
mm_status
mm_mlp_buffers_alloc(const mm_mlp_net *net, int32_t rows,
					 mm_mlp_buffers *buf, mm_error *err)
{
	int32_t		width[MM_MLP_MAX_LAYERS + 1];
	int32_t		widest = 0;
	size_t		bytes;
	double	   *p;
	int32_t		l;

	width[0] = net->in[0];
	for (l = 0; l < net->L; l++)
	{
		width[l + 1] = net->out[l];
		if (net->out[l] > widest)
			widest = net->out[l];
	}
	if (!mm_mlp_buffer_bytes(net->L, width, rows, &bytes))
		return mm_fail(err, MM_ERR_LIMIT, "the network is too large to train");
	buf->block = mm_alloc(bytes);
	if (buf->block == NULL)
		return mm_fail(err, MM_ERR_NOMEM,
					   "out of memory training a neural network");
	p = buf->block;
	for (l = 0; l < net->L; l++)
	{
		buf->act[l] = p;
		p += (size_t) rows * net->out[l];
	}
	buf->delta[0] = p;
	buf->delta[1] = p + (size_t) rows * widest;
	return MM_OK;
}

/*
 * Loss and gradient of one minibatch of rows rows (X row-major, labels or
 * targets alongside), into grad (laid out as net->params); returns the
 * loss.  The output delta is P - Y for softmax with log loss and for the
 * identity with squared error alike; it is pushed back through
 * delta_{l-1} = (delta_l W_l) * f'(A_{l-1}), where f' is read off the
 * activation's output as scikit-learn does (ReLU: 0 where the output is 0;
 * tanh: 1 - A^2).  Layer l's gradient is (delta_l' A_{l-1} + l2 W_l) / rows
 * and the column means of delta_l.
 */
double
mm_mlp_backprop(const mm_mlp_net *net, const double *X, int32_t rows,
				const int32_t *label, const double *target, double l2,
				mm_mlp_buffers *buf, double *grad)
{
	int32_t		last = net->L - 1;
	int32_t		K = net->out[last];
	const double *P = buf->act[last];
	double	   *delta = buf->delta[0];
	double		inv_rows = 1.0 / rows;
	double		penalty_scale = l2 * inv_rows;
	double		data_loss = 0.0;
	double		sumsq = 0.0;
	size_t		r;
	int32_t		l;

	mm_mlp_forward_layers(net, X, rows, buf->act, label, &data_loss);
	/* a wide layer's products take long: let a cancel in between layers */
	if (mm_should_stop())
		return NAN;
	if (net->classifier)
	{
		memcpy(delta, P, (size_t) rows * K * sizeof(double));
		for (r = 0; r < (size_t) rows; r++)
			delta[r * K + label[r]] -= 1.0;
	}
	else
	{
		for (r = 0; r < (size_t) rows; r++)
		{
			double		e = P[r] - target[r];

			delta[r] = e;
			data_loss += e * e;
		}
		data_loss *= 0.5;
	}

	for (l = last; l >= 0; l--)
	{
		int32_t		in = net->in[l];
		int32_t		out = net->out[l];
		const double *A = l == 0 ? X : buf->act[l - 1];
		const double *W = net->W[l];
		double	   *cur = buf->delta[(last - l) % 2];
		double	   *gW = grad + (net->W[l] - net->params);
		double	   *gb = grad + (net->b[l] - net->params);
		size_t		n_w = (size_t) out * in;
		size_t		i;
		int32_t		j;

		for (i = 0; i < n_w; i++)
			sumsq += W[i] * W[i];
		cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, rows,
					inv_rows, cur, out, A, in, 0.0, gW, in);
		for (i = 0; i < n_w; i++)
			gW[i] += penalty_scale * W[i];
		memset(gb, 0, (size_t) out * sizeof(double));
		for (r = 0; r < (size_t) rows; r++)
			for (j = 0; j < out; j++)
				gb[j] += cur[r * out + j];
		for (j = 0; j < out; j++)
			gb[j] *= inv_rows;

		if (mm_should_stop())
			return NAN;
		if (l > 0)
		{
			double	   *prev = buf->delta[(last - l + 1) % 2];
			size_t		total = (size_t) rows * in;

			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, in,
						out, 1.0, cur, out, W, in, 0.0, prev, in);
			if (net->activation == MM_MLP_TANH)
			{
				for (i = 0; i < total; i++)
					prev[i] *= 1.0 - A[i] * A[i];
			}
			else
			{
				for (i = 0; i < total; i++)
					if (A[i] == 0.0)
						prev[i] = 0.0;
			}
		}
	}
	return data_loss * inv_rows + 0.5 * penalty_scale * sumsq;
}

mm_status
mm_mlp_loss_grad(const mm_mlp_net *net, const double *X, int32_t n,
				 const int32_t *label, const double *target, double l2,
				 double *loss, double *grad, mm_error *err)
{
	mm_mlp_buffers buf;
	mm_status	st;

	st = mm_mlp_buffers_alloc(net, n, &buf, err);
	if (st != MM_OK)
		return st;
	*loss = mm_mlp_backprop(net, X, n, label, target, l2, &buf, grad);
	mm_free(buf.block);
	return MM_OK;
}
