/*
 * mm_mlp_infer.c
 *	  MLP inference from a model's tensors in any dtype and layout; see
 *	  mm_mlp_infer.h.
 *
 * mm_mlp_infer_new turns each layer into one of three forms once: a dense
 * row-major double matrix (borrowed from a float64 tensor, converted from
 * float32 or float16), a CSR matrix with double values (row pointers and
 * column indexes borrowed), or the int8 tensor itself for the int8 kernel.
 * Biases are always converted to double.  The row pass then only runs
 * kernels from mm_qkernel.c and the activations.
 */
#include "mm_mlp_infer.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mm_mlp.h"
#include "mm_qkernel.h"

/* Two tensors per layer, within the format's tensor limit. */
#define MAX_LAYERS (MM_MAX_TENSORS / 2)

typedef enum LayerKind
{
	LAYER_DENSE = 1,
	LAYER_SPARSE,
	LAYER_INT8
} LayerKind;

typedef struct InferLayer
{
	LayerKind	kind;
	uint32_t	in;
	uint32_t	out;
	const double *w;			/* dense: out x in */
	const uint32_t *row_ptr;	/* sparse */
	const uint32_t *col_idx;
	const double *values;
	const mm_tensor *q;			/* int8 */
	double	   *owned;			/* converted weights, if any */
	double	   *bias;			/* out values, owned */
} InferLayer;

struct mm_mlp_infer
{
	uint32_t	n_layers;
	int			activation;
	bool		classifier;
	int			impl;			/* int8 kernel, MM_QK_* */
	InferLayer *layers;
	double	   *buf[2];			/* ping-pong layer outputs, max width */
	mm_qinput  *qin;			/* int8 layers' quantized input, or NULL */
};

/* ---------------------------------------------------------------------
 * The tensor contract
 * ---------------------------------------------------------------------
 */

const mm_tensor *
mm_mlp_infer_tensor(const mm_model *m, char kind, uint32_t l)
{
	char		name[16];

	snprintf(name, sizeof(name), "%c%u", kind, l);
	return mm_model_tensor(m, name);
}

mm_status
mm_mlp_infer_layers(const mm_model *m, uint32_t *n_layers, mm_error *err)
{
	bool		classifier = (m->algorithm == MM_ALGO_MLP_CLASSIFIER);
	double		layers;
	double		activation;
	uint32_t	L;
	uint32_t	prev;
	uint32_t	l;

	if (!classifier && m->algorithm != MM_ALGO_MLP_REGRESSOR)
	{
		const char *algo = mm_algorithm_name(m->algorithm);

		return mm_fail(err, MM_ERR_UNSUPPORTED, "%s model is not an MLP",
					   algo ? algo : "unknown");
	}
	layers = mm_model_attr(m, "layers", 0.0);
	if (!(layers >= 1.0 && layers <= MAX_LAYERS) || layers != floor(layers))
		return mm_fail(err, MM_ERR_INVALID,
					   "mlp attribute \"layers\" must be an integer from 1 to %d",
					   MAX_LAYERS);
	L = (uint32_t) layers;
	activation = mm_model_attr(m, "activation", 0.0);
	if (L >= 2 && activation != MM_MLP_RELU && activation != MM_MLP_TANH)
		return mm_fail(err, MM_ERR_INVALID,
					   "mlp attribute \"activation\" must be %d (relu) or %d (tanh)",
					   MM_MLP_RELU, MM_MLP_TANH);
	prev = mm_model_input_width(m);
	for (l = 1; l <= L; l++)
	{
		const mm_tensor *W = mm_mlp_infer_tensor(m, 'W', l);
		const mm_tensor *b = mm_mlp_infer_tensor(m, 'b', l);

		if (W == NULL)
			return mm_fail(err, MM_ERR_INVALID,
						   "mlp model has no tensor \"W%u\"", l);
		if (W->cols != prev)
			return mm_fail(err, MM_ERR_INVALID,
						   "mlp tensor \"W%u\" has %u columns, expected %u",
						   l, W->cols, prev);
		if (b == NULL)
			return mm_fail(err, MM_ERR_INVALID,
						   "mlp model has no tensor \"b%u\"", l);
		if (b->rows != 1 || b->cols != W->rows)
			return mm_fail(err, MM_ERR_INVALID,
						   "mlp tensor \"b%u\" is %u x %u, expected 1 x %u",
						   l, b->rows, b->cols, W->rows);
		prev = W->rows;
	}
	if (classifier && (prev != m->n_classes || prev < 2))
		return mm_fail(err, MM_ERR_INVALID,
					   "the output layer of an mlp classifier has %u units for %u classes",
					   prev, m->n_classes);
	if (!classifier && prev != 1)
		return mm_fail(err, MM_ERR_INVALID,
					   "the output layer of an mlp regressor has %u units, expected 1",
					   prev);
	*n_layers = L;
	return MM_OK;
}

/* ---------------------------------------------------------------------
 * Preparation
 * ---------------------------------------------------------------------
 */

static mm_status
PrepareLayer(const mm_tensor *W, const mm_tensor *b, InferLayer *layer,
			 mm_error *err)
{
	uint32_t	i;

	layer->in = W->cols;
	layer->out = W->rows;
	layer->bias = mm_alloc((size_t) W->rows * sizeof(double));
	if (layer->bias == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	for (i = 0; i < W->rows; i++)
		layer->bias[i] = mm_tensor_get(b, 0, i);

	if (W->dtype == MM_DTYPE_I8)
	{
		layer->kind = LAYER_INT8;
		layer->q = W;
		return mm_qk_check(W, err);
	}
	if (W->dtype != MM_DTYPE_F64 && W->dtype != MM_DTYPE_F32 &&
		W->dtype != MM_DTYPE_F16)
		return mm_fail(err, MM_ERR_INVALID,
					   "mlp tensor \"%s\" has unknown dtype %u", W->name,
					   W->dtype);
	if (W->dtype != MM_DTYPE_F64)
	{
		size_t		bytes;
		uint64_t	k;

		if (!mm_size_mul((size_t) W->nnz, sizeof(double), &bytes))
			return mm_fail(err, MM_ERR_LIMIT, "mlp tensor \"%s\" is too large",
						   W->name);
		layer->owned = mm_alloc(bytes == 0 ? 1 : bytes);
		if (layer->owned == NULL)
			return mm_fail(err, MM_ERR_NOMEM, "out of memory");
		for (k = 0; k < W->nnz; k++)
			layer->owned[k] = mm_tensor_value(W, k, 0);
	}
	if (W->layout == MM_LAYOUT_DENSE)
	{
		layer->kind = LAYER_DENSE;
		layer->w = layer->owned ? layer->owned : W->values;
	}
	else
	{
		layer->kind = LAYER_SPARSE;
		layer->row_ptr = W->row_ptr;
		layer->col_idx = W->col_idx;
		layer->values = layer->owned ? layer->owned : W->values;
	}
	return MM_OK;
}

mm_status
mm_mlp_infer_new(const mm_model *m, mm_mlp_infer **out, mm_error *err)
{
	mm_mlp_infer *p;
	mm_status	st;
	uint32_t	L;
	uint32_t	l;
	uint32_t	width;
	uint32_t	qwidth = 0;

	*out = NULL;
	if ((st = mm_mlp_infer_layers(m, &L, err)) != MM_OK)
		return st;
	p = mm_alloc0(sizeof(mm_mlp_infer));
	if (p == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	p->n_layers = L;
	p->activation = (int) mm_model_attr(m, "activation", MM_MLP_RELU);
	p->classifier = (m->algorithm == MM_ALGO_MLP_CLASSIFIER);
	p->impl = MM_QK_AUTO;
	p->layers = mm_alloc0((size_t) L * sizeof(InferLayer));
	if (p->layers == NULL)
	{
		mm_mlp_infer_free(p);
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	}
	width = mm_model_input_width(m);
	for (l = 0; l < L; l++)
	{
		st = PrepareLayer(mm_mlp_infer_tensor(m, 'W', l + 1),
						  mm_mlp_infer_tensor(m, 'b', l + 1), &p->layers[l],
						  err);
		if (st != MM_OK)
		{
			mm_mlp_infer_free(p);
			return st;
		}
		if (p->layers[l].out > width)
			width = p->layers[l].out;
		if (p->layers[l].kind == LAYER_INT8 && p->layers[l].in > qwidth)
			qwidth = p->layers[l].in;
	}
	p->buf[0] = mm_alloc((size_t) width * sizeof(double));
	p->buf[1] = mm_alloc((size_t) width * sizeof(double));
	if (p->buf[0] == NULL || p->buf[1] == NULL)
	{
		mm_mlp_infer_free(p);
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	}
	if (qwidth > 0)
	{
		p->qin = mm_alloc0(sizeof(mm_qinput));
		if (p->qin == NULL ||
			(st = mm_qinput_init(p->qin, qwidth, err)) != MM_OK)
		{
			mm_mlp_infer_free(p);
			return mm_fail(err, MM_ERR_NOMEM, "out of memory");
		}
	}
	*out = p;
	return MM_OK;
}

void
mm_mlp_infer_free(mm_mlp_infer *p)
{
	uint32_t	l;

	if (p == NULL)
		return;
	if (p->layers)
		for (l = 0; l < p->n_layers; l++)
		{
			mm_free(p->layers[l].owned);
			mm_free(p->layers[l].bias);
		}
	mm_free(p->layers);
	mm_free(p->buf[0]);
	mm_free(p->buf[1]);
	if (p->qin)
		mm_qinput_free(p->qin);
	mm_free(p->qin);
	mm_free(p);
}

uint32_t
mm_mlp_infer_input_width(const mm_mlp_infer *p)
{
	return p->layers[0].in;
}

uint32_t
mm_mlp_infer_output_width(const mm_mlp_infer *p)
{
	return p->layers[p->n_layers - 1].out;
}

void
mm_mlp_infer_set_kernel(mm_mlp_infer *p, int impl)
{
	p->impl = impl;
	if (p->qin)
		p->qin->impl = impl;
}

/* ---------------------------------------------------------------------
 * The row pass
 * ---------------------------------------------------------------------
 */

/*
 * v < 0 ? 0 : v, mm_mlp's ReLU to the sign of zero, as a mask on the bits:
 * the signs of hidden units are random, and a branch on them mispredicts
 * half the time.
 */
static void
Relu(double *v, uint32_t n)
{
	uint32_t	i;

	for (i = 0; i < n; i++)
	{
		uint64_t	bits;

		memcpy(&bits, &v[i], sizeof(bits));
		bits &= (uint64_t) 0 - (uint64_t) !(v[i] < 0.0);
		memcpy(&v[i], &bits, sizeof(bits));
	}
}

mm_status
mm_mlp_infer_row(const mm_mlp_infer *p, const double *x, double *out,
				 mm_error *err)
{
	const double *cur = x;
	uint32_t	l;
	uint32_t	i;

	for (i = 0; i < p->layers[0].in; i++)
		if (!isfinite(x[i]))
			return mm_fail(err, MM_ERR_DATA, "input value %u is not finite",
						   i + 1);
	for (l = 0; l < p->n_layers; l++)
	{
		const InferLayer *layer = &p->layers[l];
		double	   *next = p->buf[l % 2];
		mm_status	st;

		switch (layer->kind)
		{
			case LAYER_DENSE:
				mm_fk_gemv_f64(layer->w, layer->out, layer->in, cur,
							   layer->bias, next);
				break;
			case LAYER_SPARSE:
				mm_fk_csrmv_f64(layer->out, layer->row_ptr, layer->col_idx,
								layer->values, cur, layer->bias, next);
				break;
			case LAYER_INT8:
				st = mm_qinput_set(p->qin, cur, layer->in, err);
				if (st != MM_OK)
					return st;
				mm_qk_gemv(layer->q, p->qin, layer->bias, next, p->impl);
				break;
		}
		for (i = 0; i < layer->out; i++)
			if (!isfinite(next[i]))
				return mm_fail(err, MM_ERR_RANGE,
							   "layer %u of the mlp overflowed", l + 1);
		if (l + 1 < p->n_layers)
		{
			if (p->activation == MM_MLP_TANH)
				for (i = 0; i < layer->out; i++)
					next[i] = tanh(next[i]);
			else
				Relu(next, layer->out);
		}
		cur = next;
	}

	l = p->n_layers - 1;
	if (p->classifier)
	{
		uint32_t	K = p->layers[l].out;
		double		mx = cur[0];
		double		sum = 0.0;

		for (i = 1; i < K; i++)
			if (cur[i] > mx)
				mx = cur[i];
		for (i = 0; i < K; i++)
		{
			out[i] = exp(cur[i] - mx);
			sum += out[i];
		}
		for (i = 0; i < K; i++)
			out[i] /= sum;
	}
	else
		out[0] = cur[0];
	return MM_OK;
}
