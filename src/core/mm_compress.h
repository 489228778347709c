/*
 * mm_compress.h
 *	  Model compression: pruning and quantization of a model's weight
 *	  tensors, producing a new model.
 *
 * WEIGHT TENSORS are "coef" for the linear algorithms (linear_regression,
 * logistic_regression, softmax_regression, linear_svm, lasso, elastic_net)
 * and "W1".."WL" for the MLPs (the contract in mm_mlp.h and
 * mm_mlp_infer.h).  Intercepts and biases are never pruned or quantized.
 * Neither function modifies its source; the result is a new model the
 * caller frees with mm_model_free.  The source must be a valid model
 * (mm_model_validate is run first).  Both poll mm_should_stop().
 *
 * PRUNING sets weights to zero, counting over rows x cols of each weight
 * tensor (elements a sparse tensor does not store are zeros, and so are
 * stored zeros).  For n weights and sparsity s, round(s * n) of them end
 * up zero (round half to even, as torch.nn.utils.prune counts), or as many
 * as were zero already when that is more:
 *	 MM_PRUNE_MAGNITUDE   each weight tensor on its own: its smallest |w|
 *						  become zero;
 *	 MM_PRUNE_GLOBAL	  all weight tensors together, one threshold;
 *	 MM_PRUNE_STRUCTURED  MLPs only: in each hidden layer of n_l units,
 *						  min(round(s * n_l), n_l - 1) units are removed,
 *						  those whose incoming weights (row of W_l) have the
 *						  smallest L2 norm; with them go their bias entries
 *						  and the matching columns of W_{l+1}.  Output units
 *						  are never removed.  The tensors shrink.
 * Equal magnitudes (or norms) are broken by position: the earlier element
 * (row-major; for global, the earlier tensor in "coef", "W1", "W2", ...
 * order) goes first, so the result is deterministic.  Each weight tensor of
 * the result keeps its dtype and is stored in the smaller of the two
 * layouts, CSR holding only the non-zero weights, or dense: pruning makes
 * the artifact smaller.  Errors: MM_ERR_INVALID for a sparsity outside
 * [0, 1), an unknown method, or a result where a weight tensor has no
 * non-zero weight left (the hint says to lower the sparsity);
 * MM_ERR_UNSUPPORTED for int8 weights ("prune before quantizing"),
 * structured pruning of a linear model (the hint says to use magnitude)
 * or of an MLP without hidden layer.  float16 weights are pruned like the
 * others and stay float16.
 *
 * QUANTIZATION turns each weight tensor (float64 or float32, either
 * layout; a sparse tensor stays sparse with the same structure) into
 *	 MM_DTYPE_I8   value = scale * (q - zero_point), with one scale and zero
 *				   point per tensor or per row (output channel):
 *				   symmetric: zero_point 0, scale = max|w| / 127,
 *				   q = round(w / scale) in -127..127;
 *				   asymmetric: over [lo, hi] = [min(w, 0), max(w, 0)],
 *				   scale = (hi - lo) / 255, zero_point = round(-128 - lo /
 *				   scale), q = round(w / scale) + zero_point in -128..127.
 *				   Rounding is half to even.  Every weight is then within
 *				   scale / 2 of its original, and zero stays exactly zero.
 *				   A group of all-zero weights gets scale 1.
 *				   scheme 0 means symmetric and granularity 0 per channel.
 *	 MM_DTYPE_F16  IEEE binary16, round to nearest even.  There is no scheme
 *				   or granularity: both must be 0, anything else is
 *				   MM_ERR_INVALID rather than silently ignored.  A weight
 *				   beyond the float16 range (|w| >= 65520) is MM_ERR_RANGE.
 * Errors: MM_ERR_INVALID for a target dtype other than these two, an
 * unknown scheme or granularity, or weights already int8 or float16
 * ("already quantized").
 */
#ifndef MM_COMPRESS_H
#define MM_COMPRESS_H

#include "mm_core.h"
#include "mm_model.h"

#define MM_PRUNE_MAGNITUDE	1
#define MM_PRUNE_GLOBAL		2
#define MM_PRUNE_STRUCTURED	3

#define MM_QUANT_DEFAULT		0	/* scheme or granularity not given */
#define MM_QUANT_SYMMETRIC		1
#define MM_QUANT_ASYMMETRIC		2
#define MM_QUANT_PER_TENSOR		1
#define MM_QUANT_PER_CHANNEL	2

/* Counts over all tensors of the model (mm_model_param_count and
 * mm_model_nonzero_count), before and after pruning. */
typedef struct mm_prune_info
{
	uint64_t	params_before;
	uint64_t	params_after;
	uint64_t	nonzero_before;
	uint64_t	nonzero_after;
} mm_prune_info;

/*
 * A deep copy of model (features, classes, attributes, tensors, in the
 * same order; so the copy serializes to the same bytes).  MM_ERR_NOMEM.
 */
extern mm_status mm_model_copy(const mm_model *model, mm_model **out,
							   mm_error *err);

/* True when tensor t of model is one of its weight tensors (above). */
extern bool mm_is_weight_tensor(const mm_model *model, const mm_tensor *t);

/* Prune src into *out; info may be NULL.  *out is NULL on failure. */
extern mm_status mm_prune(const mm_model *src, int method, double sparsity,
						  mm_model **out, mm_prune_info *info,
						  mm_error *err);

/* Quantize src into *out.  *out is NULL on failure. */
extern mm_status mm_quantize(const mm_model *src, int dtype, int scheme,
							 int granularity, mm_model **out, mm_error *err);

/*
 * Store each sparse weight tensor of m (and of its groups) densely when
 * that is smaller and means the same values (every zero point 0), e.g.
 * after quantizing a pruned model, whose 1-byte int8 values would carry
 * 4-byte column indexes.  Values, shapes and dtypes do not change.
 */
extern mm_status mm_compact_weights(mm_model *m, mm_error *err);

#endif							/* MM_COMPRESS_H */
