/*
 * test_format.c
 *	  Unit tests of the byte utilities (mm_bytes.c) and of the model and its
 *	  binary format (mm_model.c, mm_validate.c, mm_format.c).
 *
 * Besides round trips, these tests attack the parser the way the fuzzer
 * does, but deterministically: every truncation, every single-byte flip
 * (with and without a repaired checksum), every cut at every offset, hand
 * made artifacts with huge counts (watched by an allocator that records the
 * largest request), and allocation failure at every allocation of a parse
 * and of a serialization (watched for leaks).  The golden test reads an
 * artifact written by an earlier build (test/unit/golden/linear_v1.mmdl)
 * and checks it field by field: that is how "older format versions keep
 * loading" is guarded.  Run from the repository root (make unit does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm_bytes.h"
#include "mm_model.h"
#include "model_fixtures.h"
#include "test_alloc.h"

#define GOLDEN_LINEAR_V1 "test/unit/golden/linear_v1.mmdl"

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

/* Serialize (must succeed) into a malloc'd copy. */
static uint8_t *
Serialize(const mm_model *m, size_t *len)
{
	mm_buf		buf;
	mm_error	err;
	uint8_t    *copy;

	mm_buf_init(&buf);
	if (mm_model_serialize(m, &buf, &err) != MM_OK)
		fail_msg("serialize failed: %s", err.message);
	copy = malloc(buf.len);
	assert_non_null(copy);
	memcpy(copy, buf.data, buf.len);
	*len = buf.len;
	mm_buf_free(&buf);
	return copy;
}

static uint8_t *
SerializeFixture(mm_model *(*build) (void), size_t *len)
{
	mm_model   *m = build();
	uint8_t    *bytes;

	assert_non_null(m);
	bytes = Serialize(m, len);
	mm_model_free(m);
	return bytes;
}

/* Recompute the checksum of an artifact in place (total length as is). */
static void
FixChecksum(uint8_t *b, size_t len)
{
	uint64_t	sum;
	int			i;

	assert_true(len >= 16);
	sum = mm_checksum64(b, len - 16);
	for (i = 0; i < 8; i++)
		b[len - 8 + i] = (uint8_t) (sum >> (8 * i));
}

/*
 * Parse; if accepted, the artifact must be canonical: serializing the
 * parsed model gives back exactly the input.
 */
static mm_status
ParseCanonical(const uint8_t *b, size_t len, mm_error *err)
{
	mm_model   *m;
	mm_status	st = mm_model_parse(b, len, &m, err);

	if (st == MM_OK)
	{
		size_t		len2;
		uint8_t    *again = Serialize(m, &len2);

		assert_int_equal(len2, len);
		assert_memory_equal(again, b, len);
		free(again);
		mm_model_free(m);
	}
	else
	{
		assert_null(m);
		assert_true(err->message[0] != '\0');
	}
	return st;
}

static uint8_t *
ReadFile(const char *path, size_t *len)
{
	FILE	   *fp = fopen(path, "rb");
	uint8_t    *data;
	long		size;

	if (fp == NULL)
		fail_msg("cannot open %s (run the tests from the repository root)", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	assert_true(size > 0);
	rewind(fp);
	data = malloc((size_t) size);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t) size, fp), (size_t) size);
	fclose(fp);
	*len = (size_t) size;
	return data;
}

/* Offset of the first occurrence of needle, or -1. */
static long
FindBytes(const uint8_t *hay, size_t len, const void *needle, size_t nlen)
{
	size_t		i;

	for (i = 0; i + nlen <= len; i++)
		if (memcmp(hay + i, needle, nlen) == 0)
			return (long) i;
	return -1;
}

/*
 * Offset of the first stored value of a dense tensor: its name (with the
 * u32 length in front, which makes it unique), then dtype, layout,
 * reserved, rows, cols and nnz (20 bytes).
 */
static long
FirstValueOffset(const uint8_t *bytes, size_t len, const char *tensor)
{
	uint8_t		key[64];
	size_t		n = strlen(tensor);
	long		at;

	key[0] = (uint8_t) n;
	key[1] = key[2] = key[3] = 0;
	memcpy(key + 4, tensor, n);
	at = FindBytes(bytes, len, key, n + 4);
	assert_true(at >= 0);
	return at + 4 + (long) n + 20;
}

static bool
SameBits(double a, double b)
{
	return memcmp(&a, &b, sizeof(double)) == 0;
}

/* ---------------------------------------------------------------------
 * Round trips
 * ---------------------------------------------------------------------
 */

/* What FixtureAllDtypesModel stores at (r, c) of tensor ti, dequantized. */
static double
ExpectedAllDtypes(int ti, uint32_t r, uint32_t c)
{
	switch (ti)
	{
		case 0:
		case 1:
		case 2:
			return FixtureValue(ti, r, c);
		case 3:
			return 0.5 * ((int) (r * 3 + c) * 50 - 128 + 3);
		case 4:
			return 0.125 * (r + 1) * ((127 - (int) (r * 2 + c) * 40) - ((int) r * 100 - 128));
		case 5:
			if (r == 0 && c == 1)
				return 2.5;
			if (r == 0 && c == 4)
				return -1.0;
			if (r == 2 && c == 0)
				return 7.0;
			return 0.0;
		case 6:
			if (r == 0 && c == 3)
				return 0.01 * -100;
			if (r == 1 && c == 2)
				return 2.0 * (127 - 5);
			return 0.0;
	}
	return NAN;
}

static void
test_roundtrip_all_dtypes(void **state)
{
	mm_model   *m = FixtureAllDtypesModel();
	mm_model   *p;
	mm_error	err;
	size_t		len;
	size_t		len2;
	uint8_t    *bytes;
	uint8_t    *bytes2;
	uint32_t	i;

	assert_non_null(m);
	bytes = Serialize(m, &len);
	bytes2 = Serialize(m, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(bytes, bytes2, len);
	free(bytes2);

	assert_int_equal(mm_model_parse(bytes, len, &p, &err), MM_OK);
	assert_int_equal(p->algorithm, MM_ALGO_MLP_CLASSIFIER);
	assert_int_equal(p->task, MM_TASK_MULTICLASS);
	assert_string_equal(p->target, "species");
	assert_int_equal(p->n_features, 2);
	assert_string_equal(p->features[0].name, "petal_length");
	assert_int_equal(p->features[0].kind, MM_FEATURE_NUMERIC);
	assert_true(p->features[0].center == 3.75 && p->features[0].scale == 1.75 &&
				p->features[0].impute_value == 3.5);
	assert_int_equal(p->features[1].kind, MM_FEATURE_CATEGORICAL);
	assert_int_equal(p->features[1].n_categories, 2);
	assert_string_equal(p->features[1].categories[0], "");
	assert_string_equal(p->features[1].categories[1], "blue");
	assert_int_equal(mm_model_input_width(p), 3);
	assert_int_equal(p->n_classes, 3);
	assert_string_equal(p->classes[2], "virg\xc3\xadnica");
	assert_int_equal(p->n_attrs, 2);
	assert_true(mm_model_attr(p, "alpha", 0) == 1e-4);
	assert_true(mm_model_attr(p, "hidden_layers", 0) == 1);
	assert_true(mm_model_attr(p, "missing", 42) == 42);
	assert_int_equal(p->n_tensors, m->n_tensors);

	for (i = 0; i < p->n_tensors; i++)
	{
		const mm_tensor *a = &m->tensors[i];
		const mm_tensor *b = &p->tensors[i];
		uint32_t	r;
		uint32_t	c;

		assert_string_equal(a->name, b->name);
		assert_int_equal(a->dtype, b->dtype);
		assert_int_equal(a->layout, b->layout);
		assert_int_equal(a->rows, b->rows);
		assert_int_equal(a->cols, b->cols);
		assert_int_equal(a->nnz, b->nnz);
		assert_int_equal(a->n_scales, b->n_scales);
		assert_ptr_equal(mm_model_tensor(p, a->name), b);
		for (r = 0; r < b->rows; r++)
			for (c = 0; c < b->cols; c++)
			{
				double		want = ExpectedAllDtypes((int) i, r, c);

				if (fabs(mm_tensor_get(b, r, c) - want) > 1e-12 * (1 + fabs(want)))
					fail_msg("tensor %s (%u, %u): got %g, want %g", b->name,
							 r, c, mm_tensor_get(b, r, c), want);
				assert_true(SameBits(mm_tensor_get(a, r, c), mm_tensor_get(b, r, c)));
			}
		assert_true(isnan(mm_tensor_get(b, b->rows, 0)));
		assert_true(isnan(mm_tensor_get(b, 0, b->cols)));
	}
	assert_null(mm_model_tensor(p, "nope"));
	/* 6 + 4 + 4 + 6 + 6 + 15 + 8 logical parameters */
	assert_int_equal(mm_model_param_count(p), 49);
	/* all dense values are non-zero; sparse: 3 + 2 (one int8 is 0) */
	assert_int_equal(mm_model_nonzero_count(p), 6 + 4 + 4 + 6 + 6 + 3 + 2);

	bytes2 = Serialize(p, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(bytes, bytes2, len);
	free(bytes2);
	free(bytes);
	mm_model_free(p);
	mm_model_free(m);
}

/* Every fixture round-trips byte for byte. */
static void
test_roundtrip_fixtures(void **state)
{
	mm_model   *(*builders[]) (void) = {
		FixtureLinearModel, FixtureAllDtypesModel, FixtureLogisticModel,
		FixtureLassoSparseModel, FixtureQuantizedLinearModel
	};
	size_t		i;

	for (i = 0; i < sizeof(builders) / sizeof(builders[0]); i++)
	{
		size_t		len;
		uint8_t    *bytes = SerializeFixture(builders[i], &len);
		mm_error	err;

		assert_int_equal(ParseCanonical(bytes, len, &err), MM_OK);
		free(bytes);
	}
}

/* serialize appends after bytes the caller reserved (a varlena header). */
static void
test_serialize_appends(void **state)
{
	mm_model   *m = FixtureLogisticModel();
	mm_model   *p;
	mm_buf		buf;
	mm_error	err;
	size_t		len;
	uint8_t    *plain = Serialize(m, &len);

	mm_buf_init(&buf);
	mm_buf_put_u32(&buf, 0xDEADBEEF);
	assert_int_equal(mm_model_serialize(m, &buf, &err), MM_OK);
	assert_int_equal(buf.len, len + 4);
	assert_memory_equal(buf.data + 4, plain, len);
	assert_int_equal(mm_model_parse(buf.data + 4, len, &p, &err), MM_OK);
	mm_model_free(p);

	/* a failing serialization leaves the buffer as it was */
	m->tensors[0].rows = 2;
	assert_int_equal(mm_model_serialize(m, &buf, &err), MM_ERR_INVALID);
	assert_int_equal(buf.len, len + 4);
	mm_buf_free(&buf);
	free(plain);
	mm_model_free(m);
}

/* The artifact written by an earlier build still loads, field by field. */
static void
test_golden_linear_v1(void **state)
{
	size_t		len;
	uint8_t    *bytes = ReadFile(GOLDEN_LINEAR_V1, &len);
	mm_model   *m;
	mm_error	err;
	const mm_feature *f;
	const mm_tensor *t;
	size_t		len2;
	uint8_t    *again;

	if (mm_model_parse(bytes, len, &m, &err) != MM_OK)
		fail_msg("golden artifact rejected: %s", err.message);
	assert_int_equal(m->algorithm, MM_ALGO_LINEAR_REGRESSION);
	assert_int_equal(m->task, MM_TASK_REGRESSION);
	assert_string_equal(m->target, "price");

	assert_int_equal(m->n_features, 3);
	f = &m->features[0];
	assert_string_equal(f->name, "sqft");
	assert_int_equal(f->kind, MM_FEATURE_NUMERIC);
	assert_int_equal(f->impute, MM_IMPUTE_VALUE);
	assert_true(f->impute_value == 1500.5 && f->center == 1800.25 &&
				f->scale == 410.5);
	assert_int_equal(f->n_categories, 0);
	assert_int_equal(f->drop_first, 0);
	f = &m->features[1];
	assert_string_equal(f->name, "beds");
	assert_int_equal(f->kind, MM_FEATURE_NUMERIC);
	assert_int_equal(f->impute, MM_IMPUTE_ERROR);
	assert_true(f->impute_value == 0 && f->center == 0 && f->scale == 1);
	f = &m->features[2];
	assert_string_equal(f->name, "region");
	assert_int_equal(f->kind, MM_FEATURE_CATEGORICAL);
	assert_int_equal(f->drop_first, 1);
	assert_int_equal(f->n_categories, 3);
	assert_string_equal(f->categories[0], "north");
	assert_string_equal(f->categories[1], "south");
	assert_string_equal(f->categories[2], "z\xc3\xbcrich");
	assert_int_equal(mm_model_input_width(m), 4);

	assert_int_equal(m->n_classes, 0);
	assert_int_equal(m->n_attrs, 2);
	assert_string_equal(m->attrs[0].name, "fit_intercept");
	assert_true(m->attrs[0].value == 1.0);
	assert_string_equal(m->attrs[1].name, "l2");
	assert_true(m->attrs[1].value == 0.1);

	assert_int_equal(m->n_tensors, 2);
	t = mm_model_tensor(m, "coef");
	assert_non_null(t);
	assert_int_equal(t->dtype, MM_DTYPE_F64);
	assert_int_equal(t->layout, MM_LAYOUT_DENSE);
	assert_int_equal(t->rows, 1);
	assert_int_equal(t->cols, 4);
	assert_true(mm_tensor_get(t, 0, 0) == 120.5);
	assert_true(mm_tensor_get(t, 0, 1) == -3000.25);
	assert_true(mm_tensor_get(t, 0, 2) == 15000.0);
	assert_true(SameBits(mm_tensor_get(t, 0, 3), -0.0));
	t = mm_model_tensor(m, "intercept");
	assert_non_null(t);
	assert_int_equal(t->rows, 1);
	assert_int_equal(t->cols, 1);
	assert_true(mm_tensor_get(t, 0, 0) == 50000.125);
	assert_int_equal(mm_model_param_count(m), 5);
	assert_int_equal(mm_model_nonzero_count(m), 4);

	/*
	 * While the writer writes version 1, it must reproduce the file exactly.
	 * When MM_FORMAT_VERSION is bumped, drop this check (keep the field
	 * checks above) and add a golden file of the new version.
	 */
	again = Serialize(m, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(again, bytes, len);
	free(again);
	mm_model_free(m);
	free(bytes);
}

/* ---------------------------------------------------------------------
 * Hostile input
 * ---------------------------------------------------------------------
 */

static void
test_every_truncation_rejected(void **state)
{
	size_t		len;
	uint8_t    *bytes = SerializeFixture(FixtureAllDtypesModel, &len);
	size_t		cut;

	for (cut = 0; cut < len; cut++)
	{
		uint8_t    *copy = malloc(cut + 1);
		mm_model   *m;
		mm_error	err;

		memcpy(copy, bytes, cut);
		assert_int_equal(mm_model_parse(cut ? copy : NULL, cut, &m, &err),
						 MM_ERR_CORRUPT);
		assert_null(m);
		free(copy);
	}
	free(bytes);
}

static void
test_every_byte_flip_rejected(void **state)
{
	static const uint8_t masks[] = {0x01, 0x10, 0x80, 0xFF};
	size_t		len;
	uint8_t    *bytes = SerializeFixture(FixtureAllDtypesModel, &len);
	size_t		i;
	size_t		k;

	for (i = 0; i < len; i++)
		for (k = 0; k < sizeof(masks); k++)
		{
			mm_model   *m;
			mm_error	err;
			mm_status	st;

			bytes[i] ^= masks[k];
			st = mm_model_parse(bytes, len, &m, &err);
			bytes[i] ^= masks[k];
			if (st == MM_OK)
				fail_msg("flip 0x%02x at %zu accepted", masks[k], i);
			assert_true(st == MM_ERR_CORRUPT || st == MM_ERR_UNSUPPORTED);
		}
	free(bytes);
}

/*
 * With the checksum repaired, flips reach the structural checks: each one
 * is rejected, or accepted as a different but canonical artifact.
 */
static void
test_byte_flips_with_fixed_checksum(void **state)
{
	static const uint8_t masks[] = {0x01, 0x02, 0x10, 0x40, 0x80, 0xFF};
	mm_model   *(*builders[]) (void) = {
		FixtureAllDtypesModel, FixtureLinearModel, FixtureLassoSparseModel
	};
	size_t		bi;
	int			accepted = 0;
	int			rejected = 0;

	for (bi = 0; bi < 3; bi++)
	{
		size_t		len;
		uint8_t    *orig = SerializeFixture(builders[bi], &len);
		uint8_t    *work = malloc(len);
		size_t		i;
		size_t		k;

		for (i = 0; i < len - 8; i++)
			for (k = 0; k < sizeof(masks); k++)
			{
				mm_error	err;

				memcpy(work, orig, len);
				work[i] ^= masks[k];
				FixChecksum(work, len);
				if (ParseCanonical(work, len, &err) == MM_OK)
					accepted++;
				else
					rejected++;
			}
		free(work);
		free(orig);
	}
	/* values can change into other valid values; structure mostly cannot */
	assert_true(rejected > 0 && accepted > 0);
}

/*
 * Cut the artifact anywhere and append a fresh checksum section with the
 * total length patched: rejected unless the cut falls between sections and
 * leaves a valid model.
 */
static void
test_cut_and_reseal(void **state)
{
	size_t		len;
	uint8_t    *orig = SerializeFixture(FixtureAllDtypesModel, &len);
	uint8_t    *work = malloc(len);
	size_t		cut;
	int			accepted = 0;

	for (cut = 0; cut <= len - 16; cut++)
	{
		size_t		n = cut + 16;
		mm_error	err;

		memcpy(work, orig, cut);
		memcpy(work + cut, orig + len - 16, 16);
		if (cut >= 12)
		{
			work[8] = (uint8_t) n;
			work[9] = (uint8_t) (n >> 8);
			work[10] = (uint8_t) (n >> 16);
			work[11] = (uint8_t) (n >> 24);
		}
		if (n >= 16)
			FixChecksum(work, n);
		if (ParseCanonical(work, n, &err) == MM_OK)
			accepted++;
	}
	/* the whole artifact, and each cut that drops only trailing tensors */
	assert_int_equal(accepted, 1 + 6);
	free(work);
	free(orig);
}

/* Building artifacts by hand for the huge-count tests. */
static void
ArtifactBegin(mm_buf *b)
{
	mm_buf_init(b);
	mm_buf_put_bytes(b, "MMDL", 4);
	mm_buf_put_u16(b, 1);
	mm_buf_put_u16(b, 0);
	mm_buf_put_u32(b, 0);
}

static size_t
SectionBegin(mm_buf *b, uint16_t tag)
{
	mm_buf_put_u16(b, tag);
	mm_buf_put_u16(b, 0);
	mm_buf_put_u32(b, 0);
	return b->len;
}

static void
SectionEnd(mm_buf *b, size_t start)
{
	mm_buf_patch_u32(b, start - 4, (uint32_t) (b->len - start));
}

/* MODEL (linear regression, target "y") and FEATURES (one numeric "x"). */
static void
ArtifactValidPrefix(mm_buf *b)
{
	size_t		s;

	ArtifactBegin(b);
	s = SectionBegin(b, 1);
	mm_buf_put_u16(b, MM_ALGO_LINEAR_REGRESSION);
	mm_buf_put_u8(b, MM_TASK_REGRESSION);
	mm_buf_put_u8(b, 0);
	mm_buf_put_string(b, "y");
	SectionEnd(b, s);
	s = SectionBegin(b, 2);
	mm_buf_put_u32(b, 1);
	mm_buf_put_string(b, "x");
	mm_buf_put_u32(b, 0x00000101);	/* numeric, impute value, 0, 0 */
	mm_buf_put_f64(b, 0);
	mm_buf_put_f64(b, 0);
	mm_buf_put_f64(b, 1);
	mm_buf_put_u32(b, 0);
	SectionEnd(b, s);
}

/* Seal, parse with the recording allocator, and return the status. */
static mm_status
SealAndParse(mm_buf *b, mm_error *err)
{
	mm_model   *m;
	mm_status	st;
	size_t		len;
	uint8_t    *bytes;

	mm_buf_patch_u32(b, 8, (uint32_t) (b->len + 16));
	mm_buf_put_u16(b, 6);
	mm_buf_put_u16(b, 0);
	mm_buf_put_u32(b, 8);
	mm_buf_put_u64(b, 0);
	assert_false(b->failed);
	len = b->len;
	bytes = malloc(len);
	memcpy(bytes, b->data, len);
	mm_buf_free(b);
	FixChecksum(bytes, len);

	UseTestAllocator(0);
	st = mm_model_parse(bytes, len, &m, err);
	mm_model_free(m);
	assert_int_equal(ta.outstanding, 0);
	/* nothing much bigger than the input, however large the counts */
	if (ta.max_request > 64 * len + 1024)
		fail_msg("a %zu byte artifact caused a %zu byte allocation", len,
				 ta.max_request);
	mm_set_runtime(NULL);
	free(bytes);
	return st;
}

static void
ExpectCorrupt(mm_buf *b, const char *fragment)
{
	mm_error	err;

	assert_int_equal(SealAndParse(b, &err), MM_ERR_CORRUPT);
	if (strstr(err.message, fragment) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, fragment);
}

static void
test_huge_counts_rejected_cheaply(void **state)
{
	mm_buf		b;
	size_t		s;
	int			i;

	/* the valid prefix alone parses until validation (no coef) */
	ArtifactValidPrefix(&b);
	ExpectCorrupt(&b, "has no tensor \"coef\"");

	/* 100000 features declared in a few bytes */
	ArtifactBegin(&b);
	s = SectionBegin(&b, 1);
	mm_buf_put_u32(&b, 0x00010001);
	mm_buf_put_string(&b, "y");
	SectionEnd(&b, s);
	s = SectionBegin(&b, 2);
	mm_buf_put_u32(&b, MM_MAX_FEATURES);
	mm_buf_put_u32(&b, 0);
	SectionEnd(&b, s);
	ExpectCorrupt(&b, "truncated in section FEATURES");

	/* a count over the limit */
	ArtifactBegin(&b);
	s = SectionBegin(&b, 1);
	mm_buf_put_u32(&b, 0x00010001);
	mm_buf_put_string(&b, "y");
	SectionEnd(&b, s);
	s = SectionBegin(&b, 2);
	mm_buf_put_u32(&b, 0xFFFFFFFF);
	SectionEnd(&b, s);
	ExpectCorrupt(&b, "more than the limit");

	/* a string of 4 GB */
	ArtifactBegin(&b);
	s = SectionBegin(&b, 1);
	mm_buf_put_u32(&b, 0x00010001);
	mm_buf_put_u32(&b, 0xFFFFFFFF);
	SectionEnd(&b, s);
	ExpectCorrupt(&b, "longer than 1024 bytes");

	/* a million categories */
	ArtifactBegin(&b);
	s = SectionBegin(&b, 1);
	mm_buf_put_u32(&b, 0x00010001);
	mm_buf_put_string(&b, "y");
	SectionEnd(&b, s);
	s = SectionBegin(&b, 2);
	mm_buf_put_u32(&b, 1);
	mm_buf_put_string(&b, "x");
	mm_buf_put_u32(&b, 0x00000102);
	mm_buf_put_f64(&b, 0);
	mm_buf_put_f64(&b, 0);
	mm_buf_put_f64(&b, 1);
	mm_buf_put_u32(&b, MM_MAX_CATEGORIES);
	mm_buf_put_string(&b, "a");
	SectionEnd(&b, s);
	ExpectCorrupt(&b, "truncated in section FEATURES");

	/* classes and attributes */
	ArtifactValidPrefix(&b);
	s = SectionBegin(&b, 3);
	mm_buf_put_u32(&b, MM_MAX_CLASSES);
	SectionEnd(&b, s);
	ExpectCorrupt(&b, "truncated in section CLASSES");
	ArtifactValidPrefix(&b);
	s = SectionBegin(&b, 4);
	mm_buf_put_u32(&b, MM_MAX_ATTRS);
	mm_buf_put_string(&b, "a");
	SectionEnd(&b, s);
	ExpectCorrupt(&b, "truncated in section ATTRS");

	/* a dense tensor of 2^40 values */
	ArtifactValidPrefix(&b);
	s = SectionBegin(&b, 5);
	mm_buf_put_string(&b, "coef");
	mm_buf_put_u32(&b, 0x00000101);	/* f64, dense */
	mm_buf_put_u32(&b, 1 << 20);
	mm_buf_put_u32(&b, 1 << 20);
	mm_buf_put_u64(&b, UINT64_C(1) << 40);
	mm_buf_put_f64(&b, 1.0);
	SectionEnd(&b, s);
	ExpectCorrupt(&b, "truncated in section TENSOR");

	/* a sparse tensor with 4 billion rows */
	ArtifactValidPrefix(&b);
	s = SectionBegin(&b, 5);
	mm_buf_put_string(&b, "coef");
	mm_buf_put_u32(&b, 0x00000201);	/* f64, sparse */
	mm_buf_put_u32(&b, 0xFFFFFFFF);
	mm_buf_put_u32(&b, 0xFFFFFFFF);
	mm_buf_put_u64(&b, 0);
	mm_buf_put_u32(&b, 0);
	SectionEnd(&b, s);
	ExpectCorrupt(&b, "truncated in section TENSOR");

	/* a sparse tensor with 2^63 values */
	ArtifactValidPrefix(&b);
	s = SectionBegin(&b, 5);
	mm_buf_put_string(&b, "coef");
	mm_buf_put_u32(&b, 0x00000201);
	mm_buf_put_u32(&b, 1);
	mm_buf_put_u32(&b, 1);
	mm_buf_put_u64(&b, UINT64_C(1) << 63);
	mm_buf_put_u32(&b, 0);
	mm_buf_put_u32(&b, 0);
	SectionEnd(&b, s);
	ExpectCorrupt(&b, "truncated in section TENSOR");

	/* an int8 tensor with 4 billion scales */
	ArtifactValidPrefix(&b);
	s = SectionBegin(&b, 5);
	mm_buf_put_string(&b, "coef");
	mm_buf_put_u32(&b, 0x00000104);	/* int8, dense */
	mm_buf_put_u32(&b, 1);
	mm_buf_put_u32(&b, 1);
	mm_buf_put_u64(&b, 1);
	mm_buf_put_u8(&b, 7);
	mm_buf_put_u32(&b, 0xFFFFFFFF);
	mm_buf_put_f64(&b, 1.0);
	SectionEnd(&b, s);
	ExpectCorrupt(&b, "truncated in section TENSOR");

	/* more tensor sections than allowed (each empty) */
	ArtifactValidPrefix(&b);
	for (i = 0; i <= MM_MAX_TENSORS; i++)
		SectionEnd(&b, SectionBegin(&b, 5));
	ExpectCorrupt(&b, "more than 4096 tensors");

	/* framing: unknown tag, order, reserved, empty sections */
	ArtifactValidPrefix(&b);
	SectionEnd(&b, SectionBegin(&b, 77));
	ExpectCorrupt(&b, "unknown section tag 77");
	ArtifactValidPrefix(&b);
	SectionEnd(&b, SectionBegin(&b, 1));
	ExpectCorrupt(&b, "section MODEL is repeated or out of order");
	ArtifactValidPrefix(&b);
	SectionEnd(&b, SectionBegin(&b, 6));
	ExpectCorrupt(&b, "CHECKSUM section before its end");
	ArtifactValidPrefix(&b);
	s = SectionBegin(&b, 3);
	mm_buf_put_u32(&b, 0);
	SectionEnd(&b, s);
	ExpectCorrupt(&b, "section CLASSES is empty");
	ArtifactBegin(&b);
	SectionEnd(&b, SectionBegin(&b, 2));
	ExpectCorrupt(&b, "does not start with a MODEL section");
	ArtifactBegin(&b);
	ExpectCorrupt(&b, "has no MODEL section");
	ArtifactValidPrefix(&b);
	mm_buf_put_u16(&b, 5);
	mm_buf_put_u16(&b, 1);
	mm_buf_put_u32(&b, 0);
	ExpectCorrupt(&b, "non-zero reserved field in section TENSOR");
	ArtifactValidPrefix(&b);
	mm_buf_put_u16(&b, 5);
	ExpectCorrupt(&b, "truncated in a section header");
}

/* Patch the 8 bytes of a double in an artifact (found by value). */
static void
PatchDouble(uint8_t *bytes, size_t len, double from, uint64_t to_bits)
{
	uint8_t		le[8];
	long		at;
	int			i;
	uint64_t	bits;

	memcpy(&bits, &from, 8);
	for (i = 0; i < 8; i++)
		le[i] = (uint8_t) (bits >> (8 * i));
	at = FindBytes(bytes, len, le, 8);
	assert_true(at >= 0);
	for (i = 0; i < 8; i++)
		bytes[at + i] = (uint8_t) (to_bits >> (8 * i));
	FixChecksum(bytes, len);
}

static void
ExpectParseFails(uint8_t *bytes, size_t len, mm_status want,
				 const char *fragment)
{
	mm_model   *m;
	mm_error	err;

	assert_int_equal(mm_model_parse(bytes, len, &m, &err), want);
	assert_null(m);
	if (strstr(err.message, fragment) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, fragment);
}

static void
test_non_finite_rejected(void **state)
{
	size_t		len;
	uint8_t    *bytes;
	mm_model   *m;
	mm_error	err;
	long		at;

	/* NaN and infinity in a float64 tensor */
	bytes = SerializeFixture(FixtureLinearModel, &len);
	PatchDouble(bytes, len, 15000.0, UINT64_C(0x7ff8000000000001));
	ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "non-finite value at index 2");
	free(bytes);
	bytes = SerializeFixture(FixtureLinearModel, &len);
	PatchDouble(bytes, len, 15000.0, UINT64_C(0xfff0000000000000));
	ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "non-finite value");
	free(bytes);

	/* a zero scale and a NaN center */
	bytes = SerializeFixture(FixtureLinearModel, &len);
	PatchDouble(bytes, len, 410.5, 0);
	ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "must be finite and non-zero");
	free(bytes);
	bytes = SerializeFixture(FixtureLinearModel, &len);
	PatchDouble(bytes, len, 1800.25, UINT64_C(0x7ff8000000000000));
	ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "non-finite");
	free(bytes);

	/* int8: negative scale, zero point out of range */
	bytes = SerializeFixture(FixtureQuantizedLinearModel, &len);
	PatchDouble(bytes, len, 0.03125, UINT64_C(0xbfa0000000000000));
	ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "not finite and positive");
	free(bytes);
	bytes = SerializeFixture(FixtureQuantizedLinearModel, &len);
	{
		uint8_t		scale_zp[12] = {0, 0, 0, 0, 0, 0, 0xa0, 0x3f, 1, 0, 0, 0};

		at = FindBytes(bytes, len, scale_zp, 12);
		assert_true(at >= 0);
		bytes[at + 8] = 128;	/* zero point 128 */
		FixChecksum(bytes, len);
		ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "zero point 128 out of range");
	}
	free(bytes);

	/* float16 infinity (the intercept, -2.5 = 0xc100) */
	bytes = SerializeFixture(FixtureQuantizedLinearModel, &len);
	at = FirstValueOffset(bytes, len, "intercept");
	assert_int_equal(bytes[at + 1], 0xc1);
	bytes[at + 1] = 0xfc;
	FixChecksum(bytes, len);
	ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "non-finite");
	free(bytes);

	/* float32 NaN (logistic coef -0.75f = 0xbf400000) */
	bytes = SerializeFixture(FixtureLogisticModel, &len);
	at = FirstValueOffset(bytes, len, "coef");
	assert_int_equal(bytes[at + 3], 0xbf);
	bytes[at + 2] = 0xc0;
	bytes[at + 3] = 0x7f;
	FixChecksum(bytes, len);
	ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "non-finite");
	free(bytes);

	/* and the writer refuses to write one */
	m = FixtureLinearModel();
	((double *) m->tensors[0].values)[1] = NAN;
	{
		mm_buf		buf;

		mm_buf_init(&buf);
		assert_int_equal(mm_model_serialize(m, &buf, &err), MM_ERR_INVALID);
		assert_int_equal(buf.len, 0);
		mm_buf_free(&buf);
	}
	mm_model_free(m);
}

static void
test_versions_and_envelope(void **state)
{
	size_t		len;
	uint8_t    *bytes = SerializeFixture(FixtureLinearModel, &len);
	mm_model   *m;
	mm_error	err;

	/* a newer version, with or without a valid checksum */
	bytes[4] = 2;
	assert_int_equal(mm_model_parse(bytes, len, &m, &err), MM_ERR_UNSUPPORTED);
	assert_null(m);
	assert_string_equal(err.message, "artifact format version 2 is not supported");
	assert_true(err.hint[0] != '\0');
	FixChecksum(bytes, len);
	assert_int_equal(mm_model_parse(bytes, len, &m, &err), MM_ERR_UNSUPPORTED);
	bytes[4] = 0;
	bytes[5] = 1;				/* 256 */
	assert_int_equal(mm_model_parse(bytes, len, &m, &err), MM_ERR_UNSUPPORTED);
	bytes[5] = 0;
	FixChecksum(bytes, len);
	ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "invalid format version 0");
	bytes[4] = 1;
	FixChecksum(bytes, len);
	assert_int_equal(ParseCanonical(bytes, len, &err), MM_OK);

	/* checksum, flags, magic, lengths */
	bytes[len - 1] ^= 1;
	ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "artifact checksum mismatch");
	bytes[len - 1] ^= 1;
	bytes[6] = 1;
	FixChecksum(bytes, len);
	ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "unknown flags 0x0001");
	bytes[6] = 0;
	FixChecksum(bytes, len);
	bytes[0] = 'X';
	ExpectParseFails(bytes, len, MM_ERR_CORRUPT, "not a modelmgr model artifact");
	bytes[0] = 'M';
	ExpectParseFails(bytes, len - 1, MM_ERR_CORRUPT, "artifact is truncated");
	ExpectParseFails(bytes, 3, MM_ERR_CORRUPT, "artifact is truncated in its header");
	ExpectParseFails((uint8_t *) "PK\003\004", 4, MM_ERR_CORRUPT,
					 "not a modelmgr model artifact");
	ExpectParseFails(bytes, 0, MM_ERR_CORRUPT, "artifact is empty");
	{
		uint8_t    *longer = calloc(len + 3, 1);

		memcpy(longer, bytes, len);
		ExpectParseFails(longer, len + 3, MM_ERR_CORRUPT, "3 bytes after its end");
		free(longer);
	}
	free(bytes);
}

/*
 * Fail each allocation of a parse and of a serialization in turn: the
 * status is MM_ERR_NOMEM (or MM_OK once past the last one) and nothing
 * leaks.
 */
static void
test_allocation_failures(void **state)
{
	size_t		len;
	uint8_t    *bytes = SerializeFixture(FixtureAllDtypesModel, &len);
	size_t		k;
	bool		done = false;

	for (k = 1; !done; k++)
	{
		mm_model   *m;
		mm_error	err;
		mm_status	st;

		UseTestAllocator(k);
		st = mm_model_parse(bytes, len, &m, &err);
		if (st == MM_OK)
		{
			mm_buf		buf;

			done = (ta.calls < k);
			mm_buf_init(&buf);
			/* the serializer under the same failing allocator */
			ta.fail_at = ta.calls + (k % 7) + 1;
			st = mm_model_serialize(m, &buf, &err);
			assert_true(st == MM_OK || st == MM_ERR_NOMEM);
			assert_true(st == MM_ERR_NOMEM || buf.len == len);
			mm_buf_free(&buf);
			mm_model_free(m);
		}
		else
		{
			assert_int_equal(st, MM_ERR_NOMEM);
			assert_null(m);
		}
		if (ta.outstanding != 0)
			fail_msg("failing allocation %zu leaked %ld blocks", k, ta.outstanding);
		mm_set_runtime(NULL);
	}
	free(bytes);
}

/* ---------------------------------------------------------------------
 * Validation
 * ---------------------------------------------------------------------
 */

static void
ExpectInvalid(mm_model *m, const char *fragment)
{
	mm_error	err;

	assert_int_equal(mm_model_validate(m, &err), MM_ERR_INVALID);
	if (strstr(err.message, fragment) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, fragment);
	mm_model_free(m);
}

static void
test_validation(void **state)
{
	mm_model   *m;
	mm_error	err;
	mm_tensor  *t;

	m = FixtureLinearModel();
	assert_int_equal(mm_model_validate(m, &err), MM_OK);
	mm_model_free(m);

	m = FixtureLinearModel();
	m->features[2].drop_first = 0;	/* width 5 now */
	ExpectInvalid(m, "tensor \"coef\" of a linear_regression model must be 1 x 5, not 1 x 4");

	m = FixtureLinearModel();
	mm_free(m->tensors[1].name);
	m->tensors[1].name = mm_strdup("bias");
	ExpectInvalid(m, "linear_regression model has no tensor \"intercept\"");

	m = FixtureLinearModel();
	m->task = MM_TASK_BINARY;
	ExpectInvalid(m, "linear_regression model cannot have task binary");

	m = FixtureLinearModel();
	m->algorithm = 9;
	ExpectInvalid(m, "unknown algorithm 9");

	m = FixtureLinearModel();
	mm_model_set_attr(m, "fit_intercept", 2, NULL);
	ExpectInvalid(m, "\"fit_intercept\" must be 0 or 1");

	m = FixtureLinearModel();
	mm_model_set_attr(m, "l2", INFINITY, NULL);
	ExpectInvalid(m, "attribute \"l2\" is not finite");

	m = FixtureLinearModel();
	mm_model_add_feature(m, "sqft", NULL);
	ExpectInvalid(m, "duplicate feature name \"sqft\"");

	m = FixtureLinearModel();
	mm_model_add_feature(m, "", NULL);
	ExpectInvalid(m, "name of feature #4 is empty");

	m = FixtureLinearModel();
	mm_model_add_feature(m, "bad\xc0\xaf", NULL);
	ExpectInvalid(m, "name of feature #4 is not valid UTF-8");

	m = FixtureLinearModel();
	mm_feature_add_category(&m->features[0], "oops", NULL);
	ExpectInvalid(m, "numeric feature \"sqft\" cannot have categories");

	m = FixtureLinearModel();
	mm_feature_add_category(&m->features[2], "south", NULL);
	ExpectInvalid(m, "duplicate category \"south\"");

	m = FixtureLinearModel();
	m->features[1].scale = 0;
	ExpectInvalid(m, "feature \"beds\" has scale 0");

	m = FixtureLinearModel();
	m->features[1].kind = 3;
	ExpectInvalid(m, "unknown kind 3");

	m = FixtureLogisticModel();
	mm_model_add_class(m, "maybe", NULL);
	ExpectInvalid(m, "binary model needs 2 classes, not 3");

	m = FixtureLogisticModel();
	mm_model_add_class(m, "true", NULL);
	ExpectInvalid(m, "duplicate class label \"true\"");

	m = FixtureLinearModel();
	mm_model_add_class(m, "x", NULL);
	ExpectInvalid(m, "regression model cannot have classes");

	m = FixtureLassoSparseModel();
	m->tensors[0].col_idx[1] = 1;
	ExpectInvalid(m, "column indexes are not strictly increasing in row 1");

	m = FixtureLassoSparseModel();
	m->tensors[0].col_idx[1] = 5;
	ExpectInvalid(m, "column index 5 out of range in row 1");

	m = FixtureLassoSparseModel();
	m->tensors[0].row_ptr[1] = 1;
	ExpectInvalid(m, "row pointers must run from 0 to its 2 values");

	m = FixtureAllDtypesModel();
	m->tensors[5].row_ptr[2] = 1;	/* 0, 2, 1, 3 */
	ExpectInvalid(m, "row pointers decrease at row 2");

	m = FixtureAllDtypesModel();
	m->tensors[0].nnz = 5;
	ExpectInvalid(m, "dense tensor \"w_f64\" is 2 x 3 but holds 5 values");

	m = FixtureAllDtypesModel();
	m->tensors[4].n_scales = 2;
	ExpectInvalid(m, "needs 1 scale or one per row (3), not 2");

	m = FixtureAllDtypesModel();
	mm_free(m->tensors[6].name);
	m->tensors[6].name = mm_strdup("w_f64");
	ExpectInvalid(m, "duplicate tensor name \"w_f64\"");

	m = FixtureAllDtypesModel();
	while (m->n_tensors > 0)
	{
		m->n_tensors--;
		mm_free(m->tensors[m->n_tensors].name);
		mm_free(m->tensors[m->n_tensors].values);
		mm_free(m->tensors[m->n_tensors].row_ptr);
		mm_free(m->tensors[m->n_tensors].col_idx);
		mm_free(m->tensors[m->n_tensors].scales);
		mm_free(m->tensors[m->n_tensors].zero_points);
	}
	ExpectInvalid(m, "mlp_classifier model has no tensors");

	m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	ExpectInvalid(m, "model has no features");

	/* long names are cut in messages at a character boundary */
	m = FixtureLinearModel();
	{
		char		name[200];

		memset(name, 'a', sizeof(name));
		memcpy(name + 59, "\xc3\xbc", 2);	/* straddles the cut at 60 */
		name[199] = '\0';
		mm_model_add_feature(m, name, NULL);
		mm_model_add_feature(m, name, NULL);
		assert_int_equal(mm_model_validate(m, &err), MM_ERR_INVALID);
		assert_true(strstr(err.message, "aaa...\"") != NULL);
		assert_null(strchr(err.message, '\xc3'));
	}
	mm_model_free(m);

	/* builders refuse nonsense */
	m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	assert_null(mm_model_add_tensor(m, "t", 9, 1, 1, &err));
	assert_int_equal(err.status, MM_ERR_INVALID);
	assert_null(mm_model_add_tensor(m, "t", MM_DTYPE_F64, 0, 1, &err));
	assert_null(mm_model_add_sparse_tensor(m, "t", MM_DTYPE_F64, 2, 2, 5, &err));
	t = mm_model_add_tensor(m, "t", MM_DTYPE_F64, 2, 2, &err);
	assert_non_null(t);
	assert_int_equal(mm_tensor_set_scales(t, 1, &err), MM_ERR_INVALID);
	assert_int_equal(m->n_tensors, 1);
	mm_model_free(m);
}

/* Builders grow arrays correctly past many powers of two. */
static void
test_builders_grow(void **state)
{
	mm_model   *m = mm_model_new(MM_ALGO_MLP_REGRESSOR, MM_TASK_REGRESSION);
	mm_feature *f;
	char		name[32];
	int			i;
	size_t		len;
	uint8_t    *bytes;
	mm_model   *p;
	mm_error	err;

	for (i = 0; i < 300; i++)
	{
		snprintf(name, sizeof(name), "f%d", i);
		f = mm_model_add_feature(m, name, NULL);
		assert_non_null(f);
		if (i == 7)
		{
			int			j;

			f->kind = MM_FEATURE_CATEGORICAL;
			for (j = 0; j < 100; j++)
			{
				snprintf(name, sizeof(name), "level%d", j);
				assert_int_equal(mm_feature_add_category(f, name, NULL), MM_OK);
			}
		}
		snprintf(name, sizeof(name), "a%d", i);
		assert_int_equal(mm_model_set_attr(m, name, i, NULL), MM_OK);
	}
	for (i = 0; i < 40; i++)
	{
		snprintf(name, sizeof(name), "t%d", i);
		assert_non_null(mm_model_add_tensor(m, name, MM_DTYPE_F32, 2, 3, NULL));
	}
	assert_int_equal(mm_model_input_width(m), 299 + 100);
	bytes = Serialize(m, &len);
	assert_int_equal(mm_model_parse(bytes, len, &p, &err), MM_OK);
	/* a parsed model can grow too */
	for (i = 0; i < 70; i++)
	{
		snprintf(name, sizeof(name), "g%d", i);
		assert_non_null(mm_model_add_feature(p, name, NULL));
		assert_int_equal(mm_feature_add_category(&p->features[7], name, NULL), MM_OK);
		assert_non_null(mm_model_add_tensor(p, name, MM_DTYPE_I8, 1, 1, NULL));
	}
	assert_string_equal(p->features[369].name, "g69");
	assert_string_equal(p->features[7].categories[169], "g69");
	assert_int_equal(mm_model_validate(p, &err), MM_OK);
	mm_model_free(p);
	free(bytes);
	mm_model_free(m);
}

/* ---------------------------------------------------------------------
 * Byte utilities
 * ---------------------------------------------------------------------
 */

static void
test_buf_and_reader(void **state)
{
	mm_buf		b;
	mm_reader	r;
	uint8_t		u8;
	uint16_t	u16;
	uint32_t	u32;
	uint64_t	u64;
	int64_t		i64;
	float		f32;
	double		f64;
	char	   *s;
	static const uint8_t expect[] = {
		0xAB, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0x00, 0x00, 0xC0, 0x3F,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x3F,
		0x03, 0x00, 0x00, 0x00, 'a', 'b', 'c'
	};

	mm_buf_init(&b);
	mm_buf_put_u8(&b, 0xAB);
	mm_buf_put_u16(&b, 0x1234);
	mm_buf_put_u32(&b, 0x12345678);
	mm_buf_put_u64(&b, UINT64_C(0x0102030405060708));
	mm_buf_put_i64(&b, -2);
	mm_buf_put_f32(&b, 1.5f);
	mm_buf_put_f64(&b, 1.5);
	mm_buf_put_string(&b, "abc");
	assert_false(b.failed);
	assert_int_equal(b.len, sizeof(expect));
	assert_memory_equal(b.data, expect, sizeof(expect));
	mm_buf_patch_u32(&b, 1, 0xAABBCCDD);
	assert_int_equal(mm_le_u32(b.data + 1), 0xAABBCCDD);
	mm_buf_patch_u32(&b, b.len - 3, 1);
	assert_true(b.failed);		/* out of range patch */
	mm_buf_free(&b);

	mm_reader_init(&r, expect, sizeof(expect));
	assert_true(mm_get_u8(&r, &u8) && u8 == 0xAB);
	assert_true(mm_get_u16(&r, &u16) && u16 == 0x1234);
	assert_true(mm_get_u32(&r, &u32) && u32 == 0x12345678);
	assert_true(mm_get_u64(&r, &u64) && u64 == UINT64_C(0x0102030405060708));
	assert_true(mm_get_i64(&r, &i64) && i64 == -2);
	assert_true(mm_get_f32(&r, &f32) && f32 == 1.5f);
	assert_true(mm_get_f64(&r, &f64) && f64 == 1.5);
	assert_false(mm_get_string(&r, 2, &s));	/* too long for max 2 */
	assert_null(s);
	assert_true(mm_get_string(&r, 3, &s));
	assert_string_equal(s, "abc");
	mm_free(s);
	assert_int_equal(mm_reader_remaining(&r), 0);
	assert_false(mm_get_u8(&r, &u8));
	assert_false(mm_get_u64(&r, &u64));

	/* a reader never reads past its end; failure leaves pos alone */
	mm_reader_init(&r, expect, 3);
	assert_false(mm_get_u32(&r, &u32));
	assert_int_equal(r.pos, 0);
	assert_true(mm_get_u16(&r, &u16));
	assert_false(mm_get_u16(&r, &u16));
	assert_int_equal(r.pos, 2);

	/* strings: truncated, embedded NUL, bad UTF-8 */
	{
		static const uint8_t trunc[] = {5, 0, 0, 0, 'a', 'b'};
		static const uint8_t nul[] = {3, 0, 0, 0, 'a', 0, 'b'};
		static const uint8_t bad[] = {2, 0, 0, 0, 0xC3, 0x28};
		static const uint8_t empty[] = {0, 0, 0, 0};

		mm_reader_init(&r, trunc, sizeof(trunc));
		assert_false(mm_get_string(&r, 100, &s));
		assert_int_equal(r.pos, 0);
		mm_reader_init(&r, nul, sizeof(nul));
		assert_false(mm_get_string(&r, 100, &s));
		mm_reader_init(&r, bad, sizeof(bad));
		assert_false(mm_get_string(&r, 100, &s));
		mm_reader_init(&r, empty, sizeof(empty));
		assert_true(mm_get_string(&r, 100, &s));
		assert_string_equal(s, "");
		mm_free(s);
	}

	/* allocation failure marks the buffer failed, writes stop */
	UseTestAllocator(1);
	mm_buf_init(&b);
	mm_buf_put_u32(&b, 1);
	assert_true(b.failed);
	assert_int_equal(b.len, 0);
	mm_buf_put_u32(&b, 1);
	assert_int_equal(b.len, 0);
	mm_buf_free(&b);
	assert_int_equal(ta.outstanding, 0);
	mm_set_runtime(NULL);
}

static void
test_utf8(void **state)
{
	static const char *const good[] = {
		"", "plain", "z\xc3\xbcrich", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf", "\xc2\x80"
	};
	static const char *const bad[] = {
		"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
		"\x80", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "a\xc3(", "\xe2\x28\xa1"
	};
	size_t		i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(mm_utf8_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mm_utf8_valid(bad[i], strlen(bad[i])))
			fail_msg("bad UTF-8 #%zu accepted", i);
	assert_false(mm_utf8_valid("a\0b", 3));
}

static void
test_checksum(void **state)
{
	/* published FNV-1a 64 test vectors */
	assert_true(mm_checksum64("", 0) == UINT64_C(0xcbf29ce484222325));
	assert_true(mm_checksum64("a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
	assert_true(mm_checksum64("foobar", 6) == UINT64_C(0x85944171f73967e8));
}

static uint64_t
HashDoubles(uint64_t seed, const double *v, int n)
{
	mm_hasher	hs;
	int			i;

	mm_hash_init(&hs, seed);
	for (i = 0; i < n; i++)
		mm_hash_double(&hs, v[i]);
	return mm_hash_final(&hs);
}

static void
test_row_hash(void **state)
{
	mm_hasher	a;
	mm_hasher	b;
	double		x[2] = {1.0, 2.0};
	double		y[2] = {2.0, 1.0};
	double		pos_zero = 0.0;
	double		neg_zero = -0.0;
	uint64_t	nan1 = UINT64_C(0x7ff8000000000000);
	uint64_t	nan2 = UINT64_C(0xfff0000000000123);
	double		dnan1;
	double		dnan2;
	int			i;
	int			below = 0;
	double		sum = 0;

	assert_true(HashDoubles(0, &pos_zero, 1) == HashDoubles(0, &neg_zero, 1));
	memcpy(&dnan1, &nan1, 8);
	memcpy(&dnan2, &nan2, 8);
	assert_true(HashDoubles(7, &dnan1, 1) == HashDoubles(7, &dnan2, 1));
	assert_true(HashDoubles(0, x, 2) != HashDoubles(0, y, 2));
	assert_true(HashDoubles(0, x, 2) != HashDoubles(1, x, 2));
	assert_true(HashDoubles(0, x, 1) != HashDoubles(0, x, 2));

	/* NULL differs from 0 and from nothing at all */
	mm_hash_init(&a, 0);
	mm_hash_init(&b, 0);
	mm_hash_null(&a);
	mm_hash_double(&b, 0.0);
	assert_true(mm_hash_final(&a) != mm_hash_final(&b));
	mm_hash_init(&b, 0);
	assert_true(mm_hash_final(&a) != mm_hash_final(&b));

	/* ("ab", "c") and ("a", "bc"); empty text differs from NULL */
	mm_hash_init(&a, 0);
	mm_hash_bytes(&a, "ab", 2);
	mm_hash_bytes(&a, "c", 1);
	mm_hash_init(&b, 0);
	mm_hash_bytes(&b, "a", 1);
	mm_hash_bytes(&b, "bc", 2);
	assert_true(mm_hash_final(&a) != mm_hash_final(&b));
	mm_hash_init(&a, 0);
	mm_hash_bytes(&a, "", 0);
	mm_hash_init(&b, 0);
	mm_hash_null(&b);
	assert_true(mm_hash_final(&a) != mm_hash_final(&b));

	/*
	 * Frozen values: the train/test split of every stored model depends on
	 * them.  Changing the hash changes which rows a retrain holds out.
	 */
	assert_true(HashDoubles(0, x, 2) == UINT64_C(0xbf6e4cc1ed370d86));
	mm_hash_init(&a, 42);
	mm_hash_bytes(&a, "modelmgr row hash", 17);
	mm_hash_null(&a);
	mm_hash_double(&a, -1.5);
	assert_true(mm_hash_final(&a) == UINT64_C(0x4ebc772b172b8bfe));

	/* unit values: [0, 1), roughly uniform over consecutive integers */
	assert_true(mm_hash_unit(0) == 0.0);
	assert_true(mm_hash_unit(UINT64_MAX) < 1.0);
	assert_true(mm_hash_unit(UINT64_C(1) << 63) == 0.5);
	for (i = 0; i < 20000; i++)
	{
		double		v = i;
		double		u = mm_hash_unit(HashDoubles(0, &v, 1));

		assert_true(u >= 0.0 && u < 1.0);
		sum += u;
		below += (u < 0.2);
	}
	assert_true(fabs(sum / 20000 - 0.5) < 0.01);
	assert_true(abs(below - 4000) < 200);	/* about 3.5 sigma */
}

static void
test_base64(void **state)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {
		"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"
	};
	static const char *const bad[] = {
		"Zg=", "Zg", "Zm9", "Zg=a", "Z===", "====", "Zh==", "Zm9=", "Zm9v\n",
		"=Zm9", "Zm=v", "Zm9*", "Zm9vYg==Zm9v", " Zm9", "Zm-_", "Zm8=Zm8="
	};
	size_t		i;
	uint8_t		all[256];
	char	   *enc;
	uint8_t    *dec;
	size_t		dec_len;

	for (i = 0; i < 7; i++)
	{
		char		out[16];
		size_t		n = strlen(plain[i]);

		assert_int_equal(mm_base64_encoded_len(n), strlen(coded[i]));
		memset(out, 0, sizeof(out));
		mm_base64_encode((const uint8_t *) plain[i], n, out);
		assert_string_equal(out, coded[i]);
		assert_true(mm_base64_decode(coded[i], strlen(coded[i]), &dec, &dec_len));
		assert_int_equal(dec_len, n);
		assert_memory_equal(dec, plain[i], n);
		mm_free(dec);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		if (mm_base64_decode(bad[i], strlen(bad[i]), &dec, &dec_len))
			fail_msg("bad base64 \"%s\" accepted", bad[i]);
		assert_null(dec);
		assert_int_equal(dec_len, 0);
	}
	/* every byte value, every length */
	for (i = 0; i < 256; i++)
		all[i] = (uint8_t) (255 - i);
	for (i = 0; i <= 256; i++)
	{
		size_t		n = mm_base64_encoded_len(i);

		enc = malloc(n + 1);
		mm_base64_encode(all, i, enc);
		assert_true(mm_base64_decode(enc, n, &dec, &dec_len));
		assert_int_equal(dec_len, i);
		assert_memory_equal(dec, all, i);
		mm_free(dec);
		free(enc);
	}
	assert_int_equal(mm_base64_encoded_len(SIZE_MAX), SIZE_MAX);
}

static void
test_half_float(void **state)
{
	uint32_t	h;

	assert_int_equal(mm_float_to_half(1.0), 0x3C00);
	assert_int_equal(mm_float_to_half(-2.0), 0xC000);
	assert_int_equal(mm_float_to_half(0.0), 0x0000);
	assert_int_equal(mm_float_to_half(-0.0), 0x8000);
	assert_int_equal(mm_float_to_half(65504.0), 0x7BFF);
	assert_int_equal(mm_float_to_half(65519.99), 0x7BFF);
	assert_int_equal(mm_float_to_half(65520.0), 0x7C00);	/* ties to inf */
	assert_int_equal(mm_float_to_half(1e300), 0x7C00);
	assert_int_equal(mm_float_to_half(-1e300), 0xFC00);
	assert_int_equal(mm_float_to_half(INFINITY), 0x7C00);
	assert_int_equal(mm_float_to_half(-INFINITY), 0xFC00);
	assert_int_equal(mm_float_to_half(NAN) & 0x7C00, 0x7C00);
	assert_true((mm_float_to_half(NAN) & 0x03FF) != 0);
	/* subnormals */
	assert_int_equal(mm_float_to_half(ldexp(1, -24)), 0x0001);
	assert_int_equal(mm_float_to_half(ldexp(1, -25)), 0x0000);	/* tie, even */
	assert_int_equal(mm_float_to_half(ldexp(3, -26)), 0x0001);	/* 0.75 unit */
	assert_int_equal(mm_float_to_half(ldexp(3, -25)), 0x0002);	/* 1.5, even */
	assert_int_equal(mm_float_to_half(ldexp(5, -25)), 0x0002);	/* 2.5, even */
	assert_int_equal(mm_float_to_half(ldexp(1, -26)), 0x0000);
	assert_int_equal(mm_float_to_half(-ldexp(1, -30)), 0x8000);
	assert_int_equal(mm_float_to_half(5e-324), 0x0000);
	assert_int_equal(mm_float_to_half(ldexp(1023, -24)), 0x03FF);
	assert_int_equal(mm_float_to_half(ldexp(2047, -25)), 0x0400);	/* rounds up
																	 * to normal */
	assert_int_equal(mm_float_to_half(ldexp(1, -14)), 0x0400);
	/* rounding of normals: ties to even */
	assert_int_equal(mm_float_to_half(1.0 + ldexp(1, -11)), 0x3C00);
	assert_int_equal(mm_float_to_half(1.0 + 3 * ldexp(1, -11)), 0x3C02);
	assert_int_equal(mm_float_to_half(1.0 + ldexp(1, -11) + ldexp(1, -40)), 0x3C01);
	assert_int_equal(mm_float_to_half(2047.5), 0x67FF + 1);	/* 2048 */
	assert_int_equal(mm_float_to_half(0.1), 0x2E66);

	assert_true(mm_half_to_float(0x3C00) == 1.0);
	assert_true(mm_half_to_float(0x7BFF) == 65504.0);
	assert_true(mm_half_to_float(0x0001) == ldexp(1, -24));
	assert_true(mm_half_to_float(0x03FF) == ldexp(1023, -24));
	assert_true(mm_half_to_float(0x0400) == ldexp(1, -14));
	assert_true(mm_half_to_float(0xC000) == -2.0);
	assert_true(SameBits(mm_half_to_float(0x8000), -0.0));
	assert_true(isinf(mm_half_to_float(0x7C00)) && mm_half_to_float(0x7C00) > 0);
	assert_true(isinf(mm_half_to_float(0xFC00)) && mm_half_to_float(0xFC00) < 0);
	assert_true(isnan(mm_half_to_float(0x7E00)));

	/* every finite half survives half -> double -> half */
	for (h = 0; h <= 0xFFFF; h++)
	{
		if ((h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0)
			continue;
		if (mm_float_to_half(mm_half_to_float((uint16_t) h)) != h)
			fail_msg("0x%04x does not round-trip", h);
	}
	/* and a value between two halves goes to the nearer one */
	for (h = 0x0001; h < 0x7BFF; h += 97)
	{
		double		lo = mm_half_to_float((uint16_t) h);
		double		hi = mm_half_to_float((uint16_t) (h + 1));

		assert_int_equal(mm_float_to_half(lo + (hi - lo) * 0.25), h);
		assert_int_equal(mm_float_to_half(lo + (hi - lo) * 0.75), h + 1);
	}
}

static void
test_names(void **state)
{
	int			a;

	for (a = 1; a <= MM_ALGO_MAX; a++)
		assert_int_equal(mm_algorithm_from_name(mm_algorithm_name(a)), a);
	assert_string_equal(mm_algorithm_name(MM_ALGO_ELASTIC_NET), "elastic_net");
	assert_null(mm_algorithm_name(0));
	assert_null(mm_algorithm_name(MM_ALGO_MAX + 1));
	assert_int_equal(mm_algorithm_from_name("random_forest"), 0);
	assert_int_equal(mm_algorithm_from_name(NULL), 0);
	assert_string_equal(mm_task_name(MM_TASK_BINARY), "binary");
	assert_null(mm_task_name(4));
	assert_string_equal(mm_dtype_name(MM_DTYPE_F16), "float16");
	assert_string_equal(mm_dtype_name(MM_DTYPE_I8), "int8");
	assert_null(mm_dtype_name(0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all_dtypes),
		cmocka_unit_test(test_roundtrip_fixtures),
		cmocka_unit_test(test_serialize_appends),
		cmocka_unit_test(test_golden_linear_v1),
		cmocka_unit_test(test_every_truncation_rejected),
		cmocka_unit_test(test_every_byte_flip_rejected),
		cmocka_unit_test(test_byte_flips_with_fixed_checksum),
		cmocka_unit_test(test_cut_and_reseal),
		cmocka_unit_test(test_huge_counts_rejected_cheaply),
		cmocka_unit_test(test_non_finite_rejected),
		cmocka_unit_test(test_versions_and_envelope),
		cmocka_unit_test(test_allocation_failures),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_builders_grow),
		cmocka_unit_test(test_buf_and_reader),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_row_hash),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_half_float),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
