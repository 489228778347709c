/*
 * mm_qkernel.c
 *	  The int8 and float matrix-vector kernels of inference; see
 *	  mm_qkernel.h for the arithmetic they promise.
 *
 * The int8 kernels come twice: portable C, and AVX2 compiled for that
 * target alone (__attribute__((target("avx2")))) and chosen at run time
 * with __builtin_cpu_supports, so the library itself is still built for
 * the baseline instruction set.  Both compute the same integer sums
 * exactly, and share the quantization of the input and the final float
 * steps (Finish), which is why their results are bit-identical.
 *
 * AVX2, dense: 16 weights at a time are sign-extended to int16 and
 * multiplied with the int16 activations by _mm256_madd_epi16 (pairs of
 * products summed into int32 lanes); four rows share each load of the
 * activations, and for rows of at most SHORT_COLS columns (where every
 * term fits an int32) their final float steps run four at a time too.
 * Sparse: the activations of 8 column indexes are gathered as int32
 * (reading one int16 past each, hence MM_QK_PAD) and multiplied with
 * _mm256_mullo_epi32.  The quantization of the input also has an AVX2 form:
 * each element goes through the same IEEE operations (multiply, add and
 * subtract the rounding constant, clamp, convert), so it gives the same
 * int16 values as the scalar loop.
 */
#include "mm_qkernel.h"

#include <float.h>
#include <math.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define MM_QK_X86 1
#include <immintrin.h>
#endif

/* Rows between two polls of mm_should_stop() in the batch kernels. */
#define POLL_ROWS 256

/* ---------------------------------------------------------------------
 * Dispatch
 * ---------------------------------------------------------------------
 */

bool
mm_qk_have_avx2(void)
{
#ifdef MM_QK_X86
	static int	have = -1;

	if (have < 0)
	{
		__builtin_cpu_init();
		have = __builtin_cpu_supports("avx2") ? 1 : 0;
	}
	return have == 1;
#else
	return false;
#endif
}

int
mm_qk_resolve(int impl)
{
	if (impl == MM_QK_PORTABLE)
		return MM_QK_PORTABLE;
	return mm_qk_have_avx2() ? MM_QK_AVX2 : MM_QK_PORTABLE;
}

/* ---------------------------------------------------------------------
 * Quantized input
 * ---------------------------------------------------------------------
 */

mm_status
mm_qinput_init(mm_qinput *in, uint32_t cap, mm_error *err)
{
	memset(in, 0, sizeof(*in));
	if (cap == 0)
		cap = 1;
	in->q = mm_alloc0(((size_t) cap + MM_QK_PAD) * sizeof(int16_t));
	if (in->q == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	in->cap = cap;
	in->impl = MM_QK_AUTO;
	return MM_OK;
}

void
mm_qinput_free(mm_qinput *in)
{
	mm_free(in->q);
	memset(in, 0, sizeof(*in));
}

mm_status
mm_qk_check(const mm_tensor *w, mm_error *err)
{
	if (w->dtype != MM_DTYPE_I8)
		return mm_fail(err, MM_ERR_INVALID,
					   "tensor \"%s\" is not int8", w->name);
	if (w->layout != MM_LAYOUT_DENSE && w->layout != MM_LAYOUT_SPARSE)
		return mm_fail(err, MM_ERR_INVALID,
					   "tensor \"%s\" has an unknown layout", w->name);
	if (w->n_scales != 1 && w->n_scales != w->rows)
		return mm_fail(err, MM_ERR_INVALID,
					   "tensor \"%s\" has %u scales for %u rows", w->name,
					   w->n_scales, w->rows);
	return MM_OK;
}

/* ---------------------------------------------------------------------
 * int8, portable
 * ---------------------------------------------------------------------
 */

/* The float steps every implementation shares, in this order. */
static inline double
Finish(const mm_tensor *w, uint32_t i, double sx, int64_t dot, int64_t sumx,
	   const double *bias)
{
	uint32_t	s = (w->n_scales == 1) ? 0 : i;
	int64_t		term = dot - (int64_t) w->zero_points[s] * sumx;
	double		b = bias ? bias[i] : 0.0;

	return b + (w->scales[s] * sx) * (double) term;
}

/* Sum of row[j] * q[j] over j = c0 .. c1 - 1, in MM_QK_CHUNK pieces. */
static int64_t
DotPortable(const int8_t *row, const int16_t *q, uint32_t c0, uint32_t c1)
{
	int64_t		dot = 0;

	while (c0 < c1)
	{
		uint32_t	end = (c1 - c0 > MM_QK_CHUNK) ? c0 + MM_QK_CHUNK : c1;
		int32_t		acc = 0;
		uint32_t	j;

		for (j = c0; j < end; j++)
			acc += (int32_t) row[j] * q[j];
		dot += acc;
		c0 = end;
	}
	return dot;
}

/* Four rows at a time, sharing the loads of q, as the AVX2 form does. */
static void
GemvDensePortable(const mm_tensor *w, const mm_qinput *in,
				  const double *bias, double *y)
{
	const int8_t *W = w->values;
	const int16_t *q = in->q;
	uint32_t	rows = w->rows;
	uint32_t	cols = w->cols;
	uint32_t	i = 0;

	for (; i + 4 <= rows; i += 4)
	{
		const int8_t *w0 = W + (size_t) i * cols;
		const int8_t *w1 = w0 + cols;
		const int8_t *w2 = w1 + cols;
		const int8_t *w3 = w2 + cols;
		int64_t		dot[4] = {0, 0, 0, 0};
		uint32_t	c0 = 0;
		int			r;

		while (c0 < cols)
		{
			uint32_t	c1 = (cols - c0 > MM_QK_CHUNK) ? c0 + MM_QK_CHUNK : cols;
			int32_t		a0 = 0;
			int32_t		a1 = 0;
			int32_t		a2 = 0;
			int32_t		a3 = 0;
			uint32_t	j;

			for (j = c0; j < c1; j++)
			{
				int32_t		qx = q[j];

				a0 += (int32_t) w0[j] * qx;
				a1 += (int32_t) w1[j] * qx;
				a2 += (int32_t) w2[j] * qx;
				a3 += (int32_t) w3[j] * qx;
			}
			dot[0] += a0;
			dot[1] += a1;
			dot[2] += a2;
			dot[3] += a3;
			c0 = c1;
		}
		for (r = 0; r < 4; r++)
			y[i + r] = Finish(w, i + r, in->scale, dot[r], in->sum, bias);
	}
	for (; i < rows; i++)
		y[i] = Finish(w, i, in->scale,
					  DotPortable(W + (size_t) i * cols, q, 0, cols), in->sum,
					  bias);
}

static void
GemvSparsePortable(const mm_tensor *w, const mm_qinput *in,
				   const double *bias, double *y)
{
	const int8_t *v = w->values;
	const uint32_t *ci = w->col_idx;
	const int16_t *q = in->q;
	uint32_t	i;

	for (i = 0; i < w->rows; i++)
	{
		uint32_t	k0 = w->row_ptr[i];
		uint32_t	end = w->row_ptr[i + 1];
		int64_t		dot = 0;
		int64_t		sumx = 0;

		while (k0 < end)
		{
			uint32_t	k1 = (end - k0 > MM_QK_CHUNK) ? k0 + MM_QK_CHUNK : end;
			int32_t		acc = 0;
			int32_t		accx = 0;
			uint32_t	k;

			for (k = k0; k < k1; k++)
			{
				int32_t		qx = q[ci[k]];

				acc += (int32_t) v[k] * qx;
				accx += qx;
			}
			dot += acc;
			sumx += accx;
			k0 = k1;
		}
		y[i] = Finish(w, i, in->scale, dot, sumx, bias);
	}
}

/* ---------------------------------------------------------------------
 * int8, AVX2
 * ---------------------------------------------------------------------
 */

#ifdef MM_QK_X86

#define AVX2 __attribute__((target("avx2")))

AVX2 static inline int32_t
HorizontalSum(__m256i a)
{
	__m128i		s = _mm_add_epi32(_mm256_castsi256_si128(a),
								  _mm256_extracti128_si256(a, 1));

	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
	return _mm_cvtsi128_si32(s);
}

/* The lane sums of four accumulators at once. */
AVX2 static inline void
HorizontalSum4(__m256i a0, __m256i a1, __m256i a2, __m256i a3, int32_t *out)
{
	__m256i		h01 = _mm256_hadd_epi32(a0, a1);
	__m256i		h23 = _mm256_hadd_epi32(a2, a3);
	__m256i		h = _mm256_hadd_epi32(h01, h23);
	__m128i		s = _mm_add_epi32(_mm256_castsi256_si128(h),
								  _mm256_extracti128_si256(h, 1));

	_mm_storeu_si128((__m128i *) out, s);
}

AVX2 static inline __m256i
Widen16(const int8_t *p)
{
	return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) p));
}

/*
 * The float steps of Finish for rows i .. i+3 at once, from their four
 * int32 dot products: the same integers and the same IEEE operations in
 * the same order, so the same doubles.  Needs every term to fit an int32:
 * rows of at most SHORT_COLS columns.
 */
AVX2 static inline void
Finish4(const mm_tensor *w, uint32_t i, double sx, __m128i dots,
		int32_t sumx, const double *bias, double *y)
{
	__m128i		zp;
	__m256d		c;
	__m256d		b;
	__m256d		t;

	if (w->n_scales == 1)
	{
		zp = _mm_set1_epi32(w->zero_points[0]);
		c = _mm256_set1_pd(w->scales[0] * sx);
	}
	else
	{
		zp = _mm_loadu_si128((const __m128i *) (w->zero_points + i));
		c = _mm256_mul_pd(_mm256_loadu_pd(w->scales + i), _mm256_set1_pd(sx));
	}
	t = _mm256_cvtepi32_pd(_mm_sub_epi32(dots,
										 _mm_mullo_epi32(zp, _mm_set1_epi32(sumx))));
	b = bias ? _mm256_loadu_pd(bias + i) : _mm256_setzero_pd();
	_mm256_storeu_pd(y + i, _mm256_add_pd(b, _mm256_mul_pd(c, t)));
}

/* Largest row for Finish4: 2 * 65536 * 128 * 127 < 2^31. */
#define SHORT_COLS 65536

AVX2 static void
GemvDenseAvx2(const mm_tensor *w, const mm_qinput *in, const double *bias,
			  double *y)
{
	const int8_t *W = w->values;
	const int16_t *q = in->q;
	uint32_t	rows = w->rows;
	uint32_t	cols = w->cols;
	bool		short_rows = (cols <= SHORT_COLS);
	uint32_t	i = 0;

	for (; i + 4 <= rows; i += 4)
	{
		const int8_t *w0 = W + (size_t) i * cols;
		const int8_t *w1 = w0 + cols;
		const int8_t *w2 = w1 + cols;
		const int8_t *w3 = w2 + cols;
		int64_t		dot[4] = {0, 0, 0, 0};
		uint32_t	c0 = 0;
		int			r;

		while (c0 < cols)
		{
			uint32_t	c1 = (cols - c0 > MM_QK_CHUNK) ? c0 + MM_QK_CHUNK : cols;
			__m256i		a0 = _mm256_setzero_si256();
			__m256i		a1 = _mm256_setzero_si256();
			__m256i		a2 = _mm256_setzero_si256();
			__m256i		a3 = _mm256_setzero_si256();
			int32_t		part[4];
			uint32_t	j = c0;

			for (; j + 16 <= c1; j += 16)
			{
				__m256i		xv = _mm256_loadu_si256((const __m256i *) (q + j));

				a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(Widen16(w0 + j), xv));
				a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(Widen16(w1 + j), xv));
				a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(Widen16(w2 + j), xv));
				a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(Widen16(w3 + j), xv));
			}
			HorizontalSum4(a0, a1, a2, a3, part);
			for (; j < c1; j++)
			{
				int32_t		qx = q[j];

				part[0] += (int32_t) w0[j] * qx;
				part[1] += (int32_t) w1[j] * qx;
				part[2] += (int32_t) w2[j] * qx;
				part[3] += (int32_t) w3[j] * qx;
			}
			if (short_rows)
			{
				Finish4(w, i, in->scale,
						_mm_loadu_si128((const __m128i *) part),
						(int32_t) in->sum, bias, y);
				break;
			}
			for (r = 0; r < 4; r++)
				dot[r] += part[r];
			c0 = c1;
		}
		if (!short_rows)
			for (r = 0; r < 4; r++)
				y[i + r] = Finish(w, i + r, in->scale, dot[r], in->sum, bias);
	}
	for (; i < rows; i++)
	{
		const int8_t *row = W + (size_t) i * cols;
		int64_t		dot = 0;
		uint32_t	c0 = 0;

		while (c0 < cols)
		{
			uint32_t	c1 = (cols - c0 > MM_QK_CHUNK) ? c0 + MM_QK_CHUNK : cols;
			__m256i		a = _mm256_setzero_si256();
			int32_t		part;
			uint32_t	j = c0;

			for (; j + 16 <= c1; j += 16)
				a = _mm256_add_epi32(a, _mm256_madd_epi16(Widen16(row + j),
														  _mm256_loadu_si256((const __m256i *) (q + j))));
			part = HorizontalSum(a);
			for (; j < c1; j++)
				part += (int32_t) row[j] * q[j];
			dot += part;
			c0 = c1;
		}
		y[i] = Finish(w, i, in->scale, dot, in->sum, bias);
	}
}

/* Column indexes are gathered as signed int32: cols <= INT32_MAX here. */
AVX2 static void
GemvSparseAvx2(const mm_tensor *w, const mm_qinput *in, const double *bias,
			   double *y)
{
	const int8_t *v = w->values;
	const uint32_t *ci = w->col_idx;
	const int16_t *q = in->q;
	uint32_t	i;

	for (i = 0; i < w->rows; i++)
	{
		uint32_t	k0 = w->row_ptr[i];
		uint32_t	end = w->row_ptr[i + 1];
		int64_t		dot = 0;
		int64_t		sumx = 0;

		while (k0 < end)
		{
			uint32_t	k1 = (end - k0 > MM_QK_CHUNK) ? k0 + MM_QK_CHUNK : end;
			__m256i		acc = _mm256_setzero_si256();
			__m256i		accx = _mm256_setzero_si256();
			int32_t		part;
			int32_t		partx;
			uint32_t	k = k0;

			for (; k + 8 <= k1; k += 8)
			{
				__m256i		idx = _mm256_loadu_si256((const __m256i *) (ci + k));
				__m256i		g = _mm256_i32gather_epi32((const int *) q, idx, 2);
				__m256i		wv = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) (v + k)));

				/* keep the low int16 of each gathered pair, sign-extended */
				g = _mm256_srai_epi32(_mm256_slli_epi32(g, 16), 16);
				acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(wv, g));
				accx = _mm256_add_epi32(accx, g);
			}
			part = HorizontalSum(acc);
			partx = HorizontalSum(accx);
			for (; k < k1; k++)
			{
				int32_t		qx = q[ci[k]];

				part += (int32_t) v[k] * qx;
				partx += qx;
			}
			dot += part;
			sumx += partx;
			k0 = k1;
		}
		y[i] = Finish(w, i, in->scale, dot, sumx, bias);
	}
}

/*
 * Largest |x_j| into *m; false when some x_j is not finite (the caller
 * then finds which with the scalar loop).
 */
AVX2 static bool
MaxAbsAvx2(const double *x, uint32_t n, double *m)
{
	const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(INT64_MAX));
	const __m256d limit = _mm256_set1_pd(DBL_MAX);
	__m256d		vmax = _mm256_setzero_pd();
	__m256d		ok = _mm256_cmp_pd(vmax, vmax, _CMP_EQ_OQ);
	double		lanes[4];
	double		mx;
	uint32_t	j = 0;
	int			k;

	for (; j + 4 <= n; j += 4)
	{
		__m256d		a = _mm256_and_pd(_mm256_loadu_pd(x + j), absmask);

		ok = _mm256_and_pd(ok, _mm256_cmp_pd(a, limit, _CMP_LE_OQ));
		vmax = _mm256_max_pd(vmax, a);
	}
	if (_mm256_movemask_pd(ok) != 0xF)
		return false;
	_mm256_storeu_pd(lanes, vmax);
	mx = lanes[0];
	for (k = 1; k < 4; k++)
		if (lanes[k] > mx)
			mx = lanes[k];
	for (; j < n; j++)
	{
		double		a = fabs(x[j]);

		if (!(a <= DBL_MAX))
			return false;
		if (a > mx)
			mx = a;
	}
	*m = mx;
	return true;
}

/* q_j = clamp(round(x_j * inv)), as the scalar loop; returns sum q_j. */
AVX2 static int64_t
QuantizeAvx2(const double *x, uint32_t n, double inv, int16_t *q)
{
	const __m256d vinv = _mm256_set1_pd(inv);
	const __m256d magic = _mm256_set1_pd(6755399441055744.0);
	const __m256d lo = _mm256_set1_pd(-127.0);
	const __m256d hi = _mm256_set1_pd(127.0);
	__m256i		vsum = _mm256_setzero_si256();
	int64_t		lanes[4];
	int64_t		sum;
	uint32_t	j = 0;

	for (; j + 4 <= n; j += 4)
	{
		__m256d		v = _mm256_mul_pd(_mm256_loadu_pd(x + j), vinv);
		__m128i		qi;

		v = _mm256_sub_pd(_mm256_add_pd(v, magic), magic);
		v = _mm256_min_pd(_mm256_max_pd(v, lo), hi);
		qi = _mm256_cvttpd_epi32(v);
		_mm_storel_epi64((__m128i *) (q + j), _mm_packs_epi32(qi, qi));
		vsum = _mm256_add_epi64(vsum, _mm256_cvtepi32_epi64(qi));
	}
	_mm256_storeu_si256((__m256i *) lanes, vsum);
	sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
	for (; j < n; j++)
	{
		double		v = mm_qk_round(x[j] * inv);

		if (v > 127.0)
			v = 127.0;
		else if (v < -127.0)
			v = -127.0;
		q[j] = (int16_t) v;
		sum += q[j];
	}
	return sum;
}

#endif							/* MM_QK_X86 */

/* ---------------------------------------------------------------------
 * Input quantization
 * ---------------------------------------------------------------------
 */

/*
 * Symmetric per-vector quantization.  When 127 / m overflows (m
 * subnormal) the values are divided by m first instead (scalar only).
 */
mm_status
mm_qinput_set(mm_qinput *in, const double *x, uint32_t n, mm_error *err)
{
#ifdef MM_QK_X86
	bool		avx2 = (mm_qk_resolve(in->impl) == MM_QK_AVX2);
#endif
	bool		finite = false;
	double		m = 0.0;
	double		inv;
	int64_t		sum = 0;
	uint32_t	j;

	if (n > in->cap)
		return mm_fail(err, MM_ERR_INTERNAL,
					   "quantized input of %u values has room for %u", n,
					   in->cap);
#ifdef MM_QK_X86
	if (avx2)
		finite = MaxAbsAvx2(x, n, &m);
#endif
	if (!finite)
	{
		m = 0.0;
		for (j = 0; j < n; j++)
		{
			double		a = fabs(x[j]);

			if (!(a <= DBL_MAX))
				return mm_fail(err, MM_ERR_DATA,
							   "input value %u of the int8 kernel is not finite",
							   j + 1);
			if (a > m)
				m = a;
		}
	}
	in->n = n;
	if (m == 0.0)
	{
		memset(in->q, 0, (size_t) n * sizeof(int16_t));
		in->scale = 0.0;
		in->sum = 0;
		return MM_OK;
	}
	inv = 127.0 / m;
#ifdef MM_QK_X86
	if (avx2 && inv <= DBL_MAX)
		sum = QuantizeAvx2(x, n, inv, in->q);
	else
#endif
		for (j = 0; j < n; j++)
		{
			double		v;

			if (inv <= DBL_MAX)
				v = mm_qk_round(x[j] * inv);
			else
				v = mm_qk_round(x[j] / m * 127.0);
			if (v > 127.0)
				v = 127.0;
			else if (v < -127.0)
				v = -127.0;
			in->q[j] = (int16_t) v;
			sum += in->q[j];
		}
	in->scale = m / 127.0;
	in->sum = sum;
	return MM_OK;
}

/* ---------------------------------------------------------------------
 * int8 entry points
 * ---------------------------------------------------------------------
 */

void
mm_qk_gemv(const mm_tensor *w, const mm_qinput *in, const double *bias,
		   double *y, int impl)
{
#ifdef MM_QK_X86
	if (mm_qk_resolve(impl) == MM_QK_AVX2)
	{
		if (w->layout == MM_LAYOUT_DENSE)
		{
			GemvDenseAvx2(w, in, bias, y);
			return;
		}
		if (w->cols <= (uint32_t) INT32_MAX)
		{
			GemvSparseAvx2(w, in, bias, y);
			return;
		}
	}
#else
	(void) impl;
#endif
	if (w->layout == MM_LAYOUT_DENSE)
		GemvDensePortable(w, in, bias, y);
	else
		GemvSparsePortable(w, in, bias, y);
}

mm_status
mm_qk_gemm(const mm_tensor *w, const double *X, size_t n, const double *bias,
		   double *Y, int impl, mm_error *err)
{
	mm_qinput	in;
	mm_status	st;
	size_t		r;

	if ((st = mm_qk_check(w, err)) != MM_OK)
		return st;
	if ((st = mm_qinput_init(&in, w->cols, err)) != MM_OK)
		return st;
	impl = mm_qk_resolve(impl);
	in.impl = impl;
	for (r = 0; r < n; r++)
	{
		if (r % POLL_ROWS == 0 && mm_should_stop())
		{
			st = mm_fail(err, MM_ERR_INTERRUPTED, "canceled");
			break;
		}
		st = mm_qinput_set(&in, X + r * w->cols, w->cols, err);
		if (st != MM_OK)
			break;
		mm_qk_gemv(w, &in, bias, Y + r * w->rows, impl);
	}
	mm_qinput_free(&in);
	return st;
}

/* ---------------------------------------------------------------------
 * Float kernels
 * ---------------------------------------------------------------------
 */

/*
 * Four rows at a time: each keeps its own sum in its own order, so this is
 * the plain row-by-row loop, with four independent addition chains in
 * flight instead of one.
 */
void
mm_fk_gemv_f64(const double *W, uint32_t rows, uint32_t cols,
			   const double *x, const double *bias, double *y)
{
	uint32_t	i = 0;
	uint32_t	j;

	for (; i + 4 <= rows; i += 4)
	{
		const double *w0 = W + (size_t) i * cols;
		const double *w1 = w0 + cols;
		const double *w2 = w1 + cols;
		const double *w3 = w2 + cols;
		double		s0 = bias ? bias[i] : 0.0;
		double		s1 = bias ? bias[i + 1] : 0.0;
		double		s2 = bias ? bias[i + 2] : 0.0;
		double		s3 = bias ? bias[i + 3] : 0.0;

		for (j = 0; j < cols; j++)
		{
			double		xj = x[j];

			s0 += w0[j] * xj;
			s1 += w1[j] * xj;
			s2 += w2[j] * xj;
			s3 += w3[j] * xj;
		}
		y[i] = s0;
		y[i + 1] = s1;
		y[i + 2] = s2;
		y[i + 3] = s3;
	}
	for (; i < rows; i++)
	{
		const double *row = W + (size_t) i * cols;
		double		s = bias ? bias[i] : 0.0;

		for (j = 0; j < cols; j++)
			s += row[j] * x[j];
		y[i] = s;
	}
}

void
mm_fk_gemv_f32(const float *W, uint32_t rows, uint32_t cols, const float *x,
			   const float *bias, float *y)
{
	uint32_t	i = 0;
	uint32_t	j;

	for (; i + 4 <= rows; i += 4)
	{
		const float *w0 = W + (size_t) i * cols;
		const float *w1 = w0 + cols;
		const float *w2 = w1 + cols;
		const float *w3 = w2 + cols;
		float		s0 = bias ? bias[i] : 0.0f;
		float		s1 = bias ? bias[i + 1] : 0.0f;
		float		s2 = bias ? bias[i + 2] : 0.0f;
		float		s3 = bias ? bias[i + 3] : 0.0f;

		for (j = 0; j < cols; j++)
		{
			float		xj = x[j];

			s0 += w0[j] * xj;
			s1 += w1[j] * xj;
			s2 += w2[j] * xj;
			s3 += w3[j] * xj;
		}
		y[i] = s0;
		y[i + 1] = s1;
		y[i + 2] = s2;
		y[i + 3] = s3;
	}
	for (; i < rows; i++)
	{
		const float *row = W + (size_t) i * cols;
		float		s = bias ? bias[i] : 0.0f;

		for (j = 0; j < cols; j++)
			s += row[j] * x[j];
		y[i] = s;
	}
}

mm_status
mm_fk_gemm_f64(const double *W, uint32_t rows, uint32_t cols,
			   const double *X, size_t n, const double *bias, double *Y,
			   mm_error *err)
{
	size_t		r;

	for (r = 0; r < n; r++)
	{
		if (r % POLL_ROWS == 0 && mm_should_stop())
			return mm_fail(err, MM_ERR_INTERRUPTED, "canceled");
		mm_fk_gemv_f64(W, rows, cols, X + r * cols, bias, Y + r * rows);
	}
	return MM_OK;
}

mm_status
mm_fk_gemm_f32(const float *W, uint32_t rows, uint32_t cols, const float *X,
			   size_t n, const float *bias, float *Y, mm_error *err)
{
	size_t		r;

	for (r = 0; r < n; r++)
	{
		if (r % POLL_ROWS == 0 && mm_should_stop())
			return mm_fail(err, MM_ERR_INTERRUPTED, "canceled");
		mm_fk_gemv_f32(W, rows, cols, X + r * cols, bias, Y + r * rows);
	}
	return MM_OK;
}

void
mm_fk_csrmv_f64(uint32_t rows, const uint32_t *row_ptr,
				const uint32_t *col_idx, const double *values,
				const double *x, const double *bias, double *y)
{
	uint32_t	i;
	uint32_t	k;

	for (i = 0; i < rows; i++)
	{
		double		s = bias ? bias[i] : 0.0;

		for (k = row_ptr[i]; k < row_ptr[i + 1]; k++)
			s += values[k] * x[col_idx[k]];
		y[i] = s;
	}
}
