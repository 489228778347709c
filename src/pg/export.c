/*
 * export.c
 *	  modelmgr.export and modelmgr.import: one version of a model as
 *	  self-describing bytes, and those bytes back as a new version.
 *
 * An export is the envelope of src/core/mm_export.c (doc/format.md, "Export
 * envelope"): JSON metadata that describes the version (algorithm, task,
 * schema, params, metrics, training data, lineage) and the version's
 * artifact, byte for byte, so that an imported version predicts exactly as
 * the exported one did, in any database and on any machine.  The metadata
 * is built by one registry query (as the extension owner, fully qualified
 * SQL) and is UTF-8 whatever the database encoding.
 *
 * import trusts nothing: the envelope's framing and checksum, the JSON, the
 * type of every field it reads, the artifact (the full parser), and that
 * the metadata describes that artifact (algorithm, task, features and
 * format version agree).  Every failure is 22000 (0A000 for a newer format)
 * with a hint, never a JSON syntax error or an internal one.
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "mm_bytes.h"
#include "mm_export.h"
#include "mm_model.h"
#include "mm_pg.h"

PG_FUNCTION_INFO_V1(mm_export);
PG_FUNCTION_INFO_V1(mm_import);

/* Entries of the lineage list, the version itself included. */
#define LINEAGE_MAX_DEPTH 1000

#define EXPORT_HINT "The bytes are not a modelmgr export, or were damaged; export the model again."

/*
 * The metadata and the artifact of one version ($1 model id, $2 version,
 * $3 model name, $4 task).  Lineage follows parent_version back to the
 * root; a parent dropped since ends the chain.  Timestamps are UTC, so the
 * bytes do not depend on the session's TimeZone.
 */
#define UTC_TEXT(col) \
	"pg_catalog.to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

static const char *const export_sql =
"WITH RECURSIVE lineage (depth, version, parent_version, operation, algorithm, created_at) AS ("
"  SELECT 1, v.version, v.parent_version, v.operation, v.algorithm, v.created_at"
"  FROM modelmgr.model_versions v"
"  WHERE v.model_id OPERATOR(pg_catalog.=) $1 AND v.version OPERATOR(pg_catalog.=) $2"
"  UNION ALL"
"  SELECT l.depth OPERATOR(pg_catalog.+) 1, p.version, p.parent_version, p.operation,"
"         p.algorithm, p.created_at"
"  FROM lineage l JOIN modelmgr.model_versions p"
"    ON p.model_id OPERATOR(pg_catalog.=) $1"
"   AND p.version OPERATOR(pg_catalog.=) l.parent_version"
"  WHERE l.depth OPERATOR(pg_catalog.<) " CppAsString2(LINEAGE_MAX_DEPTH)
") "
"SELECT pg_catalog.jsonb_build_object("
"  'modelmgr_export', 1,"
"  'format_version', (pg_catalog.get_byte(v.artifact, 5) OPERATOR(pg_catalog.*) 256)"
"                    OPERATOR(pg_catalog.+) pg_catalog.get_byte(v.artifact, 4),"
"  'model', $3::pg_catalog.text,"
"  'version', v.version,"
"  'task', $4::pg_catalog.text,"
"  'algorithm', v.algorithm,"
"  'operation', v.operation,"
"  'params', v.params,"
"  'source_relation', v.source_relation,"
"  'target', v.target,"
"  'features', v.features,"
"  'seed', v.seed,"
"  'test_fraction', v.test_fraction,"
"  'train_rows', v.train_rows,"
"  'test_rows', v.test_rows,"
"  'skipped_rows', v.skipped_rows,"
"  'metrics', v.metrics,"
"  'checksum', v.checksum,"
"  'created_by', v.created_by::pg_catalog.text,"
"  'created_at', " UTC_TEXT("v.created_at") ","
"  'lineage', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
"                 'version', l.version, 'parent_version', l.parent_version,"
"                 'operation', l.operation, 'algorithm', l.algorithm,"
"                 'created_at', " UTC_TEXT("l.created_at") ") ORDER BY l.depth)"
"              FROM lineage l)"
")::pg_catalog.text, v.artifact "
"FROM modelmgr.model_versions v "
"WHERE v.model_id OPERATOR(pg_catalog.=) $1 AND v.version OPERATOR(pg_catalog.=) $2";


/*
 * export(name, version): the version (the deployed one when NULL) as an
 * export envelope.  Needs USE on the model.
 */
Datum
mm_export(PG_FUNCTION_ARGS)
{
	char	   *name;
	int32		version = 0;
	mm_model_row row;
	Oid			types[4] = {INT8OID, INT4OID, TEXTOID, TEXTOID};
	Datum		values[4];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *meta;
	char	   *meta_utf8;
	bytea	   *artifact;
	mm_buf		buf;
	mm_error	err;
	bytea	   *result;

	mm_require_arg(fcinfo, 0, "model name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	version = mm_version_arg(fcinfo, 1);

	SPI_connect();
	mm_lookup_model_or_error(name, false, &row);
	mm_require_use(&row);
	version = mm_version_or_deployed(&row, version,
									 psprintf("Name the version to export: modelmgr.export('%s', <version>).",
											  row.name));

	values[0] = Int64GetDatum(row.id);
	values[1] = Int32GetDatum(version);
	values[2] = CStringGetTextDatum(row.name);
	values[3] = CStringGetTextDatum(row.task);
	mm_registry_exec(export_sql, 4, types, values, NULL, true, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", version, row.name),
				 errhint("The model's versions run from 1 to %d; dropped versions are gone for good.",
						 row.last_version)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	meta = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
	artifact = DatumGetByteaPP(SPI_getbinval(tup, desc, 2, &isnull));
	/* never ship damaged bytes: the stored artifact must parse (22000 if not) */
	mm_model_free(mm_parse_artifact(VARDATA_ANY(artifact), VARSIZE_ANY_EXHDR(artifact)));

	/* the metadata is UTF-8 whatever the database encoding */
	meta_utf8 = pg_server_to_any(meta, strlen(meta), PG_UTF8);

	mm_buf_init(&buf);
	if (mm_export_write(meta_utf8, strlen(meta_utf8), VARDATA_ANY(artifact),
						VARSIZE_ANY_EXHDR(artifact), &buf, &err) != MM_OK)
		mm_raise(&err);
	if (buf.len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("export of version %d of model \"%s\" would take %zu bytes, more than a bytea can hold",
						version, row.name, buf.len)));
	/* the result outlives SPI_finish, which frees everything else */
	result = SPI_palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(result, VARHDRSZ + buf.len);
	memcpy(VARDATA(result), buf.data, buf.len);
	SPI_finish();
	PG_RETURN_BYTEA_P(result);
}

/* ---------------------------------------------------------------------
 * import: reading the metadata
 * ---------------------------------------------------------------------
 */

/* A metadata problem: the bytes are intact but do not say what we need. */
static void
metadata_error(const char *fmt, const char *key) pg_attribute_noreturn();

static void
metadata_error(const char *fmt, const char *key)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg_internal(fmt, key),
			 errdetail("The export is intact but its metadata is not what modelmgr.export writes."),
			 errhint(EXPORT_HINT)));
	pg_unreachable();
}

/*
 * What jsonb_in would refuse with an error of its own (a number numeric
 * cannot hold, nesting deep enough to exhaust the stack), found while the
 * text is validated, so that it is reported as a damaged export too.
 */
#define META_MAX_DEPTH 100

typedef struct MetaCheck
{
	int			depth;
} MetaCheck;

static void
meta_check_start(void *state)
{
	MetaCheck  *mc = state;

	if (++mc->depth > META_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("export metadata is nested more than %d levels deep", META_MAX_DEPTH),
				 errhint(EXPORT_HINT)));
}

static void
meta_check_end(void *state)
{
	((MetaCheck *) state)->depth--;
}

/*
 * A JSON number (the lexer has checked its syntax) must fit numeric's
 * input limits, with a margin: exponent within +-1000, at most 100000
 * digits before the point and 16000 after it, exponent included.
 */
static void
meta_check_scalar(void *state, char *token, JsonTokenType type)
{
	const char *p = token;
	long		int_digits = 0;
	long		frac_digits = 0;
	long		exponent = 0;
	bool		negative = false;

	(void) state;
	if (type != JSON_TOKEN_NUMBER)
		return;
	if (*p == '-')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		int_digits++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			frac_digits++;
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			negative = (*p++ == '-');
		for (; *p >= '0' && *p <= '9' && exponent <= 1000; p++)
			exponent = exponent * 10 + (*p - '0');
		if (negative)
			exponent = -exponent;
	}
	if (exponent > 1000 || exponent < -1000 ||
		int_digits + Max(exponent, 0) > 100000 ||
		frac_digits + Max(-exponent, 0) > 16000)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("export metadata holds a number out of range"),
				 errhint(EXPORT_HINT)));
}

/*
 * Parse the envelope's metadata (UTF-8 JSON) into jsonb.  Invalid JSON
 * behind a valid checksum is a damaged export (22000), not a syntax error,
 * so the text is validated before jsonb_in sees it.
 */
static Jsonb *
parse_metadata(const char *data, size_t len)
{
	char	   *utf8 = pnstrdup(data, len);
	char	   *text;
	JsonLexContext *lex;
	JsonParseErrorType jerr;
	JsonSemAction sem;
	MetaCheck	mc = {0};
	Jsonb	   *meta;

	/* utf8 is NUL-terminated, and so is a converted copy */
	text = pg_any_to_server(utf8, (int) len, PG_UTF8);
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &mc;
	sem.object_start = meta_check_start;
	sem.array_start = meta_check_start;
	sem.object_end = meta_check_end;
	sem.array_end = meta_check_end;
	sem.scalar = meta_check_scalar;
	lex = makeJsonLexContextCstringLen(text, strlen(text), GetDatabaseEncoding(), true);
	jerr = pg_parse_json(lex, &sem);
	if (jerr != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("export metadata is not valid JSON"),
				 errdetail("%s", json_errdetail(jerr, lex)),
				 errhint(EXPORT_HINT)));
	meta = mm_jsonb_from_cstring(text);
	if (JB_ROOT_IS_SCALAR(meta) || !JB_ROOT_IS_OBJECT(meta))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("export metadata is not a JSON object"),
				 errhint(EXPORT_HINT)));
	return meta;
}

/* The value of key, or NULL when it is absent or JSON null. */
static JsonbValue *
meta_get(Jsonb *meta, const char *key, JsonbValue *buf)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&meta->root, key, strlen(key), buf);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	return v;
}

/* The value of key; absent or JSON null is an error. */
static JsonbValue *
meta_require(Jsonb *meta, const char *key, JsonbValue *buf)
{
	JsonbValue *v = meta_get(meta, key, buf);

	if (v == NULL)
		metadata_error("export metadata is missing \"%s\"", key);
	return v;
}

/* A string field, or NULL when absent and !required. */
static char *
meta_string(Jsonb *meta, const char *key, bool required)
{
	JsonbValue	buf;
	JsonbValue *v = required ? meta_require(meta, key, &buf) : meta_get(meta, key, &buf);

	if (v == NULL)
		return NULL;
	if (v->type != jbvString)
		metadata_error("export metadata field \"%s\" must be a string", key);
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* A number field as its exact decimal text, or NULL when absent. */
static char *
meta_number(Jsonb *meta, const char *key, bool required)
{
	JsonbValue	buf;
	JsonbValue *v = required ? meta_require(meta, key, &buf) : meta_get(meta, key, &buf);

	if (v == NULL)
		return NULL;
	if (v->type != jbvNumeric)
		metadata_error("export metadata field \"%s\" must be a number", key);
	/* no exponent, no trailing zeros: "5.0" and 5e0 both read "5" */
	return numeric_normalize(v->val.numeric);
}

/*
 * An integer field within [min, max]; false when absent and !required.
 */
static bool
meta_int64(Jsonb *meta, const char *key, bool required, int64 min, int64 max,
		   int64 *out)
{
	char	   *s = meta_number(meta, key, required);
	char	   *end;
	long long	v;

	if (s == NULL)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		metadata_error("export metadata field \"%s\" must be an integer", key);
	if (errno == ERANGE || v < min || v > max)
		metadata_error("export metadata field \"%s\" is out of range", key);
	*out = (int64) v;
	return true;
}

/* An object field as jsonb, or NULL when absent. */
static Jsonb *
meta_object(Jsonb *meta, const char *key)
{
	JsonbValue	buf;
	JsonbValue *v = meta_get(meta, key, &buf);

	if (v == NULL)
		return NULL;
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		metadata_error("export metadata field \"%s\" must be an object", key);
	return JsonbValueToJsonb(v);
}

/*
 * The metadata must describe the artifact it travels with: same format
 * version, algorithm, task, and feature names in order.
 */
static void
check_against_artifact(Jsonb *meta, const mm_model *model, int format_version)
{
	int64		fv;
	char	   *algorithm = meta_string(meta, "algorithm", true);
	char	   *task = meta_string(meta, "task", true);
	JsonbValue	buf;
	JsonbValue *features;
	JsonbContainer *fc;

	(void) meta_int64(meta, "format_version", true, 0, PG_INT32_MAX, &fv);
	if (fv != format_version)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("export metadata says format version " INT64_FORMAT ", but the artifact has format version %d",
						fv, format_version),
				 errhint(EXPORT_HINT)));
	if (strcmp(algorithm, mm_algorithm_name(model->algorithm)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("export metadata says algorithm \"%s\", but the artifact is a %s model",
						algorithm, mm_algorithm_name(model->algorithm)),
				 errhint(EXPORT_HINT)));
	if (strcmp(task, mm_task_name(model->task)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("export metadata says task \"%s\", but the artifact is a %s model",
						task, mm_task_name(model->task)),
				 errhint(EXPORT_HINT)));

	features = meta_require(meta, "features", &buf);
	if (features->type != jbvBinary || !JsonContainerIsArray(features->val.binary.data) ||
		JsonContainerIsScalar(features->val.binary.data))
		metadata_error("export metadata field \"%s\" must be an array of strings", "features");
	fc = features->val.binary.data;
	if (JsonContainerSize(fc) != model->n_features)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("export metadata lists %u features, but the artifact has %u",
						(unsigned) JsonContainerSize(fc), model->n_features),
				 errhint(EXPORT_HINT)));
	for (uint32 i = 0; i < model->n_features; i++)
	{
		JsonbValue *f = getIthJsonbValueFromContainer(fc, i);
		const char *name = model->features[i].name;

		if (f == NULL || f->type != jbvString)
			metadata_error("export metadata field \"%s\" must be an array of strings", "features");
		if ((size_t) f->val.string.len != strlen(name) ||
			memcmp(f->val.string.val, name, f->val.string.len) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("export metadata names feature %u \"%s\", but the artifact calls it \"%s\"",
							i + 1, pnstrdup(f->val.string.val, f->val.string.len), name),
					 errhint(EXPORT_HINT)));
	}
}

/* The model's feature names as text[]. */
static Datum
feature_array(const mm_model *model)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(model->n_features, 1));

	for (uint32 i = 0; i < model->n_features; i++)
		elems[i] = CStringGetTextDatum(model->features[i].name);
	return PointerGetDatum(construct_array(elems, (int) model->n_features, TEXTOID,
										   -1, false, TYPALIGN_INT));
}

/*
 * import(name, data): validate an export and add it as the next version of
 * model `name` (operation import, no parent), created on first use.  The
 * artifact is stored as it came, so predictions are bit-identical.
 * Deployed when the model has no deployed version.
 */
Datum
mm_import(PG_FUNCTION_ARGS)
{
	char	   *name;
	bytea	   *data;
	const char *bytes;
	size_t		len;
	mm_export_view view;
	mm_error	err;
	Jsonb	   *meta;
	int64		envelope_version;
	mm_model   *model = NULL;
	int			format_version;
	mm_new_version nv;
	mm_saved_version saved;
	int64		n;
	char	   *fraction;

	mm_require_arg(fcinfo, 0, "model name");
	mm_require_arg(fcinfo, 1, "data");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	mm_validate_model_name(name);
	data = PG_GETARG_BYTEA_PP(1);
	bytes = VARDATA_ANY(data);
	len = VARSIZE_ANY_EXHDR(data);

	if (mm_export_parse(bytes, len, &view, &err) != MM_OK)
	{
		if (err.hint[0] == '\0')
		{
			if (len >= 4 && memcmp(bytes, MM_FORMAT_MAGIC, 4) == 0)
				mm_error_hint(&err, "To add a model value as a version, use modelmgr.save(name, model).");
			else
				mm_error_hint(&err, EXPORT_HINT);
		}
		mm_raise(&err);
	}

	meta = parse_metadata(view.metadata, view.metadata_len);
	(void) meta_int64(meta, "modelmgr_export", true, PG_INT64_MIN, PG_INT64_MAX,
					  &envelope_version);
	if (envelope_version != 1)
		ereport(ERROR,
				(errcode(envelope_version > 1 ? ERRCODE_FEATURE_NOT_SUPPORTED : ERRCODE_DATA_EXCEPTION),
				 errmsg("export metadata version " INT64_FORMAT " is not supported", envelope_version),
				 envelope_version > 1 ?
				 errhint("Upgrade modelmgr to import this export.") :
				 errhint(EXPORT_HINT)));

	if (mm_model_parse(view.artifact, view.artifact_len, &model, &err) != MM_OK)
	{
		if (err.hint[0] == '\0')
			mm_error_hint(&err, EXPORT_HINT);
		mm_raise(&err);
	}
	/* the parser has checked the header: bytes 4-5 are the format version */
	format_version = view.artifact[4] | (view.artifact[5] << 8);
	check_against_artifact(meta, model, format_version);

	memset(&nv, 0, sizeof(nv));
	nv.model_name = name;
	nv.task = mm_task_name(model->task);
	nv.operation = "import";
	nv.parent_version = 0;
	nv.algorithm = mm_algorithm_name(model->algorithm);
	nv.params = meta_object(meta, "params");
	nv.source_relation = meta_string(meta, "source_relation", false);
	nv.target = meta_string(meta, "target", false);
	nv.features = feature_array(model);
	nv.has_seed = meta_int64(meta, "seed", false, PG_INT64_MIN, PG_INT64_MAX, &nv.seed);
	nv.test_fraction = -1;
	fraction = meta_number(meta, "test_fraction", false);
	if (fraction != NULL)
	{
		double		f = strtod(fraction, NULL);

		if (!isfinite(f) || f < 0 || f >= 1)
			metadata_error("export metadata field \"%s\" must be at least 0 and less than 1",
						   "test_fraction");
		nv.test_fraction = f;
	}
	nv.train_rows = meta_int64(meta, "train_rows", false, 0, PG_INT64_MAX, &n) ? n : -1;
	nv.test_rows = meta_int64(meta, "test_rows", false, 0, PG_INT64_MAX, &n) ? n : -1;
	nv.skipped_rows = meta_int64(meta, "skipped_rows", false, 0, PG_INT64_MAX, &n) ? n : -1;
	nv.metrics = meta_object(meta, "metrics");
	nv.artifact = palloc(VARHDRSZ + view.artifact_len);
	SET_VARSIZE(nv.artifact, VARHDRSZ + view.artifact_len);
	memcpy(VARDATA(nv.artifact), view.artifact, view.artifact_len);
	nv.phase_seconds = NULL;

	SPI_connect();
	saved = mm_save_version(&nv, MM_DEPLOY_AUTO, NULL, NULL);
	SPI_finish();
	mm_model_free(model);
	PG_RETURN_INT32(saved.version);
}
