/*
 * model_type.c
 *	  The modelmgr.model SQL type: a varlena holding the artifact bytes of
 *	  doc/format.md.  Text I/O is base64 (exact round trip for pg_dump and
 *	  COPY), binary I/O is the bytes, casts to and from bytea validate, and
 *	  describe() shows a model as jsonb.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include <inttypes.h>

#include "mm_bytes.h"
#include "mm_model.h"
#include "mm_pg.h"

PG_FUNCTION_INFO_V1(mm_model_in);
PG_FUNCTION_INFO_V1(mm_model_out);
PG_FUNCTION_INFO_V1(mm_model_recv);
PG_FUNCTION_INFO_V1(mm_model_send);
PG_FUNCTION_INFO_V1(mm_model_from_bytea);
PG_FUNCTION_INFO_V1(mm_model_to_bytea);
PG_FUNCTION_INFO_V1(mm_describe);

/*
 * Parse and validate artifact bytes; errors are raised with the core's
 * message (22000 data exception for malformed bytes).
 */
mm_model *
mm_parse_artifact(const void *data, Size len)
{
	mm_model   *model = NULL;
	mm_error	err;
	mm_status	st;

	mm_error_clear(&err);
	st = mm_model_parse(data, len, &model, &err);
	if (st != MM_OK)
	{
		if (err.hint[0] == '\0')
			mm_error_hint(&err, "The bytes are not a modelmgr model artifact, or were damaged; take them again from modelmgr.load(...).");
		mm_raise(&err);
	}
	return model;
}

/* Serialize a model into a new bytea (also the modelmgr.model varlena). */
bytea *
mm_serialize_model(const mm_model *model)
{
	mm_buf		buf;
	mm_error	err;
	bytea	   *result;

	mm_error_clear(&err);
	mm_buf_init(&buf);
	if (mm_model_serialize(model, &buf, &err) != MM_OK)
		mm_raise(&err);
	if (buf.failed)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while writing a model artifact")));
	if (buf.len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model artifact of %zu bytes is too large", buf.len)));
	result = (bytea *) palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(result, VARHDRSZ + buf.len);
	memcpy(VARDATA(result), buf.data, buf.len);
	mm_buf_free(&buf);
	return result;
}

uint64
mm_artifact_checksum(const void *data, Size len)
{
	return mm_checksum64(data, len);
}

/* Validate bytes and wrap them as a model varlena. */
static struct varlena *
model_from_bytes(const char *data, Size len)
{
	mm_model   *model = mm_parse_artifact(data, len);
	struct varlena *result;

	mm_model_free(model);
	result = (struct varlena *) palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), data, len);
	return result;
}

Datum
mm_model_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	uint8_t    *bytes;
	size_t		len;
	struct varlena *result;

	if (!mm_base64_decode(str, strlen(str), &bytes, &len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type modelmgr.model"),
				 errdetail("The text form of a model is the base64 encoding of its artifact."),
				 errhint("Produce it with modelmgr.load(...)::text.")));
	result = model_from_bytes((const char *) bytes, len);
	mm_free(bytes);
	PG_RETURN_POINTER(result);
}

/* Bytes as a NUL-terminated base64 string: the text form of our types. */
char *
mm_base64_cstring(const void *data, Size len)
{
	char	   *out = palloc(mm_base64_encoded_len(len) + 1);

	mm_base64_encode((const uint8_t *) data, len, out);
	out[mm_base64_encoded_len(len)] = '\0';
	return out;
}

Datum
mm_model_out(PG_FUNCTION_ARGS)
{
	struct varlena *m = PG_GETARG_VARLENA_P(0);

	PG_RETURN_CSTRING(mm_base64_cstring(VARDATA_ANY(m), VARSIZE_ANY_EXHDR(m)));
}

Datum
mm_model_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const char *data = pq_getmsgbytes(buf, len);

	PG_RETURN_POINTER(model_from_bytes(data, len));
}

Datum
mm_model_send(PG_FUNCTION_ARGS)
{
	struct varlena *m = PG_GETARG_VARLENA_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(m), VARSIZE_ANY_EXHDR(m));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
mm_model_from_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_POINTER(model_from_bytes(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)));
}

Datum
mm_model_to_bytea(PG_FUNCTION_ARGS)
{
	/* same bytes, same varlena layout */
	PG_RETURN_BYTEA_P(PG_GETARG_BYTEA_P_COPY(0));
}

static void
json_string(StringInfo buf, const char *s)
{
	escape_json(buf, s);
}

/*
 * A model as jsonb.  Linear models also list their coefficients by feature
 * name, which is what people want to see first.
 */
Datum
mm_describe_model(const mm_model *model, int format_version, Size size, uint64 checksum)
{
	StringInfoData buf;
	const mm_tensor *coef = mm_model_tensor(model, "coef");
	const mm_tensor *icpt = mm_model_tensor(model, "intercept");

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"format_version\": %d, \"algorithm\": ", format_version);
	json_string(&buf, mm_algorithm_name(model->algorithm));
	appendStringInfoString(&buf, ", \"task\": ");
	json_string(&buf, mm_task_name(model->task));
	appendStringInfoString(&buf, ", \"target\": ");
	if (model->target)
		json_string(&buf, model->target);
	else
		appendStringInfoString(&buf, "null");

	appendStringInfoString(&buf, ", \"features\": [");
	for (uint32 i = 0; i < model->n_features; i++)
	{
		const mm_feature *f = &model->features[i];

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "{\"name\": ");
		json_string(&buf, f->name);
		appendStringInfo(&buf, ", \"kind\": \"%s\", \"impute\": ",
						 f->kind == MM_FEATURE_CATEGORICAL ? "categorical" : "numeric");
		if (f->impute == MM_IMPUTE_ERROR)
			appendStringInfoString(&buf, "\"error\"");
		else
			mm_json_number(&buf, f->impute_value);
		if (f->kind == MM_FEATURE_CATEGORICAL)
		{
			appendStringInfoString(&buf, ", \"categories\": [");
			for (uint32 c = 0; c < f->n_categories; c++)
			{
				if (c > 0)
					appendStringInfoString(&buf, ", ");
				json_string(&buf, f->categories[c]);
			}
			appendStringInfoChar(&buf, ']');
		}
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, ']');

	if (model->n_classes > 0)
	{
		appendStringInfoString(&buf, ", \"classes\": [");
		for (uint32 i = 0; i < model->n_classes; i++)
		{
			if (i > 0)
				appendStringInfoString(&buf, ", ");
			json_string(&buf, model->classes[i]);
		}
		appendStringInfoChar(&buf, ']');
	}

	appendStringInfoString(&buf, ", \"attributes\": {");
	for (uint32 i = 0; i < model->n_attrs; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		json_string(&buf, model->attrs[i].name);
		appendStringInfoString(&buf, ": ");
		mm_json_number(&buf, model->attrs[i].value);
	}
	appendStringInfoString(&buf, "}, \"tensors\": [");
	for (uint32 i = 0; i < model->n_tensors; i++)
	{
		const mm_tensor *t = &model->tensors[i];

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "{\"name\": ");
		json_string(&buf, t->name);
		appendStringInfo(&buf, ", \"dtype\": \"%s\", \"layout\": \"%s\", \"rows\": %u, \"cols\": %u, \"stored\": " UINT64_FORMAT "}",
						 mm_dtype_name(t->dtype),
						 t->layout == MM_LAYOUT_SPARSE ? "sparse" : "dense",
						 t->rows, t->cols, (uint64) t->nnz);
	}
	appendStringInfo(&buf, "], \"parameters\": " UINT64_FORMAT ", \"nonzero\": " UINT64_FORMAT,
					 (uint64) mm_model_param_count(model),
					 (uint64) mm_model_nonzero_count(model));
	if (model->n_groups > 0)
	{
		/* grouped: the group columns and each group's keys and size */
		appendStringInfoString(&buf, ", \"group_columns\": [");
		for (uint32 g = 0; g < model->n_group_columns; g++)
		{
			if (g > 0)
				appendStringInfoString(&buf, ", ");
			json_string(&buf, model->group_columns[g]);
		}
		appendStringInfoString(&buf, "], \"groups\": [");
		for (uint32 i = 0; i < model->n_groups; i++)
		{
			const mm_group *grp = &model->groups[i];

			appendStringInfoString(&buf, i > 0 ? ", {\"keys\": [" : "{\"keys\": [");
			for (uint32 g = 0; g < model->n_group_columns; g++)
			{
				if (g > 0)
					appendStringInfoString(&buf, ", ");
				if (grp->keys[g])
					json_string(&buf, grp->keys[g]);
				else
					appendStringInfoString(&buf, "null");
			}
			appendStringInfo(&buf, "], \"parameters\": " UINT64_FORMAT "}",
							 (uint64) mm_model_param_count(grp->model));
		}
		appendStringInfoChar(&buf, ']');
	}

	if (coef && icpt && coef->rows == 1 && coef->cols == mm_model_input_width(model) &&
		coef->cols == model->n_features)
	{
		appendStringInfoString(&buf, ", \"intercept\": ");
		mm_json_number(&buf, mm_tensor_get(icpt, 0, 0));
		appendStringInfoString(&buf, ", \"coefficients\": {");
		for (uint32 i = 0; i < model->n_features; i++)
		{
			if (i > 0)
				appendStringInfoString(&buf, ", ");
			json_string(&buf, model->features[i].name);
			appendStringInfoString(&buf, ": ");
			mm_json_number(&buf, mm_tensor_get(coef, 0, i));
		}
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfo(&buf, ", \"size_bytes\": %zu, \"checksum\": \"%016" PRIx64 "\"}",
					 (size_t) size, checksum);
	return JsonbPGetDatum(mm_jsonb_from_cstring(buf.data));
}

Datum
mm_describe(PG_FUNCTION_ARGS)
{
	struct varlena *m = PG_GETARG_VARLENA_PP(0);
	Size		len = VARSIZE_ANY_EXHDR(m);
	mm_model   *model = mm_parse_artifact(VARDATA_ANY(m), len);
	Datum		result;

	/* the parser has checked the header: bytes 4-5 are the format version */
	result = mm_describe_model(model,
							   (uint8) VARDATA_ANY(m)[4] | ((uint8) VARDATA_ANY(m)[5] << 8),
							   len, mm_artifact_checksum(VARDATA_ANY(m), len));
	mm_model_free(model);
	PG_RETURN_DATUM(result);
}
