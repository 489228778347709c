/*
 * mm_model.c
 *	  The in-memory model: name tables, builders, lookups, dequantizing
 *	  element access, half-float conversion, and the groups of a grouped
 *	  model (builders and lookup by key).  The semantic validation that both
 *	  the parser and the writer apply is in mm_validate.c and the byte
 *	  format in mm_format.c; see mm_model.h and doc/format.md.
 *
 * A model has no capacity fields, so its arrays grow by powers of two: an
 * array of n elements always has room for the next power of two >= n, and
 * an append reallocates exactly when n is zero or a power of two.  The
 * parser allocates through mm_model_alloc_array to keep that invariant.
 */
#include "mm_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const algorithm_names[MM_ALGO_MAX + 1] = {
	NULL,
	"linear_regression",
	"logistic_regression",
	"softmax_regression",
	"linear_svm",
	"lasso",
	"elastic_net",
	"mlp_classifier",
	"mlp_regressor"
};

static const char *const task_names[] = {
	NULL, "regression", "binary", "multiclass"
};

static const char *const dtype_names[] = {
	NULL, "float64", "float32", "float16", "int8"
};

const char *
mm_algorithm_name(int algorithm)
{
	if (algorithm < 1 || algorithm > MM_ALGO_MAX)
		return NULL;
	return algorithm_names[algorithm];
}

int
mm_algorithm_from_name(const char *name)
{
	int			i;

	if (name == NULL)
		return 0;
	for (i = 1; i <= MM_ALGO_MAX; i++)
		if (strcmp(name, algorithm_names[i]) == 0)
			return i;
	return 0;
}

const char *
mm_task_name(int task)
{
	if (task < MM_TASK_REGRESSION || task > MM_TASK_MULTICLASS)
		return NULL;
	return task_names[task];
}

const char *
mm_dtype_name(int dtype)
{
	if (dtype < MM_DTYPE_F64 || dtype > MM_DTYPE_I8)
		return NULL;
	return dtype_names[dtype];
}

size_t
mm_dtype_size(int dtype)
{
	switch (dtype)
	{
		case MM_DTYPE_F64:
			return 8;
		case MM_DTYPE_F32:
			return 4;
		case MM_DTYPE_F16:
			return 2;
		case MM_DTYPE_I8:
			return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Arrays with power-of-two capacity
 * ---------------------------------------------------------------------
 */

void *
mm_model_alloc_array(uint32_t n, size_t elem_size)
{
	size_t		cap = 1;
	size_t		bytes;

	while (cap < n)
	{
		if (cap > SIZE_MAX / 2)
			return NULL;
		cap *= 2;
	}
	if (!mm_size_mul(cap, elem_size, &bytes))
		return NULL;
	return mm_alloc0(bytes);
}

/*
 * Make room for element number n (0-based) of an array holding n elements,
 * zeroing the new tail.  On success *out is the (possibly moved) array.
 */
static bool
GrowArray(void *array, uint32_t n, size_t elem_size, void **out)
{
	size_t		cap;
	size_t		bytes;
	size_t		old_bytes;
	uint8_t    *p;

	*out = array;
	if (n != 0 && (n & (n - 1)) != 0)
		return true;
	if (n == 0)
		cap = 1;
	else if (!mm_size_mul(n, 2, &cap))
		return false;
	if (!mm_size_mul(cap, elem_size, &bytes))
		return false;
	p = mm_realloc(array, bytes);
	if (p == NULL)
		return false;
	old_bytes = (size_t) n * elem_size;
	memset(p + old_bytes, 0, bytes - old_bytes);
	*out = p;
	return true;
}

/* ---------------------------------------------------------------------
 * Construction and destruction
 * ---------------------------------------------------------------------
 */

mm_model *
mm_model_new(int algorithm, int task)
{
	mm_model   *model = mm_alloc0(sizeof(mm_model));

	if (model == NULL)
		return NULL;
	model->algorithm = (uint16_t) algorithm;
	model->task = (uint8_t) task;
	return model;
}

static void
FreeTensorContents(mm_tensor *t)
{
	mm_free(t->name);
	mm_free(t->values);
	mm_free(t->row_ptr);
	mm_free(t->col_idx);
	mm_free(t->scales);
	mm_free(t->zero_points);
}

/* The n keys of a group (NULL entries are SQL NULLs) and the array. */
static void
FreeKeys(char **keys, uint32_t n)
{
	uint32_t	i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		mm_free(keys[i]);
	mm_free(keys);
}

/*
 * Safe on partly built models: every pointer is NULL or owned.  Recursive
 * for the sub-models of a grouped model (one level deep when valid).
 */
void
mm_model_free(mm_model *model)
{
	uint32_t	i;
	uint32_t	j;

	if (model == NULL)
		return;
	mm_free(model->target);
	if (model->features)
	{
		for (i = 0; i < model->n_features; i++)
		{
			mm_feature *f = &model->features[i];

			mm_free(f->name);
			if (f->categories)
				for (j = 0; j < f->n_categories; j++)
					mm_free(f->categories[j]);
			mm_free(f->categories);
		}
		mm_free(model->features);
	}
	if (model->classes)
		for (i = 0; i < model->n_classes; i++)
			mm_free(model->classes[i]);
	mm_free(model->classes);
	if (model->attrs)
		for (i = 0; i < model->n_attrs; i++)
			mm_free(model->attrs[i].name);
	mm_free(model->attrs);
	if (model->tensors)
		for (i = 0; i < model->n_tensors; i++)
			FreeTensorContents(&model->tensors[i]);
	mm_free(model->tensors);
	if (model->group_columns)
		for (i = 0; i < model->n_group_columns; i++)
			mm_free(model->group_columns[i]);
	mm_free(model->group_columns);
	if (model->groups)
		for (i = 0; i < model->n_groups; i++)
		{
			FreeKeys(model->groups[i].keys, model->n_group_columns);
			mm_model_free(model->groups[i].model);
		}
	mm_free(model->groups);
	mm_free(model);
}

mm_status
mm_model_set_target(mm_model *model, const char *target, mm_error *err)
{
	char	   *copy = mm_strdup(target ? target : "");

	if (copy == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	mm_free(model->target);
	model->target = copy;
	return MM_OK;
}

mm_feature *
mm_model_add_feature(mm_model *model, const char *name, mm_error *err)
{
	char	   *copy;
	void	   *grown;
	mm_feature *f;

	if (model->n_features == UINT32_MAX)
	{
		mm_fail(err, MM_ERR_LIMIT, "too many features");
		return NULL;
	}
	copy = mm_strdup(name ? name : "");
	if (copy == NULL ||
		!GrowArray(model->features, model->n_features, sizeof(mm_feature),
				   &grown))
	{
		mm_free(copy);
		mm_fail(err, MM_ERR_NOMEM, "out of memory");
		return NULL;
	}
	model->features = grown;
	f = &model->features[model->n_features++];
	memset(f, 0, sizeof(*f));
	f->name = copy;
	f->kind = MM_FEATURE_NUMERIC;
	f->impute = MM_IMPUTE_VALUE;
	f->impute_value = 0.0;
	f->center = 0.0;
	f->scale = 1.0;
	return f;
}

/* Append s (copied) to a char* array of *n elements. */
static mm_status
AppendString(char ***array, uint32_t *n, const char *s, mm_error *err)
{
	char	   *copy;
	void	   *grown;

	if (*n == UINT32_MAX)
		return mm_fail(err, MM_ERR_LIMIT, "too many labels");
	copy = mm_strdup(s ? s : "");
	if (copy == NULL || !GrowArray(*array, *n, sizeof(char *), &grown))
	{
		mm_free(copy);
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	}
	*array = grown;
	(*array)[(*n)++] = copy;
	return MM_OK;
}

mm_status
mm_feature_add_category(mm_feature *feature, const char *label,
						mm_error *err)
{
	return AppendString(&feature->categories, &feature->n_categories, label,
						err);
}

mm_status
mm_model_add_class(mm_model *model, const char *label, mm_error *err)
{
	return AppendString(&model->classes, &model->n_classes, label, err);
}

/* Replace the value of an existing attribute, or append a new one. */
mm_status
mm_model_set_attr(mm_model *model, const char *name, double value,
				  mm_error *err)
{
	uint32_t	i;
	char	   *copy;
	void	   *grown;

	if (name == NULL)
		name = "";
	for (i = 0; i < model->n_attrs; i++)
	{
		if (strcmp(model->attrs[i].name, name) == 0)
		{
			model->attrs[i].value = value;
			return MM_OK;
		}
	}
	if (model->n_attrs == UINT32_MAX)
		return mm_fail(err, MM_ERR_LIMIT, "too many attributes");
	copy = mm_strdup(name);
	if (copy == NULL ||
		!GrowArray(model->attrs, model->n_attrs, sizeof(mm_attr), &grown))
	{
		mm_free(copy);
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	}
	model->attrs = grown;
	model->attrs[model->n_attrs].name = copy;
	model->attrs[model->n_attrs].value = value;
	model->n_attrs++;
	return MM_OK;
}

/*
 * Append a filled-in tensor (which the model then owns); on failure the
 * tensor's allocations are freed.
 */
static mm_tensor *
AppendTensor(mm_model *model, mm_tensor *t, mm_error *err)
{
	void	   *grown;

	if (model->n_tensors == UINT32_MAX ||
		!GrowArray(model->tensors, model->n_tensors, sizeof(mm_tensor),
				   &grown))
	{
		FreeTensorContents(t);
		mm_fail(err, MM_ERR_NOMEM, "out of memory");
		return NULL;
	}
	model->tensors = grown;
	model->tensors[model->n_tensors] = *t;
	return &model->tensors[model->n_tensors++];
}

/* Common checks and allocations of add_tensor and add_sparse_tensor. */
static bool
InitTensor(mm_tensor *t, const char *name, int dtype, int layout,
		   uint32_t rows, uint32_t cols, uint64_t nnz, mm_error *err)
{
	size_t		elem = mm_dtype_size(dtype);
	size_t		bytes;

	memset(t, 0, sizeof(*t));
	if (elem == 0)
	{
		mm_fail(err, MM_ERR_INVALID, "unknown tensor dtype %d", dtype);
		return false;
	}
	if (rows == 0 || cols == 0)
	{
		mm_fail(err, MM_ERR_INVALID, "tensor dimensions must be at least 1");
		return false;
	}
	if (nnz > (uint64_t) (SIZE_MAX / 8) / elem ||
		(uint64_t) rows + 1 > (uint64_t) (SIZE_MAX / 8))
	{
		mm_fail(err, MM_ERR_LIMIT, "tensor is too large");
		return false;
	}
	t->dtype = (uint8_t) dtype;
	t->layout = (uint8_t) layout;
	t->rows = rows;
	t->cols = cols;
	t->nnz = nnz;
	t->name = mm_strdup(name ? name : "");
	bytes = (size_t) nnz * elem;
	t->values = mm_alloc0(bytes == 0 ? 1 : bytes);
	if (layout == MM_LAYOUT_SPARSE)
	{
		t->row_ptr = mm_alloc0(((size_t) rows + 1) * sizeof(uint32_t));
		t->col_idx = mm_alloc0(nnz == 0 ? 1 : (size_t) nnz * sizeof(uint32_t));
	}
	if (dtype == MM_DTYPE_I8)
	{
		t->n_scales = 1;
		t->scales = mm_alloc(sizeof(double));
		t->zero_points = mm_alloc0(sizeof(int32_t));
		if (t->scales)
			t->scales[0] = 1.0;
	}
	if (t->name == NULL || t->values == NULL ||
		(layout == MM_LAYOUT_SPARSE && (t->row_ptr == NULL ||
										t->col_idx == NULL)) ||
		(dtype == MM_DTYPE_I8 && (t->scales == NULL ||
								  t->zero_points == NULL)))
	{
		FreeTensorContents(t);
		mm_fail(err, MM_ERR_NOMEM, "out of memory");
		return false;
	}
	return true;
}

mm_tensor *
mm_model_add_tensor(mm_model *model, const char *name, int dtype,
					uint32_t rows, uint32_t cols, mm_error *err)
{
	mm_tensor	t;

	if (!InitTensor(&t, name, dtype, MM_LAYOUT_DENSE, rows, cols,
					(uint64_t) rows * cols, err))
		return NULL;
	return AppendTensor(model, &t, err);
}

mm_tensor *
mm_model_add_sparse_tensor(mm_model *model, const char *name, int dtype,
						   uint32_t rows, uint32_t cols, uint64_t nnz,
						   mm_error *err)
{
	mm_tensor	t;

	if (nnz > (uint64_t) rows * cols)
	{
		mm_fail(err, MM_ERR_INVALID,
				"a sparse tensor cannot hold more values than rows * cols");
		return NULL;
	}
	if (nnz > UINT32_MAX)
	{
		mm_fail(err, MM_ERR_LIMIT, "sparse tensor has too many values");
		return NULL;
	}
	if (!InitTensor(&t, name, dtype, MM_LAYOUT_SPARSE, rows, cols, nnz, err))
		return NULL;
	return AppendTensor(model, &t, err);
}

mm_status
mm_tensor_set_scales(mm_tensor *t, uint32_t n_scales, mm_error *err)
{
	double	   *scales;
	int32_t    *zero_points;
	uint32_t	i;

	if (t->dtype != MM_DTYPE_I8)
		return mm_fail(err, MM_ERR_INVALID,
					   "only int8 tensors have scales");
	if (n_scales != 1 && n_scales != t->rows)
		return mm_fail(err, MM_ERR_INVALID,
					   "an int8 tensor has 1 scale or one per row");
	scales = mm_alloc((size_t) n_scales * sizeof(double));
	zero_points = mm_alloc0((size_t) n_scales * sizeof(int32_t));
	if (scales == NULL || zero_points == NULL)
	{
		mm_free(scales);
		mm_free(zero_points);
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < n_scales; i++)
		scales[i] = 1.0;
	mm_free(t->scales);
	mm_free(t->zero_points);
	t->scales = scales;
	t->zero_points = zero_points;
	t->n_scales = n_scales;
	return MM_OK;
}

/* ---------------------------------------------------------------------
 * Grouped models
 * ---------------------------------------------------------------------
 */

/*
 * Order of two group keys (NULL pointer = SQL NULL): NULL before any text,
 * texts bytewise with a shorter prefix first.  -1, 0 or 1.
 */
static int
CompareKey(const char *a, size_t alen, const char *b, size_t blen)
{
	int			c;

	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c < 0 ? -1 : 1;
	return (alen > blen) - (alen < blen);
}

/* Order of two groups' keys, n of each, compared left to right. */
static int
CompareKeys(const char *const *a, const char *const *b, uint32_t n)
{
	uint32_t	i;

	for (i = 0; i < n; i++)
	{
		int			c = CompareKey(a[i], a[i] ? strlen(a[i]) : 0,
								   b[i], b[i] ? strlen(b[i]) : 0);

		if (c != 0)
			return c;
	}
	return 0;
}

mm_status
mm_model_set_group_columns(mm_model *model, uint32_t n,
						   const char *const *names, mm_error *err)
{
	char	  **columns;
	uint32_t	i;

	if (model->n_group_columns != 0 || model->n_groups != 0)
		return mm_fail(err, MM_ERR_INVALID,
					   "the group columns of a model are set only once");
	if (n == 0 || names == NULL)
		return mm_fail(err, MM_ERR_INVALID,
					   "a grouped model needs at least one group column");
	if (n > MM_MAX_GROUP_COLUMNS)
		return mm_fail(err, MM_ERR_LIMIT,
					   "a model can have at most %d group columns, not %u",
					   MM_MAX_GROUP_COLUMNS, n);
	if ((columns = mm_model_alloc_array(n, sizeof(char *))) == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
	{
		if ((columns[i] = mm_strdup(names[i] ? names[i] : "")) == NULL)
		{
			FreeKeys(columns, i);
			return mm_fail(err, MM_ERR_NOMEM, "out of memory");
		}
	}
	model->group_columns = columns;
	model->n_group_columns = n;
	return MM_OK;
}

/*
 * Append a group (sub is owned from here on, also on failure).  Only the
 * order, the nesting and the limit are checked here; that the sub-model
 * fits the top level is mm_model_validate's job.
 */
mm_status
mm_model_add_group(mm_model *model, const char *const *keys, mm_model *sub,
				   mm_error *err)
{
	uint32_t	n = model->n_group_columns;
	char	  **copy = NULL;
	void	   *grown;
	mm_status	st;
	uint32_t	i;

	if (sub == NULL)
		return mm_fail(err, MM_ERR_INVALID, "a group needs a model");
	if (n == 0)
	{
		st = mm_fail(err, MM_ERR_INVALID,
					 "a model needs group columns before its groups");
		goto fail;
	}
	if (keys == NULL)
	{
		st = mm_fail(err, MM_ERR_INVALID, "a group needs its keys");
		goto fail;
	}
	if (sub->n_group_columns != 0 || sub->n_groups != 0)
	{
		st = mm_fail(err, MM_ERR_INVALID,
					 "the model of a group cannot be grouped itself");
		goto fail;
	}
	if (model->n_groups >= MM_MAX_GROUPS)
	{
		st = mm_fail(err, MM_ERR_LIMIT,
					 "a model can have at most %d groups", MM_MAX_GROUPS);
		goto fail;
	}
	if (model->n_groups > 0 &&
		CompareKeys((const char *const *) model->groups[model->n_groups - 1].keys,
					keys, n) >= 0)
	{
		st = mm_fail(err, MM_ERR_INVALID,
					 "groups must be added in strictly increasing key order");
		mm_error_detail(err, "Group #%u does not come after group #%u.",
						model->n_groups + 1, model->n_groups);
		goto fail;
	}
	if ((copy = mm_alloc0((size_t) n * sizeof(char *))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		if (keys[i] != NULL && (copy[i] = mm_strdup(keys[i])) == NULL)
			goto nomem;
	if (!GrowArray(model->groups, model->n_groups, sizeof(mm_group), &grown))
		goto nomem;
	model->groups = grown;
	model->groups[model->n_groups].keys = copy;
	model->groups[model->n_groups].model = sub;
	model->n_groups++;
	return MM_OK;

nomem:
	st = mm_fail(err, MM_ERR_NOMEM, "out of memory");
fail:
	FreeKeys(copy, n);
	mm_model_free(sub);
	return st;
}

/* Binary search over the groups, which are in strictly increasing order. */
int32_t
mm_model_find_group(const mm_model *model, const char *const *keys,
					const size_t *lens)
{
	uint32_t	lo = 0;
	uint32_t	hi = model->n_groups;

	if (model->n_group_columns == 0 || keys == NULL)
		return -1;
	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;
		const mm_group *g = &model->groups[mid];
		int			c = 0;
		uint32_t	i;

		for (i = 0; i < model->n_group_columns && c == 0; i++)
		{
			const char *k = g->keys[i];

			c = CompareKey(k, k ? strlen(k) : 0,
						   keys[i], keys[i] ? lens[i] : 0);
		}
		if (c == 0)
			return (int32_t) mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---------------------------------------------------------------------
 * Lookups and element access
 * ---------------------------------------------------------------------
 */

const mm_tensor *
mm_model_tensor(const mm_model *model, const char *name)
{
	uint32_t	i;

	for (i = 0; i < model->n_tensors; i++)
		if (strcmp(model->tensors[i].name, name) == 0)
			return &model->tensors[i];
	return NULL;
}

double
mm_model_attr(const mm_model *model, const char *name, double dflt)
{
	uint32_t	i;

	for (i = 0; i < model->n_attrs; i++)
		if (strcmp(model->attrs[i].name, name) == 0)
			return model->attrs[i].value;
	return dflt;
}

/*
 * Exact binary16 -> double: subnormals are m * 2^-24, normals
 * (1024 + m) * 2^(e - 25); exponent 31 is infinity or NaN.
 */
double
mm_half_to_float(uint16_t h)
{
	int			e = (h >> 10) & 0x1F;
	int			m = h & 0x3FF;
	double		v;

	if (e == 0)
		v = ldexp((double) m, -24);
	else if (e == 31)
		v = (m == 0) ? HUGE_VAL : NAN;
	else
		v = ldexp((double) (1024 + m), e - 25);
	return (h & 0x8000) ? -v : v;
}

/*
 * double -> binary16 straight from the double's bits (going through float
 * would round twice).  The significand, with its implicit bit, is shifted
 * right to 11 bits (normal) or to units of 2^-24 (subnormal) and rounded to
 * nearest even; a carry out of the top bit moves to the next binade, which
 * the encoding absorbs naturally (subnormal 1024 is the smallest normal).
 */
uint16_t
mm_float_to_half(double v)
{
	uint64_t	bits;
	uint16_t	sign;
	int			exp_field;
	int			e;
	uint64_t	m;
	int			shift;
	uint64_t	sig;
	uint64_t	rem;
	uint64_t	halfway;

	memcpy(&bits, &v, sizeof(bits));
	sign = (uint16_t) ((bits >> 48) & 0x8000);
	exp_field = (int) ((bits >> 52) & 0x7FF);
	m = bits & ((UINT64_C(1) << 52) - 1);

	if (exp_field == 0x7FF)
		return (uint16_t) (sign | (m ? 0x7E00 : 0x7C00));
	if (exp_field == 0)
		return sign;			/* zero or double subnormal: far below 2^-25 */
	e = exp_field - 1023;
	if (e > 15)
		return (uint16_t) (sign | 0x7C00);
	m |= UINT64_C(1) << 52;

	if (e >= -14)
		shift = 42;				/* keep 11 significant bits */
	else
		shift = 28 - e;			/* units of 2^-24 */
	if (shift >= 54)
		return sign;			/* below half of the smallest subnormal */

	sig = m >> shift;
	rem = m & ((UINT64_C(1) << shift) - 1);
	halfway = UINT64_C(1) << (shift - 1);
	if (rem > halfway || (rem == halfway && (sig & 1)))
		sig++;

	if (e >= -14)
	{
		if (sig == 2048)
		{
			sig = 1024;
			e++;
		}
		if (e > 15)
			return (uint16_t) (sign | 0x7C00);
		return (uint16_t) (sign | ((e + 15) << 10) | (sig & 0x3FF));
	}
	return (uint16_t) (sign | sig);
}

/* Value number k of a tensor's values array, dequantized (row r). */
double
mm_tensor_value(const mm_tensor *t, uint64_t k, uint32_t r)
{
	switch (t->dtype)
	{
		case MM_DTYPE_F64:
			return ((const double *) t->values)[k];
		case MM_DTYPE_F32:
			return ((const float *) t->values)[k];
		case MM_DTYPE_F16:
			return mm_half_to_float(((const uint16_t *) t->values)[k]);
		case MM_DTYPE_I8:
			{
				uint32_t	s = (t->n_scales == 1) ? 0 : r;
				int			q = ((const int8_t *) t->values)[k];

				return t->scales[s] * (double) (q - t->zero_points[s]);
			}
	}
	return NAN;
}

/*
 * Element (r, c) of a validated tensor.  Sparse rows are searched by
 * bisection (col_idx is strictly increasing within a row).  Out of range
 * is a caller bug and gives NaN, so it cannot pass unnoticed.
 */
double
mm_tensor_get(const mm_tensor *t, uint32_t r, uint32_t c)
{
	if (r >= t->rows || c >= t->cols)
		return NAN;
	if (t->layout == MM_LAYOUT_DENSE)
		return mm_tensor_value(t, (uint64_t) r * t->cols + c, r);
	else
	{
		uint32_t	lo = t->row_ptr[r];
		uint32_t	hi = t->row_ptr[r + 1];

		while (lo < hi)
		{
			uint32_t	mid = lo + (hi - lo) / 2;

			if (t->col_idx[mid] == c)
				return mm_tensor_value(t, mid, r);
			if (t->col_idx[mid] < c)
				lo = mid + 1;
			else
				hi = mid;
		}
		return 0.0;
	}
}

/*
 * Logical parameters: rows * cols of every tensor, sparse or not, those of
 * the sub-models of a grouped model included.
 */
uint64_t
mm_model_param_count(const mm_model *model)
{
	uint64_t	n = 0;
	uint32_t	i;

	for (i = 0; i < model->n_tensors; i++)
		n += (uint64_t) model->tensors[i].rows * model->tensors[i].cols;
	for (i = 0; i < model->n_groups; i++)
		n += mm_model_param_count(model->groups[i].model);
	return n;
}

/* Stored values whose dequantized value is not zero, sub-models included. */
uint64_t
mm_model_nonzero_count(const mm_model *model)
{
	uint64_t	n = 0;
	uint32_t	i;

	for (i = 0; i < model->n_tensors; i++)
	{
		const mm_tensor *t = &model->tensors[i];
		uint32_t	r = 0;
		uint64_t	k;

		for (k = 0; k < t->nnz; k++)
		{
			if (t->layout == MM_LAYOUT_DENSE)
				r = (uint32_t) (k / t->cols);
			else
				while (r < t->rows && t->row_ptr[r + 1] <= k)
					r++;
			if (mm_tensor_value(t, k, r) != 0.0)
				n++;
		}
	}
	for (i = 0; i < model->n_groups; i++)
		n += mm_model_nonzero_count(model->groups[i].model);
	return n;
}

/*
 * Saturates at UINT32_MAX (no valid model comes near it).  For a grouped
 * model, the width of the top level's own (shared) schema: informational,
 * since each group encodes rows with its own vocabularies.
 */
uint32_t
mm_model_input_width(const mm_model *model)
{
	uint64_t	w = 0;
	uint32_t	i;

	for (i = 0; i < model->n_features; i++)
	{
		const mm_feature *f = &model->features[i];

		if (f->kind == MM_FEATURE_CATEGORICAL)
			w += f->n_categories - (f->drop_first && f->n_categories > 0);
		else
			w += 1;
	}
	return w > UINT32_MAX ? UINT32_MAX : (uint32_t) w;
}
