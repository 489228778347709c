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
	char	   *query;			/* SELECT target::float8, f1::float8, ... */
} mm_train_input;

extern void mm_resolve_train_input(Oid relid, const char *target,
								   ArrayType *features, ArrayType *group_by,
								   const char *algorithm, mm_train_input *in);
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

/* smallint, integer, bigint, real, double precision, numeric, or a domain over one */
extern bool mm_is_number_type(Oid type);

#endif							/* MM_TRAIN_INPUT_H */
