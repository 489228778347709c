/*
 * mm_qkernel.h
 *	  Matrix-vector kernels for inference: y = b + W x with int8 weights and
 *	  dynamically quantized activations, and the float64/float32 kernels they
 *	  are measured against.
 *
 * INT8.  W is an int8 tensor (dense row-major or CSR) whose element (i, j)
 * is sW_i * (q_ij - zp_i), with one scale and zero point per tensor or per
 * row (doc/format.md).  The input vector x is quantized per call,
 * symmetrically: m = max |x_j|, sx = m / 127, qx_j = round(x_j * (127 / m))
 * clamped to -127..127, rounding half to even (all qx_j = 0 and sx = 0 when
 * x is all zero).  Then, summing over the stored elements of row i,
 *
 *	   y_i = b_i + (sW_i * sx) * (sum q_ij qx_j - zp_i * sum qx_j)
 *
 * with the two sums in exact integer arithmetic (int32 accumulators over at
 * most MM_QK_CHUNK products, which cannot overflow since |q qx| <= 128 * 127,
 * added up in int64) and the float steps exactly as written.  So the
 * portable C kernel and the AVX2 kernel (chosen at run time) return
 * bit-identical results: only the integer sums are vectorized.
 *
 * FLOAT.  y_i = b_i + W_i0 x_0 + W_i1 x_1 + ..., summed left to right from
 * the bias, in plain loops (no BLAS, no reassociation), so the result is
 * the same on every machine; the same order as mm_mlp_forward_row().
 */
#ifndef MM_QKERNEL_H
#define MM_QKERNEL_H

#include "mm_core.h"
#include "mm_model.h"

/* Kernel implementations (the impl argument). */
#define MM_QK_AUTO		0		/* AVX2 when the CPU has it, else portable */
#define MM_QK_PORTABLE	1
#define MM_QK_AVX2		2

/* Products summed in one int32 accumulator: 131072 * 128 * 127 < 2^31. */
#define MM_QK_CHUNK		131072

/* Zeroed int16 slots after a quantized input (the AVX2 gathers read one). */
#define MM_QK_PAD		16

/*
 * Round half to even, for |v| < 2^51, in the default rounding mode (the
 * only one PostgreSQL and the unit tests use).  Adding and subtracting
 * 1.5 * 2^52 leaves exactly the nearest integer; -ffp-contract=off and the
 * absence of -ffast-math keep the compiler from folding it.
 */
static inline double
mm_qk_round(double v)
{
	const double magic = 6755399441055744.0;

	return (v + magic) - magic;
}

/* True when the CPU runs the AVX2 kernels (false off x86). */
extern bool mm_qk_have_avx2(void);

/*
 * The implementation impl stands for here: MM_QK_AUTO becomes AVX2 or
 * portable, and AVX2 becomes portable on a CPU without it.
 */
extern int	mm_qk_resolve(int impl);

/* An input vector quantized for the int8 kernels. */
typedef struct mm_qinput
{
	int			impl;			/* MM_QK_*, MM_QK_AUTO after init: how
								 * mm_qinput_set runs (same result either
								 * way) */
	uint32_t	cap;			/* room, in values */
	uint32_t	n;				/* values of the current vector */
	double		scale;			/* sx, 0 when the vector is all zero */
	int64_t		sum;			/* sum of q[0 .. n-1] */
	int16_t    *q;				/* cap + MM_QK_PAD values in -127..127 */
} mm_qinput;

/* Room for vectors of up to cap values (cap >= 1).  MM_ERR_NOMEM. */
extern mm_status mm_qinput_init(mm_qinput *in, uint32_t cap, mm_error *err);
extern void mm_qinput_free(mm_qinput *in);

/*
 * Quantize x (n <= cap values).  MM_ERR_DATA when a value is not finite
 * (in is then unchanged).
 */
extern mm_status mm_qinput_set(mm_qinput *in, const double *x, uint32_t n,
							   mm_error *err);

/*
 * Check that w is a tensor the int8 kernels take: int8, a valid layout and
 * scale count.  (They trust a validated model for the rest: CSR structure,
 * zero points in range.)  MM_ERR_INVALID.
 */
extern mm_status mm_qk_check(const mm_tensor *w, mm_error *err);

/*
 * y = bias + W x for int8 W (rows x cols, mm_qk_check'ed) and in, the
 * quantized x (in->n == cols).  bias may be NULL (zeros).
 */
extern void mm_qk_gemv(const mm_tensor *w, const mm_qinput *in,
					   const double *bias, double *y, int impl);

/*
 * The batch form: the n rows of X (n x cols, row-major) each quantized and
 * multiplied, Y (n x rows) = X W^T + bias.  Polls mm_should_stop() every
 * 256 rows.  MM_ERR_INVALID (not an int8 tensor), MM_ERR_DATA (a value of
 * X not finite), MM_ERR_NOMEM, MM_ERR_INTERRUPTED.
 */
extern mm_status mm_qk_gemm(const mm_tensor *w, const double *X, size_t n,
							const double *bias, double *Y, int impl,
							mm_error *err);

/*
 * Float kernels.  gemv: y (rows) = bias + W x for dense row-major W (rows x
 * cols); bias may be NULL.  gemm: Y (n x rows) = X W^T + bias for the n rows
 * of X, the gemv of each row, polling mm_should_stop() every 256 rows
 * (MM_ERR_INTERRUPTED).  csrmv: the same for a CSR matrix with double
 * values, skipping the elements it does not store.
 */
extern void mm_fk_gemv_f64(const double *W, uint32_t rows, uint32_t cols,
						   const double *x, const double *bias, double *y);
extern void mm_fk_gemv_f32(const float *W, uint32_t rows, uint32_t cols,
						   const float *x, const float *bias, float *y);
extern mm_status mm_fk_gemm_f64(const double *W, uint32_t rows,
								uint32_t cols, const double *X, size_t n,
								const double *bias, double *Y, mm_error *err);
extern mm_status mm_fk_gemm_f32(const float *W, uint32_t rows, uint32_t cols,
								const float *X, size_t n, const float *bias,
								float *Y, mm_error *err);
extern void mm_fk_csrmv_f64(uint32_t rows, const uint32_t *row_ptr,
							const uint32_t *col_idx, const double *values,
							const double *x, const double *bias, double *y);

#endif							/* MM_QKERNEL_H */
