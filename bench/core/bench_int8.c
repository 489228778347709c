/*
 * bench_int8.c
 *	  The int8 inference kernel against the float64 kernel, on the same
 *	  MLP-sized layer stack, in the same run.
 *
 * A 64 -> 256 -> 10 network (ReLU hidden layer, Glorot-range weights) runs
 * over a batch of rows (10000 by default), one row at a time as prediction
 * does.  Timed, each the median of 5 runs after one warm-up:
 *	 float64     mm_fk_gemv_f64 per layer (the kernel mm_mlp_infer uses for
 *				 dense float weights: fixed order, no BLAS);
 *	 int8        mm_qk_gemv, per layer: quantize the layer's input, then the
 *				 int8 kernel (AVX2 when the CPU has it), weights quantized
 *				 symmetric per channel by mm_quantize;
 *	 int8 (portable C) the same with the portable kernel;
 *	 mm_mlp_infer on the float64 and on the int8 model (what a prediction
 *				 costs end to end, softmax included);
 *	 OpenBLAS dgemv per row and dgemm over the whole batch, one thread, for
 *				 reference (not deterministic across machines, so not what
 *				 prediction uses).
 * Every ratio is against float64 in the same run.  The target is
 * int8 at least 1.5 times faster than float64; the program prints PASS or
 * FAIL for it and exits 1 on FAIL.  It also reports how far the int8
 * outputs are from the float64 ones.
 *
 *	 make bench-core && build/bench/bench_int8 [ROWS]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mm_compress.h"
#include "mm_lapack.h"
#include "mm_mlp.h"
#include "mm_mlp_infer.h"
#include "mm_model.h"
#include "mm_qkernel.h"

#define D_IN	64
#define D_HID	256
#define D_OUT	10
#define RUNS	5

extern void openblas_set_num_threads(int num_threads);

typedef struct Bench
{
	size_t		n;
	const double *X;			/* n x D_IN */
	double	   *Y;				/* n x D_OUT */
	const double *W1;			/* float64 weights, borrowed from the model */
	const double *b1;
	const double *W2;
	const double *b2;
	const mm_tensor *Q1;		/* int8 weights */
	const mm_tensor *Q2;
	mm_qinput	qin;
	double	   *H;				/* n x D_HID, for dgemm */
	const mm_model *fmodel;
	const mm_model *qmodel;
} Bench;

static uint64_t rng_state = 12345;

static double
RandSigned(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	z ^= z >> 31;
	return (double) (z >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static double
Now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* v < 0 ? 0 : v without a branch, as mm_mlp_infer does it. */
static void
Relu(double *v, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		uint64_t	bits;

		memcpy(&bits, &v[i], sizeof(bits));
		bits &= (uint64_t) 0 - (uint64_t) !(v[i] < 0.0);
		memcpy(&v[i], &bits, sizeof(bits));
	}
}

static void
RunFloat(Bench *b)
{
	double		h[D_HID];
	size_t		r;

	for (r = 0; r < b->n; r++)
	{
		mm_fk_gemv_f64(b->W1, D_HID, D_IN, b->X + r * D_IN, b->b1, h);
		Relu(h, D_HID);
		mm_fk_gemv_f64(b->W2, D_OUT, D_HID, h, b->b2, b->Y + r * D_OUT);
	}
}

static void
RunInt8(Bench *b, int impl)
{
	double		h[D_HID];
	size_t		r;

	for (r = 0; r < b->n; r++)
	{
		if (mm_qinput_set(&b->qin, b->X + r * D_IN, D_IN, NULL) != MM_OK)
			abort();
		mm_qk_gemv(b->Q1, &b->qin, b->b1, h, impl);
		Relu(h, D_HID);
		if (mm_qinput_set(&b->qin, h, D_HID, NULL) != MM_OK)
			abort();
		mm_qk_gemv(b->Q2, &b->qin, b->b2, b->Y + r * D_OUT, impl);
	}
}

static void
RunInt8Auto(Bench *b)
{
	RunInt8(b, MM_QK_AUTO);
}

static void
RunInt8Portable(Bench *b)
{
	RunInt8(b, MM_QK_PORTABLE);
}

static void
RunInfer(Bench *b, const mm_model *m)
{
	mm_mlp_infer *p;
	size_t		r;

	if (mm_mlp_infer_new(m, &p, NULL) != MM_OK)
		abort();
	for (r = 0; r < b->n; r++)
		if (mm_mlp_infer_row(p, b->X + r * D_IN, b->Y + r * D_OUT, NULL) != MM_OK)
			abort();
	mm_mlp_infer_free(p);
}

static void
RunInferFloat(Bench *b)
{
	RunInfer(b, b->fmodel);
}

static void
RunInferInt8(Bench *b)
{
	RunInfer(b, b->qmodel);
}

/* Row-major W (out x in) is column-major in x out: y = op('T') x. */
static void
RunBlasGemv(Bench *b)
{
	double		h[D_HID];
	size_t		r;

	for (r = 0; r < b->n; r++)
	{
		double	   *y = b->Y + r * D_OUT;

		memcpy(h, b->b1, sizeof(h));
		mm_blas_dgemv('T', D_IN, D_HID, 1.0, b->W1, D_IN, b->X + r * D_IN, 1,
					  1.0, h, 1);
		Relu(h, D_HID);
		memcpy(y, b->b2, D_OUT * sizeof(double));
		mm_blas_dgemv('T', D_HID, D_OUT, 1.0, b->W2, D_HID, h, 1, 1.0, y, 1);
	}
}

/* H (n x hid) = X W1^T + b1, then Y = relu(H) W2^T + b2, column-major views. */
static void
RunBlasGemm(Bench *b)
{
	size_t		r;

	for (r = 0; r < b->n; r++)
	{
		memcpy(b->H + r * D_HID, b->b1, D_HID * sizeof(double));
		memcpy(b->Y + r * D_OUT, b->b2, D_OUT * sizeof(double));
	}
	mm_blas_dgemm('T', 'N', D_HID, (int32_t) b->n, D_IN, 1.0, b->W1, D_IN,
				  b->X, D_IN, 1.0, b->H, D_HID);
	Relu(b->H, (int) (b->n * D_HID));
	mm_blas_dgemm('T', 'N', D_OUT, (int32_t) b->n, D_HID, 1.0, b->W2, D_HID,
				  b->H, D_HID, 1.0, b->Y, D_OUT);
}

static int
CompareDoubles(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Median of RUNS timed runs after one warm-up, in seconds. */
static double
Time(Bench *b, void (*run) (Bench *))
{
	double		t[RUNS];
	int			i;

	run(b);
	for (i = 0; i < RUNS; i++)
	{
		double		t0 = Now();

		run(b);
		t[i] = Now() - t0;
	}
	qsort(t, RUNS, sizeof(double), CompareDoubles);
	return t[RUNS / 2];
}

/* The MLP classifier the kernels read their weights from. */
static mm_model *
BuildModel(void)
{
	mm_model   *m = mm_model_new(MM_ALGO_MLP_CLASSIFIER, MM_TASK_MULTICLASS);
	static const int widths[3] = {D_IN, D_HID, D_OUT};
	char		name[32];
	int			i;
	int			l;

	if (m == NULL)
		abort();
	for (i = 0; i < D_IN; i++)
	{
		snprintf(name, sizeof(name), "x%d", i + 1);
		if (mm_model_add_feature(m, name, NULL) == NULL)
			abort();
	}
	for (i = 0; i < D_OUT; i++)
	{
		snprintf(name, sizeof(name), "class%d", i);
		if (mm_model_add_class(m, name, NULL) != MM_OK)
			abort();
	}
	if (mm_model_set_attr(m, "layers", 2, NULL) != MM_OK ||
		mm_model_set_attr(m, "activation", MM_MLP_RELU, NULL) != MM_OK)
		abort();
	for (l = 1; l <= 2; l++)
	{
		double		range = sqrt(6.0 / (widths[l - 1] + widths[l]));
		mm_tensor  *t;
		uint64_t	k;

		snprintf(name, sizeof(name), "W%d", l);
		t = mm_model_add_tensor(m, name, MM_DTYPE_F64, widths[l], widths[l - 1], NULL);
		if (t == NULL)
			abort();
		for (k = 0; k < t->nnz; k++)
			((double *) t->values)[k] = RandSigned() * range;
		snprintf(name, sizeof(name), "b%d", l);
		t = mm_model_add_tensor(m, name, MM_DTYPE_F64, 1, widths[l], NULL);
		if (t == NULL)
			abort();
		for (k = 0; k < t->nnz; k++)
			((double *) t->values)[k] = RandSigned() * range;
	}
	return m;
}

static int
ArgMax(const double *v)
{
	int			best = 0;
	int			i;

	for (i = 1; i < D_OUT; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

int
main(int argc, char **argv)
{
	size_t		n = (argc > 1) ? (size_t) strtoull(argv[1], NULL, 10) : 10000;
	mm_model   *fmodel = BuildModel();
	mm_model   *qmodel;
	mm_error	err;
	Bench		b;
	double	   *X;
	double	   *Yf;
	double		t_float;
	double		t_int8;
	double		max_diff = 0.0;
	size_t		agree = 0;
	size_t		r;
	int			j;
	struct
	{
		const char *name;
		void		(*run) (Bench *);
		double		t;
	}			rows[] = {
		{"float64 (mm_fk_gemv_f64)", RunFloat, 0},
		{"int8 (mm_qk_gemv)", RunInt8Auto, 0},
		{"int8 (portable C)", RunInt8Portable, 0},
		{"mm_mlp_infer, float64 model", RunInferFloat, 0},
		{"mm_mlp_infer, int8 model", RunInferInt8, 0},
		{"OpenBLAS dgemv per row", RunBlasGemv, 0},
		{"OpenBLAS dgemm, whole batch", RunBlasGemm, 0},
	};
	size_t		i;

	if (n == 0)
	{
		fprintf(stderr, "usage: bench_int8 [ROWS]\n");
		return 2;
	}
	openblas_set_num_threads(1);
	if (mm_quantize(fmodel, MM_DTYPE_I8, MM_QUANT_SYMMETRIC,
					MM_QUANT_PER_CHANNEL, &qmodel, &err) != MM_OK)
	{
		fprintf(stderr, "quantize: %s\n", err.message);
		return 2;
	}
	X = malloc(n * D_IN * sizeof(double));
	Yf = malloc(n * D_OUT * sizeof(double));
	memset(&b, 0, sizeof(b));
	b.Y = malloc(n * D_OUT * sizeof(double));
	b.H = malloc(n * D_HID * sizeof(double));
	if (X == NULL || Yf == NULL || b.Y == NULL || b.H == NULL ||
		mm_qinput_init(&b.qin, D_HID, NULL) != MM_OK)
		abort();
	for (r = 0; r < n * D_IN; r++)
		X[r] = RandSigned() * 2.0;
	b.n = n;
	b.X = X;
	b.W1 = mm_model_tensor(fmodel, "W1")->values;
	b.b1 = mm_model_tensor(fmodel, "b1")->values;
	b.W2 = mm_model_tensor(fmodel, "W2")->values;
	b.b2 = mm_model_tensor(fmodel, "b2")->values;
	b.Q1 = mm_model_tensor(qmodel, "W1");
	b.Q2 = mm_model_tensor(qmodel, "W2");
	b.fmodel = fmodel;
	b.qmodel = qmodel;

	/* accuracy of int8 against float64, on the logits */
	RunFloat(&b);
	memcpy(Yf, b.Y, n * D_OUT * sizeof(double));
	RunInt8(&b, MM_QK_AUTO);
	for (r = 0; r < n; r++)
	{
		for (j = 0; j < D_OUT; j++)
			max_diff = fmax(max_diff, fabs(Yf[r * D_OUT + j] - b.Y[r * D_OUT + j]));
		agree += ArgMax(Yf + r * D_OUT) == ArgMax(b.Y + r * D_OUT);
	}

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		rows[i].t = Time(&b, rows[i].run);
	t_float = rows[0].t;
	t_int8 = rows[1].t;

	printf("bench_int8: %zu rows through %d -> %d -> %d (ReLU), median of %d runs\n",
		   n, D_IN, D_HID, D_OUT, RUNS);
	printf("int8 kernel: %s\n", mm_qk_resolve(MM_QK_AUTO) == MM_QK_AVX2
		   ? "AVX2" : "portable C (no AVX2 on this CPU)");
	printf("%-32s %10s %12s %14s\n", "kernel", "ms", "rows/s", "vs float64");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		printf("%-32s %10.2f %12.0f %13.2fx\n", rows[i].name,
			   rows[i].t * 1e3, n / rows[i].t, t_float / rows[i].t);
	printf("int8 vs float64 logits: max |diff| %.4g, same argmax %.2f%%\n",
		   max_diff, 100.0 * agree / n);
	printf("target int8 >= 1.5x float64: %.2fx %s\n", t_float / t_int8,
		   t_float / t_int8 >= 1.5 ? "PASS" : "FAIL");

	mm_qinput_free(&b.qin);
	free(X);
	free(Yf);
	free(b.Y);
	free(b.H);
	mm_model_free(qmodel);
	mm_model_free(fmodel);
	return t_float / t_int8 >= 1.5 ? 0 : 1;
}
