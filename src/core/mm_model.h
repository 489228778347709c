/*
 * mm_model.h
 *	  The in-memory model and its binary format (doc/format.md).
 *
 * A model is: what algorithm and task it is, the target's name, a feature
 * schema (names, kinds, imputation, scaling, category vocabularies), class
 * labels, named numeric attributes that prediction needs, and named
 * parameter tensors (dense float64/float32/float16/int8, or sparse CSR).
 * mm_model_serialize writes it field by field, little-endian, with a
 * checksum; mm_model_parse trusts nothing and validates every length,
 * count, index, finiteness, the checksum, and the shapes that the model's
 * algorithm needs.
 */
#ifndef MM_MODEL_H
#define MM_MODEL_H

#include "mm_bytes.h"
#include "mm_core.h"

#define MM_FORMAT_MAGIC "MMDL"
#define MM_FORMAT_VERSION 1

/* Limits the parser enforces (a hostile artifact cannot ask for more). */
#define MM_MAX_NAME_LEN		1024	/* feature, tensor, attribute, class names */
#define MM_MAX_FEATURES		100000
#define MM_MAX_CATEGORIES	1000000
#define MM_MAX_CLASSES		100000
#define MM_MAX_TENSORS		4096
#define MM_MAX_ATTRS		4096
#define MM_MAX_ARTIFACT		((size_t) 1 << 30)	/* 1 GB */

typedef enum mm_algorithm
{
	MM_ALGO_LINEAR_REGRESSION = 1,
	MM_ALGO_LOGISTIC_REGRESSION = 2,
	MM_ALGO_SOFTMAX_REGRESSION = 3,
	MM_ALGO_LINEAR_SVM = 4,
	MM_ALGO_LASSO = 5,
	MM_ALGO_ELASTIC_NET = 6,
	MM_ALGO_MLP_CLASSIFIER = 7,
	MM_ALGO_MLP_REGRESSOR = 8
} mm_algorithm;

#define MM_ALGO_MAX 8

typedef enum mm_task
{
	MM_TASK_REGRESSION = 1,
	MM_TASK_BINARY = 2,
	MM_TASK_MULTICLASS = 3
} mm_task;

typedef enum mm_feature_kind
{
	MM_FEATURE_NUMERIC = 1,
	MM_FEATURE_CATEGORICAL = 2
} mm_feature_kind;

typedef enum mm_impute
{
	MM_IMPUTE_VALUE = 1,		/* replace NULL by impute_value (training
								 * mean by default) */
	MM_IMPUTE_ERROR = 2			/* a NULL is an error at predict time */
} mm_impute;

typedef enum mm_dtype
{
	MM_DTYPE_F64 = 1,
	MM_DTYPE_F32 = 2,
	MM_DTYPE_F16 = 3,			/* IEEE 754 binary16, stored as uint16 */
	MM_DTYPE_I8 = 4				/* value = scale * (q - zero_point) */
} mm_dtype;

typedef enum mm_layout
{
	MM_LAYOUT_DENSE = 1,		/* rows * cols values, row-major */
	MM_LAYOUT_SPARSE = 2		/* CSR: row_ptr[rows + 1], col_idx[nnz],
								 * values[nnz] */
} mm_layout;

typedef struct mm_feature
{
	char	   *name;
	uint8_t		kind;			/* mm_feature_kind */
	uint8_t		impute;			/* mm_impute */
	double		impute_value;	/* numeric: value used for a NULL */
	double		center;			/* input is (x - center) / scale before the */
	double		scale;			/* parameters apply; 0 / 1 means none */
	uint32_t	n_categories;	/* categorical: vocabulary, one-hot order */
	char	  **categories;
	uint8_t		drop_first;		/* categorical: first level is the reference
								 * (no column of its own) */
} mm_feature;

typedef struct mm_tensor
{
	char	   *name;
	uint8_t		dtype;			/* mm_dtype */
	uint8_t		layout;			/* mm_layout */
	uint32_t	rows;
	uint32_t	cols;
	uint64_t	nnz;			/* sparse: stored values; dense: rows*cols */
	void	   *values;			/* nnz elements of dtype (f16 as uint16_t) */
	uint32_t   *row_ptr;		/* sparse only */
	uint32_t   *col_idx;		/* sparse only */
	/* int8 only: 1 scale (per tensor) or `rows` scales (per output channel) */
	uint32_t	n_scales;
	double	   *scales;			/* finite, > 0 */
	int32_t    *zero_points;	/* in [-128, 127] */
} mm_tensor;

typedef struct mm_attr
{
	char	   *name;
	double		value;			/* finite */
} mm_attr;

struct mm_model;

/*
 * One group of a grouped model (train(..., group_by => ...)): the values of
 * the group columns, as text (NULL pointer = SQL NULL), and the sub-model
 * trained on that group's rows.
 */
typedef struct mm_group
{
	char	  **keys;			/* n_group_columns entries, NULL for NULL */
	struct mm_model *model;		/* owned; never grouped itself */
} mm_group;

typedef struct mm_model
{
	uint16_t	algorithm;		/* mm_algorithm */
	uint8_t		task;			/* mm_task */
	char	   *target;			/* target column name */
	uint32_t	n_features;
	mm_feature *features;
	uint32_t	n_classes;
	char	  **classes;		/* classification: labels as text */
	uint32_t	n_attrs;
	mm_attr    *attrs;
	uint32_t	n_tensors;
	mm_tensor  *tensors;
	/*
	 * Grouped models: the group columns and one sub-model per group.  The
	 * top level then holds the schema every group shares (algorithm, task,
	 * target, feature names and kinds in order, the union of the classes,
	 * of the categorical vocabularies) and no tensors; each sub-model is a
	 * complete model of the same algorithm, target and feature names.
	 */
	uint32_t	n_group_columns;
	char	  **group_columns;
	uint32_t	n_groups;
	mm_group   *groups;
} mm_model;

extern const char *mm_algorithm_name(int algorithm);	/* NULL if unknown */
extern int	mm_algorithm_from_name(const char *name);	/* 0 if unknown */
extern const char *mm_task_name(int task);	/* NULL if unknown */
extern const char *mm_dtype_name(int dtype);	/* NULL if unknown */

/* A new empty model (all counts 0); NULL on allocation failure. */
extern mm_model *mm_model_new(int algorithm, int task);
extern void mm_model_free(mm_model *model);

/*
 * Builders.  Strings are copied.  add_feature returns the new feature (kind
 * numeric, impute value 0, center 0, scale 1) or NULL on allocation failure.
 * add_tensor allocates a zeroed dense tensor of the given dtype.
 */
extern mm_status mm_model_set_target(mm_model *model, const char *target,
									 mm_error *err);
extern mm_feature *mm_model_add_feature(mm_model *model, const char *name,
										mm_error *err);
extern mm_status mm_model_add_class(mm_model *model, const char *label,
									mm_error *err);
extern mm_status mm_model_set_attr(mm_model *model, const char *name,
								   double value, mm_error *err);
extern mm_tensor *mm_model_add_tensor(mm_model *model, const char *name,
									  int dtype, uint32_t rows, uint32_t cols,
									  mm_error *err);

/*
 * More builders, for training, pruning and quantization.
 *
 * feature_add_category appends a label to a categorical feature's
 * vocabulary (one-hot order).  add_sparse_tensor allocates a CSR tensor
 * with room for nnz values: row_ptr zeroed (the caller fills row_ptr,
 * col_idx and values).  tensor_set_scales (int8 tensors only) replaces the
 * scales by n_scales entries (1 = per tensor, rows = per row), each scale
 * 1 and zero point 0; add_tensor and add_sparse_tensor give an int8 tensor
 * one such scale.
 *
 * The arrays of a model (features, categories, classes, attributes,
 * tensors) have power-of-two capacity, which is how the builders grow them
 * without a capacity field: allocate them only through the builders, the
 * parser, or mm_model_alloc_array (zeroed, room for the next power of two
 * >= n elements, at least one; NULL on overflow or allocation failure).
 * A pointer returned by add_feature or add_tensor stays valid until the
 * next call that adds to the same array.
 */
extern mm_status mm_feature_add_category(mm_feature *feature,
										 const char *label, mm_error *err);
extern mm_tensor *mm_model_add_sparse_tensor(mm_model *model,
											 const char *name, int dtype,
											 uint32_t rows, uint32_t cols,
											 uint64_t nnz, mm_error *err);
extern mm_status mm_tensor_set_scales(mm_tensor *t, uint32_t n_scales,
									  mm_error *err);
extern void *mm_model_alloc_array(uint32_t n, size_t elem_size);

/*
 * Grouped models.  set_group_columns (once, before any group) copies the
 * names.  add_group copies the keys (n_group_columns of them, NULL entries
 * for SQL NULL) and takes ownership of sub (also on failure, when it frees
 * it); groups must be added in strictly increasing key order (compared
 * key by key, left to right; NULL before any text, texts bytewise with a
 * shorter prefix first), else MM_ERR_INVALID, and the parser enforces the
 * same order.  find_group returns the index of the group whose keys equal
 * keys[i][0 .. lens[i]) (keys[i] NULL matches only NULL), or -1, by binary
 * search: O(log n_groups).  Limits: MM_MAX_GROUP_COLUMNS columns, MM_MAX_GROUPS
 * groups.
 */
#define MM_MAX_GROUP_COLUMNS 32
#define MM_MAX_GROUPS 100000
extern mm_status mm_model_set_group_columns(mm_model *model, uint32_t n,
											const char *const *names,
											mm_error *err);
extern mm_status mm_model_add_group(mm_model *model, const char *const *keys,
									mm_model *sub, mm_error *err);
extern int32_t mm_model_find_group(const mm_model *model,
								   const char *const *keys,
								   const size_t *lens);

/* Bytes of one stored element of a dtype; 0 if unknown. */
extern size_t mm_dtype_size(int dtype);

/*
 * IEEE 754 binary16 conversions, in software so that every machine agrees.
 * to_half rounds to nearest, ties to even, overflows to infinity, keeps
 * the sign of zero, and maps NaN to a quiet NaN; to_float is exact
 * (subnormals included).
 */
extern uint16_t mm_float_to_half(double v);
extern double mm_half_to_float(uint16_t h);

/* Lookups; NULL / the default when absent. */
extern const mm_tensor *mm_model_tensor(const mm_model *model,
										const char *name);
extern double mm_model_attr(const mm_model *model, const char *name,
							double dflt);

/*
 * Element (r, c) of any valid tensor, dequantized to double (0 where a
 * sparse tensor stores nothing; NaN when (r, c) is out of range).
 */
extern double mm_tensor_get(const mm_tensor *t, uint32_t r, uint32_t c);

/*
 * Stored value number k of a tensor's values array (dense: row-major
 * index; sparse: position in values), dequantized with the scale of row r
 * (int8); NaN for an unknown dtype.
 */
extern double mm_tensor_value(const mm_tensor *t, uint64_t k, uint32_t r);

/*
 * Count of parameters (rows * cols of every tensor, sparse or not) and of
 * non-zero parameters (stored values that dequantize to a non-zero value)
 * over all tensors.
 */
extern uint64_t mm_model_param_count(const mm_model *model);
extern uint64_t mm_model_nonzero_count(const mm_model *model);

/*
 * Width of the numeric input vector after one-hot encoding of categorical
 * features (numeric features take one slot each).
 */
extern uint32_t mm_model_input_width(const mm_model *model);

/*
 * Validate the model, then append the binary format (doc/format.md) to out
 * at out->len (the caller may reserve a header of its own in front).  On
 * failure out->len is restored, except after an allocation failure, when
 * out->failed is set.  MM_ERR_LIMIT when the artifact would exceed
 * MM_MAX_ARTIFACT.
 */
extern mm_status mm_model_serialize(const mm_model *model, mm_buf *out,
									mm_error *err);

/*
 * Parse and fully validate an artifact.  On success *out is a new model the
 * caller frees with mm_model_free; on failure *out is NULL and err says what
 * is wrong (MM_ERR_CORRUPT for malformed bytes, MM_ERR_UNSUPPORTED for a
 * newer format version).
 */
extern mm_status mm_model_parse(const void *data, size_t len, mm_model **out,
								mm_error *err);

/*
 * Check the semantic invariants of a model (the parser calls this; builders
 * call it before serializing): known algorithm and task, the tensors its
 * algorithm needs with the right shapes, classes for classification tasks.
 */
extern mm_status mm_model_validate(const mm_model *model, mm_error *err);

#endif							/* MM_MODEL_H */
