/*
 * mm_train.h
 *	  The algorithm catalog (algorithms.c) and what train.c needs from it.
 */
#ifndef MM_TRAIN_H
#define MM_TRAIN_H

#include "postgres.h"

#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "mm_pg.h"

typedef enum mm_param_type
{
	MM_PARAM_NUMBER,
	MM_PARAM_INTEGER,
	MM_PARAM_BOOLEAN,
	MM_PARAM_STRING
} mm_param_type;

typedef struct mm_param_spec
{
	const char *name;
	mm_param_type type;
	const char *dflt;			/* JSON text of the default */
	double		min;			/* numbers: valid range */
	double		max;
	const char *values;			/* strings: comma-separated allowed values */
	const char *description;
} mm_param_spec;

typedef struct mm_algorithm_spec
{
	const char *name;
	const char *task;
	const mm_param_spec *params;
	int			nparams;
	const char *description;
} mm_algorithm_spec;

#define MM_MAX_PARAMS 32

typedef struct mm_param_values
{
	const mm_algorithm_spec *spec;
	double		number[MM_MAX_PARAMS];
	bool		boolean[MM_MAX_PARAMS];
	char	   *string[MM_MAX_PARAMS];
} mm_param_values;

/* The algorithm called name; an error listing the known ones if none. */
extern const mm_algorithm_spec *mm_find_algorithm(const char *name);
extern void mm_parse_params(const mm_algorithm_spec *alg, Jsonb *params,
							mm_param_values *out);
extern double mm_param_number(const mm_param_values *pv, const char *name);
extern bool mm_param_bool(const mm_param_values *pv, const char *name);
extern bool mm_param_exists(const mm_param_values *pv, const char *name);
extern const char *mm_param_string(const mm_param_values *pv, const char *name);
extern Jsonb *mm_params_jsonb(const mm_param_values *pv);

/* What one training does (train() and retrain() fill it). */
typedef struct mm_train_spec
{
	const char *name;
	const mm_algorithm_spec *alg;
	mm_param_values params;
	Oid			relid;
	const char *target;
	ArrayType  *features;		/* NULL: every other usable column */
	ArrayType  *group_by;		/* NULL: none */
	double		test_fraction;
	uint64		seed;
	int			policy;			/* mm_deploy_policy */
	const char *operation;		/* "train" or "retrain" */
	int32		parent_version; /* 0: none */
} mm_train_spec;

typedef struct mm_train_outcome
{
	int32		version;
	bool		deployed;
	char	   *reason;			/* why deployed or kept; NULL if no decision */
	int32		champion;		/* deployed version it was scored against, 0 if none */
	const char *task;			/* regression, binary, multiclass */
	const char *key_metric;		/* what the scores are: mse or accuracy */
	double		champion_score; /* held-out key metric, NaN when not scored */
	double		challenger_score;
	int64		train_rows;
	int64		test_rows;
	Jsonb	   *metrics;
	double		seconds;
} mm_train_outcome;

extern void mm_run_training(const mm_train_spec *spec, mm_train_outcome *out);

/* train_matrix.c: classifiers and categorical features, rows in memory */
struct mm_train_input;
extern void mm_run_matrix_training(const mm_train_spec *spec,
								   const struct mm_train_input *in,
								   mm_train_outcome *out);

/* Shared by both training paths (train.c) */
extern void mm_charge_memory(Size *used, Size bytes, const char *what);
/* A numeric baseline (edges and CDF) as JSON from n values (sorted in place). */
extern void mm_baseline_json(StringInfo buf, double *values, int n, int nulls);
extern double mm_elapsed_since(instr_time start);
extern void mm_train_outcome_fill(mm_train_outcome *out,
								  const mm_saved_version *saved,
								  const mm_new_version *nv, const char *task,
								  const char *key_metric, int32 champion,
								  double champion_score,
								  double challenger_score,
								  instr_time t_start);
extern mm_saved_version mm_train_save(const mm_train_spec *spec,
									  mm_new_version *nv,
									  mm_auto_decider decide, void *arg,
									  double t_read, double t_fit,
									  double t_eval);

#endif							/* MM_TRAIN_H */
