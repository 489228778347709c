/*
 * train_sql.c
 *	  The SQL entry points that train: train(), which takes everything from
 *	  its arguments, and retrain(), which takes it from the deployed version.
 *	  Both hand an mm_train_spec to mm_run_training (train.c).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/regproc.h"
#include "utils/tuplestore.h"

#include "mm_pg.h"
#include "mm_train.h"

PG_FUNCTION_INFO_V1(mm_train);
PG_FUNCTION_INFO_V1(mm_retrain);

static char *
required_text(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static int
parse_policy(const char *d)
{
	if (strcmp(d, "auto") == 0)
		return MM_DEPLOY_AUTO;
	if (strcmp(d, "always") == 0)
		return MM_DEPLOY_ALWAYS;
	if (strcmp(d, "never") == 0)
		return MM_DEPLOY_NEVER;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("deploy must be 'auto', 'always' or 'never', got '%s'", d)));
	return MM_DEPLOY_AUTO;
}

static void
check_fraction(double f)
{
	if (!(f >= 0.0 && f < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test_fraction must be at least 0 and less than 1, got %g", f)));
}

Datum
mm_train(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	mm_train_spec spec;
	mm_train_outcome out;
	Datum		values[9];
	bool		nulls[9] = {false, false, false, false, false, false, false, false, false};

	memset(&spec, 0, sizeof(spec));
	spec.name = required_text(fcinfo, 0, "name");
	mm_validate_model_name(spec.name);
	spec.alg = mm_find_algorithm(required_text(fcinfo, 1, "algorithm"));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be NULL")));
	spec.relid = PG_GETARG_OID(2);
	spec.target = required_text(fcinfo, 3, "target");
	spec.features = PG_ARGISNULL(4) ? NULL : PG_GETARG_ARRAYTYPE_P(4);
	mm_parse_params(spec.alg, PG_ARGISNULL(5) ? NULL : PG_GETARG_JSONB_P(5), &spec.params);
	if (PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("test_fraction must not be NULL"),
				 errhint("Pass 0 to train on every row.")));
	spec.test_fraction = PG_GETARG_FLOAT8(6);
	check_fraction(spec.test_fraction);
	spec.policy = parse_policy(required_text(fcinfo, 7, "deploy"));
	spec.seed = PG_ARGISNULL(8) ? 0 : (uint64) PG_GETARG_INT64(8);
	spec.group_by = PG_ARGISNULL(9) ? NULL : PG_GETARG_ARRAYTYPE_P(9);
	spec.operation = "train";

	mm_run_training(&spec, &out);

	InitMaterializedSRF(fcinfo, 0);
	values[0] = CStringGetTextDatum(spec.name);
	values[1] = Int32GetDatum(out.version);
	values[2] = CStringGetTextDatum(spec.alg->name);
	values[3] = CStringGetTextDatum(out.task);
	values[4] = Int64GetDatum(out.train_rows);
	values[5] = Int64GetDatum(out.test_rows);
	values[6] = JsonbPGetDatum(out.metrics);
	values[7] = BoolGetDatum(out.deployed);
	values[8] = Float8GetDatum(out.seconds);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * retrain(name, relation, deploy): the deployed version's recipe on current
 * rows.  The new version's parent is the deployed one; the split uses the
 * same seed and test fraction, so champion and challenger are scored on the
 * same fresh held-out rows.
 */
Datum
mm_retrain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	mm_train_spec spec;
	mm_train_outcome out;
	mm_model_row row;
	Datum		values[8];
	bool		nulls[8] = {false, false, false, false, false, false, false, false};
	char	   *algorithm;
	Jsonb	   *params;
	char	   *source = NULL;
	MemoryContext fncxt = CurrentMemoryContext;
	Datum		params_datum;
	Datum		features_datum;
	bool		isnull;

	memset(&spec, 0, sizeof(spec));
	spec.name = required_text(fcinfo, 0, "name");
	spec.policy = parse_policy(required_text(fcinfo, 2, "deploy"));

	SPI_connect();
	mm_lookup_model_or_error(spec.name, false, &row);
	mm_require_owner(&row, "retrain");
	if (row.deployed_version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no deployed version to retrain", spec.name),
				 errhint("Deploy a version first, or train with modelmgr.train(...).")));
	{
		Oid			types[2] = {INT8OID, INT4OID};
		Datum		args[2];
		HeapTuple	tup;
		TupleDesc	desc;
		Datum		d;

		args[0] = Int64GetDatum(row.id);
		args[1] = Int32GetDatum(row.deployed_version);
		mm_registry_exec("SELECT algorithm, params, source_relation, target, features, seed, test_fraction "
						 "FROM modelmgr.model_versions WHERE model_id OPERATOR(pg_catalog.=) $1 "
						 "AND version OPERATOR(pg_catalog.=) $2",
						 2, types, args, NULL, true, 1);
		if (SPI_processed != 1)
			elog(ERROR, "deployed version %d of model \"%s\" is missing", row.deployed_version, spec.name);
		tup = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		{
			char	   *a = SPI_getvalue(tup, desc, 1);

			algorithm = SPI_palloc(strlen(a) + 1);
			strcpy(algorithm, a);
		}
		d = SPI_getbinval(tup, desc, 2, &isnull);
		params_datum = isnull ? (Datum) 0 : SPI_datumTransfer(d, false, -1);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		if (!isnull)
			source = DatumGetPointer(SPI_datumTransfer(d, false, -1));
		d = SPI_getbinval(tup, desc, 4, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("deployed version %d of model \"%s\" records no target column", row.deployed_version, spec.name),
					 errhint("Retrain works on versions made by train() or retrain(); train this model with modelmgr.train(...).")));
		spec.target = text_to_cstring((text *) DatumGetPointer(SPI_datumTransfer(d, false, -1)));
		d = SPI_getbinval(tup, desc, 5, &isnull);
		features_datum = isnull ? (Datum) 0 : SPI_datumTransfer(d, false, -1);
		d = SPI_getbinval(tup, desc, 6, &isnull);
		spec.seed = isnull ? 0 : (uint64) DatumGetInt64(d);
		d = SPI_getbinval(tup, desc, 7, &isnull);
		spec.test_fraction = isnull ? 0.2 : DatumGetFloat8(d);
	}
	/* a grouped model is retrained with the same group_by columns */
	{
		bytea	   *artifact = mm_fetch_artifact(row.id, row.deployed_version, false);

		if (artifact != NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(fncxt);
			mm_model   *m = mm_parse_artifact(VARDATA_ANY(artifact), VARSIZE_ANY_EXHDR(artifact));

			if (m->n_group_columns > 0)
			{
				Datum	   *cols = palloc(sizeof(Datum) * m->n_group_columns);

				for (uint32 g = 0; g < m->n_group_columns; g++)
					cols[g] = CStringGetTextDatum(m->group_columns[g]);
				spec.group_by = construct_array(cols, m->n_group_columns, TEXTOID, -1, false, TYPALIGN_INT);
			}
			mm_model_free(m);
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();

	/* detoast in this context, not in SPI's (gone after SPI_finish) */
	params = params_datum ? DatumGetJsonbP(params_datum) : NULL;
	spec.features = features_datum ? DatumGetArrayTypeP(features_datum) : NULL;
	spec.alg = mm_find_algorithm(algorithm);
	mm_parse_params(spec.alg, params, &spec.params);
	check_fraction(spec.test_fraction);
	if (!PG_ARGISNULL(1))
		spec.relid = PG_GETARG_OID(1);
	else
	{
		List	   *names;

		if (source == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("deployed version %d of model \"%s\" records no source relation", row.deployed_version, spec.name),
					 errhint("Pass relation => 'schema.table'.")));
		names = stringToQualifiedNameList(text_to_cstring((text *) source));
		spec.relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);
		if (!OidIsValid(spec.relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation %s, which version %d of model \"%s\" was trained on, does not exist",
							text_to_cstring((text *) source), row.deployed_version, spec.name),
					 errhint("Pass relation => 'schema.table'.")));
	}
	spec.operation = "retrain";
	spec.parent_version = row.deployed_version;

	mm_run_training(&spec, &out);

	InitMaterializedSRF(fcinfo, 0);
	values[0] = CStringGetTextDatum(spec.name);
	values[1] = Int32GetDatum(out.version);
	/* the version the decision was taken against (it may have changed while
	 * this retrain waited for the model's lock) */
	values[2] = Int32GetDatum(out.champion);
	nulls[2] = out.champion == 0;
	values[3] = BoolGetDatum(out.deployed);
	values[4] = CStringGetTextDatum(out.key_metric);
	values[5] = Float8GetDatum(out.champion_score);
	nulls[5] = isnan(out.champion_score);
	values[6] = Float8GetDatum(out.challenger_score);
	nulls[6] = isnan(out.challenger_score);
	values[7] = out.reason ? CStringGetTextDatum(out.reason) : (Datum) 0;
	nulls[7] = out.reason == NULL;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
