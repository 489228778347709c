/*
 * mm_mlp.c
 *	  The multilayer perceptron's network: options, allocation, and the
 *	  forward passes (batched with dgemm for training and scoring, one row in
 *	  plain loops for prediction).  The fit is in mm_mlp_train.c; see
 *	  mm_mlp.h for the layout and conventions.
 */
#include "mm_mlp_internal.h"

#include <cblas.h>
#include <string.h>

/* Rows a batched forward pass computes at once, between interrupt polls. */
#define MLP_FORWARD_CHUNK	256

/* scikit-learn's MLPClassifier defaults, with our solver-dependent rate. */
void
mm_mlp_default_options(mm_mlp_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->n_hidden = 1;
	opt->hidden[0] = 100;
	opt->activation = MM_MLP_RELU;
	opt->solver = MM_MLP_ADAM;
	opt->learning_rate = 0.0;
	opt->momentum = 0.9;
	opt->batch_size = 0;
	opt->max_epochs = 200;
	opt->l2 = 1e-4;
	opt->early_stopping = false;
	opt->validation_fraction = 0.1;
	opt->n_iter_no_change = 10;
	opt->tol = 1e-4;
	opt->seed = 0;
}

double
mm_mlp_learning_rate(const mm_mlp_options *opt)
{
	if (opt->learning_rate > 0.0)
		return opt->learning_rate;
	return opt->solver == MM_MLP_SGD ? 0.01 : 1e-3;
}

/*
 * The network's block: the struct, in[L] and out[L] (int32, 8 L bytes in
 * all, so what follows stays 8-aligned), W[L] and b[L], then the
 * parameters.
 */
bool
mm_mlp_net_bytes(int32_t L, const int32_t *width, int64_t *n_params,
				 size_t *bytes)
{
	size_t		params = 0;
	size_t		total;
	int32_t		l;

	for (l = 0; l < L; l++)
	{
		size_t		layer;

		if (!mm_size_mul((size_t) width[l + 1], (size_t) width[l] + 1, &layer) ||
			!mm_size_add(params, layer, &params))
			return false;
	}
	if (params > (size_t) INT64_MAX ||
		!mm_size_mul(params, sizeof(double), &total) ||
		!mm_size_add(total, sizeof(mm_mlp_net) +
					 (size_t) L * (2 * sizeof(int32_t) + 2 * sizeof(double *)),
					 &total))
		return false;
	*n_params = (int64_t) params;
	*bytes = total;
	return true;
}

mm_status
mm_mlp_net_create(int32_t L, const int32_t *width, int activation,
				  bool classifier, mm_mlp_net **net, mm_error *err)
{
	mm_mlp_net *nn;
	int64_t		n_params;
	size_t		bytes;
	char	   *p;
	double	   *param;
	int32_t		l;

	*net = NULL;
	if (L < 1 || L > MM_MLP_MAX_LAYERS)
		return mm_fail(err, MM_ERR_INVALID,
					   "a network has 1 to %d layers, not %d",
					   MM_MLP_MAX_LAYERS, (int) L);
	for (l = 0; l <= L; l++)
		if (width[l] < 1)
			return mm_fail(err, MM_ERR_INVALID,
						   "layer width %d is not positive", (int) width[l]);
	if (classifier ? width[L] < 2 : width[L] != 1)
		return mm_fail(err, MM_ERR_INVALID,
					   "a %s cannot have %d outputs",
					   classifier ? "classifier" : "regressor",
					   (int) width[L]);
	if (activation != MM_MLP_RELU && activation != MM_MLP_TANH)
		return mm_fail(err, MM_ERR_INVALID, "unknown activation %d",
					   activation);
	if (!mm_mlp_net_bytes(L, width, &n_params, &bytes))
		return mm_fail(err, MM_ERR_LIMIT, "the network has too many weights");

	nn = mm_alloc0(bytes);
	if (nn == NULL)
		return mm_fail(err, MM_ERR_NOMEM,
					   "out of memory allocating a network of %lld weights",
					   (long long) n_params);
	p = (char *) (nn + 1);
	nn->in = (int32_t *) p;
	nn->out = nn->in + L;
	p += (size_t) L * 2 * sizeof(int32_t);
	nn->W = (double **) p;
	nn->b = nn->W + L;
	p += (size_t) L * 2 * sizeof(double *);
	nn->params = (double *) p;
	nn->n_params = n_params;
	nn->L = L;
	nn->activation = activation;
	nn->classifier = classifier;

	param = nn->params;
	for (l = 0; l < L; l++)
	{
		nn->in[l] = width[l];
		nn->out[l] = width[l + 1];
		nn->W[l] = param;
		param += (size_t) width[l + 1] * width[l];
		nn->b[l] = param;
		param += width[l + 1];
	}
	*net = nn;
	return MM_OK;
}

void
mm_mlp_net_free(mm_mlp_net *net)
{
	mm_free(net);
}

/*
 * Each layer: every row of act[l] starts as the bias, dgemm adds
 * A W' (A the layer's input, rows x in; W out x in, so B = W transposed),
 * then the activation or, last, the softmax.
 */
void
mm_mlp_forward_layers(const mm_mlp_net *net, const double *X, int32_t rows,
					  double *const *act, const int32_t *label,
					  double *log_loss)
{
	int32_t		last = net->L - 1;
	int32_t		l;

	if (label != NULL)
		*log_loss = 0.0;
	if (rows == 0)
		return;
	for (l = 0; l <= last; l++)
	{
		int32_t		in = net->in[l];
		int32_t		out = net->out[l];
		const double *A = l == 0 ? X : act[l - 1];
		double	   *Z = act[l];
		size_t		r;
		size_t		total = (size_t) rows * out;

		for (r = 0; r < (size_t) rows; r++)
			memcpy(Z + r * out, net->b[l], (size_t) out * sizeof(double));
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in,
					1.0, A, in, net->W[l], in, 1.0, Z, out);
		if (l < last)
		{
			for (r = 0; r < total; r++)
				Z[r] = MlpActivate(net->activation, Z[r]);
		}
		else if (net->classifier)
		{
			for (r = 0; r < (size_t) rows; r++)
			{
				double	   *z = Z + r * out;

				if (label != NULL)
				{
					double		lse;
					double		zy = z[label[r]];

					MlpSoftmax(z, out, &lse);
					*log_loss += lse - zy;
				}
				else
					MlpSoftmax(z, out, NULL);
			}
		}
	}
}

/* The widest hidden layer, 0 without one. */
static int32_t
MaxHidden(const mm_mlp_net *net)
{
	int32_t		w = 0;
	int32_t		l;

	for (l = 0; l < net->L - 1; l++)
		if (net->out[l] > w)
			w = net->out[l];
	return w;
}

/*
 * Chunks of MLP_FORWARD_CHUNK rows through two hidden-layer buffers used in
 * turn; the output layer writes straight into out.
 */
mm_status
mm_mlp_forward(const mm_mlp_net *net, const double *X, int64_t n,
			   double *out, mm_error *err)
{
	int32_t		K = net->out[net->L - 1];
	int32_t		width = MaxHidden(net);
	int32_t		chunk = n < MLP_FORWARD_CHUNK ? (int32_t) n : MLP_FORWARD_CHUNK;
	double	   *buf = NULL;
	double	   *act[MM_MLP_MAX_LAYERS];
	int64_t		r0;
	int32_t		l;

	if (n <= 0)
		return MM_OK;
	if (width > 0)
	{
		size_t		bytes;

		if (!mm_size_mul((size_t) chunk * 2, (size_t) width * sizeof(double),
						 &bytes))
			return mm_fail(err, MM_ERR_LIMIT, "the network is too wide");
		buf = mm_alloc(bytes);
		if (buf == NULL)
			return mm_fail(err, MM_ERR_NOMEM,
						   "out of memory in the network's forward pass");
	}
	for (l = 0; l < net->L - 1; l++)
		act[l] = buf + (size_t) (l % 2) * chunk * width;
	for (r0 = 0; r0 < n; r0 += chunk)
	{
		int32_t		rows = n - r0 < chunk ? (int32_t) (n - r0) : chunk;

		if (mm_should_stop())
		{
			mm_free(buf);
			return mm_fail(err, MM_ERR_INTERRUPTED,
						   "network forward pass interrupted");
		}
		act[net->L - 1] = out + (size_t) r0 * K;
		mm_mlp_forward_layers(net, X + (size_t) r0 * net->in[0], rows, act,
							  NULL, NULL);
	}
	mm_free(buf);
	return MM_OK;
}

size_t
mm_mlp_scratch_size(const mm_mlp_net *net)
{
	return (size_t) 2 * MaxHidden(net);
}

void
mm_mlp_forward_row(const mm_mlp_net *net, const double *x, double *out,
				   double *scratch)
{
	int32_t		last = net->L - 1;
	int32_t		width = MaxHidden(net);
	const double *a = x;
	int32_t		l;

	for (l = 0; l <= last; l++)
	{
		int32_t		in = net->in[l];
		int32_t		n_out = net->out[l];
		double	   *z = l == last ? out : scratch + (size_t) (l % 2) * width;
		int32_t		j;

		for (j = 0; j < n_out; j++)
		{
			const double *w = net->W[l] + (size_t) j * in;
			double		s = net->b[l][j];
			int32_t		i;

			for (i = 0; i < in; i++)
				s += w[i] * a[i];
			z[j] = l == last ? s : MlpActivate(net->activation, s);
		}
		a = z;
	}
	if (net->classifier)
		MlpSoftmax(out, net->out[last], NULL);
}
