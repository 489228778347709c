/*
 * mm_compress.c
 *	  Pruning and quantization of a model's weight tensors, and the deep
 *	  model copy they start from; see mm_compress.h for what they promise.
 *
 * Both work the same way: validate the source, list its weight tensors,
 * copy the whole model, then build each new weight tensor in a scratch
 * model through the ordinary builders (so sizes and allocations are checked
 * as everywhere else) and swap it into the copy's tensor slot.  Swapping
 * keeps every tensor in its position, which keeps the artifact's section
 * order; freeing the scratch model frees the replaced tensor.
 *
 * Rebuild is the one routine that writes pruned tensors: it takes a tensor
 * and which rows to keep, where each column goes (or that it goes), and
 * which stored values to drop, and lays the survivors out dense or CSR.
 * Magnitude and global pruning only drop values; structured pruning only
 * removes rows and columns.
 *
 * A grouped model (whose top level has no tensors) is pruned or quantized
 * group by group: each sub-model goes through mm_prune or mm_quantize on
 * its own, and the results are put back under the same keys.
 */
#include "mm_compress.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mm_mlp_infer.h"
#include "mm_qkernel.h"

/* Elements between two polls of mm_should_stop(). */
#define POLL_MASK 0xFFFF

#define REMOVED UINT32_MAX

static mm_status
Canceled(mm_error *err)
{
	return mm_fail(err, MM_ERR_INTERRUPTED, "canceled");
}

/* ---------------------------------------------------------------------
 * Copy
 * ---------------------------------------------------------------------
 */

static mm_status
CopyTensor(mm_model *m, const mm_tensor *t, mm_error *err)
{
	size_t		elem = mm_dtype_size(t->dtype);
	mm_tensor  *c;

	if (t->layout == MM_LAYOUT_SPARSE)
		c = mm_model_add_sparse_tensor(m, t->name, t->dtype, t->rows, t->cols,
									   t->nnz, err);
	else
		c = mm_model_add_tensor(m, t->name, t->dtype, t->rows, t->cols, err);
	if (c == NULL)
		return err->status;
	if (t->nnz > 0)
		memcpy(c->values, t->values, (size_t) t->nnz * elem);
	if (t->layout == MM_LAYOUT_SPARSE)
	{
		memcpy(c->row_ptr, t->row_ptr, ((size_t) t->rows + 1) * sizeof(uint32_t));
		if (t->nnz > 0)
			memcpy(c->col_idx, t->col_idx, (size_t) t->nnz * sizeof(uint32_t));
	}
	if (t->dtype == MM_DTYPE_I8)
	{
		mm_status	st;

		if (t->n_scales != 1 &&
			(st = mm_tensor_set_scales(c, t->n_scales, err)) != MM_OK)
			return st;
		memcpy(c->scales, t->scales, (size_t) t->n_scales * sizeof(double));
		memcpy(c->zero_points, t->zero_points,
			   (size_t) t->n_scales * sizeof(int32_t));
	}
	return MM_OK;
}

/*
 * The group columns and groups of model into m, as they are (not through
 * mm_model_add_group, which would refuse groups out of order: a copy
 * copies, whatever it is given).
 */
static mm_status
CopyGroups(mm_model *m, const mm_model *model, mm_error *err)
{
	uint32_t	n_keys = model->n_group_columns;
	uint32_t	g;
	uint32_t	i;
	mm_status	st;

	if (n_keys > 0)
	{
		m->group_columns = mm_model_alloc_array(n_keys, sizeof(char *));
		if (m->group_columns == NULL)
			return mm_fail(err, MM_ERR_NOMEM, "out of memory");
		m->n_group_columns = n_keys;
		for (i = 0; i < n_keys; i++)
			if ((m->group_columns[i] = mm_strdup(model->group_columns[i])) == NULL)
				return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	}
	if (model->n_groups == 0)
		return MM_OK;
	m->groups = mm_model_alloc_array(model->n_groups, sizeof(mm_group));
	if (m->groups == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	for (g = 0; g < model->n_groups; g++)
	{
		const mm_group *src = &model->groups[g];
		mm_group   *dst = &m->groups[g];

		m->n_groups = g + 1;	/* so that mm_model_free frees this one */
		dst->keys = mm_alloc0((n_keys == 0 ? 1 : n_keys) * sizeof(char *));
		if (dst->keys == NULL)
			return mm_fail(err, MM_ERR_NOMEM, "out of memory");
		for (i = 0; i < n_keys && src->keys != NULL; i++)
			if (src->keys[i] != NULL &&
				(dst->keys[i] = mm_strdup(src->keys[i])) == NULL)
				return mm_fail(err, MM_ERR_NOMEM, "out of memory");
		if (src->model != NULL &&
			(st = mm_model_copy(src->model, &dst->model, err)) != MM_OK)
			return st;
	}
	return MM_OK;
}

mm_status
mm_model_copy(const mm_model *model, mm_model **out, mm_error *err)
{
	mm_model   *m;
	mm_status	st = MM_ERR_NOMEM;
	mm_error	local;
	uint32_t	i;
	uint32_t	j;

	*out = NULL;
	if (err == NULL)
		err = &local;
	m = mm_model_new(model->algorithm, model->task);
	if (m == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	if (model->target &&
		(st = mm_model_set_target(m, model->target, err)) != MM_OK)
		goto fail;
	for (i = 0; i < model->n_features; i++)
	{
		const mm_feature *sf = &model->features[i];
		mm_feature *f = mm_model_add_feature(m, sf->name, err);

		if (f == NULL)
			goto fail_status;
		f->kind = sf->kind;
		f->impute = sf->impute;
		f->impute_value = sf->impute_value;
		f->center = sf->center;
		f->scale = sf->scale;
		f->drop_first = sf->drop_first;
		for (j = 0; j < sf->n_categories; j++)
			if ((st = mm_feature_add_category(f, sf->categories[j], err)) != MM_OK)
				goto fail;
	}
	for (i = 0; i < model->n_classes; i++)
		if ((st = mm_model_add_class(m, model->classes[i], err)) != MM_OK)
			goto fail;
	/* attributes one by one, not through set_attr, which merges names */
	if (model->n_attrs > 0)
	{
		m->attrs = mm_model_alloc_array(model->n_attrs, sizeof(mm_attr));
		if (m->attrs == NULL)
			goto fail_nomem;
		for (i = 0; i < model->n_attrs; i++)
		{
			m->attrs[i].name = mm_strdup(model->attrs[i].name);
			m->attrs[i].value = model->attrs[i].value;
			m->n_attrs = i + 1;
			if (m->attrs[i].name == NULL)
				goto fail_nomem;
		}
	}
	for (i = 0; i < model->n_tensors; i++)
		if ((st = CopyTensor(m, &model->tensors[i], err)) != MM_OK)
			goto fail;
	if ((st = CopyGroups(m, model, err)) != MM_OK)
		goto fail;
	*out = m;
	return MM_OK;

fail_nomem:
	st = mm_fail(err, MM_ERR_NOMEM, "out of memory");
	goto fail;
fail_status:
	st = err->status;
fail:
	mm_model_free(m);
	return st;
}

/* ---------------------------------------------------------------------
 * Weight tensors
 * ---------------------------------------------------------------------
 */

static bool
IsMlp(const mm_model *m)
{
	return m->algorithm == MM_ALGO_MLP_CLASSIFIER ||
		m->algorithm == MM_ALGO_MLP_REGRESSOR;
}

bool
mm_is_weight_tensor(const mm_model *model, const mm_tensor *t)
{
	const char *p;
	double		layers;
	uint64_t	l = 0;

	if (!IsMlp(model))
		return strcmp(t->name, "coef") == 0;
	if (t->name[0] != 'W' || t->name[1] < '1' || t->name[1] > '9')
		return false;
	for (p = t->name + 1; *p; p++)
	{
		if (*p < '0' || *p > '9' || l > UINT32_MAX)
			return false;
		l = l * 10 + (uint64_t) (*p - '0');
	}
	layers = mm_model_attr(model, "layers", 0.0);
	return (double) l <= layers;
}

/*
 * The positions in m->tensors of the weight tensors: coef, or W1 .. WL in
 * layer order.  *idx is allocated (free with mm_free).
 */
static mm_status
WeightTensors(const mm_model *m, uint32_t **idx, uint32_t *n, mm_error *err)
{
	uint32_t	L = 1;
	uint32_t	l;
	mm_status	st;

	*idx = NULL;
	*n = 0;
	if (IsMlp(m) && (st = mm_mlp_infer_layers(m, &L, err)) != MM_OK)
		return st;
	*idx = mm_alloc((size_t) L * sizeof(uint32_t));
	if (*idx == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	for (l = 0; l < L; l++)
	{
		const mm_tensor *t = IsMlp(m) ? mm_mlp_infer_tensor(m, 'W', l + 1)
			: mm_model_tensor(m, "coef");

		if (t == NULL)
		{
			mm_free(*idx);
			*idx = NULL;
			return mm_fail(err, MM_ERR_INVALID,
						   "%s model has no weight tensor \"coef\"",
						   mm_algorithm_name(m->algorithm));
		}
		(*idx)[l] = (uint32_t) (t - m->tensors);
	}
	*n = L;
	return MM_OK;
}

/* ---------------------------------------------------------------------
 * Element access
 * ---------------------------------------------------------------------
 */

/* The stored values of row r are k0 .. k1 - 1. */
static void
RowRange(const mm_tensor *t, uint32_t r, uint64_t *k0, uint64_t *k1)
{
	if (t->layout == MM_LAYOUT_DENSE)
	{
		*k0 = (uint64_t) r * t->cols;
		*k1 = *k0 + t->cols;
	}
	else
	{
		*k0 = t->row_ptr[r];
		*k1 = t->row_ptr[r + 1];
	}
}

static uint32_t
ColumnOf(const mm_tensor *t, uint64_t k, uint64_t k0)
{
	return t->layout == MM_LAYOUT_DENSE ? (uint32_t) (k - k0) : t->col_idx[k];
}

/* Stored values that are not zero. */
static uint64_t
NonzeroCount(const mm_tensor *t)
{
	uint64_t	n = 0;
	uint64_t	k0;
	uint64_t	k1;
	uint64_t	k;
	uint32_t	r;

	for (r = 0; r < t->rows; r++)
	{
		RowRange(t, r, &k0, &k1);
		for (k = k0; k < k1; k++)
			if (mm_tensor_value(t, k, r) != 0.0)
				n++;
	}
	return n;
}

/* ---------------------------------------------------------------------
 * Rebuilding a tensor
 * ---------------------------------------------------------------------
 */

typedef struct RebuildSpec
{
	const uint8_t *row_keep;	/* per row, 1 = keep; NULL = all */
	const uint32_t *col_map;	/* per column its new column, or REMOVED;
								 * NULL = unchanged */
	uint32_t	new_rows;
	uint32_t	new_cols;
	const uint8_t *drop;		/* per stored value, 1 = pruned; NULL none */
	bool		weight;			/* drop zeros, pick the smaller layout;
								 * else keep the layout and stored zeros */
} RebuildSpec;

/*
 * Walk the surviving values of t in row-major order, counting them into
 * *count, and, when dst is given, writing them to dst (dense: at their new
 * position, whose other elements stay zero; sparse: appended, with
 * row_ptr).
 */
static mm_status
Transfer(const mm_tensor *t, const RebuildSpec *spec, mm_tensor *dst,
		 uint64_t *count, mm_error *err)
{
	size_t		elem = mm_dtype_size(t->dtype);
	const uint8_t *src = t->values;
	uint8_t    *out = dst ? dst->values : NULL;
	uint64_t	cnt = 0;
	uint32_t	nr = 0;
	uint32_t	r;

	for (r = 0; r < t->rows; r++)
	{
		uint64_t	k0;
		uint64_t	k1;
		uint64_t	k;

		if (spec->row_keep && !spec->row_keep[r])
			continue;
		if (mm_should_stop())
			return Canceled(err);
		RowRange(t, r, &k0, &k1);
		for (k = k0; k < k1; k++)
		{
			uint32_t	c = ColumnOf(t, k, k0);
			uint32_t	nc = spec->col_map ? spec->col_map[c] : c;

			if (nc == REMOVED || (spec->drop && spec->drop[k]) ||
				(spec->weight && mm_tensor_value(t, k, r) == 0.0))
				continue;
			if (dst && dst->layout == MM_LAYOUT_DENSE)
				memcpy(out + ((uint64_t) nr * spec->new_cols + nc) * elem,
					   src + k * elem, elem);
			else if (dst)
			{
				dst->col_idx[cnt] = nc;
				memcpy(out + cnt * elem, src + k * elem, elem);
			}
			cnt++;
		}
		if (dst && dst->layout == MM_LAYOUT_SPARSE)
			dst->row_ptr[nr + 1] = (uint32_t) cnt;
		nr++;
	}
	*count = cnt;
	return MM_OK;
}

/*
 * Append to tmp the tensor t reduced as spec says, with t's name and dtype.
 * For a weight, *kept is the number of non-zero values left (when 0,
 * nothing is appended and the caller reports it).
 */
static mm_status
Rebuild(const mm_tensor *t, const RebuildSpec *spec, mm_model *tmp,
		uint64_t *kept, mm_error *err)
{
	size_t		elem = mm_dtype_size(t->dtype);
	uint64_t	cnt;
	int			layout = t->layout;
	mm_tensor  *dst;
	mm_status	st;
	uint32_t	r;

	if ((st = Transfer(t, spec, NULL, &cnt, err)) != MM_OK)
		return st;
	*kept = cnt;
	if (spec->weight)
	{
		uint64_t	dense_bytes = (uint64_t) spec->new_rows * spec->new_cols * elem;
		uint64_t	sparse_bytes = 4 * ((uint64_t) spec->new_rows + 1) +
			cnt * (4 + elem);

		if (cnt == 0)
			return MM_OK;
		layout = (sparse_bytes < dense_bytes && cnt <= UINT32_MAX)
			? MM_LAYOUT_SPARSE : MM_LAYOUT_DENSE;
	}
	if (layout == MM_LAYOUT_SPARSE)
		dst = mm_model_add_sparse_tensor(tmp, t->name, t->dtype,
										 spec->new_rows, spec->new_cols, cnt,
										 err);
	else
		dst = mm_model_add_tensor(tmp, t->name, t->dtype, spec->new_rows,
								  spec->new_cols, err);
	if (dst == NULL)
		return err->status;
	if ((st = Transfer(t, spec, dst, &cnt, err)) != MM_OK)
		return st;
	if (t->dtype == MM_DTYPE_I8)
	{
		uint32_t	nr = 0;

		if (t->n_scales == 1)
		{
			dst->scales[0] = t->scales[0];
			dst->zero_points[0] = t->zero_points[0];
		}
		else
		{
			if ((st = mm_tensor_set_scales(dst, spec->new_rows, err)) != MM_OK)
				return st;
			for (r = 0; r < t->rows; r++)
			{
				if (spec->row_keep && !spec->row_keep[r])
					continue;
				dst->scales[nr] = t->scales[r];
				dst->zero_points[nr] = t->zero_points[r];
				nr++;
			}
		}
	}
	return MM_OK;
}

/*
 * Replace tensor number i of m by the one tensor of a scratch model; the
 * scratch model gets the old tensor, and frees it with itself.
 */
static void
SwapIn(mm_model *m, uint32_t i, mm_model *scratch)
{
	mm_tensor	old = m->tensors[i];

	m->tensors[i] = scratch->tensors[0];
	scratch->tensors[0] = old;
}

/* Rebuild tensor i of m in place.  MM_ERR_INVALID if a weight ends empty. */
static mm_status
RebuildInPlace(mm_model *m, uint32_t i, const RebuildSpec *spec,
			   mm_error *err)
{
	mm_model   *scratch = mm_model_new(m->algorithm, m->task);
	uint64_t	kept;
	mm_status	st;

	if (scratch == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	st = Rebuild(&m->tensors[i], spec, scratch, &kept, err);
	if (st == MM_OK && spec->weight && kept == 0)
		st = mm_fail(err, MM_ERR_INVALID,
					 "pruning leaves no non-zero weight in tensor \"%s\"",
					 m->tensors[i].name);
	if (st == MM_OK)
		SwapIn(m, i, scratch);
	mm_model_free(scratch);
	return st;
}

/* ---------------------------------------------------------------------
 * Magnitude and global pruning
 * ---------------------------------------------------------------------
 */

typedef struct PruneEntry
{
	double		magnitude;
	uint32_t	tensor;			/* position in the weight list */
	uint64_t	k;				/* stored value */
} PruneEntry;

static int
ComparePruneEntries(const void *a, const void *b)
{
	const PruneEntry *x = a;
	const PruneEntry *y = b;

	if (x->magnitude != y->magnitude)
		return x->magnitude < y->magnitude ? -1 : 1;
	if (x->tensor != y->tensor)
		return x->tensor < y->tensor ? -1 : 1;
	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return 0;
}

/* The number of weights out of n that sparsity s makes zero. */
static uint64_t
TargetZeros(double s, uint64_t n)
{
	double		t = nearbyint(s * (double) n);

	return t >= (double) n ? n : (uint64_t) t;
}

/*
 * Mark in drop[w] the stored values to prune so that round(s * n) of the n
 * weights of tensors widx[0 .. nw-1] of m are zero: the smallest |w| not
 * zero already, ties by tensor then position.
 */
static mm_status
SelectSmallest(const mm_model *m, const uint32_t *widx, uint32_t nw, double s,
			   uint8_t **drop, mm_error *err)
{
	uint64_t	n = 0;
	uint64_t	nonzero = 0;
	uint64_t	target;
	uint64_t	need;
	uint64_t	e = 0;
	PruneEntry *entries;
	size_t		bytes;
	uint32_t	w;

	for (w = 0; w < nw; w++)
	{
		const mm_tensor *t = &m->tensors[widx[w]];

		n += (uint64_t) t->rows * t->cols;
		nonzero += NonzeroCount(t);
	}
	target = TargetZeros(s, n);
	if (target <= n - nonzero)
		return MM_OK;
	need = target - (n - nonzero);
	if (nonzero > SIZE_MAX ||
		!mm_size_mul((size_t) nonzero, sizeof(PruneEntry), &bytes))
		return mm_fail(err, MM_ERR_LIMIT, "model is too large to prune");
	entries = mm_alloc(bytes);
	if (entries == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	for (w = 0; w < nw; w++)
	{
		const mm_tensor *t = &m->tensors[widx[w]];
		uint32_t	r;

		for (r = 0; r < t->rows; r++)
		{
			uint64_t	k0;
			uint64_t	k1;
			uint64_t	k;

			if ((r & POLL_MASK) == 0 && mm_should_stop())
			{
				mm_free(entries);
				return Canceled(err);
			}
			RowRange(t, r, &k0, &k1);
			for (k = k0; k < k1; k++)
			{
				double		v = mm_tensor_value(t, k, r);

				if (v == 0.0)
					continue;
				entries[e].magnitude = fabs(v);
				entries[e].tensor = w;
				entries[e].k = k;
				e++;
			}
		}
	}
	qsort(entries, (size_t) e, sizeof(PruneEntry), ComparePruneEntries);
	for (e = 0; e < need; e++)
		drop[entries[e].tensor][entries[e].k] = 1;
	mm_free(entries);
	return MM_OK;
}

static mm_status
PruneMagnitude(mm_model *m, const uint32_t *widx, uint32_t nw, bool global,
			   double s, mm_error *err)
{
	uint8_t   **drop = mm_alloc0((size_t) nw * sizeof(uint8_t *));
	mm_status	st = MM_OK;
	uint32_t	w;

	if (drop == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	for (w = 0; w < nw && st == MM_OK; w++)
	{
		const mm_tensor *t = &m->tensors[widx[w]];

		drop[w] = mm_alloc0(t->nnz == 0 ? 1 : (size_t) t->nnz);
		if (drop[w] == NULL)
			st = mm_fail(err, MM_ERR_NOMEM, "out of memory");
	}
	if (st == MM_OK && global)
		st = SelectSmallest(m, widx, nw, s, drop, err);
	for (w = 0; w < nw && st == MM_OK && !global; w++)
		st = SelectSmallest(m, widx + w, 1, s, drop + w, err);
	for (w = 0; w < nw && st == MM_OK; w++)
	{
		const mm_tensor *t = &m->tensors[widx[w]];
		RebuildSpec spec = {NULL, NULL, t->rows, t->cols, drop[w], true};

		st = RebuildInPlace(m, widx[w], &spec, err);
	}
	if (st == MM_ERR_INVALID)
		mm_error_hint(err, global
					  ? "Use a lower sparsity, or magnitude pruning, which prunes each weight tensor to the sparsity on its own."
					  : "Use a lower sparsity.");
	for (w = 0; w < nw; w++)
		mm_free(drop[w]);
	mm_free(drop);
	return st;
}

/* ---------------------------------------------------------------------
 * Structured pruning
 * ---------------------------------------------------------------------
 */

typedef struct UnitNorm
{
	double		norm;
	uint32_t	unit;
} UnitNorm;

static int
CompareUnitNorms(const void *a, const void *b)
{
	const UnitNorm *x = a;
	const UnitNorm *y = b;

	if (x->norm != y->norm)
		return x->norm < y->norm ? -1 : 1;
	return x->unit < y->unit ? -1 : (x->unit > y->unit);
}

/* L2 norm of row r of t, scaled by its largest magnitude against overflow. */
static double
RowNorm(const mm_tensor *t, uint32_t r)
{
	uint64_t	k0;
	uint64_t	k1;
	uint64_t	k;
	double		mx = 0.0;
	double		sum = 0.0;

	RowRange(t, r, &k0, &k1);
	for (k = k0; k < k1; k++)
		if (fabs(mm_tensor_value(t, k, r)) > mx)
			mx = fabs(mm_tensor_value(t, k, r));
	if (mx == 0.0)
		return 0.0;
	for (k = k0; k < k1; k++)
	{
		double		v = mm_tensor_value(t, k, r) / mx;

		sum += v * v;
	}
	return mx * sqrt(sum);
}

/*
 * Choose the units of hidden layer W (its rows) to keep: keep[i] = 1, and
 * map[i] = the unit's new index or REMOVED.  *n_kept is how many remain.
 */
static mm_status
ChooseUnits(const mm_tensor *W, double s, uint8_t *keep, uint32_t *map,
			uint32_t *n_kept, mm_error *err)
{
	uint32_t	n = W->rows;
	uint64_t	remove = TargetZeros(s, n);
	UnitNorm   *order = mm_alloc((size_t) n * sizeof(UnitNorm));
	uint32_t	i;
	uint32_t	next = 0;

	if (order == NULL)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	if (remove > n - 1)
		remove = n - 1;
	for (i = 0; i < n; i++)
	{
		if ((i & POLL_MASK) == 0 && mm_should_stop())
		{
			mm_free(order);
			return Canceled(err);
		}
		order[i].norm = RowNorm(W, i);
		order[i].unit = i;
		keep[i] = 1;
	}
	qsort(order, n, sizeof(UnitNorm), CompareUnitNorms);
	for (i = 0; i < remove; i++)
		keep[order[i].unit] = 0;
	for (i = 0; i < n; i++)
		map[i] = keep[i] ? next++ : REMOVED;
	*n_kept = next;
	mm_free(order);
	return MM_OK;
}

static uint32_t
TensorIndex(const mm_model *m, char kind, uint32_t l)
{
	return (uint32_t) (mm_mlp_infer_tensor(m, kind, l) - m->tensors);
}

static mm_status
PruneStructured(mm_model *m, uint32_t L, double s, mm_error *err)
{
	uint8_t   **keep = mm_alloc0((size_t) L * sizeof(uint8_t *));
	uint32_t  **map = mm_alloc0((size_t) L * sizeof(uint32_t *));
	uint32_t   *n_kept = mm_alloc0((size_t) L * sizeof(uint32_t));
	mm_status	st = MM_OK;
	uint32_t	l;

	if (keep == NULL || map == NULL || n_kept == NULL)
		st = mm_fail(err, MM_ERR_NOMEM, "out of memory");
	/* units of hidden layers 1 .. L-1 (0-based l: W_{l+1}) */
	for (l = 0; st == MM_OK && l + 1 < L; l++)
	{
		const mm_tensor *W = mm_mlp_infer_tensor(m, 'W', l + 1);

		keep[l] = mm_alloc(W->rows);
		map[l] = mm_alloc((size_t) W->rows * sizeof(uint32_t));
		if (keep[l] == NULL || map[l] == NULL)
			st = mm_fail(err, MM_ERR_NOMEM, "out of memory");
		else
			st = ChooseUnits(W, s, keep[l], map[l], &n_kept[l], err);
	}
	for (l = 0; st == MM_OK && l < L; l++)
	{
		uint32_t	wi = TensorIndex(m, 'W', l + 1);
		uint32_t	bi = TensorIndex(m, 'b', l + 1);
		const mm_tensor *W = &m->tensors[wi];
		bool		hidden = (l + 1 < L);
		RebuildSpec wspec = {
			hidden ? keep[l] : NULL,
			l > 0 ? map[l - 1] : NULL,
			hidden ? n_kept[l] : W->rows,
			l > 0 ? n_kept[l - 1] : W->cols,
			NULL, true
		};
		RebuildSpec bspec = {
			NULL,
			hidden ? map[l] : NULL,
			1,
			hidden ? n_kept[l] : W->rows,
			NULL, false
		};

		st = RebuildInPlace(m, wi, &wspec, err);
		if (st == MM_ERR_INVALID)
			mm_error_hint(err, "Use a lower sparsity.");
		if (st == MM_OK)
			st = RebuildInPlace(m, bi, &bspec, err);
	}
	for (l = 0; l < L; l++)
	{
		if (keep)
			mm_free(keep[l]);
		if (map)
			mm_free(map[l]);
	}
	mm_free(keep);
	mm_free(map);
	mm_free(n_kept);
	return st;
}

/* ---------------------------------------------------------------------
 * Grouped models: every group's sub-model on its own
 * ---------------------------------------------------------------------
 */

/*
 * Put "group #g: " in front of the message of a failure inside group g
 * (0-based), keeping its status, detail and hint.
 */
static mm_status
InGroup(mm_error *err, uint32_t g, mm_status st)
{
	char		message[MM_MSG_LEN];
	char		detail[MM_MSG_LEN];
	char		hint[MM_MSG_LEN];

	if (err == NULL || st == MM_ERR_NOMEM || st == MM_ERR_INTERRUPTED)
		return st;
	memcpy(message, err->message, MM_MSG_LEN);
	memcpy(detail, err->detail, MM_MSG_LEN);
	memcpy(hint, err->hint, MM_MSG_LEN);
	mm_fail(err, st, "group #%u: %s", g + 1, message);
	memcpy(err->detail, detail, MM_MSG_LEN);
	memcpy(err->hint, hint, MM_MSG_LEN);
	return st;
}

/* What CompressGroups applies to each sub-model. */
typedef struct CompressOp
{
	bool		prune;			/* else quantize */
	int			method;
	double		sparsity;
	int			dtype;
	int			scheme;
	int			granularity;
} CompressOp;

/*
 * Prune or quantize a valid grouped model: a copy of its top level (which
 * has no tensors) with the same group columns, and each group's sub-model
 * pruned or quantized on its own, under the same keys.  Global pruning is
 * thus global within each group.
 */
static mm_status
CompressGroups(const mm_model *src, const CompressOp *op, mm_model **out,
			   mm_error *err)
{
	mm_model	top = *src;
	mm_model   *m;
	uint32_t	g;
	mm_status	st;

	top.n_group_columns = 0;
	top.group_columns = NULL;
	top.n_groups = 0;
	top.groups = NULL;
	if ((st = mm_model_copy(&top, &m, err)) != MM_OK)
		return st;
	st = mm_model_set_group_columns(m, src->n_group_columns,
									(const char *const *) src->group_columns,
									err);
	for (g = 0; g < src->n_groups && st == MM_OK; g++)
	{
		const mm_group *grp = &src->groups[g];
		mm_model   *sub;

		if (op->prune)
			st = mm_prune(grp->model, op->method, op->sparsity, &sub, NULL,
						  err);
		else
			st = mm_quantize(grp->model, op->dtype, op->scheme,
							 op->granularity, &sub, err);
		if (st != MM_OK)
			st = InGroup(err, g, st);
		else
			st = mm_model_add_group(m, (const char *const *) grp->keys, sub,
									err);
	}
	if (st != MM_OK)
	{
		mm_model_free(m);
		return st;
	}
	*out = m;
	return MM_OK;
}

/* ---------------------------------------------------------------------
 * mm_prune
 * ---------------------------------------------------------------------
 */

mm_status
mm_prune(const mm_model *src, int method, double sparsity, mm_model **out,
		 mm_prune_info *info, mm_error *err)
{
	mm_error	local;
	uint32_t   *widx = NULL;
	uint32_t	nw;
	uint32_t	L = 0;
	uint32_t	w;
	mm_model   *m = NULL;
	mm_status	st;

	*out = NULL;
	if (err == NULL)
		err = &local;
	mm_error_clear(err);
	if (info)
		memset(info, 0, sizeof(*info));
	if (method != MM_PRUNE_MAGNITUDE && method != MM_PRUNE_GLOBAL &&
		method != MM_PRUNE_STRUCTURED)
		return mm_fail(err, MM_ERR_INVALID, "unknown pruning method %d",
					   method);
	if (!(sparsity >= 0.0 && sparsity < 1.0))
	{
		mm_fail(err, MM_ERR_INVALID,
				"sparsity must be at least 0 and less than 1");
		mm_error_detail(err, "The sparsity given is %g.", sparsity);
		return MM_ERR_INVALID;
	}
	if ((st = mm_model_validate(src, err)) != MM_OK)
		return st;
	if (method == MM_PRUNE_STRUCTURED && !IsMlp(src))
	{
		mm_fail(err, MM_ERR_UNSUPPORTED,
				"structured pruning is not supported for %s models",
				mm_algorithm_name(src->algorithm));
		mm_error_detail(err, "Structured pruning removes hidden units, which only MLPs have.");
		mm_error_hint(err, "Use magnitude pruning.");
		return MM_ERR_UNSUPPORTED;
	}
	if (src->n_groups > 0)
	{
		CompressOp	op = {true, method, sparsity, 0, 0, 0};

		if ((st = CompressGroups(src, &op, &m, err)) != MM_OK)
			return st;
		goto done;
	}
	if ((st = WeightTensors(src, &widx, &nw, err)) != MM_OK)
		return st;
	for (w = 0; w < nw; w++)
	{
		const mm_tensor *t = &src->tensors[widx[w]];

		if (t->dtype == MM_DTYPE_I8)
		{
			mm_free(widx);
			mm_fail(err, MM_ERR_UNSUPPORTED, "cannot prune int8 weights");
			mm_error_detail(err, "Tensor \"%s\" is quantized to int8.", t->name);
			mm_error_hint(err, "Prune before quantizing: prune the model this one was quantized from, then quantize the result.");
			return MM_ERR_UNSUPPORTED;
		}
	}
	if (method == MM_PRUNE_STRUCTURED)
	{
		L = nw;
		if (L < 2)
		{
			mm_free(widx);
			mm_fail(err, MM_ERR_UNSUPPORTED,
					"structured pruning needs an MLP with a hidden layer");
			mm_error_hint(err, "Use magnitude pruning.");
			return MM_ERR_UNSUPPORTED;
		}
	}
	if ((st = mm_model_copy(src, &m, err)) != MM_OK)
	{
		mm_free(widx);
		return st;
	}
	if (method == MM_PRUNE_STRUCTURED)
		st = PruneStructured(m, L, sparsity, err);
	else
		st = PruneMagnitude(m, widx, nw, method == MM_PRUNE_GLOBAL, sparsity,
							err);
	mm_free(widx);
	if (st != MM_OK)
	{
		mm_model_free(m);
		return st;
	}
done:
	if (info)
	{
		info->params_before = mm_model_param_count(src);
		info->params_after = mm_model_param_count(m);
		info->nonzero_before = mm_model_nonzero_count(src);
		info->nonzero_after = mm_model_nonzero_count(m);
	}
	*out = m;
	return MM_OK;
}

/* ---------------------------------------------------------------------
 * Quantization
 * ---------------------------------------------------------------------
 */

static double
Clamp(double v, double lo, double hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

/*
 * Quantize stored values k0 .. k1 - 1 of float tensor t into the int8
 * values of dst, with scale and zero point number g (mm_compress.h).
 */
static void
QuantizeGroup(const mm_tensor *t, uint64_t k0, uint64_t k1, bool symmetric,
			  mm_tensor *dst, uint32_t g)
{
	int8_t	   *q = dst->values;
	double		lo = 0.0;
	double		hi = 0.0;
	double		scale;
	double		zp = 0.0;
	uint64_t	k;

	for (k = k0; k < k1; k++)
	{
		double		v = mm_tensor_value(t, k, 0);

		if (v < lo)
			lo = v;
		if (v > hi)
			hi = v;
	}
	if (symmetric)
	{
		double		m = fmax(-lo, hi);

		scale = m / 127.0;
		if (!(scale > 0.0))
			scale = (m > 0.0) ? DBL_TRUE_MIN : 1.0;
		for (k = k0; k < k1; k++)
			q[k] = (int8_t) Clamp(mm_qk_round(mm_tensor_value(t, k, 0) / scale),
								  -127.0, 127.0);
	}
	else
	{
		/* hi / 255 - lo / 255 cannot overflow where (hi - lo) / 255 can */
		scale = hi / 255.0 - lo / 255.0;
		if (!(scale > 0.0))
			scale = (hi > lo) ? DBL_TRUE_MIN : 1.0;
		zp = Clamp(mm_qk_round(-128.0 - lo / scale), -128.0, 127.0);
		for (k = k0; k < k1; k++)
			q[k] = (int8_t) Clamp(mm_qk_round(mm_tensor_value(t, k, 0) / scale) + zp,
								  -128.0, 127.0);
	}
	dst->scales[g] = scale;
	dst->zero_points[g] = (int32_t) zp;
}

/*
 * A pruned (sparse) tensor costs 4 bytes of column index per value: once
 * its values take 1 or 2 bytes, dense may be smaller.  Re-choose the
 * layout as pruning does, when a dense copy means the same values: zero
 * points all 0 (floats, float16, symmetric int8), so unstored elements
 * read 0.
 */
static mm_status
RelayoutWeight(mm_model *m, uint32_t i, mm_error *err)
{
	const mm_tensor *t = &m->tensors[i];
	RebuildSpec spec;

	if (t->layout != MM_LAYOUT_SPARSE)
		return MM_OK;
	for (uint32_t g = 0; t->dtype == MM_DTYPE_I8 && g < t->n_scales; g++)
		if (t->zero_points[g] != 0)
			return MM_OK;
	memset(&spec, 0, sizeof(spec));
	spec.new_rows = t->rows;
	spec.new_cols = t->cols;
	spec.weight = true;
	return RebuildInPlace(m, i, &spec, err);
}

mm_status
mm_compact_weights(mm_model *m, mm_error *err)
{
	mm_error	local;
	mm_status	st;

	if (err == NULL)
		err = &local;
	for (uint32_t g = 0; g < m->n_groups; g++)
		if ((st = mm_compact_weights(m->groups[g].model, err)) != MM_OK)
			return st;
	for (uint32_t i = 0; i < m->n_tensors; i++)
		if (mm_is_weight_tensor(m, &m->tensors[i]) &&
			(st = RelayoutWeight(m, i, err)) != MM_OK)
			return st;
	return MM_OK;
}

/* Append to tmp the quantized form of float tensor t. */
static mm_status
QuantizeTensor(const mm_tensor *t, int dtype, bool symmetric, bool per_row,
			   mm_model *tmp, mm_error *err)
{
	mm_tensor  *dst;
	mm_status	st;
	uint64_t	k;
	uint32_t	r;

	if (t->layout == MM_LAYOUT_SPARSE)
		dst = mm_model_add_sparse_tensor(tmp, t->name, dtype, t->rows,
										 t->cols, t->nnz, err);
	else
		dst = mm_model_add_tensor(tmp, t->name, dtype, t->rows, t->cols, err);
	if (dst == NULL)
		return err->status;
	if (t->layout == MM_LAYOUT_SPARSE)
	{
		memcpy(dst->row_ptr, t->row_ptr, ((size_t) t->rows + 1) * sizeof(uint32_t));
		if (t->nnz > 0)
			memcpy(dst->col_idx, t->col_idx, (size_t) t->nnz * sizeof(uint32_t));
	}
	if (dtype == MM_DTYPE_F16)
	{
		uint16_t   *h = dst->values;

		for (k = 0; k < t->nnz; k++)
		{
			double		v = mm_tensor_value(t, k, 0);

			if ((k & POLL_MASK) == 0 && mm_should_stop())
				return Canceled(err);
			h[k] = mm_float_to_half(v);
			if ((h[k] & 0x7C00) == 0x7C00)
			{
				mm_fail(err, MM_ERR_RANGE,
						"weight %g of tensor \"%s\" is outside the float16 range",
						v, t->name);
				mm_error_hint(err, "Quantize to int8, which scales each tensor or row.");
				return MM_ERR_RANGE;
			}
		}
		return MM_OK;
	}
	if (!per_row)
	{
		if (mm_should_stop())
			return Canceled(err);
		QuantizeGroup(t, 0, t->nnz, symmetric, dst, 0);
		return MM_OK;
	}
	if ((st = mm_tensor_set_scales(dst, t->rows, err)) != MM_OK)
		return st;
	for (r = 0; r < t->rows; r++)
	{
		uint64_t	k0;
		uint64_t	k1;

		if ((r & POLL_MASK) == 0 && mm_should_stop())
			return Canceled(err);
		RowRange(t, r, &k0, &k1);
		QuantizeGroup(t, k0, k1, symmetric, dst, r);
	}
	return MM_OK;
}

mm_status
mm_quantize(const mm_model *src, int dtype, int scheme, int granularity,
			mm_model **out, mm_error *err)
{
	mm_error	local;
	uint32_t   *widx = NULL;
	uint32_t	nw;
	uint32_t	w;
	mm_model   *m = NULL;
	mm_status	st;

	*out = NULL;
	if (err == NULL)
		err = &local;
	mm_error_clear(err);
	if (dtype != MM_DTYPE_I8 && dtype != MM_DTYPE_F16)
	{
		const char *name = mm_dtype_name(dtype);

		if (name)
			mm_fail(err, MM_ERR_INVALID, "cannot quantize to %s", name);
		else
			mm_fail(err, MM_ERR_INVALID, "unknown dtype %d", dtype);
		mm_error_hint(err, "Quantize to int8 or float16.");
		return MM_ERR_INVALID;
	}
	if (dtype == MM_DTYPE_F16)
	{
		if (scheme != MM_QUANT_DEFAULT || granularity != MM_QUANT_DEFAULT)
		{
			mm_fail(err, MM_ERR_INVALID,
					"float16 quantization takes no scheme or granularity");
			mm_error_hint(err, "Leave them unset, or quantize to int8.");
			return MM_ERR_INVALID;
		}
	}
	else
	{
		if (scheme == MM_QUANT_DEFAULT)
			scheme = MM_QUANT_SYMMETRIC;
		if (granularity == MM_QUANT_DEFAULT)
			granularity = MM_QUANT_PER_CHANNEL;
		if (scheme != MM_QUANT_SYMMETRIC && scheme != MM_QUANT_ASYMMETRIC)
			return mm_fail(err, MM_ERR_INVALID,
						   "unknown quantization scheme %d", scheme);
		if (granularity != MM_QUANT_PER_TENSOR &&
			granularity != MM_QUANT_PER_CHANNEL)
			return mm_fail(err, MM_ERR_INVALID,
						   "unknown quantization granularity %d", granularity);
	}
	if ((st = mm_model_validate(src, err)) != MM_OK)
		return st;
	if (src->n_groups > 0)
	{
		CompressOp	op = {false, 0, 0.0, dtype, scheme, granularity};

		return CompressGroups(src, &op, out, err);
	}
	if ((st = WeightTensors(src, &widx, &nw, err)) != MM_OK)
		return st;
	for (w = 0; w < nw; w++)
	{
		const mm_tensor *t = &src->tensors[widx[w]];

		if (t->dtype == MM_DTYPE_I8 || t->dtype == MM_DTYPE_F16)
		{
			mm_free(widx);
			mm_fail(err, MM_ERR_INVALID, "model is already quantized");
			mm_error_detail(err, "Tensor \"%s\" is %s.", t->name,
							mm_dtype_name(t->dtype));
			mm_error_hint(err, "Quantize the model it was quantized from.");
			return MM_ERR_INVALID;
		}
	}
	if ((st = mm_model_copy(src, &m, err)) != MM_OK)
	{
		mm_free(widx);
		return st;
	}
	for (w = 0; w < nw && st == MM_OK; w++)
	{
		mm_model   *scratch = mm_model_new(m->algorithm, m->task);

		if (scratch == NULL)
		{
			st = mm_fail(err, MM_ERR_NOMEM, "out of memory");
			break;
		}
		st = QuantizeTensor(&m->tensors[widx[w]], dtype,
							scheme == MM_QUANT_SYMMETRIC,
							granularity == MM_QUANT_PER_CHANNEL, scratch, err);
		if (st == MM_OK)
			SwapIn(m, widx[w], scratch);
		mm_model_free(scratch);
	}
	mm_free(widx);
	if (st != MM_OK)
	{
		mm_model_free(m);
		return st;
	}
	*out = m;
	return MM_OK;
}
