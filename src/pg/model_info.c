/*
 * model_info.c
 *	  classes(name [, version]) and weights(name [, version]): what a
 *	  version's artifact says about its classes and coefficients, for
 *	  callers with USE on the model.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "mm_pg.h"

PG_FUNCTION_INFO_V1(mm_classes);
PG_FUNCTION_INFO_V1(mm_weights);

/*
 * The parsed model of (name, version argument 1; NULL = deployed), in the
 * caller's memory context.  Needs USE on the model.
 */
static mm_model *
fetch_model(FunctionCallInfo fcinfo, const char *what)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *name;
	int32		version;
	mm_model_row row;
	bytea	   *artifact;
	mm_model   *model;

	mm_require_arg(fcinfo, 0, "model name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	version = mm_version_arg(fcinfo, 1);
	SPI_connect();
	mm_lookup_model_or_error(name, false, &row);
	mm_require_use(&row);
	version = mm_version_or_deployed(&row, version, psprintf("Pass the version whose %s you want.", what));
	artifact = mm_fetch_artifact(row.id, version, false);
	if (artifact == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", version, name)));
	MemoryContextSwitchTo(cxt);
	artifact = (bytea *) PG_DETOAST_DATUM_COPY(PointerGetDatum(artifact));
	SPI_finish();
	MemoryContextSwitchTo(cxt);
	model = mm_parse_artifact(VARDATA_ANY(artifact), VARSIZE_ANY_EXHDR(artifact));
	return model;
}

/* classes(name, version): text[] of labels, NULL for regressors. */
Datum
mm_classes(PG_FUNCTION_ARGS)
{
	mm_model   *model = fetch_model(fcinfo, "classes");
	Datum	   *elems;

	if (model->n_classes == 0)
		PG_RETURN_NULL();
	elems = palloc(sizeof(Datum) * model->n_classes);
	for (uint32 k = 0; k < model->n_classes; k++)
		elems[k] = CStringGetTextDatum(model->classes[k]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, model->n_classes, TEXTOID, -1, false, TYPALIGN_INT));
}

static Datum current_group = (Datum) 0;	/* text[] of the group's keys */

static void
put_weight(ReturnSetInfo *rsinfo, const char *feature, const char *category,
		   const char *cls, double w)
{
	Datum		values[5];
	bool		nulls[5] = {false, category == NULL, cls == NULL, false, current_group == (Datum) 0};

	values[0] = CStringGetTextDatum(feature);
	values[1] = category ? CStringGetTextDatum(category) : (Datum) 0;
	values[2] = cls ? CStringGetTextDatum(cls) : (Datum) 0;
	values[3] = Float8GetDatum(w);
	values[4] = current_group;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* The rows of one (ungrouped) linear model. */
static void
put_model_weights(ReturnSetInfo *rsinfo, const mm_model *model);

/*
 * weights(name, version): for each row of the coef tensor (one per class
 * for softmax and one-vs-rest SVMs; one for regressors and binary models,
 * whose weights are for the second class), the intercept and one weight
 * per input column, in the original units of the features (numeric
 * features: per unit of the column; one-hot columns: the effect of the
 * category against the reference level, or against no category).
 */
Datum
mm_weights(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	mm_model   *model = fetch_model(fcinfo, "weights");

	InitMaterializedSRF(fcinfo, 0);
	current_group = (Datum) 0;
	if (model->n_groups == 0)
	{
		put_model_weights(rsinfo, model);
		return (Datum) 0;
	}
	for (uint32 g = 0; g < model->n_groups; g++)
	{
		Datum	   *keys = palloc(sizeof(Datum) * model->n_group_columns);
		bool	   *knulls = palloc(sizeof(bool) * model->n_group_columns);
		int			dims[1] = {(int) model->n_group_columns};
		int			lbs[1] = {1};

		for (uint32 k = 0; k < model->n_group_columns; k++)
		{
			knulls[k] = model->groups[g].keys[k] == NULL;
			keys[k] = knulls[k] ? (Datum) 0 : CStringGetTextDatum(model->groups[g].keys[k]);
		}
		current_group = PointerGetDatum(construct_md_array(keys, knulls, 1, dims, lbs, TEXTOID,
														   -1, false, TYPALIGN_INT));
		put_model_weights(rsinfo, model->groups[g].model);
	}
	current_group = (Datum) 0;
	return (Datum) 0;
}

static void
put_model_weights(ReturnSetInfo *rsinfo, const mm_model *model)
{
	const mm_tensor *coef = mm_model_tensor(model, "coef");
	const mm_tensor *icpt = mm_model_tensor(model, "intercept");

	if (coef == NULL || icpt == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s models have no coefficients per feature", mm_algorithm_name(model->algorithm)),
				 errhint("weights() describes linear models; use modelmgr.describe for others.")));
	for (uint32 k = 0; k < coef->rows; k++)
	{
		const char *cls = model->n_classes == 0 ? NULL :
			coef->rows == 1 ? model->classes[model->n_classes - 1] : model->classes[k];
		uint32		slot = 0;
		double		b = mm_tensor_get(icpt, 0, k);

		/* numeric features with a center move the intercept */
		for (uint32 j = 0; j < model->n_features; j++)
		{
			const mm_feature *f = &model->features[j];

			if (f->kind == MM_FEATURE_NUMERIC)
				b -= mm_tensor_get(coef, k, slot++) * f->center / f->scale;
			else
				slot += f->n_categories - f->drop_first;
		}
		slot = 0;
		put_weight(rsinfo, "(intercept)", NULL, cls, b);
		for (uint32 j = 0; j < model->n_features; j++)
		{
			const mm_feature *f = &model->features[j];

			if (f->kind == MM_FEATURE_NUMERIC)
			{
				/* the model sees (x - center) / scale */
				put_weight(rsinfo, f->name, NULL, cls, mm_tensor_get(coef, k, slot++) / f->scale);
				continue;
			}
			for (uint32 c = f->drop_first; c < f->n_categories; c++)
				put_weight(rsinfo, f->name, f->categories[c], cls, mm_tensor_get(coef, k, slot++));
		}
	}
}
