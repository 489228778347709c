/*
 * mm_format.c
 *	  The model binary format: mm_model_serialize and mm_model_parse.
 *	  doc/format.md describes it byte by byte; keep the two in step.
 *
 * The writer validates the model first and writes fields one by one in
 * little-endian order (never a struct), so the bytes do not depend on the
 * compiler or the machine.  The parser trusts nothing.  It checks, in this
 * order: the magic, the format version (a newer one is MM_ERR_UNSUPPORTED,
 * everything else is MM_ERR_CORRUPT), flags, the total length against the
 * input length, the checksum, then the framing of every section (tags,
 * order, lengths) before it reads any payload; within a payload, every
 * count is checked against its limit and against the bytes that remain
 * before anything is allocated, so a short hostile input cannot ask for a
 * large allocation.  What is left (finiteness, sparse structure, names,
 * shapes) is mm_model_validate's job, shared with the writer.
 *
 * A grouped model adds a GROUPS section (the group columns) and one GROUP
 * section per group, which holds the group's keys and the sub-model's own
 * complete artifact.  The writer writes that artifact in place (the same
 * routine, with what is left of the size limit); the parser parses it
 * recursively, refusing groups inside a group, and validates the whole
 * model once at the end.
 *
 * The format is canonical: the writer omits empty CLASSES and ATTRS
 * sections and the parser rejects empty ones, payloads must be consumed
 * exactly, and every reserved field is zero, so an accepted artifact is
 * byte for byte what the writer produces for the parsed model.  The fuzz
 * target checks exactly that.
 */
#include "mm_model.h"

#include <string.h>

/*
 * Section tags.  Sections appear in increasing tag order, except CHECKSUM,
 * which is always last (GROUPS and GROUP came later and go before it).
 */
#define TAG_MODEL		1
#define TAG_FEATURES	2
#define TAG_CLASSES		3
#define TAG_ATTRS		4
#define TAG_TENSOR		5
#define TAG_CHECKSUM	6
#define TAG_GROUPS		7
#define TAG_GROUP		8

#define XSTR(x) #x
#define STR(x) XSTR(x)

#define HEADER_LEN		12		/* magic, version, flags, total length */
#define SECTION_HDR_LEN 8		/* tag, reserved, payload length */
#define CHECKSUM_LEN	(SECTION_HDR_LEN + 8)

/* Smallest encoding of one FEATURES entry: empty name, fixed fields. */
#define MIN_FEATURE_LEN (4 + 4 + 3 * 8 + 4)
#define MIN_ATTR_LEN	(4 + 8)

static const char *
SectionName(uint16_t tag)
{
	switch (tag)
	{
		case TAG_MODEL:
			return "MODEL";
		case TAG_FEATURES:
			return "FEATURES";
		case TAG_CLASSES:
			return "CLASSES";
		case TAG_ATTRS:
			return "ATTRS";
		case TAG_TENSOR:
			return "TENSOR";
		case TAG_CHECKSUM:
			return "CHECKSUM";
		case TAG_GROUPS:
			return "GROUPS";
		case TAG_GROUP:
			return "GROUP";
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * Writer
 * ---------------------------------------------------------------------
 */

/* Start a section; returns the offset of its payload length field. */
static size_t
BeginSection(mm_buf *out, uint16_t tag)
{
	size_t		at;

	mm_buf_put_u16(out, tag);
	mm_buf_put_u16(out, 0);
	at = out->len;
	mm_buf_put_u32(out, 0);
	return at;
}

/*
 * Patch the payload length, unless the artifact that starts at `start` is
 * already larger than `limit`.
 */
static bool
EndSection(mm_buf *out, size_t start, size_t limit, size_t length_at)
{
	size_t		payload;

	if (out->failed)
		return true;			/* reported as out of memory by the caller */
	payload = out->len - length_at - 4;
	if (out->len - start > limit)
		return false;
	mm_buf_patch_u32(out, length_at, (uint32_t) payload);
	return true;
}

/* Encoded bytes staged here before each mm_buf_put_bytes. */
#define STAGE_LEN 4096

static void
PutU32Array(mm_buf *out, const uint32_t *v, uint64_t n)
{
	uint8_t		stage[STAGE_LEN];
	size_t		used = 0;
	uint64_t	k;
	int			i;

	for (k = 0; k < n; k++)
	{
		for (i = 0; i < 4; i++)
			stage[used++] = (uint8_t) (v[k] >> (8 * i));
		if (used == STAGE_LEN)
		{
			mm_buf_put_bytes(out, stage, used);
			used = 0;
		}
	}
	mm_buf_put_bytes(out, stage, used);
}

/* Stored values: IEEE bits little-endian; f16 as u16; int8 as bytes. */
static void
PutValues(mm_buf *out, const mm_tensor *t)
{
	uint8_t		stage[STAGE_LEN];
	size_t		used = 0;
	size_t		elem = mm_dtype_size(t->dtype);
	uint64_t	k;
	size_t		i;

	if (t->dtype == MM_DTYPE_I8)
	{
		mm_buf_put_bytes(out, t->values, (size_t) t->nnz);
		return;
	}
	for (k = 0; k < t->nnz; k++)
	{
		uint64_t	bits = 0;

		if (t->dtype == MM_DTYPE_F64)
			memcpy(&bits, (const double *) t->values + k, 8);
		else if (t->dtype == MM_DTYPE_F32)
		{
			uint32_t	b32;

			memcpy(&b32, (const float *) t->values + k, 4);
			bits = b32;
		}
		else
			bits = ((const uint16_t *) t->values)[k];
		for (i = 0; i < elem; i++)
			stage[used++] = (uint8_t) (bits >> (8 * i));
		if (used == STAGE_LEN)
		{
			mm_buf_put_bytes(out, stage, used);
			used = 0;
		}
	}
	mm_buf_put_bytes(out, stage, used);
}

/* Upper bound of a tensor section's size, saturating far above the limit. */
static uint64_t
TensorSectionSize(const mm_tensor *t)
{
	uint64_t	size = SECTION_HDR_LEN + 4 + strlen(t->name) + 24;

	if (t->nnz > MM_MAX_ARTIFACT)
		return UINT64_MAX;
	size += t->nnz * mm_dtype_size(t->dtype);
	if (t->layout == MM_LAYOUT_SPARSE)
		size += ((uint64_t) t->rows + 1) * 4 + t->nnz * 4;
	if (t->dtype == MM_DTYPE_I8)
		size += 4 + (uint64_t) t->n_scales * 12;
	return size;
}

static void
PutTensor(mm_buf *out, const mm_tensor *t)
{
	uint32_t	s;

	mm_buf_put_string(out, t->name);
	mm_buf_put_u8(out, t->dtype);
	mm_buf_put_u8(out, t->layout);
	mm_buf_put_u16(out, 0);
	mm_buf_put_u32(out, t->rows);
	mm_buf_put_u32(out, t->cols);
	mm_buf_put_u64(out, t->nnz);
	if (t->layout == MM_LAYOUT_SPARSE)
	{
		PutU32Array(out, t->row_ptr, (uint64_t) t->rows + 1);
		PutU32Array(out, t->col_idx, t->nnz);
	}
	PutValues(out, t);
	if (t->dtype == MM_DTYPE_I8)
	{
		mm_buf_put_u32(out, t->n_scales);
		for (s = 0; s < t->n_scales; s++)
			mm_buf_put_f64(out, t->scales[s]);
		for (s = 0; s < t->n_scales; s++)
			mm_buf_put_u32(out, (uint32_t) t->zero_points[s]);
	}
}

static void
PutFeature(mm_buf *out, const mm_feature *f)
{
	uint32_t	j;

	mm_buf_put_string(out, f->name);
	mm_buf_put_u8(out, f->kind);
	mm_buf_put_u8(out, f->impute);
	mm_buf_put_u8(out, f->drop_first);
	mm_buf_put_u8(out, 0);
	mm_buf_put_f64(out, f->impute_value);
	mm_buf_put_f64(out, f->center);
	mm_buf_put_f64(out, f->scale);
	mm_buf_put_u32(out, f->n_categories);
	for (j = 0; j < f->n_categories; j++)
		mm_buf_put_string(out, f->categories[j]);
}

static mm_status WriteArtifact(const mm_model *model, mm_buf *out,
							   size_t limit, mm_error *err);

/*
 * One GROUP section's payload: the keys, then the sub-model's complete
 * artifact behind its length, which gets what is left of the `limit`
 * bytes of the artifact that starts at `start`.  MM_ERR_LIMIT (out->len
 * not restored: the caller does that) when nothing is left.
 */
static mm_status
PutGroup(mm_buf *out, const mm_group *g, uint32_t n_keys, size_t start,
		 size_t limit, mm_error *err)
{
	size_t		length_at;
	uint32_t	i;
	mm_status	st;

	for (i = 0; i < n_keys; i++)
	{
		mm_buf_put_u8(out, g->keys[i] == NULL ? 1 : 0);
		if (g->keys[i] != NULL)
			mm_buf_put_string(out, g->keys[i]);
	}
	length_at = out->len;
	mm_buf_put_u32(out, 0);
	if (out->failed)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	if (out->len - start >= limit)
		return MM_ERR_LIMIT;
	st = WriteArtifact(g->model, out, limit - (out->len - start), err);
	if (st != MM_OK)
		return st;
	mm_buf_patch_u32(out, length_at, (uint32_t) (out->len - length_at - 4));
	return MM_OK;
}

/*
 * Append the artifact of a valid model at out->len, refusing to make it
 * larger than `limit` bytes (MM_MAX_ARTIFACT, or what is left of it for
 * the artifact of a group).  On failure out->len is restored, except
 * after an allocation failure.
 */
static mm_status
WriteArtifact(const mm_model *model, mm_buf *out, size_t limit,
			  mm_error *err)
{
	size_t		start = out->len;
	size_t		at;
	uint32_t	i;
	mm_status	st;

	if (out->failed)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");

	mm_buf_put_bytes(out, MM_FORMAT_MAGIC, 4);
	mm_buf_put_u16(out, MM_FORMAT_VERSION);
	mm_buf_put_u16(out, 0);
	mm_buf_put_u32(out, 0);		/* total length, patched below */

	at = BeginSection(out, TAG_MODEL);
	mm_buf_put_u16(out, model->algorithm);
	mm_buf_put_u8(out, model->task);
	mm_buf_put_u8(out, 0);
	mm_buf_put_string(out, model->target);
	if (!EndSection(out, start, limit, at))
		goto too_large;

	at = BeginSection(out, TAG_FEATURES);
	mm_buf_put_u32(out, model->n_features);
	for (i = 0; i < model->n_features; i++)
		PutFeature(out, &model->features[i]);
	if (!EndSection(out, start, limit, at))
		goto too_large;

	if (model->n_classes > 0)
	{
		at = BeginSection(out, TAG_CLASSES);
		mm_buf_put_u32(out, model->n_classes);
		for (i = 0; i < model->n_classes; i++)
			mm_buf_put_string(out, model->classes[i]);
		if (!EndSection(out, start, limit, at))
			goto too_large;
	}

	if (model->n_attrs > 0)
	{
		at = BeginSection(out, TAG_ATTRS);
		mm_buf_put_u32(out, model->n_attrs);
		for (i = 0; i < model->n_attrs; i++)
		{
			mm_buf_put_string(out, model->attrs[i].name);
			mm_buf_put_f64(out, model->attrs[i].value);
		}
		if (!EndSection(out, start, limit, at))
			goto too_large;
	}

	for (i = 0; i < model->n_tensors; i++)
	{
		const mm_tensor *t = &model->tensors[i];

		if (!out->failed &&
			TensorSectionSize(t) > limit - (out->len - start))
			goto too_large;
		at = BeginSection(out, TAG_TENSOR);
		PutTensor(out, t);
		if (!EndSection(out, start, limit, at))
			goto too_large;
	}

	if (model->n_group_columns > 0)
	{
		at = BeginSection(out, TAG_GROUPS);
		mm_buf_put_u32(out, model->n_group_columns);
		for (i = 0; i < model->n_group_columns; i++)
			mm_buf_put_string(out, model->group_columns[i]);
		if (!EndSection(out, start, limit, at))
			goto too_large;
	}

	for (i = 0; i < model->n_groups; i++)
	{
		at = BeginSection(out, TAG_GROUP);
		st = PutGroup(out, &model->groups[i], model->n_group_columns, start,
					  limit, err);
		if (st == MM_ERR_LIMIT)
			goto too_large;
		if (st != MM_OK)
			return st;
		if (!EndSection(out, start, limit, at))
			goto too_large;
	}

	if (out->failed)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	if (out->len - start + CHECKSUM_LEN > limit)
		goto too_large;
	mm_buf_patch_u32(out, start + 8, (uint32_t) (out->len - start + CHECKSUM_LEN));
	{
		uint64_t	sum = mm_checksum64(out->data + start, out->len - start);

		mm_buf_put_u16(out, TAG_CHECKSUM);
		mm_buf_put_u16(out, 0);
		mm_buf_put_u32(out, 8);
		mm_buf_put_u64(out, sum);
	}
	if (out->failed)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	return MM_OK;

too_large:
	if (out->failed)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory");
	out->len = start;
	return mm_fail(err, MM_ERR_LIMIT,
				   "model artifact would be larger than the 1 GB limit");
}

/*
 * Validate, then append the artifact at out->len (so the caller may have
 * reserved a header of its own in front).  On failure out->len is restored.
 */
mm_status
mm_model_serialize(const mm_model *model, mm_buf *out, mm_error *err)
{
	mm_status	st;

	if ((st = mm_model_validate(model, err)) != MM_OK)
		return st;
	return WriteArtifact(model, out, MM_MAX_ARTIFACT, err);
}

/* ---------------------------------------------------------------------
 * Parser
 * ---------------------------------------------------------------------
 */

typedef struct Parser
{
	mm_model   *model;
	mm_error   *err;
	const char *section;		/* name of the section being read */
	bool		in_group;		/* the artifact of a group (no groups) */
} Parser;

/* What the first walk over the sections counts. */
typedef struct SectionCounts
{
	uint32_t	n_tensors;
	uint32_t	n_groups;
} SectionCounts;

static mm_status ParseArtifact(const uint8_t *bytes, size_t len,
							   bool in_group, mm_model **out, mm_error *err);

static mm_status
Corrupt(Parser *p, const char *what)
{
	return mm_fail(p->err, MM_ERR_CORRUPT, "artifact %s in section %s",
				   what, p->section);
}

static mm_status
Truncated(Parser *p)
{
	return Corrupt(p, "is truncated");
}

static mm_status
Empty(Parser *p)
{
	return mm_fail(p->err, MM_ERR_CORRUPT, "artifact section %s is empty",
				   p->section);
}

static mm_status
NoMemory(Parser *p)
{
	return mm_fail(p->err, MM_ERR_NOMEM, "out of memory");
}

/* The next n bytes, or NULL if fewer remain. */
static const uint8_t *
Take(mm_reader *r, size_t n)
{
	const uint8_t *at;

	if (n > mm_reader_remaining(r))
		return NULL;
	at = r->data + r->pos;
	r->pos += n;
	return at;
}

/* A name or label: length within MM_MAX_NAME_LEN, UTF-8, no NUL. */
static mm_status
ReadString(Parser *p, mm_reader *r, char **out)
{
	uint32_t	len;
	const uint8_t *bytes;
	char	   *s;

	if (!mm_get_u32(r, &len))
		return Truncated(p);
	if (len > MM_MAX_NAME_LEN)
		return Corrupt(p, "has a string longer than " STR(MM_MAX_NAME_LEN) " bytes");
	if ((bytes = Take(r, len)) == NULL)
		return Truncated(p);
	if (!mm_utf8_valid(bytes, len))
		return Corrupt(p, "has a string that is not valid UTF-8");
	if ((s = mm_alloc((size_t) len + 1)) == NULL)
		return NoMemory(p);
	memcpy(s, bytes, len);
	s[len] = '\0';
	*out = s;
	return MM_OK;
}

/*
 * A count, checked against its limit and against the bytes left at
 * min_each bytes per element (so it can never ask for more memory than
 * the input could describe).
 */
static mm_status
ReadCount(Parser *p, mm_reader *r, uint32_t limit, size_t min_each,
		  const char *what, uint32_t *count)
{
	if (!mm_get_u32(r, count))
		return Truncated(p);
	if (*count > limit)
		return mm_fail(p->err, MM_ERR_CORRUPT,
					   "artifact declares %u %s in section %s, more than the limit of %u",
					   *count, what, p->section, limit);
	if (*count > mm_reader_remaining(r) / min_each)
		return Truncated(p);
	return MM_OK;
}

static mm_status
CheckEnd(Parser *p, mm_reader *r)
{
	if (mm_reader_remaining(r) != 0)
		return Corrupt(p, "has unexpected bytes at the end");
	return MM_OK;
}

static mm_status
ParseModel(Parser *p, mm_reader *r)
{
	uint8_t		reserved;
	mm_status	st;

	if (!mm_get_u16(r, &p->model->algorithm) ||
		!mm_get_u8(r, &p->model->task) || !mm_get_u8(r, &reserved))
		return Truncated(p);
	if (reserved != 0)
		return Corrupt(p, "has a non-zero reserved field");
	if ((st = ReadString(p, r, &p->model->target)) != MM_OK)
		return st;
	return CheckEnd(p, r);
}

/* An array of n strings (categories, class labels). */
static mm_status
ReadStrings(Parser *p, mm_reader *r, uint32_t n, char ***array)
{
	uint32_t	j;
	mm_status	st;

	if ((*array = mm_model_alloc_array(n, sizeof(char *))) == NULL)
		return NoMemory(p);
	for (j = 0; j < n; j++)
		if ((st = ReadString(p, r, &(*array)[j])) != MM_OK)
			return st;
	return MM_OK;
}

static mm_status
ParseFeatures(Parser *p, mm_reader *r)
{
	mm_model   *m = p->model;
	uint32_t	n;
	uint32_t	i;
	mm_status	st;

	if ((st = ReadCount(p, r, MM_MAX_FEATURES, MIN_FEATURE_LEN, "features",
						&n)) != MM_OK)
		return st;
	if (n == 0)
		return Empty(p);
	if ((m->features = mm_model_alloc_array(n, sizeof(mm_feature))) == NULL)
		return NoMemory(p);
	m->n_features = n;
	for (i = 0; i < n; i++)
	{
		mm_feature *f = &m->features[i];
		uint8_t		reserved;
		uint32_t	n_cat;

		if ((st = ReadString(p, r, &f->name)) != MM_OK)
			return st;
		if (!mm_get_u8(r, &f->kind) || !mm_get_u8(r, &f->impute) ||
			!mm_get_u8(r, &f->drop_first) || !mm_get_u8(r, &reserved) ||
			!mm_get_f64(r, &f->impute_value) || !mm_get_f64(r, &f->center) ||
			!mm_get_f64(r, &f->scale))
			return Truncated(p);
		if (reserved != 0)
			return Corrupt(p, "has a non-zero reserved field");
		if ((st = ReadCount(p, r, MM_MAX_CATEGORIES, 4, "categories",
							&n_cat)) != MM_OK)
			return st;
		if (n_cat > 0)
		{
			f->n_categories = n_cat;
			if ((st = ReadStrings(p, r, n_cat, &f->categories)) != MM_OK)
				return st;
		}
	}
	return CheckEnd(p, r);
}

static mm_status
ParseClasses(Parser *p, mm_reader *r)
{
	uint32_t	n;
	mm_status	st;

	if ((st = ReadCount(p, r, MM_MAX_CLASSES, 4, "classes", &n)) != MM_OK)
		return st;
	if (n == 0)
		return Empty(p);
	p->model->n_classes = n;
	if ((st = ReadStrings(p, r, n, &p->model->classes)) != MM_OK)
		return st;
	return CheckEnd(p, r);
}

static mm_status
ParseAttrs(Parser *p, mm_reader *r)
{
	mm_model   *m = p->model;
	uint32_t	n;
	uint32_t	i;
	mm_status	st;

	if ((st = ReadCount(p, r, MM_MAX_ATTRS, MIN_ATTR_LEN, "attributes",
						&n)) != MM_OK)
		return st;
	if (n == 0)
		return Empty(p);
	if ((m->attrs = mm_model_alloc_array(n, sizeof(mm_attr))) == NULL)
		return NoMemory(p);
	m->n_attrs = n;
	for (i = 0; i < n; i++)
	{
		if ((st = ReadString(p, r, &m->attrs[i].name)) != MM_OK)
			return st;
		if (!mm_get_f64(r, &m->attrs[i].value))
			return Truncated(p);
	}
	return CheckEnd(p, r);
}

/*
 * n u32 values into a new array (at least one byte is allocated, so an
 * empty array is still a real pointer).  The caller has not checked n.
 */
static mm_status
ReadU32Array(Parser *p, mm_reader *r, uint64_t n, uint32_t **out)
{
	const uint8_t *bytes;
	uint32_t   *v;
	uint64_t	k;

	if (n > mm_reader_remaining(r) / 4)
		return Truncated(p);
	bytes = Take(r, (size_t) n * 4);
	if ((v = mm_alloc(n == 0 ? 1 : (size_t) n * 4)) == NULL)
		return NoMemory(p);
	for (k = 0; k < n; k++)
		v[k] = mm_le_u32(bytes + 4 * k);
	*out = v;
	return MM_OK;
}

static mm_status
ReadValues(Parser *p, mm_reader *r, mm_tensor *t)
{
	size_t		elem = mm_dtype_size(t->dtype);
	const uint8_t *bytes;
	uint64_t	k;

	if (t->nnz > mm_reader_remaining(r) / elem)
		return Truncated(p);
	bytes = Take(r, (size_t) t->nnz * elem);
	if ((t->values = mm_alloc(t->nnz == 0 ? 1 : (size_t) t->nnz * elem)) == NULL)
		return NoMemory(p);
	for (k = 0; k < t->nnz; k++)
	{
		const uint8_t *b = bytes + k * elem;

		if (t->dtype == MM_DTYPE_F64)
		{
			uint64_t	bits = mm_le_u64(b);

			memcpy((double *) t->values + k, &bits, 8);
		}
		else if (t->dtype == MM_DTYPE_F32)
		{
			uint32_t	bits = mm_le_u32(b);

			memcpy((float *) t->values + k, &bits, 4);
		}
		else if (t->dtype == MM_DTYPE_F16)
			((uint16_t *) t->values)[k] = (uint16_t) (b[0] | (b[1] << 8));
		else
			memcpy((int8_t *) t->values + k, b, 1);
	}
	return MM_OK;
}

static mm_status
ReadScales(Parser *p, mm_reader *r, mm_tensor *t)
{
	uint32_t	n;
	uint32_t	s;
	mm_status	st;

	if ((st = ReadCount(p, r, UINT32_MAX, 12, "scales", &n)) != MM_OK)
		return st;
	t->scales = mm_alloc(n == 0 ? 1 : (size_t) n * sizeof(double));
	t->zero_points = mm_alloc(n == 0 ? 1 : (size_t) n * sizeof(int32_t));
	if (t->scales == NULL || t->zero_points == NULL)
		return NoMemory(p);
	t->n_scales = n;
	for (s = 0; s < n; s++)
		(void) mm_get_f64(r, &t->scales[s]);
	for (s = 0; s < n; s++)
	{
		uint32_t	u = 0;

		(void) mm_get_u32(r, &u);
		/* two's complement without implementation-defined conversion */
		t->zero_points[s] = (u <= INT32_MAX) ? (int32_t) u :
			(int32_t) ((int64_t) u - ((int64_t) 1 << 32));
	}
	return MM_OK;
}

static mm_status
ParseTensor(Parser *p, mm_reader *r, mm_tensor *t)
{
	uint16_t	reserved;
	mm_status	st;

	if ((st = ReadString(p, r, &t->name)) != MM_OK)
		return st;
	if (!mm_get_u8(r, &t->dtype) || !mm_get_u8(r, &t->layout) ||
		!mm_get_u16(r, &reserved) || !mm_get_u32(r, &t->rows) ||
		!mm_get_u32(r, &t->cols) || !mm_get_u64(r, &t->nnz))
		return Truncated(p);
	if (reserved != 0)
		return Corrupt(p, "has a non-zero reserved field");
	if (mm_dtype_size(t->dtype) == 0)
		return Corrupt(p, "has an unknown dtype");
	if (t->layout != MM_LAYOUT_DENSE && t->layout != MM_LAYOUT_SPARSE)
		return Corrupt(p, "has an unknown layout");
	if (t->layout == MM_LAYOUT_SPARSE)
	{
		if ((st = ReadU32Array(p, r, (uint64_t) t->rows + 1,
							   &t->row_ptr)) != MM_OK)
			return st;
		if ((st = ReadU32Array(p, r, t->nnz, &t->col_idx)) != MM_OK)
			return st;
	}
	if ((st = ReadValues(p, r, t)) != MM_OK)
		return st;
	if (t->dtype == MM_DTYPE_I8 && (st = ReadScales(p, r, t)) != MM_OK)
		return st;
	return CheckEnd(p, r);
}

static mm_status
ParseGroupColumns(Parser *p, mm_reader *r)
{
	uint32_t	n;
	mm_status	st;

	if ((st = ReadCount(p, r, MM_MAX_GROUP_COLUMNS, 4, "group columns",
						&n)) != MM_OK)
		return st;
	if (n == 0)
		return Empty(p);
	p->model->n_group_columns = n;
	if ((st = ReadStrings(p, r, n, &p->model->group_columns)) != MM_OK)
		return st;
	return CheckEnd(p, r);
}

/*
 * A failure inside the artifact of group g (0-based), as a failure of the
 * whole artifact: "group #g: " in front of the message, and corrupt even
 * where the inner parse said unsupported (a version-1 artifact cannot hold
 * one of a later version).
 */
static mm_status
GroupFailed(Parser *p, uint32_t g, mm_status st)
{
	char		message[MM_MSG_LEN];
	char		detail[MM_MSG_LEN];

	if (p->err == NULL || st == MM_ERR_NOMEM)
		return st;
	memcpy(message, p->err->message, MM_MSG_LEN);
	memcpy(detail, p->err->detail, MM_MSG_LEN);
	if (st == MM_ERR_UNSUPPORTED)
	{
		st = MM_ERR_CORRUPT;
		detail[0] = '\0';		/* its detail and hint are about upgrading */
	}
	mm_fail(p->err, st, "group #%u: %s", g + 1, message);
	memcpy(p->err->detail, detail, MM_MSG_LEN);
	return st;
}

/*
 * One GROUP: a null flag and maybe a string per group column, then the
 * sub-model's artifact behind its length, parsed (not yet validated: the
 * whole model is validated at the end) and refused if it has groups.
 */
static mm_status
ParseGroup(Parser *p, mm_reader *r, mm_group *g, uint32_t index)
{
	uint32_t	n_keys = p->model->n_group_columns;
	uint32_t	i;
	uint32_t	len;
	const uint8_t *bytes;
	mm_status	st;

	if ((g->keys = mm_alloc0((size_t) n_keys * sizeof(char *))) == NULL)
		return NoMemory(p);
	for (i = 0; i < n_keys; i++)
	{
		uint8_t		is_null;

		if (!mm_get_u8(r, &is_null))
			return Truncated(p);
		if (is_null > 1)
			return Corrupt(p, "has a null flag that is neither 0 nor 1");
		if (is_null == 0 && (st = ReadString(p, r, &g->keys[i])) != MM_OK)
			return st;
	}
	if (!mm_get_u32(r, &len))
		return Truncated(p);
	if ((bytes = Take(r, len)) == NULL)
		return Truncated(p);
	if ((st = ParseArtifact(bytes, len, true, &g->model, p->err)) != MM_OK)
		return GroupFailed(p, index, st);
	return CheckEnd(p, r);
}

/*
 * Walk the section headers between the file header and the checksum:
 * known tags, reserved zero, lengths inside the artifact, order (MODEL,
 * FEATURES, CLASSES, ATTRS, any number of TENSOR, GROUPS, any number of
 * GROUP), each at most once except TENSOR and GROUP, GROUP only after
 * GROUPS, and neither in the artifact of a group.  With parse false only
 * the framing is checked (and TENSOR and GROUP sections counted); with
 * parse true every payload is read.
 */
static mm_status
WalkSections(Parser *p, const uint8_t *data, size_t end, bool parse,
			 SectionCounts *counts)
{
	size_t		pos = HEADER_LEN;
	uint16_t	last = 0;
	mm_status	st = MM_OK;

	counts->n_tensors = 0;
	counts->n_groups = 0;
	while (pos < end)
	{
		uint16_t	tag;
		uint32_t	plen;
		mm_reader	r;

		p->section = "header";
		if (end - pos < SECTION_HDR_LEN)
			return mm_fail(p->err, MM_ERR_CORRUPT,
						   "artifact is truncated in a section header");
		tag = (uint16_t) (data[pos] | (data[pos + 1] << 8));
		plen = mm_le_u32(data + pos + 4);
		if ((p->section = SectionName(tag)) == NULL)
			return mm_fail(p->err, MM_ERR_CORRUPT,
						   "artifact has an unknown section tag %u", tag);
		if (tag == TAG_CHECKSUM)
			return mm_fail(p->err, MM_ERR_CORRUPT,
						   "artifact has a CHECKSUM section before its end");
		if (data[pos + 2] != 0 || data[pos + 3] != 0)
			return Corrupt(p, "has a non-zero reserved field");
		if (plen > end - pos - SECTION_HDR_LEN)
			return Truncated(p);
		if (last == 0 && tag != TAG_MODEL)
			return mm_fail(p->err, MM_ERR_CORRUPT,
						   "artifact does not start with a MODEL section");
		if (tag < last ||
			(tag == last && tag != TAG_TENSOR && tag != TAG_GROUP))
			return mm_fail(p->err, MM_ERR_CORRUPT,
						   "artifact section %s is repeated or out of order",
						   p->section);
		if ((tag == TAG_GROUPS || tag == TAG_GROUP) && p->in_group)
			return mm_fail(p->err, MM_ERR_CORRUPT,
						   "artifact of a group has a %s section: groups do not nest",
						   p->section);
		if (tag == TAG_GROUP && last != TAG_GROUPS && last != TAG_GROUP)
			return mm_fail(p->err, MM_ERR_CORRUPT,
						   "artifact has a GROUP section but no GROUPS section");
		last = tag;
		mm_reader_init(&r, data + pos + SECTION_HDR_LEN, plen);
		if (tag == TAG_TENSOR)
		{
			if (counts->n_tensors >= MM_MAX_TENSORS)
				return mm_fail(p->err, MM_ERR_CORRUPT,
							   "artifact has more than %u tensors",
							   (unsigned) MM_MAX_TENSORS);
			if (parse)
			{
				/* counted on the first walk: the array has room */
				p->model->n_tensors++;
				st = ParseTensor(p, &r,
								 &p->model->tensors[counts->n_tensors]);
			}
			counts->n_tensors++;
		}
		else if (tag == TAG_GROUP)
		{
			if (counts->n_groups >= MM_MAX_GROUPS)
				return mm_fail(p->err, MM_ERR_CORRUPT,
							   "artifact has more than %u groups",
							   (unsigned) MM_MAX_GROUPS);
			if (parse)
			{
				/* counted on the first walk: the array has room */
				p->model->n_groups++;
				st = ParseGroup(p, &r, &p->model->groups[counts->n_groups],
								counts->n_groups);
			}
			counts->n_groups++;
		}
		else if (parse && tag == TAG_MODEL)
			st = ParseModel(p, &r);
		else if (parse && tag == TAG_FEATURES)
			st = ParseFeatures(p, &r);
		else if (parse && tag == TAG_CLASSES)
			st = ParseClasses(p, &r);
		else if (parse && tag == TAG_ATTRS)
			st = ParseAttrs(p, &r);
		else if (parse && tag == TAG_GROUPS)
			st = ParseGroupColumns(p, &r);
		if (st != MM_OK)
			return st;
		pos += SECTION_HDR_LEN + plen;
	}
	if (last == 0)
		return mm_fail(p->err, MM_ERR_CORRUPT, "artifact has no MODEL section");
	return MM_OK;
}

/* Magic, version, flags, total length and checksum. */
static mm_status
CheckEnvelope(const uint8_t *data, size_t len, mm_error *err)
{
	uint16_t	version;
	uint16_t	flags;
	uint32_t	total;
	const uint8_t *cs;

	if (memcmp(data, MM_FORMAT_MAGIC, len < 4 ? len : 4) != 0)
	{
		mm_fail(err, MM_ERR_CORRUPT, "not a modelmgr model artifact");
		mm_error_detail(err, "A model artifact starts with the bytes \"MMDL\".");
		return MM_ERR_CORRUPT;
	}
	if (len < HEADER_LEN)
		return mm_fail(err, MM_ERR_CORRUPT, "artifact is truncated in its header");
	version = (uint16_t) (data[4] | (data[5] << 8));
	flags = (uint16_t) (data[6] | (data[7] << 8));
	total = mm_le_u32(data + 8);
	if (version == 0)
		return mm_fail(err, MM_ERR_CORRUPT, "artifact has invalid format version 0");
	if (version > MM_FORMAT_VERSION)
	{
		mm_fail(err, MM_ERR_UNSUPPORTED,
				"artifact format version %u is not supported", version);
		mm_error_detail(err, "This modelmgr reads format versions 1 to %d.",
						MM_FORMAT_VERSION);
		mm_error_hint(err, "Upgrade modelmgr to load this model.");
		return MM_ERR_UNSUPPORTED;
	}
	if (flags != 0)
		return mm_fail(err, MM_ERR_CORRUPT, "artifact has unknown flags 0x%04x",
					   flags);
	if (total > MM_MAX_ARTIFACT)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "artifact declares %u bytes, more than the 1 GB limit",
					   total);
	if (total > len)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "artifact is truncated (%zu of %u bytes)", len, total);
	if (total < len)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "artifact has %zu bytes after its end", len - total);
	if (len < HEADER_LEN + CHECKSUM_LEN)
		return mm_fail(err, MM_ERR_CORRUPT, "artifact is truncated");
	cs = data + len - CHECKSUM_LEN;
	if (cs[0] != TAG_CHECKSUM || cs[1] != 0 || cs[2] != 0 || cs[3] != 0 ||
		mm_le_u32(cs + 4) != 8)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "artifact does not end with a checksum section");
	if (mm_le_u64(cs + SECTION_HDR_LEN) !=
		mm_checksum64(data, len - CHECKSUM_LEN))
		return mm_fail(err, MM_ERR_CORRUPT, "artifact checksum mismatch");
	return MM_OK;
}

/*
 * Check the envelope, walk the sections twice (framing and counts, then
 * payloads), and, for a whole artifact, validate.  The artifact of a group
 * is validated as part of the whole model, once.
 */
static mm_status
ParseArtifact(const uint8_t *bytes, size_t len, bool in_group,
			  mm_model **out, mm_error *err)
{
	Parser		p;
	SectionCounts counts;
	mm_status	st;

	*out = NULL;
	if (bytes == NULL)
		len = 0;
	if (len == 0)
		return mm_fail(err, MM_ERR_CORRUPT, "artifact is empty");
	if ((st = CheckEnvelope(bytes, len, err)) != MM_OK)
		return st;

	p.model = NULL;
	p.err = err;
	p.section = "header";
	p.in_group = in_group;
	st = WalkSections(&p, bytes, len - CHECKSUM_LEN, false, &counts);
	if (st != MM_OK)
		return st;

	if ((p.model = mm_model_new(0, 0)) == NULL)
		return NoMemory(&p);
	if (counts.n_tensors > 0 &&
		(p.model->tensors = mm_model_alloc_array(counts.n_tensors,
												 sizeof(mm_tensor))) == NULL)
		st = NoMemory(&p);
	if (st == MM_OK && counts.n_groups > 0 &&
		(p.model->groups = mm_model_alloc_array(counts.n_groups,
												sizeof(mm_group))) == NULL)
		st = NoMemory(&p);
	if (st == MM_OK)
		st = WalkSections(&p, bytes, len - CHECKSUM_LEN, true, &counts);
	if (st == MM_OK && !in_group &&
		(st = mm_model_validate(p.model, err)) != MM_OK &&
		st != MM_ERR_NOMEM)
	{
		st = MM_ERR_CORRUPT;
		if (err)
			err->status = st;
		mm_error_detail(err, "The artifact is intact but describes an invalid model.");
	}
	if (st != MM_OK)
	{
		mm_model_free(p.model);
		return st;
	}
	*out = p.model;
	return MM_OK;
}

mm_status
mm_model_parse(const void *data, size_t len, mm_model **out, mm_error *err)
{
	mm_error_clear(err);
	return ParseArtifact(data, len, false, out, err);
}
