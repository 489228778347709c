/*
 * mm_validate.c
 *	  Semantic validation of a model: mm_model_validate.
 *
 * One set of rules serves both directions.  mm_model_serialize validates
 * before it writes, so nothing it writes is rejected on the way back in;
 * mm_model_parse checks only what it needs to read safely (lengths, counts
 * against the bytes left, reserved fields, limits) and then calls this for
 * everything else, turning MM_ERR_INVALID into MM_ERR_CORRUPT.  Because the
 * rules are the same and the writer is deterministic, every valid artifact
 * is the exact serialization of the model it parses to (doc/format.md,
 * "canonical form").
 *
 * Messages name things by name once the name itself is known to be good
 * text, shortened to keep messages readable, and by 1-based position
 * otherwise.
 *
 * A grouped model is validated as a top level (schema, no tensors) and then
 * group by group: keys, order, each sub-model in full (its messages get a
 * "group #N: " prefix), and how the sub-model fits the top level.
 */
#include "mm_model.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define XSTR(x) #x
#define STR(x) XSTR(x)

/* Bytes of a name quoted in a message before it is cut. */
#define SHORT_NAME_LEN 60

typedef struct ShortName
{
	char		s[SHORT_NAME_LEN + 4];
} ShortName;

/*
 * A printable, shortened copy of a name (valid UTF-8): cut at a character
 * boundary and marked with "...".
 */
static const char *
Short(const char *name, ShortName *buf)
{
	size_t		len = strlen(name);

	if (len <= SHORT_NAME_LEN)
		return name;
	len = SHORT_NAME_LEN;
	while (len > 0 && ((uint8_t) name[len] & 0xC0) == 0x80)
		len--;
	memcpy(buf->s, name, len);
	memcpy(buf->s + len, "...", 4);
	return buf->s;
}

/* NULL if s is acceptable text for a name, else what is wrong with it. */
static const char *
CheckText(const char *s, bool allow_empty)
{
	size_t		len;

	if (s == NULL)
		return "is missing";
	len = strlen(s);
	if (len == 0 && !allow_empty)
		return "is empty";
	if (len > MM_MAX_NAME_LEN)
		return "is longer than " STR(MM_MAX_NAME_LEN) " bytes";
	if (!mm_utf8_valid(s, len))
		return "is not valid UTF-8";
	return NULL;
}

static int
CompareNames(const void *a, const void *b)
{
	const char *x = *(const char *const *) a;
	const char *y = *(const char *const *) b;

	return strcmp(x, y);
}

/* The char * at offset `offset` of element i of an array of structs. */
static const char *
NameAt(const void *base, size_t stride, size_t offset, uint32_t i)
{
	const char *name;

	memcpy(&name, (const char *) base + (size_t) i * stride + offset,
		   sizeof(name));
	return name;
}

/*
 * Look for two equal names among n (all non-NULL): a quadratic scan for a
 * few, a sorted copy of the pointers otherwise.  *dup is one of the
 * duplicates or NULL.  Returns false on allocation failure.
 */
static bool
FindDuplicate(const void *base, uint32_t n, size_t stride, size_t offset,
			  const char **dup)
{
	const char **sorted;
	uint32_t	i;
	uint32_t	j;

	*dup = NULL;
	if (n <= 16)
	{
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				if (strcmp(NameAt(base, stride, offset, i),
						   NameAt(base, stride, offset, j)) == 0)
				{
					*dup = NameAt(base, stride, offset, i);
					return true;
				}
		return true;
	}
	sorted = mm_alloc((size_t) n * sizeof(char *));
	if (sorted == NULL)
		return false;
	for (i = 0; i < n; i++)
		sorted[i] = NameAt(base, stride, offset, i);
	qsort(sorted, n, sizeof(char *), CompareNames);
	for (i = 1; i < n; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
		{
			*dup = sorted[i];
			break;
		}
	mm_free(sorted);
	return true;
}

/* Report a duplicate among n names, or allocation failure. */
static mm_status
CheckUnique(const void *base, uint32_t n, size_t stride, size_t offset,
			const char *what, mm_status bad, mm_error *err)
{
	const char *dup;
	ShortName	sn;

	if (!FindDuplicate(base, n, stride, offset, &dup))
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	if (dup)
		return mm_fail(err, bad, "duplicate %s \"%s\"", what, Short(dup, &sn));
	return MM_OK;
}

static mm_status
ValidateFeature(const mm_feature *f, uint32_t i, mm_status bad,
				mm_error *err)
{
	const char *problem = CheckText(f->name, false);
	const char *name;
	ShortName	sn;
	uint32_t	j;

	if (problem)
		return mm_fail(err, bad, "name of feature #%u %s", i + 1, problem);
	name = Short(f->name, &sn);
	if (f->kind != MM_FEATURE_NUMERIC && f->kind != MM_FEATURE_CATEGORICAL)
		return mm_fail(err, bad, "feature \"%s\" has unknown kind %u",
					   name, f->kind);
	if (f->impute != MM_IMPUTE_VALUE && f->impute != MM_IMPUTE_ERROR)
		return mm_fail(err, bad, "feature \"%s\" has unknown imputation %u",
					   name, f->impute);
	if (f->drop_first > 1)
		return mm_fail(err, bad, "feature \"%s\" has drop_first %u, not 0 or 1",
					   name, f->drop_first);
	if (!isfinite(f->impute_value) || !isfinite(f->center))
		return mm_fail(err, bad,
					   "feature \"%s\" has a non-finite imputation value or center",
					   name);
	if (!isfinite(f->scale) || f->scale == 0.0)
		return mm_fail(err, bad,
					   "feature \"%s\" has scale %g, which must be finite and non-zero",
					   name, f->scale);
	if (f->kind == MM_FEATURE_NUMERIC)
	{
		if (f->n_categories != 0 || f->drop_first != 0)
			return mm_fail(err, bad,
						   "numeric feature \"%s\" cannot have categories",
						   name);
		return MM_OK;
	}
	if (f->n_categories == 0 || f->categories == NULL)
		return mm_fail(err, bad,
					   "categorical feature \"%s\" has no categories", name);
	if (f->n_categories > MM_MAX_CATEGORIES)
		return mm_fail(err, bad,
					   "feature \"%s\" has %u categories, more than the limit of %u",
					   name, f->n_categories, (unsigned) MM_MAX_CATEGORIES);
	/* a category index, or -1 for "no category" (all slots 0) */
	if (f->impute_value < -1.0 || f->impute_value >= (double) f->n_categories ||
		f->impute_value != floor(f->impute_value))
		return mm_fail(err, bad,
					   "categorical feature \"%s\" has imputation value %g, which must be a category index from -1 to %u",
					   name, f->impute_value, f->n_categories - 1);
	if (f->center != 0.0 || f->scale != 1.0)
		return mm_fail(err, bad,
					   "categorical feature \"%s\" must have center 0 and scale 1",
					   name);
	for (j = 0; j < f->n_categories; j++)
	{
		problem = CheckText(f->categories[j], true);
		if (problem)
			return mm_fail(err, bad, "category #%u of feature \"%s\" %s",
						   j + 1, name, problem);
	}
	return CheckUnique(f->categories, f->n_categories, sizeof(char *), 0,
					   "category", bad, err);
}

/* Finiteness of the stored values of a tensor with a known dtype. */
static bool
ValuesFinite(const mm_tensor *t, uint64_t *where)
{
	uint64_t	k;

	for (k = 0; k < t->nnz; k++)
	{
		bool		ok = true;

		if (t->dtype == MM_DTYPE_F64)
			ok = isfinite(((const double *) t->values)[k]);
		else if (t->dtype == MM_DTYPE_F32)
			ok = isfinite(((const float *) t->values)[k]);
		else if (t->dtype == MM_DTYPE_F16)
			ok = (((const uint16_t *) t->values)[k] & 0x7C00) != 0x7C00;
		if (!ok)
		{
			*where = k;
			return false;
		}
	}
	return true;
}

static mm_status
ValidateSparse(const mm_tensor *t, const char *name, mm_status bad,
			   mm_error *err)
{
	uint32_t	r;

	if (t->row_ptr == NULL || (t->nnz > 0 && t->col_idx == NULL))
		return mm_fail(err, bad, "sparse tensor \"%s\" has no index arrays",
					   name);
	if (t->row_ptr[0] != 0 || t->row_ptr[t->rows] != t->nnz)
		return mm_fail(err, bad,
					   "sparse tensor \"%s\" row pointers must run from 0 to its %llu values",
					   name, (unsigned long long) t->nnz);
	/* all row pointers first: then every row's range lies inside col_idx */
	for (r = 0; r < t->rows; r++)
		if (t->row_ptr[r] > t->row_ptr[r + 1])
			return mm_fail(err, bad,
						   "sparse tensor \"%s\" row pointers decrease at row %u",
						   name, r + 1);
	for (r = 0; r < t->rows; r++)
	{
		uint32_t	k;

		for (k = t->row_ptr[r]; k < t->row_ptr[r + 1]; k++)
		{
			if (t->col_idx[k] >= t->cols)
				return mm_fail(err, bad,
							   "sparse tensor \"%s\" has column index %u out of range in row %u",
							   name, t->col_idx[k], r + 1);
			if (k > t->row_ptr[r] && t->col_idx[k] <= t->col_idx[k - 1])
				return mm_fail(err, bad,
							   "sparse tensor \"%s\" column indexes are not strictly increasing in row %u",
							   name, r + 1);
		}
	}
	return MM_OK;
}

static mm_status
ValidateScales(const mm_tensor *t, const char *name, mm_status bad,
			   mm_error *err)
{
	uint32_t	s;

	if (t->dtype != MM_DTYPE_I8)
	{
		if (t->n_scales != 0)
			return mm_fail(err, bad,
						   "tensor \"%s\" has scales but is not int8", name);
		return MM_OK;
	}
	if ((t->n_scales != 1 && t->n_scales != t->rows) ||
		t->scales == NULL || t->zero_points == NULL)
		return mm_fail(err, bad,
					   "int8 tensor \"%s\" needs 1 scale or one per row (%u), not %u",
					   name, t->rows, t->n_scales);
	for (s = 0; s < t->n_scales; s++)
	{
		if (!isfinite(t->scales[s]) || !(t->scales[s] > 0.0))
			return mm_fail(err, bad,
						   "int8 tensor \"%s\" has scale #%u that is not finite and positive",
						   name, s + 1);
		if (t->zero_points[s] < -128 || t->zero_points[s] > 127)
			return mm_fail(err, bad,
						   "int8 tensor \"%s\" has zero point %d out of range -128..127",
						   name, (int) t->zero_points[s]);
	}
	return MM_OK;
}

static mm_status
ValidateTensor(const mm_tensor *t, uint32_t i, mm_status bad, mm_error *err)
{
	const char *problem = CheckText(t->name, false);
	const char *name;
	ShortName	sn;
	uint64_t	where;
	mm_status	st;

	if (problem)
		return mm_fail(err, bad, "name of tensor #%u %s", i + 1, problem);
	name = Short(t->name, &sn);
	if (mm_dtype_size(t->dtype) == 0)
		return mm_fail(err, bad, "tensor \"%s\" has unknown dtype %u",
					   name, t->dtype);
	if (t->layout != MM_LAYOUT_DENSE && t->layout != MM_LAYOUT_SPARSE)
		return mm_fail(err, bad, "tensor \"%s\" has unknown layout %u",
					   name, t->layout);
	if (t->rows == 0 || t->cols == 0)
		return mm_fail(err, bad, "tensor \"%s\" has an empty dimension (%u x %u)",
					   name, t->rows, t->cols);
	if (t->nnz > 0 && t->values == NULL)
		return mm_fail(err, bad, "tensor \"%s\" has no values", name);
	if (t->layout == MM_LAYOUT_DENSE)
	{
		if (t->nnz != (uint64_t) t->rows * t->cols)
			return mm_fail(err, bad,
						   "dense tensor \"%s\" is %u x %u but holds %llu values",
						   name, t->rows, t->cols, (unsigned long long) t->nnz);
	}
	else if ((st = ValidateSparse(t, name, bad, err)) != MM_OK)
		return st;
	if (!ValuesFinite(t, &where))
		return mm_fail(err, bad, "tensor \"%s\" has a non-finite value at index %llu",
					   name, (unsigned long long) where);
	return ValidateScales(t, name, bad, err);
}

/* A dense-or-sparse tensor of exactly rows x cols, or an error. */
static mm_status
RequireTensor(const mm_model *model, const char *tname, uint32_t rows,
			  uint32_t cols, mm_status bad, mm_error *err)
{
	const char *algo = mm_algorithm_name(model->algorithm);
	const mm_tensor *t = mm_model_tensor(model, tname);

	if (t == NULL)
		return mm_fail(err, bad, "%s model has no tensor \"%s\"", algo, tname);
	if (t->rows != rows || t->cols != cols)
		return mm_fail(err, bad,
					   "tensor \"%s\" of a %s model must be %u x %u, not %u x %u",
					   tname, algo, rows, cols, t->rows, t->cols);
	return MM_OK;
}

/* Attribute fit_intercept, when present, is 0 or 1. */
static mm_status
CheckFitIntercept(const mm_model *model, mm_status bad, mm_error *err)
{
	double		fit_intercept = mm_model_attr(model, "fit_intercept", 1.0);

	if (fit_intercept != 0.0 && fit_intercept != 1.0)
		return mm_fail(err, bad, "attribute \"fit_intercept\" must be 0 or 1");
	return MM_OK;
}

/*
 * A linear model of `outputs` rows: tensors coef outputs x input width and
 * intercept 1 x outputs, and attribute fit_intercept.
 */
static mm_status
RequireLinear(const mm_model *model, uint32_t outputs, mm_status bad,
			  mm_error *err)
{
	mm_status	st;

	st = RequireTensor(model, "coef", outputs, mm_model_input_width(model),
					   bad, err);
	if (st != MM_OK)
		return st;
	st = RequireTensor(model, "intercept", 1, outputs, bad, err);
	if (st != MM_OK)
		return st;
	return CheckFitIntercept(model, bad, err);
}

/*
 * What each algorithm needs (doc/format.md, "Tensor conventions per
 * algorithm").  ValidateModel has already checked the task against the
 * algorithm's kind and the class count against the task, so K =
 * n_classes >= 2 for every classifier here.  MLPs only need at least one
 * tensor for now: the MLP issue extends this with its own conventions.
 */
static mm_status
ValidateAlgorithm(const mm_model *model, mm_status bad, mm_error *err)
{
	const char *algo = mm_algorithm_name(model->algorithm);
	uint32_t	k = model->n_classes;

	switch (model->algorithm)
	{
		case MM_ALGO_LINEAR_REGRESSION:
		case MM_ALGO_LASSO:
		case MM_ALGO_ELASTIC_NET:
			return RequireLinear(model, 1, bad, err);
		case MM_ALGO_LOGISTIC_REGRESSION:
			if (model->task != MM_TASK_BINARY)
				return mm_fail(err, bad, "%s model cannot have task %s",
							   algo, mm_task_name(model->task));
			return RequireLinear(model, 1, bad, err);
		case MM_ALGO_SOFTMAX_REGRESSION:
			return RequireLinear(model, k, bad, err);
		case MM_ALGO_LINEAR_SVM:
			/* one model for two classes, else one-vs-rest */
			return RequireLinear(model, k == 2 ? 1 : k, bad, err);
		default:
			if (model->n_tensors == 0)
				return mm_fail(err, bad, "%s model has no tensors", algo);
			return MM_OK;
	}
}

/* Regressors have task regression, classifiers binary or multiclass. */
static bool
IsRegressor(int algorithm)
{
	switch (algorithm)
	{
		case MM_ALGO_LINEAR_REGRESSION:
		case MM_ALGO_LASSO:
		case MM_ALGO_ELASTIC_NET:
		case MM_ALGO_MLP_REGRESSOR:
			return true;
	}
	return false;
}

static mm_status ValidateModel(const mm_model *model, mm_status bad,
							   mm_error *err);

/*
 * Order of two group keys (NULL pointer = SQL NULL): NULL before any text,
 * texts bytewise with a shorter prefix first.  The same order as
 * mm_model_add_group's (mm_model.c).
 */
static int
CompareKey(const char *a, const char *b)
{
	size_t		alen;
	size_t		blen;
	int			c;

	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	alen = strlen(a);
	blen = strlen(b);
	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c < 0 ? -1 : 1;
	return (alen > blen) - (alen < blen);
}

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

	if (err == NULL || st == MM_ERR_NOMEM)
		return st;
	memcpy(message, err->message, MM_MSG_LEN);
	memcpy(detail, err->detail, MM_MSG_LEN);
	memcpy(hint, err->hint, MM_MSG_LEN);
	mm_fail(err, st, "group #%u: %s", g + 1, message);
	memcpy(err->detail, detail, MM_MSG_LEN);
	memcpy(err->hint, hint, MM_MSG_LEN);
	return st;
}

/*
 * Sub-model g against the top level: same algorithm, task, target, feature
 * names and kinds in order; its classes among the top level's (sorted, a
 * copy of the pointers).  Sub-model and top level are valid models here.
 */
static mm_status
CheckGroupFits(const mm_model *top, const mm_model *sub, uint32_t g,
			   const char **sorted_classes, mm_status bad, mm_error *err)
{
	const char *top_target = top->target ? top->target : "";
	const char *sub_target = sub->target ? sub->target : "";
	ShortName	sn1;
	ShortName	sn2;
	uint32_t	i;

	if (sub->algorithm != top->algorithm)
		return mm_fail(err, bad, "group #%u has algorithm %s, not %s", g + 1,
					   mm_algorithm_name(sub->algorithm),
					   mm_algorithm_name(top->algorithm));
	/* classifiers' groups may have fewer classes (binary under multiclass) */
	if ((sub->task == MM_TASK_REGRESSION) != (top->task == MM_TASK_REGRESSION))
		return mm_fail(err, bad, "group #%u has task %s, not %s", g + 1,
					   mm_task_name(sub->task), mm_task_name(top->task));
	if (strcmp(sub_target, top_target) != 0)
		return mm_fail(err, bad, "group #%u has target \"%s\", not \"%s\"",
					   g + 1, Short(sub_target, &sn1), Short(top_target, &sn2));
	if (sub->n_features != top->n_features)
		return mm_fail(err, bad, "group #%u has %u features, not %u", g + 1,
					   sub->n_features, top->n_features);
	for (i = 0; i < top->n_features; i++)
	{
		const mm_feature *tf = &top->features[i];
		const mm_feature *sf = &sub->features[i];

		if (strcmp(sf->name, tf->name) != 0)
			return mm_fail(err, bad,
						   "feature #%u of group #%u is \"%s\", not \"%s\"",
						   i + 1, g + 1, Short(sf->name, &sn1),
						   Short(tf->name, &sn2));
		if (sf->kind != tf->kind)
			return mm_fail(err, bad,
						   "feature \"%s\" of group #%u is %s, not %s",
						   Short(tf->name, &sn1), g + 1,
						   sf->kind == MM_FEATURE_NUMERIC ? "numeric" : "categorical",
						   tf->kind == MM_FEATURE_NUMERIC ? "numeric" : "categorical");
	}
	for (i = 0; i < sub->n_classes; i++)
	{
		const char *label = sub->classes[i];

		if (sorted_classes == NULL ||
			bsearch(&label, sorted_classes, top->n_classes, sizeof(char *),
					CompareNames) == NULL)
			return mm_fail(err, bad,
						   "class \"%s\" of group #%u is not a class of the model",
						   Short(label, &sn1), g + 1);
	}
	return MM_OK;
}

/*
 * A grouped model (doc/format.md, "Grouped models"): group columns, keys
 * in strictly increasing order, no tensors at the top level, and valid
 * sub-models that fit it.  The top level is otherwise valid already.
 */
static mm_status
ValidateGroups(const mm_model *model, mm_status bad, mm_error *err)
{
	uint32_t	n_cols = model->n_group_columns;
	const char **sorted = NULL;
	const char *problem;
	ShortName	sn;
	uint32_t	i;
	uint32_t	g;
	mm_status	st;

	if (n_cols == 0)
		return mm_fail(err, bad, "model has groups but no group columns");
	if (model->n_groups == 0)
		return mm_fail(err, bad, "grouped model has no groups");
	if (n_cols > MM_MAX_GROUP_COLUMNS || model->group_columns == NULL)
		return mm_fail(err, bad,
					   "model has %u group columns, more than the limit of %u",
					   n_cols, (unsigned) MM_MAX_GROUP_COLUMNS);
	if (model->n_groups > MM_MAX_GROUPS || model->groups == NULL)
		return mm_fail(err, bad, "model has %u groups, more than the limit of %u",
					   model->n_groups, (unsigned) MM_MAX_GROUPS);
	if (model->n_tensors != 0)
		return mm_fail(err, bad,
					   "grouped model cannot have tensors at its top level");
	for (i = 0; i < n_cols; i++)
	{
		const char *col = model->group_columns[i];

		if ((problem = CheckText(col, false)) != NULL)
			return mm_fail(err, bad, "name of group column #%u %s", i + 1,
						   problem);
		if (model->target && strcmp(col, model->target) == 0)
			return mm_fail(err, bad, "group column \"%s\" is the target",
						   Short(col, &sn));
		for (g = 0; g < model->n_features; g++)
			if (strcmp(col, model->features[g].name) == 0)
				return mm_fail(err, bad, "group column \"%s\" is also a feature",
							   Short(col, &sn));
	}
	st = CheckUnique(model->group_columns, n_cols, sizeof(char *), 0,
					 "group column", bad, err);
	if (st != MM_OK)
		return st;

	if (model->n_classes > 0)
	{
		sorted = mm_alloc((size_t) model->n_classes * sizeof(char *));
		if (sorted == NULL)
			return mm_fail(err, MM_ERR_NOMEM, "out of memory");
		memcpy(sorted, model->classes, (size_t) model->n_classes * sizeof(char *));
		qsort(sorted, model->n_classes, sizeof(char *), CompareNames);
	}
	for (g = 0; g < model->n_groups && st == MM_OK; g++)
	{
		const mm_group *grp = &model->groups[g];
		const mm_model *sub = grp->model;

		if (grp->keys == NULL)
		{
			st = mm_fail(err, bad, "group #%u has no keys", g + 1);
			break;
		}
		for (i = 0; i < n_cols; i++)
			if (grp->keys[i] != NULL &&
				(problem = CheckText(grp->keys[i], true)) != NULL)
			{
				st = mm_fail(err, bad, "key #%u of group #%u %s", i + 1, g + 1,
							 problem);
				break;
			}
		if (st != MM_OK)
			break;
		if (g > 0)
		{
			const mm_group *prev = &model->groups[g - 1];
			int			c = 0;

			for (i = 0; i < n_cols && c == 0; i++)
				c = CompareKey(prev->keys[i], grp->keys[i]);
			if (c >= 0)
			{
				st = mm_fail(err, bad,
							 "group #%u does not come after group #%u in key order",
							 g + 1, g);
				break;
			}
		}
		if (sub == NULL)
			st = mm_fail(err, bad, "group #%u has no model", g + 1);
		else if (sub->n_group_columns != 0 || sub->n_groups != 0)
			st = mm_fail(err, bad, "the model of group #%u is grouped itself",
						 g + 1);
		else if ((st = ValidateModel(sub, bad, err)) != MM_OK)
			st = InGroup(err, g, st);
		else
			st = CheckGroupFits(model, sub, g, sorted, bad, err);
	}
	mm_free(sorted);
	return st;
}

static mm_status
ValidateModel(const mm_model *model, mm_status bad, mm_error *err)
{
	const char *problem;
	uint32_t	i;
	mm_status	st;

	if (mm_algorithm_name(model->algorithm) == NULL)
		return mm_fail(err, bad, "unknown algorithm %u", model->algorithm);
	if (mm_task_name(model->task) == NULL)
		return mm_fail(err, bad, "unknown task %u", model->task);
	if (IsRegressor(model->algorithm) != (model->task == MM_TASK_REGRESSION))
		return mm_fail(err, bad, "%s model cannot have task %s",
					   mm_algorithm_name(model->algorithm),
					   mm_task_name(model->task));
	if (model->target && (problem = CheckText(model->target, true)) != NULL)
		return mm_fail(err, bad, "target name %s", problem);

	if (model->n_features == 0 || model->features == NULL)
		return mm_fail(err, bad, "model has no features");
	if (model->n_features > MM_MAX_FEATURES)
		return mm_fail(err, bad, "model has %u features, more than the limit of %u",
					   model->n_features, (unsigned) MM_MAX_FEATURES);
	for (i = 0; i < model->n_features; i++)
		if ((st = ValidateFeature(&model->features[i], i, bad, err)) != MM_OK)
			return st;
	st = CheckUnique(model->features, model->n_features, sizeof(mm_feature),
					 offsetof(mm_feature, name), "feature name", bad, err);
	if (st != MM_OK)
		return st;

	if (model->n_classes > MM_MAX_CLASSES ||
		(model->n_classes > 0 && model->classes == NULL))
		return mm_fail(err, bad, "model has %u classes, more than the limit of %u",
					   model->n_classes, (unsigned) MM_MAX_CLASSES);
	for (i = 0; i < model->n_classes; i++)
		if ((problem = CheckText(model->classes[i], true)) != NULL)
			return mm_fail(err, bad, "class label #%u %s", i + 1, problem);
	st = CheckUnique(model->classes, model->n_classes, sizeof(char *), 0,
					 "class label", bad, err);
	if (st != MM_OK)
		return st;
	if (model->task == MM_TASK_REGRESSION && model->n_classes != 0)
		return mm_fail(err, bad, "regression model cannot have classes");
	if (model->task == MM_TASK_BINARY && model->n_classes != 2)
		return mm_fail(err, bad, "binary model needs 2 classes, not %u",
					   model->n_classes);
	if (model->task == MM_TASK_MULTICLASS && model->n_classes < 2)
		return mm_fail(err, bad, "multiclass model needs at least 2 classes, not %u",
					   model->n_classes);

	if (model->n_attrs > MM_MAX_ATTRS ||
		(model->n_attrs > 0 && model->attrs == NULL))
		return mm_fail(err, bad, "model has %u attributes, more than the limit of %u",
					   model->n_attrs, (unsigned) MM_MAX_ATTRS);
	for (i = 0; i < model->n_attrs; i++)
	{
		ShortName	sn;

		if ((problem = CheckText(model->attrs[i].name, false)) != NULL)
			return mm_fail(err, bad, "name of attribute #%u %s", i + 1, problem);
		if (!isfinite(model->attrs[i].value))
			return mm_fail(err, bad, "attribute \"%s\" is not finite",
						   Short(model->attrs[i].name, &sn));
	}
	st = CheckUnique(model->attrs, model->n_attrs, sizeof(mm_attr),
					 offsetof(mm_attr, name), "attribute name", bad, err);
	if (st != MM_OK)
		return st;

	if (model->n_tensors > MM_MAX_TENSORS ||
		(model->n_tensors > 0 && model->tensors == NULL))
		return mm_fail(err, bad, "model has %u tensors, more than the limit of %u",
					   model->n_tensors, (unsigned) MM_MAX_TENSORS);
	for (i = 0; i < model->n_tensors; i++)
		if ((st = ValidateTensor(&model->tensors[i], i, bad, err)) != MM_OK)
			return st;
	st = CheckUnique(model->tensors, model->n_tensors, sizeof(mm_tensor),
					 offsetof(mm_tensor, name), "tensor name", bad, err);
	if (st != MM_OK)
		return st;

	if (model->n_group_columns > 0 || model->n_groups > 0)
		return ValidateGroups(model, bad, err);
	return ValidateAlgorithm(model, bad, err);
}

mm_status
mm_model_validate(const mm_model *model, mm_error *err)
{
	mm_error_clear(err);
	return ValidateModel(model, MM_ERR_INVALID, err);
}
