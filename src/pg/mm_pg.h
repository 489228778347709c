/*
 * mm_pg.h
 *	  Declarations shared by the SQL-callable glue in src/pg.
 */
#ifndef MM_PG_H
#define MM_PG_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "mm_core.h"
#include "mm_model.h"

/* Settings (modelmgr.c) */
extern int	mm_blas_threads;
extern int	mm_model_cache_kb;
extern int	mm_max_training_memory_kb;
extern bool mm_allow_drop;
extern double mm_psi_warning;
extern double mm_psi_alert;
extern double mm_metric_warning;
extern double mm_metric_alert;
extern int	mm_health_window;

/* Turn a core error into ereport(ERROR) with the matching SQLSTATE. */
extern void mm_raise(const mm_error *err) pg_attribute_noreturn();

/* Raise if st != MM_OK. */
#define MM_CHECK(st, err) \
	do { if ((st) != MM_OK) mm_raise(err); } while (0)

/* Training memory budget in bytes (modelmgr.max_training_memory). */
extern Size mm_training_memory_limit(void);

/* model_type.c */
typedef struct varlena mm_model_datum;	/* artifact bytes inside a varlena */
extern mm_model *mm_parse_artifact(const void *data, Size len);
extern bytea *mm_serialize_model(const mm_model *model);
extern uint64 mm_artifact_checksum(const void *data, Size len);
extern char *mm_base64_cstring(const void *data, Size len);
extern Datum mm_describe_model(const mm_model *model, int format_version,
							   Size size, uint64 checksum);

/* registry.c: the extension owner, and running registry SQL as that owner */
typedef struct mm_model_row
{
	int64		id;
	char	   *name;
	char	   *task;
	char	   *owner;
	int32		deployed_version;	/* 0 if none */
	int32		last_version;
} mm_model_row;

extern Oid	mm_extension_owner(void);
extern void mm_become_owner(Oid *save_userid, int *save_sec);
extern void mm_restore_user(Oid save_userid, int save_sec);
/* Run one registry statement as the extension owner (caller in SPI). */
extern int	mm_registry_exec(const char *sql, int nargs, Oid *types, Datum *values,
							 const char *nulls, bool read_only, long count);
extern bool mm_lookup_model(const char *name, bool for_update, mm_model_row *row);
extern void mm_lookup_model_or_error(const char *name, bool for_update,
									 mm_model_row *row);
extern bool mm_is_model_owner(const mm_model_row *row, Oid userid);
extern void mm_require_owner(const mm_model_row *row, const char *action);
extern void mm_require_use(const mm_model_row *row);
extern void mm_validate_model_name(const char *name);

/* Argument helpers shared by the SQL entry points (registry.c). */
extern void mm_require_arg(FunctionCallInfo fcinfo, int argno, const char *what);
/* An optional version argument: 0 when NULL, an error when not positive. */
extern int32 mm_version_arg(FunctionCallInfo fcinfo, int argno);
/* version, or the deployed one when 0 (55000 with the hint when none is). */
extern int32 mm_version_or_deployed(const mm_model_row *row, int32 version,
									const char *hint);

typedef struct mm_new_version
{
	const char *model_name;
	const char *task;
	const char *operation;
	int32		parent_version;	/* 0 = none */
	const char *algorithm;
	Jsonb	   *params;
	const char *source_relation;
	const char *target;
	Datum		features;		/* text[] */
	bool		has_seed;
	int64		seed;
	double		test_fraction;	/* < 0 = NULL */
	int64		train_rows;		/* < 0 = NULL */
	int64		test_rows;
	int64		skipped_rows;
	Jsonb	   *metrics;
	Jsonb	   *baselines;		/* drift baselines, or NULL */
	bytea	   *artifact;
	Jsonb	   *phase_seconds;
} mm_new_version;

typedef enum mm_deploy_policy
{
	MM_DEPLOY_AUTO,
	MM_DEPLOY_ALWAYS,
	MM_DEPLOY_NEVER
} mm_deploy_policy;

/*
 * Score a new version against the deployed one (the champion), under the
 * model's row lock: returns true when the new version is better, and fills
 * *reason with the comparison.  mm_save_version applies the policy.
 */
typedef bool (*mm_auto_decider) (void *arg, int64 model_id, int32 champion,
								 char **reason);

typedef struct mm_saved_version
{
	int64		model_id;
	int32		version;
	bool		deployed;
	char	   *reason;			/* why it was deployed or kept, or NULL */
} mm_saved_version;

extern mm_saved_version mm_save_version(const mm_new_version *nv,
										mm_deploy_policy policy,
										mm_auto_decider decide, void *arg);
/*
 * The artifact of a version.  latest = true reads with a new snapshot: for
 * decisions taken under the model's row lock, where the deployed version may
 * have been committed after the statement's snapshot was taken.
 */
extern bytea *mm_fetch_artifact(int64 model_id, int32 version, bool latest);
extern void mm_record_deployment(int64 model_id, const char *action,
								 int32 from_version, int32 to_version,
								 const char *reason);
extern void mm_record_keep(int64 model_id, int32 champion, int32 candidate,
						   const char *reason);

/* jsonb building helpers (json.c) */
extern Jsonb *mm_jsonb_from_cstring(const char *json);
extern void mm_json_number(StringInfo buf, double v);

/* predict.c */
extern void mm_predict_init(void);

#endif							/* MM_PG_H */
