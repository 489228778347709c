/*
 * monitor.c
 *	  monitor(): score a relation with a model version, measure drift of every
 *	  feature and of the predictions against the training baselines, compute
 *	  metrics when the target is present, and record the run in
 *	  modelmgr.evaluations.  Also model_health (the status a BI tool shows)
 *	  and can_see (which models the monitoring views show a user).
 *
 * One pass over the relation, read with the caller's rights.  Drift uses the
 * baselines stored with the version (mm_drift.h): PSI over deciles and KS
 * on the 99-point percentile grid.  Thresholds are settings
 * (modelmgr.psi_warning / psi_alert, metric_warning / metric_alert).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "mm_drift.h"
#include "mm_pg.h"
#include "mm_predict.h"
#include "mm_train_input.h"

PG_FUNCTION_INFO_V1(mm_monitor);
PG_FUNCTION_INFO_V1(mm_model_health_1_0);
PG_FUNCTION_INFO_V1(mm_can_see);


/* A baseline read back from jsonb: edges and CDF, or absent. */
typedef struct Baseline
{
	bool		present;
	double		null_fraction;
	double		edges[MM_DRIFT_EDGES];
	double		cdf[MM_DRIFT_EDGES];
} Baseline;

/* Counts of new data on a baseline's edges. */
typedef struct Tally
{
	int64		hist[MM_DRIFT_BINS];
	int64		n;
	int64		nulls;
} Tally;

static bool
json_array_doubles(JsonbValue *v, double *out, int count)
{
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int			i = 0;

	if (v->type != jbvBinary)
		return false;
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (e.type != jbvNumeric || i >= count)
			return false;
		out[i++] = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(e.val.numeric)));
	}
	return i == count;
}

static JsonbValue *
json_get(JsonbContainer *c, const char *key)
{
	return getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
}

/* Read one baseline object ({"edges": [...], "cdf": [...]}) if it is there. */
static void
read_baseline(JsonbValue *obj, Baseline *b)
{
	JsonbValue *edges,
			   *cdf;

	b->present = false;
	b->null_fraction = 0.0;
	if (obj == NULL || obj->type != jbvBinary)
		return;
	{
		JsonbValue *nf = json_get(obj->val.binary.data, "null_fraction");

		if (nf && nf->type == jbvNumeric)
			b->null_fraction = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
																  NumericGetDatum(nf->val.numeric)));
	}
	edges = json_get(obj->val.binary.data, "edges");
	cdf = json_get(obj->val.binary.data, "cdf");
	if (edges && cdf && json_array_doubles(edges, b->edges, MM_DRIFT_EDGES) &&
		json_array_doubles(cdf, b->cdf, MM_DRIFT_EDGES))
		b->present = true;
}

static const char *
psi_status(double psi)
{
	if (psi >= mm_psi_alert)
		return "alert";
	if (psi >= mm_psi_warning)
		return "warning";
	return "ok";
}

static int
status_rank(const char *s)
{
	return strcmp(s, "alert") == 0 ? 2 : strcmp(s, "warning") == 0 ? 1 : 0;
}

static const char *
worse(const char *a, const char *b)
{
	return status_rank(b) > status_rank(a) ? b : a;
}

/*
 * Drift of one tally against its baseline, as JSON; returns its status and
 * sets *psi_out / *ks_out (NaN when there is nothing to compare).
 */
static const char *
drift_json(StringInfo buf, const Baseline *b, const Tally *t, bool with_nulls,
		   double *psi_out, double *ks_out)
{
	double		cdf[MM_DRIFT_EDGES];
	double		psi,
				ks;
	const char *status;

	*psi_out = NAN;
	*ks_out = NAN;
	appendStringInfoChar(buf, '{');
	if (with_nulls)
	{
		appendStringInfoString(buf, "\"null_fraction\": ");
		mm_json_number(buf, t->n + t->nulls > 0 ? (double) t->nulls / (t->n + t->nulls) : 0);
		appendStringInfoString(buf, ", ");
	}
	if (!b->present || t->n + t->nulls == 0)
	{
		appendStringInfo(buf, "\"psi\": null, \"ks\": null, \"status\": \"ok\", \"note\": \"%s\"}",
						 b->present ? "no rows" : "no baseline");
		return "ok";
	}
	/* NULLs are a bin of their own in the PSI; KS compares the values */
	mm_drift_cdf(t->hist, t->n, cdf);
	psi = mm_drift_psi_nulls(b->cdf, b->null_fraction, cdf,
							 (double) t->nulls / (double) (t->n + t->nulls));
	ks = t->n > 0 ? mm_drift_ks(b->cdf, cdf) : NAN;
	status = psi_status(psi);
	*psi_out = psi;
	*ks_out = ks;
	if (t->n == 0)
		appendStringInfoString(buf, "\"note\": \"every value is NULL\", ");
	appendStringInfoString(buf, "\"psi\": ");
	mm_json_number(buf, psi);
	appendStringInfoString(buf, ", \"ks\": ");
	mm_json_number(buf, ks);
	appendStringInfo(buf, ", \"status\": \"%s\"}", status);
	return status;
}

static void
tally_add(const Baseline *b, Tally *t, double x)
{
	t->n++;
	if (b->present)
		t->hist[mm_drift_bin(b->edges, x)]++;
}


static void
append_reason(StringInfo reasons_json, int *nreasons, const char *reason)
{
	appendStringInfoString(reasons_json, *nreasons > 0 ? ", " : "");
	escape_json(reasons_json, reason);
	(*nreasons)++;
}

/* What one pass of monitor() accumulates. */
typedef struct MonitorScan
{
	int			p;
	bool		has_target;		/* the last column is the target */
	mm_predictor *pred;
	Baseline   *fb;				/* per feature */
	Tally	   *ft;
	Baseline   *pb;				/* predictions */
	Tally	   *pt;
	double	   *x;
	bool	   *xn;
	int64		rows;
	int64		labelled;
	double		sse;
	double		sae;
	double		sy;
	double		syy;
} MonitorScan;

static bool
monitor_row(void *arg, Datum *v, bool *n)
{
	MonitorScan *ms = (MonitorScan *) arg;
	double		yhat;
	mm_error	err;

	ms->rows++;
	for (int j = 0; j < ms->p; j++)
	{
		ms->xn[j] = n[j];
		ms->x[j] = n[j] ? 0 : DatumGetFloat8(v[j]);
		if (n[j])
			ms->ft[j].nulls++;
		else if (isfinite(ms->x[j]))
			tally_add(&ms->fb[j], &ms->ft[j], ms->x[j]);
	}
	mm_error_clear(&err);
	if (mm_predict_row(ms->pred, ms->x, ms->xn, &yhat, &err) != MM_OK)
		mm_raise(&err);
	tally_add(ms->pb, ms->pt, yhat);
	if (ms->has_target && !n[ms->p])
	{
		double		y = DatumGetFloat8(v[ms->p]);

		if (isfinite(y))
		{
			ms->sse += (y - yhat) * (y - yhat);
			ms->sae += fabs(y - yhat);
			ms->sy += y;
			ms->syy += y * y;
			ms->labelled++;
		}
	}
	return true;
}

Datum
mm_monitor(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext fncxt = CurrentMemoryContext;
	char	   *name;
	Oid			relid;
	int32		version;
	mm_model_row row;
	bytea	   *artifact;
	Jsonb	   *baselines = NULL;
	double		test_rmse = NAN;
	mm_model   *model;
	mm_predictor *pred;
	mm_error	err;
	char	   *qualified;
	bool		has_target;
	int			p;
	Baseline   *fb;
	Tally	   *ft;
	Baseline	pb;
	Tally		pt;
	StringInfoData q;
	MonitorScan ms;
	double		sse = 0,
				sae = 0,
				sy = 0,
				syy = 0;
	int64		rows = 0,
				labelled = 0;
	StringInfoData metrics,
				drift,
				reasons;
	int			nreasons = 0;
	const char *status = "ok";
	int64		evaluation_id;
	Datum		values[9];
	bool		nulls[9] = {false, false, false, false, false, false, false, false, false};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and relation must not be NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	relid = PG_GETARG_OID(1);
	version = mm_version_arg(fcinfo, 2);
	mm_check_readable_relation(relid);
	qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid));

	SPI_connect();
	mm_lookup_model_or_error(name, false, &row);
	mm_require_use(&row);
	version = mm_version_or_deployed(&row, version, "Pass the version to monitor, or deploy one.");
	{
		Oid			types[2] = {INT8OID, INT4OID};
		Datum		args[2];
		bool		isnull;
		Datum		d;

		args[0] = Int64GetDatum(row.id);
		args[1] = Int32GetDatum(version);
		mm_registry_exec("SELECT artifact, baselines, "
						 "(metrics OPERATOR(pg_catalog.#>>) '{test,rmse}')::pg_catalog.float8 "
						 "FROM modelmgr.model_versions WHERE model_id OPERATOR(pg_catalog.=) $1 "
						 "AND version OPERATOR(pg_catalog.=) $2", 2, types, args, NULL, true, 1);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("version %d of model \"%s\" does not exist", version, name)));
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		artifact = DatumGetByteaP(SPI_datumTransfer(d, false, -1));
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		if (!isnull)
			baselines = DatumGetJsonbP(SPI_datumTransfer(d, false, -1));
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		if (!isnull)
			test_rmse = DatumGetFloat8(d);
	}
	MemoryContextSwitchTo(fncxt);
	model = mm_parse_artifact(VARDATA(artifact), VARSIZE(artifact) - VARHDRSZ);
	mm_error_clear(&err);
	if (mm_predictor_new(model, &pred, &err) != MM_OK)
		mm_raise(&err);
	p = (int) model->n_features;
	memset(&ms, 0, sizeof(ms));

	/* baselines */
	fb = palloc0(sizeof(Baseline) * Max(p, 1));
	ft = palloc0(sizeof(Tally) * Max(p, 1));
	memset(&pb, 0, sizeof(pb));
	memset(&pt, 0, sizeof(pt));
	if (baselines)
	{
		JsonbValue *feats = json_get(&baselines->root, "features");

		for (int j = 0; j < p && feats && feats->type == jbvBinary; j++)
			read_baseline(json_get(feats->val.binary.data, model->features[j].name), &fb[j]);
		read_baseline(json_get(&baselines->root, "prediction"), &pb);
	}

	/* the query: features by name, and the target when the relation has it */
	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT ");
	for (int j = 0; j < p; j++)
	{
		const char *f = model->features[j].name;
		AttrNumber	att = get_attnum(relid, f);

		if (att == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("relation %s has no column \"%s\", a feature of model \"%s\"", qualified, f, name)));
		if (!mm_is_number_type(get_atttype(relid, att)))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of relation %s is not a number", f, qualified)));
		appendStringInfo(&q, "%s%s::pg_catalog.float8", j ? ", " : "", quote_identifier(f));
	}
	has_target = model->target != NULL && get_attnum(relid, model->target) != InvalidAttrNumber &&
		mm_is_number_type(get_atttype(relid, get_attnum(relid, model->target)));
	if (has_target)
		appendStringInfo(&q, ", %s::pg_catalog.float8", quote_identifier(model->target));
	appendStringInfo(&q, " FROM %s", qualified);

	/* one pass, with the caller's rights */
	ms.p = p;
	ms.has_target = has_target;
	ms.pred = pred;
	ms.fb = fb;
	ms.ft = ft;
	ms.pb = &pb;
	ms.pt = &pt;
	ms.x = palloc(sizeof(double) * Max(p, 1));
	ms.xn = palloc(sizeof(bool) * Max(p, 1));
	mm_scan_rows(q.data, p + (has_target ? 1 : 0), monitor_row, &ms);
	rows = ms.rows;
	labelled = ms.labelled;
	sse = ms.sse;
	sae = ms.sae;
	sy = ms.sy;
	syy = ms.syy;
	MemoryContextSwitchTo(fncxt);
	if (rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation %s has no rows to monitor", qualified)));

	/* results */
	initStringInfo(&reasons);
	initStringInfo(&metrics);
	if (labelled > 0)
	{
		double		mse = sse / labelled;
		double		sst = syy - sy * sy / labelled;

		appendStringInfo(&metrics, "{\"rows\": " INT64_FORMAT ", \"mse\": ", labelled);
		mm_json_number(&metrics, mse);
		appendStringInfoString(&metrics, ", \"rmse\": ");
		mm_json_number(&metrics, sqrt(mse));
		appendStringInfoString(&metrics, ", \"mae\": ");
		mm_json_number(&metrics, sae / labelled);
		appendStringInfoString(&metrics, ", \"r2\": ");
		mm_json_number(&metrics, sst > 0 ? 1.0 - sse / sst : NAN);
		appendStringInfoChar(&metrics, '}');
		if (isfinite(test_rmse) && test_rmse > 0)
		{
			double		ratio = sqrt(mse) / test_rmse - 1.0;
			const char *ms = ratio >= mm_metric_alert ? "alert" :
				ratio >= mm_metric_warning ? "warning" : "ok";

			if (strcmp(ms, "ok") != 0)
				append_reason(&reasons, &nreasons,
							  psprintf("rmse %.6g is %.0f%% above the test rmse %.6g of version %d (%s)",
									   sqrt(mse), 100 * ratio, test_rmse, version, ms));
			status = worse(status, ms);
		}
	}
	initStringInfo(&drift);
	appendStringInfoString(&drift, "{\"features\": {");
	for (int j = 0; j < p; j++)
	{
		const char *fs;
		double		psi,
					ks;

		if (j > 0)
			appendStringInfoString(&drift, ", ");
		escape_json(&drift, model->features[j].name);
		appendStringInfoString(&drift, ": ");
		fs = drift_json(&drift, &fb[j], &ft[j], true, &psi, &ks);
		if (strcmp(fs, "ok") != 0)
			append_reason(&reasons, &nreasons,
						  psprintf("feature \"%s\" drifted: PSI %.3g, KS %.3g (%s)",
								   model->features[j].name, psi, ks, fs));
		status = worse(status, fs);
	}
	appendStringInfoString(&drift, "}, \"prediction\": ");
	{
		double		psi,
					ks;
		const char *ps = drift_json(&drift, &pb, &pt, false, &psi, &ks);

		if (strcmp(ps, "ok") != 0)
			append_reason(&reasons, &nreasons,
						  psprintf("predictions drifted: PSI %.3g, KS %.3g (%s)", psi, ks, ps));
		status = worse(status, ps);
	}
	appendStringInfoChar(&drift, '}');

	/* record */
	{
		Oid			types[10] = {INT8OID, INT4OID, TEXTOID, INT8OID, INT8OID, JSONBOID,
		JSONBOID, TEXTOID, TEXTOID, TEXTOID};
		Datum		args[10];
		char		argnulls[11] = "          ";
		bool		isnull;

		args[0] = Int64GetDatum(row.id);
		args[1] = Int32GetDatum(version);
		args[2] = CStringGetTextDatum(qualified);
		args[3] = Int64GetDatum(rows);
		args[4] = Int64GetDatum(labelled);
		args[5] = labelled > 0 ? JsonbPGetDatum(mm_jsonb_from_cstring(metrics.data)) : (Datum) 0;
		if (labelled == 0)
			argnulls[5] = 'n';
		args[6] = JsonbPGetDatum(mm_jsonb_from_cstring(drift.data));
		args[7] = CStringGetTextDatum(status);
		args[8] = CStringGetTextDatum(psprintf("[%s]", reasons.data));
		args[9] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
		mm_registry_exec("INSERT INTO modelmgr.evaluations (model_id, version, kind, relation, rows, "
						 "labelled_rows, metrics, drift, status, reasons, evaluated_by) "
						 "VALUES ($1, $2, 'monitor', $3, $4, $5, $6, $7, $8, "
						 "ARRAY(SELECT pg_catalog.jsonb_array_elements_text($9::pg_catalog.jsonb)), "
						 "$10::pg_catalog.name) RETURNING id, reasons",
						 10, types, args, argnulls, false, 0);
		evaluation_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		values[6] = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull),
									  false, -1);
	}
	SPI_finish();

	MemoryContextSwitchTo(fncxt);
	InitMaterializedSRF(fcinfo, 0);
	values[0] = Int64GetDatum(evaluation_id);
	values[1] = CStringGetTextDatum(name);
	values[2] = Int32GetDatum(version);
	values[3] = Int64GetDatum(rows);
	values[4] = Int64GetDatum(labelled);
	values[5] = CStringGetTextDatum(status);
	values[7] = labelled > 0 ? JsonbPGetDatum(mm_jsonb_from_cstring(metrics.data)) : (Datum) 0;
	nulls[7] = labelled == 0;
	values[8] = JsonbPGetDatum(mm_jsonb_from_cstring(drift.data));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	mm_model_free(model);
	return (Datum) 0;
}

/*
 * can_see(model id): owner or member of the owning role, USE grantee,
 * pg_monitor member, or superuser.
 */
Datum
mm_can_see(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	Oid			userid = GetUserId();
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	bool		visible = false;

	if (superuser_arg(userid) || has_privs_of_role(userid, ROLE_PG_MONITOR))
		PG_RETURN_BOOL(true);
	SPI_connect();
	args[0] = Int64GetDatum(id);
	mm_registry_exec("SELECT owner::pg_catalog.text FROM modelmgr.models WHERE id OPERATOR(pg_catalog.=) $1 "
					 "UNION ALL SELECT grantee::pg_catalog.text FROM modelmgr.model_grants "
					 "WHERE model_id OPERATOR(pg_catalog.=) $1", 1, types, args, NULL, true, 0);
	for (uint64 i = 0; i < SPI_processed && !visible; i++)
	{
		char	   *role = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		Oid			roleid;

		if (strcmp(role, "public") == 0)
			visible = true;
		else if (OidIsValid(roleid = get_role_oid(role, true)) && has_privs_of_role(userid, roleid))
			visible = true;
	}
	SPI_finish();
	PG_RETURN_BOOL(visible);
}

/*
 * model_health: per visible model with a deployed version, the worst of
 * the latest monitor() status of that version (with its reasons) and a
 * worsening moving average: the mean rmse of the last modelmgr.health_window
 * evaluations with metrics above the mean of the window before it by more
 * than modelmgr.metric_warning (alert above metric_alert).
 */
Datum
mm_model_health_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext fncxt = CurrentMemoryContext;
	uint64		nmodels;
	SPITupleTable *models;

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	mm_registry_exec("SELECT m.id, m.name, m.deployed_version FROM modelmgr.models m "
					 "WHERE m.deployed_version IS NOT NULL ORDER BY m.name", 0, NULL, NULL, NULL, true, 0);
	models = SPI_tuptable;
	nmodels = SPI_processed;
	for (uint64 i = 0; i < nmodels; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(models->vals[i], models->tupdesc, 1, &isnull));
		char	   *mname = SPI_getvalue(models->vals[i], models->tupdesc, 2);
		int32		version = DatumGetInt32(SPI_getbinval(models->vals[i], models->tupdesc, 3, &isnull));
		Oid			types[2] = {INT8OID, INT4OID};
		Datum		args[2];
		const char *status = "ok";
		StringInfoData why;
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		TimestampTz last = 0;
		int64		count;
		double	   *rmse;
		int			nrmse = 0;

		if (!DatumGetBool(DirectFunctionCall1(mm_can_see, Int64GetDatum(id))))
			continue;
		initStringInfo(&why);
		args[0] = Int64GetDatum(id);
		args[1] = Int32GetDatum(version);
		mm_registry_exec("SELECT status, pg_catalog.array_to_string(reasons, '; '), evaluated_at, "
						 "(metrics OPERATOR(pg_catalog.->>) 'rmse')::pg_catalog.float8 "
						 "FROM modelmgr.evaluations WHERE model_id OPERATOR(pg_catalog.=) $1 "
						 "AND version OPERATOR(pg_catalog.=) $2 AND kind OPERATOR(pg_catalog.=) 'monitor' "
						 "ORDER BY id DESC", 2, types, args, NULL, true, 0);
		count = (int64) SPI_processed;
		rmse = palloc(sizeof(double) * (SPI_processed + 1));
		for (uint64 e = 0; e < SPI_processed; e++)
		{
			bool		rmse_null;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[e], SPI_tuptable->tupdesc, 4, &rmse_null);

			if (e == 0)
			{
				status = SPI_getvalue(SPI_tuptable->vals[e], SPI_tuptable->tupdesc, 1);
				appendStringInfoString(&why, SPI_getvalue(SPI_tuptable->vals[e], SPI_tuptable->tupdesc, 2));
				last = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[e], SPI_tuptable->tupdesc, 3, &isnull));
			}
			if (!rmse_null)
				rmse[nrmse++] = DatumGetFloat8(d);
		}
		if (nrmse >= 2 * mm_health_window)
		{
			double		recent = 0,
						before = 0,
						rise;

			for (int k = 0; k < mm_health_window; k++)
			{
				recent += rmse[k];
				before += rmse[mm_health_window + k];
			}
			rise = before > 0 ? recent / before - 1.0 : 0;
			if (rise >= mm_metric_warning)
			{
				const char *ms = rise >= mm_metric_alert ? "alert" : "warning";

				appendStringInfo(&why, "%smoving average rmse of the last %d evaluations rose %.0f%% over the %d before",
								 why.len ? "; " : "", mm_health_window, 100 * rise, mm_health_window);
				status = worse(status, ms);
			}
		}
		if (count == 0)
			appendStringInfoString(&why, "not monitored yet");

		MemoryContextSwitchTo(fncxt);
		values[0] = CStringGetTextDatum(mname);
		values[1] = Int32GetDatum(version);
		values[2] = CStringGetTextDatum(status);
		values[3] = CStringGetTextDatum(why.data);
		values[4] = TimestampTzGetDatum(last);
		nulls[4] = count == 0;
		values[5] = Int64GetDatum(count);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}
