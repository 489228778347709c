/*
 * algorithms.c
 *	  The catalog of algorithms train() accepts, with their parameters, and
 *	  validation of a params jsonb against it.  modelmgr.algorithms is a view
 *	  over mm_algorithms_1_0(), so the catalog lives here in C and nowhere
 *	  else (no seed rows in tables).
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/numeric.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "mm_pg.h"
#include "mm_train.h"

PG_FUNCTION_INFO_V1(mm_algorithms_1_0);

static const mm_param_spec linear_regression_params[] = {
	{"l2", MM_PARAM_NUMBER, "0", 0, INFINITY, NULL,
	"Ridge penalty on the coefficients (not the intercept): minimizes SSE + l2 * ||b||^2, as scikit-learn's Ridge(alpha = l2)."},
	{"fit_intercept", MM_PARAM_BOOLEAN, "true", 0, 0, NULL,
	"Fit an intercept; false forces the fit through the origin."},
	{"impute", MM_PARAM_STRING, "\"mean\"", 0, 0, "mean,error",
	"NULL features: replace by the training mean (recorded in the model and used at predict time), or refuse them."},
};

static const mm_param_spec lasso_params[] = {
	{"alpha", MM_PARAM_NUMBER, "1", 0, INFINITY, NULL,
	"Penalty weight: minimizes (1/(2n)) ||y - b0 - X b||^2 + alpha ||b||_1, as scikit-learn's Lasso(alpha)."},
	{"tol", MM_PARAM_NUMBER, "0.0001", 0, INFINITY, NULL,
	"Stopping tolerance of coordinate descent (scikit-learn's rule: largest step, then duality gap)."},
	{"max_iter", MM_PARAM_INTEGER, "1000", 1, 1000000, NULL,
	"Most coordinate descent sweeps; a fit that stops here is kept with a warning."},
	{"fit_intercept", MM_PARAM_BOOLEAN, "true", 0, 0, NULL,
	"Fit an (unpenalized) intercept."},
	{"impute", MM_PARAM_STRING, "\"mean\"", 0, 0, "mean,error",
	"NULL features: replace by the training mean, or refuse them."},
};

static const mm_param_spec elastic_net_params[] = {
	{"alpha", MM_PARAM_NUMBER, "1", 0, INFINITY, NULL,
	"Penalty weight: minimizes (1/(2n)) ||y - b0 - X b||^2 + alpha l1_ratio ||b||_1 + 0.5 alpha (1 - l1_ratio) ||b||^2, as scikit-learn's ElasticNet(alpha, l1_ratio)."},
	{"l1_ratio", MM_PARAM_NUMBER, "0.5", 0, 1, NULL,
	"Mix of the L1 (1) and L2 (0) penalties."},
	{"tol", MM_PARAM_NUMBER, "0.0001", 0, INFINITY, NULL,
	"Stopping tolerance of coordinate descent (scikit-learn's rule: largest step, then duality gap)."},
	{"max_iter", MM_PARAM_INTEGER, "1000", 1, 1000000, NULL,
	"Most coordinate descent sweeps; a fit that stops here is kept with a warning."},
	{"fit_intercept", MM_PARAM_BOOLEAN, "true", 0, 0, NULL,
	"Fit an (unpenalized) intercept."},
	{"impute", MM_PARAM_STRING, "\"mean\"", 0, 0, "mean,error",
	"NULL features: replace by the training mean, or refuse them."},
};

static const mm_param_spec logistic_regression_params[] = {
	{"l2", MM_PARAM_NUMBER, "0", 0, INFINITY, NULL,
	"L2 penalty: minimizes sum of log losses + (l2 / 2) ||b||^2 (intercept not penalized); scikit-learn's LogisticRegression(C) is l2 = 1 / C."},
	{"l1", MM_PARAM_NUMBER, "0", 0, INFINITY, NULL,
	"L1 penalty: adds l1 ||b||_1 (proximal Newton, exact zeros); penalty='l1' with C is l1 = 1 / C."},
	{"solver", MM_PARAM_STRING, "\"auto\"", 0, 0, "auto,newton,lbfgs",
	"Newton (exact Hessian, Cholesky) up to 400 coefficients, L-BFGS above; auto picks."},
	{"max_iter", MM_PARAM_INTEGER, "0", 0, 1000000, NULL,
	"Most iterations; 0 means 100 for Newton, 1000 for L-BFGS."},
	{"tol", MM_PARAM_NUMBER, "1e-10", 0, 1, NULL,
	"Relative change of the objective at which the fit has converged (R's glm criterion)."},
	{"fit_intercept", MM_PARAM_BOOLEAN, "true", 0, 0, NULL,
	"Fit an (unpenalized) intercept."},
	{"impute", MM_PARAM_STRING, "\"mean\"", 0, 0, "mean,error",
	"NULL features: numeric ones by the training mean, categorical ones by the most frequent training category; or refuse them."},
};

static const mm_param_spec softmax_regression_params[] = {
	{"l2", MM_PARAM_NUMBER, "0", 0, INFINITY, NULL,
	"L2 penalty: minimizes sum of log losses + (l2 / 2) ||W||_F^2; scikit-learn's LogisticRegression(multi_class='multinomial', C) is l2 = 1 / C."},
	{"solver", MM_PARAM_STRING, "\"auto\"", 0, 0, "auto,newton,lbfgs",
	"Newton (exact Hessian) up to 400 coefficients, L-BFGS above; auto picks."},
	{"max_iter", MM_PARAM_INTEGER, "0", 0, 1000000, NULL,
	"Most iterations; 0 means 100 for Newton, 1000 for L-BFGS."},
	{"tol", MM_PARAM_NUMBER, "1e-10", 0, 1, NULL,
	"Relative change of the objective at which the fit has converged."},
	{"fit_intercept", MM_PARAM_BOOLEAN, "true", 0, 0, NULL,
	"Fit an (unpenalized) intercept per class."},
	{"impute", MM_PARAM_STRING, "\"mean\"", 0, 0, "mean,error",
	"NULL features: numeric ones by the training mean, categorical ones by the most frequent training category; or refuse them."},
};

static const mm_param_spec linear_svm_params[] = {
	{"C", MM_PARAM_NUMBER, "1", 1e-12, INFINITY, NULL,
	"Inverse penalty: minimizes (1/2) ||w||^2 + C sum of losses over standardized features, as scikit-learn's LinearSVC(C) on StandardScaler output."},
	{"loss", MM_PARAM_STRING, "\"squared_hinge\"", 0, 0, "squared_hinge,hinge",
	"Loss per row: max(0, 1 - m)^2 (LinearSVC's default) or max(0, 1 - m)."},
	{"tol", MM_PARAM_NUMBER, "0.0001", 1e-15, 1, NULL,
	"Stopping tolerance of dual coordinate descent (spread of projected gradients)."},
	{"max_iter", MM_PARAM_INTEGER, "1000", 1, 1000000, NULL,
	"Most sweeps per binary model; a fit that stops here is kept with a warning."},
	{"fit_intercept", MM_PARAM_BOOLEAN, "true", 0, 0, NULL,
	"Fit an intercept (LIBLINEAR's: a constant feature whose weight is penalized)."},
	{"intercept_scaling", MM_PARAM_NUMBER, "1", 1e-12, INFINITY, NULL,
	"Value of LIBLINEAR's constant feature; larger makes the intercept less penalized."},
	{"standardize", MM_PARAM_BOOLEAN, "true", 0, 0, NULL,
	"Fit on z-scored numeric features (training mean and standard deviation); weights are reported in original units either way."},
	{"impute", MM_PARAM_STRING, "\"mean\"", 0, 0, "mean,error",
	"NULL features: numeric ones by the training mean, categorical ones by the most frequent training category; or refuse them."},
};

#define MLP_PARAMS(impute_text) \
	{"hidden_layers", MM_PARAM_STRING, "\"100\"", 0, 0, NULL, \
	"Hidden layer widths, comma separated, at most 8 layers of 1 to 10000 units (e.g. \"64,32\"); \"\" for none."}, \
	{"activation", MM_PARAM_STRING, "\"relu\"", 0, 0, "relu,tanh", \
	"Activation of the hidden layers."}, \
	{"solver", MM_PARAM_STRING, "\"adam\"", 0, 0, "adam,sgd", \
	"Adam (beta1 0.9, beta2 0.999) or SGD with momentum, over minibatches."}, \
	{"learning_rate", MM_PARAM_NUMBER, "0", 0, 10, NULL, \
	"Step size; 0 means 0.001 for adam and 0.01 for sgd."}, \
	{"momentum", MM_PARAM_NUMBER, "0.9", 0, 1, NULL, \
	"SGD momentum."}, \
	{"batch_size", MM_PARAM_INTEGER, "0", 0, 1000000, NULL, \
	"Rows per minibatch; 0 means min(200, training rows)."}, \
	{"max_epochs", MM_PARAM_INTEGER, "200", 1, 100000, NULL, \
	"Most passes over the training rows."}, \
	{"l2", MM_PARAM_NUMBER, "0.0001", 0, INFINITY, NULL, \
	"L2 penalty on the weights (scikit-learn's alpha)."}, \
	{"early_stopping", MM_PARAM_BOOLEAN, "false", 0, 0, NULL, \
	"Hold out validation_fraction of the training rows and keep the weights that score best on them."}, \
	{"validation_fraction", MM_PARAM_NUMBER, "0.1", 0.01, 0.5, NULL, \
	"Share of the training rows held out for early stopping."}, \
	{"n_iter_no_change", MM_PARAM_INTEGER, "10", 1, 1000, NULL, \
	"Epochs without improvement by tol before stopping."}, \
	{"tol", MM_PARAM_NUMBER, "0.0001", 0, 1, NULL, \
	"Improvement of the loss (or validation score) that counts."}, \
	{"impute", MM_PARAM_STRING, "\"mean\"", 0, 0, "mean,error", impute_text}

static const mm_param_spec mlp_classifier_params[] = {
	MLP_PARAMS("NULL features: numeric ones by the training mean, categorical ones by the most frequent training category; or refuse them."),
};

static const mm_param_spec mlp_regressor_params[] = {
	MLP_PARAMS("NULL features: numeric ones by the training mean, categorical ones by the most frequent training category; or refuse them."),
};

static const mm_algorithm_spec algorithms[] = {
	{"linear_regression", "regression", linear_regression_params,
		lengthof(linear_regression_params),
	"Least squares by one-pass, mergeable Householder QR of the centered design; optional ridge penalty."},
	{"lasso", "regression", lasso_params, lengthof(lasso_params),
	"L1-penalized least squares by coordinate descent on the cross-products of the same one-pass QR state."},
	{"elastic_net", "regression", elastic_net_params, lengthof(elastic_net_params),
	"L1 and L2 penalized least squares by coordinate descent on the cross-products of the same one-pass QR state."},
	{"logistic_regression", "binary", logistic_regression_params, lengthof(logistic_regression_params),
	"Binary logistic regression by Newton (IRLS), L-BFGS or proximal Newton with L1; unpenalized by default, as R's glm."},
	{"softmax_regression", "multiclass", softmax_regression_params, lengthof(softmax_regression_params),
	"Multinomial logistic regression over two or more classes by Newton or L-BFGS, optional L2."},
	{"linear_svm", "classification", linear_svm_params, lengthof(linear_svm_params),
	"Linear support vector machine by dual coordinate descent (LIBLINEAR's), binary or one-vs-rest."},
	{"mlp_classifier", "classification", mlp_classifier_params, lengthof(mlp_classifier_params),
	"Multilayer perceptron with a softmax output, trained by Adam or SGD over minibatches (OpenBLAS gemm); standardized inputs."},
	{"mlp_regressor", "regression", mlp_regressor_params, lengthof(mlp_regressor_params),
	"Multilayer perceptron with a linear output and squared loss, trained by Adam or SGD over minibatches; standardized inputs."},
};

const mm_algorithm_spec *
mm_find_algorithm(const char *name)
{
	for (size_t i = 0; i < lengthof(algorithms); i++)
		if (strcmp(algorithms[i].name, name) == 0)
			return &algorithms[i];
	{
		StringInfoData names;

		initStringInfo(&names);
		for (size_t i = 0; i < lengthof(algorithms); i++)
			appendStringInfo(&names, "%s%s", i ? ", " : "", algorithms[i].name);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown algorithm \"%s\"", name),
				 errdetail("Available algorithms: %s.", names.data),
				 errhint("SELECT * FROM modelmgr.algorithms lists them with their parameters.")));
	}
	return NULL;
}

static const char *
param_type_name(mm_param_type t)
{
	switch (t)
	{
		case MM_PARAM_NUMBER:
			return "number";
		case MM_PARAM_INTEGER:
			return "integer";
		case MM_PARAM_BOOLEAN:
			return "boolean";
		case MM_PARAM_STRING:
			return "string";
	}
	return "?";
}

static bool
value_in_list(const char *list, const char *value)
{
	char	   *copy = pstrdup(list);
	char	   *tok;
	char	   *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, value) == 0)
			return true;
	return false;
}

/*
 * Check every key of params against the algorithm's spec and fill out with
 * the value of every parameter (defaults for missing ones).  Errors name the
 * key and say what is allowed.
 */
void
mm_parse_params(const mm_algorithm_spec *alg, Jsonb *params, mm_param_values *out)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			current = -1;

	memset(out, 0, sizeof(*out));
	out->spec = alg;
	for (int i = 0; i < alg->nparams; i++)
	{
		const mm_param_spec *ps = &alg->params[i];

		switch (ps->type)
		{
			case MM_PARAM_NUMBER:
			case MM_PARAM_INTEGER:
				out->number[i] = strtod(ps->dflt, NULL);
				break;
			case MM_PARAM_BOOLEAN:
				out->boolean[i] = strcmp(ps->dflt, "true") == 0;
				break;
			case MM_PARAM_STRING:
				out->string[i] = pnstrdup(ps->dflt + 1, strlen(ps->dflt) - 2);
				break;
		}
	}
	if (params == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params must be a JSON object"),
				 errhint("For example '{\"l2\": 0.1}'; SELECT * FROM modelmgr.algorithms lists the parameters.")));

	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			char	   *key = pnstrdup(v.val.string.val, v.val.string.len);

			current = -1;
			for (int i = 0; i < alg->nparams; i++)
				if (strcmp(alg->params[i].name, key) == 0)
					current = i;
			if (current < 0)
			{
				StringInfoData names;

				initStringInfo(&names);
				for (int i = 0; i < alg->nparams; i++)
					appendStringInfo(&names, "%s%s", i ? ", " : "", alg->params[i].name);
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown parameter \"%s\" for algorithm %s", key, alg->name),
						 errdetail("Parameters of %s: %s.", alg->name, names.data)));
			}
		}
		else if (tok == WJB_VALUE && current >= 0)
		{
			const mm_param_spec *ps = &alg->params[current];

			switch (ps->type)
			{
				case MM_PARAM_NUMBER:
				case MM_PARAM_INTEGER:
					{
						double		d = NAN;

						if (v.type == jbvNumeric)
							d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, NumericGetDatum(v.val.numeric)));
						if (v.type != jbvNumeric || !isfinite(d) || d < ps->min || d > ps->max ||
							(ps->type == MM_PARAM_INTEGER && d != floor(d)))
						{
							const char *kind = ps->type == MM_PARAM_INTEGER ? "an integer" : "a finite number";

							if (isinf(ps->max))
								ereport(ERROR,
										(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
										 errmsg("parameter \"%s\" must be %s >= %g", ps->name, kind, ps->min)));
							ereport(ERROR,
									(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
									 errmsg("parameter \"%s\" must be %s between %g and %g",
											ps->name, kind, ps->min, ps->max)));
						}
						out->number[current] = d;
						break;
					}
				case MM_PARAM_BOOLEAN:
					if (v.type != jbvBool)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("parameter \"%s\" must be true or false", ps->name)));
					out->boolean[current] = v.val.boolean;
					break;
				case MM_PARAM_STRING:
					{
						char	   *s = NULL;

						if (v.type == jbvString)
							s = pnstrdup(v.val.string.val, v.val.string.len);
						if (s == NULL || (ps->values && !value_in_list(ps->values, s)))
							ereport(ERROR,
									(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
									 errmsg("parameter \"%s\" must be one of: %s", ps->name,
											ps->values ? ps->values : "a string")));
						out->string[current] = s;
						break;
					}
			}
		}
		else if (tok != WJB_BEGIN_OBJECT && tok != WJB_END_OBJECT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params must be a flat JSON object")));
	}
}

static int
param_index(const mm_param_values *pv, const char *name)
{
	for (int i = 0; i < pv->spec->nparams; i++)
		if (strcmp(pv->spec->params[i].name, name) == 0)
			return i;
	elog(ERROR, "algorithm %s has no parameter %s", pv->spec->name, name);
	return -1;
}

double
mm_param_number(const mm_param_values *pv, const char *name)
{
	return pv->number[param_index(pv, name)];
}

/* Does the algorithm have a parameter called name? */
bool
mm_param_exists(const mm_param_values *pv, const char *name)
{
	for (int i = 0; i < pv->spec->nparams; i++)
		if (strcmp(pv->spec->params[i].name, name) == 0)
			return true;
	return false;
}

bool
mm_param_bool(const mm_param_values *pv, const char *name)
{
	return pv->boolean[param_index(pv, name)];
}

const char *
mm_param_string(const mm_param_values *pv, const char *name)
{
	return pv->string[param_index(pv, name)];
}

/* The effective params (defaults filled in) as jsonb, for the registry. */
Jsonb *
mm_params_jsonb(const mm_param_values *pv)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < pv->spec->nparams; i++)
	{
		const mm_param_spec *ps = &pv->spec->params[i];

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, ps->name);
		appendStringInfoString(&buf, ": ");
		switch (ps->type)
		{
			case MM_PARAM_NUMBER:
			case MM_PARAM_INTEGER:
				mm_json_number(&buf, pv->number[i]);
				break;
			case MM_PARAM_BOOLEAN:
				appendStringInfoString(&buf, pv->boolean[i] ? "true" : "false");
				break;
			case MM_PARAM_STRING:
				escape_json(&buf, pv->string[i]);
				break;
		}
	}
	appendStringInfoChar(&buf, '}');
	return mm_jsonb_from_cstring(buf.data);
}

Datum
mm_algorithms_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (size_t a = 0; a < lengthof(algorithms); a++)
	{
		const mm_algorithm_spec *alg = &algorithms[a];
		StringInfoData buf;
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		initStringInfo(&buf);
		appendStringInfoChar(&buf, '{');
		for (int i = 0; i < alg->nparams; i++)
		{
			const mm_param_spec *ps = &alg->params[i];

			if (i > 0)
				appendStringInfoString(&buf, ", ");
			escape_json(&buf, ps->name);
			appendStringInfo(&buf, ": {\"type\": \"%s\", \"default\": %s",
							 param_type_name(ps->type), ps->dflt);
			if (ps->type == MM_PARAM_NUMBER || ps->type == MM_PARAM_INTEGER)
			{
				appendStringInfoString(&buf, ", \"min\": ");
				mm_json_number(&buf, ps->min);
				appendStringInfoString(&buf, ", \"max\": ");
				mm_json_number(&buf, ps->max);
			}
			if (ps->values)
			{
				char	   *copy = pstrdup(ps->values);
				char	   *save = NULL;
				bool		first = true;

				appendStringInfoString(&buf, ", \"values\": [");
				for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				{
					if (!first)
						appendStringInfoString(&buf, ", ");
					escape_json(&buf, tok);
					first = false;
				}
				appendStringInfoChar(&buf, ']');
			}
			appendStringInfoString(&buf, ", \"description\": ");
			escape_json(&buf, ps->description);
			appendStringInfoChar(&buf, '}');
		}
		appendStringInfoChar(&buf, '}');
		values[0] = CStringGetTextDatum(alg->name);
		values[1] = CStringGetTextDatum(alg->task);
		values[2] = JsonbPGetDatum(mm_jsonb_from_cstring(buf.data));
		values[3] = CStringGetTextDatum(alg->description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
