/*
 * mm_mlp_infer.h
 *	  Inference of an MLP straight from its model tensors, whatever their
 *	  dtype and layout: dense float64/float32/float16, sparse (CSR, from
 *	  pruning) and int8 (from quantization).
 *
 * The tensors follow the MLP contract (mm_mlp.h): algorithm mlp_classifier
 * or mlp_regressor, attribute "layers" = L >= 1, weights "W1".."WL" of
 * out_l x in_l (row = output unit), biases "b1".."bL" of 1 x out_l,
 * in_1 = the model's input width, in_l = out_{l-1}, attribute "activation"
 * = MM_MLP_RELU or MM_MLP_TANH for the hidden layers (required when
 * L >= 2), and out_L = the class count K (softmax) for a classifier, 1
 * (identity) for a regressor.
 *
 * How each layer computes, unit i of layer l from the previous layer's
 * values x:
 *	 - dense float weights (float32 and float16 converted to double once, at
 *	   mm_mlp_infer_new, exactly): b_i + w_i0 x_0 + w_i1 x_1 + ... in double,
 *	   left to right from the bias; the same arithmetic as
 *	   mm_mlp_forward_row(), so a float64 model gives bit-identical results;
 *	 - sparse weights: the same sum over the stored elements only;
 *	 - int8 weights: the int8 kernel (mm_qkernel.h), the layer's input
 *	   quantized per row (dynamic quantization).
 * Then ReLU or tanh for hidden layers, and for a classifier a softmax that
 * subtracts the largest value, sums the exponentials left to right and
 * divides.  No BLAS: each row is computed the same way on every machine
 * (the int8 kernel's AVX2 and portable forms agree bit for bit).
 */
#ifndef MM_MLP_INFER_H
#define MM_MLP_INFER_H

#include "mm_core.h"
#include "mm_model.h"

typedef struct mm_mlp_infer mm_mlp_infer;

/*
 * Check that m follows the MLP tensor contract above and return its layer
 * count L.  MM_ERR_UNSUPPORTED when m is not an MLP; MM_ERR_INVALID (the
 * message names the tensor or attribute) otherwise.  Does not look at
 * dtypes or layouts.
 */
extern mm_status mm_mlp_infer_layers(const mm_model *m, uint32_t *n_layers,
									 mm_error *err);

/* Tensor "W<l>" or "b<l>" (kind 'W' or 'b', 1 <= l <= L); NULL if absent. */
extern const mm_tensor *mm_mlp_infer_tensor(const mm_model *m, char kind,
											uint32_t l);

/*
 * Prepare inference of a valid model (mm_model_validate'd, e.g. parsed).
 * The result borrows float64 and int8 tensors from m, which must outlive
 * it.  Errors as mm_mlp_infer_layers, plus MM_ERR_NOMEM.
 */
extern mm_status mm_mlp_infer_new(const mm_model *m, mm_mlp_infer **out,
								  mm_error *err);
extern void mm_mlp_infer_free(mm_mlp_infer *p);

/* Input width (in_1) and output width (K, or 1 for a regressor). */
extern uint32_t mm_mlp_infer_input_width(const mm_mlp_infer *p);
extern uint32_t mm_mlp_infer_output_width(const mm_mlp_infer *p);

/*
 * Forward pass of one encoded input row x (input width values) into out:
 * K class probabilities for a classifier, one value for a regressor.
 * MM_ERR_DATA when a value of x is not finite, MM_ERR_RANGE when a layer
 * overflows.  Uses scratch space inside p: one p serves one row at a time
 * (the server is single-threaded).
 */
extern mm_status mm_mlp_infer_row(const mm_mlp_infer *p, const double *x,
								  double *out, mm_error *err);

/*
 * Choose the int8 kernel implementation (MM_QK_AUTO by default); tests and
 * benchmarks use it to compare portable and AVX2.
 */
extern void mm_mlp_infer_set_kernel(mm_mlp_infer *p, int impl);

#endif							/* MM_MLP_INFER_H */
