/*
 * mm_train_input.h
 *	  The relation, target and features a training reads (train_input.c).
 */
#ifndef MM_TRAIN_INPUT_H
#define MM_TRAIN_INPUT_H

#include "postgres.h"

#include "utils/array.h"

#define MM_MAX_TRAIN_FEATURES 4096

typedef struct mm_train_input
{
	Oid			relid;
	char	   *qualified;		/* quoted schema.relation */
	char	   *target;
	int			p;
	char	  **features;
	bool	   *categorical;	/* per feature: read as text, one-hot encoded */
	int			n_categorical;
	bool		class_target;	/* classification: target read as text */
	int			label_kind;		/* MM_LABEL_*: how class labels sort and
								 * what predict() returns */
	int			n_group;		/* group_by columns */
	char	  **group_cols;
	char	   *query;			/* SELECT target::float8 (or ::text),
								 * f1::float8 (or ::text), ...,
								 * g1::text, ... */
} mm_train_input;

/* Kinds of class labels (the target's type family). */
#define MM_LABEL_TEXT		0	/* text, varchar, enum...: sorted bytewise */
#define MM_LABEL_BOOLEAN	1	/* false < true; predict() gives 0 / 1 */
#define MM_LABEL_INTEGER	2	/* numeric order; predict() gives the label */

/*
 * Resolve the relation, target and features.  classification: the target
 * may be boolean, integer or text-like (read as its text spelling);
 * otherwise it must be a number.  Features named explicitly may be numbers
 * or text, boolean and enum columns (categorical); features => NULL takes
 * the numeric columns only.
 */
extern void mm_resolve_train_input(Oid relid, const char *target,
								   ArrayType *features, ArrayType *group_by,
								   const char *algorithm, bool classification,
								   mm_train_input *in);

/* text, varchar, char, boolean, enum (or a domain over one): categorical */
extern bool mm_is_category_type(Oid type);
extern Datum mm_train_features_datum(const mm_train_input *in);

extern char mm_check_readable_relation(Oid relid);

/*
 * Rows to fetch per SPI batch for rows of ncols float8 columns: at most
 * 10000, and small enough that a batch stays within a sixteenth of
 * modelmgr.max_training_memory (at least 100).  *batch_bytes is the memory
 * such a batch may take.
 */
extern long mm_fetch_rows(int ncols, Size *batch_bytes);

/*
 * Run a read-only query (with the caller's rights, under the statement's
 * snapshot) and hand each row's ncols values to row_fn, in batches sized by
 * mm_fetch_rows.  row_fn returns false to stop early.  The caller is
 * connected to SPI; row_fn runs in the memory context current at the call.
 */
typedef bool (*mm_row_fn) (void *arg, Datum *values, bool *nulls);
extern void mm_scan_rows(const char *query, int ncols, mm_row_fn row_fn, void *arg);

/* How mm_scan_columns reads a column: as col::float8 or as col::text. */
typedef enum mm_scan_as
{
	MM_SCAN_FLOAT8,
	MM_SCAN_TEXT
} mm_scan_as;

/*
 * The rows of SELECT c1::k1, c2::k2, ... FROM relid [LIMIT limit] (limit
 * <= 0: all rows), handed to row_fn exactly as mm_scan_rows would hand them
 * that query (the same values, snapshot, rights and errors).  When relid is
 * a plain table without inheritance children or row-level security for the
 * user, the user may SELECT the columns, and each cast is a binary
 * coercion, a one-argument strict cast function the user may execute, or
 * an I/O conversion to text, the rows are read straight from the heap,
 * without the executor and SPI's tuple copies (train()'s read phase takes
 * half the time); otherwise the query runs through mm_scan_rows.  The
 * caller is connected to SPI; row_fn runs in the memory context current at
 * the call.
 */
extern void mm_scan_columns(Oid relid, int ncols, char **columns,
							const mm_scan_as *as, int64 limit,
							mm_row_fn row_fn, void *arg);

/*
 * mm_scan_rows(in->query) [with LIMIT limit] through mm_scan_columns: the
 * target, the features and the group_by columns, 1 + p + n_group values a
 * row.
 */
extern void mm_scan_train_input(const mm_train_input *in, int64 limit,
								mm_row_fn row_fn, void *arg);

/*
 * The bytes of a text datum (as a row callback gets it); *copy is the
 * detoasted copy to pfree, or NULL when the datum was used in place.
 */
extern const char *mm_text_bytes(Datum d, int *len, text **copy);

/* smallint, integer, bigint, real, double precision, numeric, or a domain over one */
extern bool mm_is_number_type(Oid type);

#endif							/* MM_TRAIN_INPUT_H */
