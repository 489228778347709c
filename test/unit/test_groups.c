/*
 * test_groups.c
 *	  Unit tests of grouped models (train(..., group_by => ...)): the
 *	  builders and the lookup by key (mm_model.c), their validation
 *	  (mm_validate.c), the GROUPS and GROUP sections of the binary format
 *	  (mm_format.c, doc/format.md), and copy, pruning and quantization of a
 *	  grouped model (mm_compress.c).
 *
 * The hostile-input tests follow test_format.c: every truncation, byte
 * flips with and without repaired checksums (the checksums of the group's
 * own artifact too, so that flips reach the nested parser), artifacts
 * spliced together from pieces of real ones, and allocation failure at
 * every allocation of a parse, a serialization and a copy.  Run from the
 * repository root (make unit does): one test reads the fuzz seed.
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
#include "mm_compress.h"
#include "mm_model.h"
#include "test_alloc.h"

#define GROUPED_SEED "test/fuzz/corpus/model/grouped.mmdl"

#define TAG_GROUPS	7
#define TAG_GROUP	8

/* ---------------------------------------------------------------------
 * Fixtures
 * ---------------------------------------------------------------------
 */

/*
 * A linear regression on "sqft" (numeric) and a categorical feature
 * (named `cat_name`, vocabulary `colors`): coef 1 x (1 + n_colors) and
 * intercept, derived from `base`.
 */
static mm_model *
LinearSub(const char *cat_name, const char *const *colors, int n_colors,
		  double base)
{
	mm_model   *m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	mm_feature *f;
	mm_tensor  *t;
	int			j;

	if (m == NULL || mm_model_set_target(m, "price", NULL) != MM_OK)
		goto fail;
	if ((f = mm_model_add_feature(m, "sqft", NULL)) == NULL)
		goto fail;
	f->center = 1000.0 * base;
	f->scale = 250.0;
	f->impute_value = 900.0;
	if ((f = mm_model_add_feature(m, cat_name, NULL)) == NULL)
		goto fail;
	f->kind = MM_FEATURE_CATEGORICAL;
	for (j = 0; j < n_colors; j++)
		if (mm_feature_add_category(f, colors[j], NULL) != MM_OK)
			goto fail;
	if (mm_model_set_attr(m, "fit_intercept", 1.0, NULL) != MM_OK)
		goto fail;
	if ((t = mm_model_add_tensor(m, "coef", MM_DTYPE_F64, 1,
								 (uint32_t) (1 + n_colors), NULL)) == NULL)
		goto fail;
	for (j = 0; j <= n_colors; j++)
		((double *) t->values)[j] = base * (j + 1) * (j % 2 ? -0.5 : 1.0);
	if ((t = mm_model_add_tensor(m, "intercept", MM_DTYPE_F64, 1, 1, NULL)) == NULL)
		goto fail;
	((double *) t->values)[0] = 100.0 * base;
	return m;
fail:
	mm_model_free(m);
	return NULL;
}

static const char *const linear_columns[] = {"region", "segment"};
static const char *const key0[] = {NULL, "a"};
static const char *const key1[] = {"east", ""};
static const char *const key2[] = {"east", "b"};
static const char *const vocab0[] = {"red", "blue"};
static const char *const vocab1[] = {"green"};
static const char *const vocab2[] = {"blue", "green", "z\xc3\xbcrich"};
static const char *const vocab_union[] = {"red", "blue", "green", "z\xc3\xbcrich"};

/* The top level of FixtureGroupedLinear: schema only, no groups yet. */
static mm_model *
GroupedLinearTop(void)
{
	mm_model   *m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	mm_feature *f;
	int			j;

	if (m == NULL || mm_model_set_target(m, "price", NULL) != MM_OK)
		goto fail;
	if (mm_model_add_feature(m, "sqft", NULL) == NULL)
		goto fail;
	if ((f = mm_model_add_feature(m, "color", NULL)) == NULL)
		goto fail;
	f->kind = MM_FEATURE_CATEGORICAL;
	for (j = 0; j < 4; j++)
		if (mm_feature_add_category(f, vocab_union[j], NULL) != MM_OK)
			goto fail;
	if (mm_model_set_group_columns(m, 2, linear_columns, NULL) != MM_OK)
		goto fail;
	return m;
fail:
	mm_model_free(m);
	return NULL;
}

/*
 * A grouped linear regression: group columns region and segment, three
 * groups (NULL, "a"), ("east", ""), ("east", "b"), whose sub-models have
 * different vocabularies for "color" (the top level holds their union).
 */
static mm_model *
FixtureGroupedLinear(void)
{
	mm_model   *m = GroupedLinearTop();

	if (m == NULL ||
		mm_model_add_group(m, key0, LinearSub("color", vocab0, 2, 1.0), NULL) != MM_OK ||
		mm_model_add_group(m, key1, LinearSub("color", vocab1, 1, 2.0), NULL) != MM_OK ||
		mm_model_add_group(m, key2, LinearSub("color", vocab2, 3, 3.0), NULL) != MM_OK)
	{
		mm_model_free(m);
		return NULL;
	}
	return m;
}

/* A logistic regression on "tenure" with the given two classes. */
static mm_model *
LogisticSub(const char *c0, const char *c1, float w)
{
	mm_model   *m = mm_model_new(MM_ALGO_LOGISTIC_REGRESSION, MM_TASK_BINARY);
	mm_tensor  *t;

	if (m == NULL || mm_model_set_target(m, "churned", NULL) != MM_OK ||
		mm_model_add_feature(m, "tenure", NULL) == NULL ||
		mm_model_add_class(m, c0, NULL) != MM_OK ||
		mm_model_add_class(m, c1, NULL) != MM_OK)
		goto fail;
	if ((t = mm_model_add_tensor(m, "coef", MM_DTYPE_F32, 1, 1, NULL)) == NULL)
		goto fail;
	((float *) t->values)[0] = w;
	if ((t = mm_model_add_tensor(m, "intercept", MM_DTYPE_F64, 1, 1, NULL)) == NULL)
		goto fail;
	return m;
fail:
	mm_model_free(m);
	return NULL;
}

/*
 * A grouped logistic regression by "plan": classes "no" and "yes" at the
 * top; group "basic" has them in the other order, group `second_key` has
 * classes no and `second_class`.
 */
static mm_model *
GroupedLogistic(const char *second_key, const char *second_class)
{
	static const char *const columns[] = {"plan"};
	const char *k0[] = {"basic"};
	const char *k1[] = {second_key};
	mm_model   *m = mm_model_new(MM_ALGO_LOGISTIC_REGRESSION, MM_TASK_BINARY);

	if (m == NULL || mm_model_set_target(m, "churned", NULL) != MM_OK ||
		mm_model_add_feature(m, "tenure", NULL) == NULL ||
		mm_model_add_class(m, "no", NULL) != MM_OK ||
		mm_model_add_class(m, "yes", NULL) != MM_OK ||
		mm_model_set_group_columns(m, 1, columns, NULL) != MM_OK ||
		mm_model_add_group(m, k0, LogisticSub("yes", "no", 0.25f), NULL) != MM_OK ||
		mm_model_add_group(m, k1, LogisticSub("no", second_class, -0.5f), NULL) != MM_OK)
	{
		mm_model_free(m);
		return NULL;
	}
	return m;
}

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

/* Build with `build`, serialize and free the model. */
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

static void
PutLE(uint8_t *at, uint64_t v, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		at[i] = (uint8_t) (v >> (8 * i));
}

/* Recompute the checksum of the artifact at b (total length as is). */
static void
FixChecksum(uint8_t *b, size_t len)
{
	assert_true(len >= 16);
	PutLE(b + len - 8, mm_checksum64(b, len - 16), 8);
}

/* Patch the total length of an artifact and recompute its checksum. */
static void
Reseal(uint8_t *b, size_t len)
{
	PutLE(b + 8, len, 4);
	FixChecksum(b, len);
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

static void
ExpectParseCorrupt(const uint8_t *b, size_t len, const char *fragment)
{
	mm_model   *m;
	mm_error	err;

	assert_int_equal(mm_model_parse(b, len, &m, &err), MM_ERR_CORRUPT);
	assert_null(m);
	if (strstr(err.message, fragment) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, fragment);
}

static void
ExpectInvalid(mm_model *m, const char *fragment)
{
	mm_error	err;
	mm_buf		buf;

	assert_non_null(m);
	assert_int_equal(mm_model_validate(m, &err), MM_ERR_INVALID);
	if (strstr(err.message, fragment) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, fragment);
	/* and the writer refuses it, leaving the buffer as it was */
	mm_buf_init(&buf);
	mm_buf_put_u32(&buf, 7);
	assert_int_equal(mm_model_serialize(m, &buf, &err), MM_ERR_INVALID);
	assert_int_equal(buf.len, 4);
	mm_buf_free(&buf);
	mm_model_free(m);
}

/* The sections of an artifact, checksum included. */
typedef struct Section
{
	size_t		off;			/* of the section header */
	size_t		size;			/* header and payload */
	uint16_t	tag;
} Section;

#define MAX_SECTIONS 64

static int
ListSections(const uint8_t *b, size_t len, Section *out)
{
	size_t		pos = 12;
	int			n = 0;

	while (pos < len)
	{
		assert_true(n < MAX_SECTIONS && pos + 8 <= len);
		out[n].off = pos;
		out[n].tag = (uint16_t) (b[pos] | (b[pos + 1] << 8));
		out[n].size = 8 + (size_t) mm_le_u32(b + pos + 4);
		pos += out[n].size;
		n++;
	}
	assert_int_equal(pos, len);
	return n;
}

/*
 * Where the artifacts of the groups are: offset and length of each, for
 * an artifact with n_keys group columns.  Returns the number of groups.
 */
static int
FindNested(const uint8_t *b, size_t len, uint32_t n_keys, size_t *offs,
		   size_t *lens)
{
	Section		s[MAX_SECTIONS];
	int			n = ListSections(b, len, s);
	int			found = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		size_t		p;
		uint32_t	k;

		if (s[i].tag != TAG_GROUP)
			continue;
		p = s[i].off + 8;
		for (k = 0; k < n_keys; k++)
			p += (b[p] == 1) ? 1 : 1 + 4 + mm_le_u32(b + p + 1);
		lens[found] = mm_le_u32(b + p);
		offs[found] = p + 4;
		assert_int_equal(offs[found] + lens[found], s[i].off + s[i].size);
		found++;
	}
	return found;
}

/* A growable byte string for splicing artifacts together. */
static void
Append(mm_buf *out, const uint8_t *b, size_t len)
{
	mm_buf_put_bytes(out, b, len);
}

/* A GROUP section: keys (NULL = SQL NULL), then the sub-model's bytes. */
static void
AppendGroup(mm_buf *out, const char *const *keys, uint32_t n_keys,
			const uint8_t *nested, size_t nested_len)
{
	size_t		start;
	uint32_t	k;

	mm_buf_put_u16(out, TAG_GROUP);
	mm_buf_put_u16(out, 0);
	mm_buf_put_u32(out, 0);
	start = out->len;
	for (k = 0; k < n_keys; k++)
	{
		mm_buf_put_u8(out, keys[k] == NULL);
		if (keys[k])
			mm_buf_put_string(out, keys[k]);
	}
	mm_buf_put_u32(out, (uint32_t) nested_len);
	mm_buf_put_bytes(out, nested, nested_len);
	mm_buf_patch_u32(out, start - 4, (uint32_t) (out->len - start));
}

/* Append a checksum section, seal, and hand the bytes over (malloc'd). */
static uint8_t *
Finish(mm_buf *out, size_t *len)
{
	uint8_t    *b;

	mm_buf_put_u16(out, 6);
	mm_buf_put_u16(out, 0);
	mm_buf_put_u32(out, 8);
	mm_buf_put_u64(out, 0);
	assert_false(out->failed);
	*len = out->len;
	b = malloc(out->len);
	memcpy(b, out->data, out->len);
	mm_buf_free(out);
	Reseal(b, *len);
	return b;
}

/*
 * The grouped linear artifact with the artifact of group g (0-based)
 * replaced by the given bytes.
 */
static uint8_t *
ReplaceGroupBytes(int g, const uint8_t *sub_bytes, size_t sub_len,
				  size_t *len)
{
	static const char *const *keys[] = {key0, key1, key2};
	size_t		orig_len;
	uint8_t    *orig = SerializeFixture(FixtureGroupedLinear, &orig_len);
	Section		s[MAX_SECTIONS];
	int			n = ListSections(orig, orig_len, s);
	int			first_group = 0;
	int			i;
	int			k = 0;
	mm_buf		out;

	while (s[first_group].tag != TAG_GROUP)
		first_group++;
	mm_buf_init(&out);
	Append(&out, orig, s[first_group].off);
	for (i = first_group; i < n - 1; i++, k++)
	{
		if (k == g)
			AppendGroup(&out, keys[k], 2, sub_bytes, sub_len);
		else
			Append(&out, orig + s[i].off, s[i].size);
	}
	free(orig);
	return Finish(&out, len);
}

/* The same with the serialization of `sub` (freed). */
static uint8_t *
ReplaceGroup(int g, mm_model *sub, size_t *len)
{
	size_t		sub_len;
	uint8_t    *sub_bytes;
	uint8_t    *b;

	assert_non_null(sub);
	sub_bytes = Serialize(sub, &sub_len);
	mm_model_free(sub);
	b = ReplaceGroupBytes(g, sub_bytes, sub_len, len);
	free(sub_bytes);
	return b;
}

/* ---------------------------------------------------------------------
 * Round trip, lookup, builders
 * ---------------------------------------------------------------------
 */

static void
test_roundtrip(void **state)
{
	size_t		len;
	uint8_t    *bytes = SerializeFixture(FixtureGroupedLinear, &len);
	mm_model   *m;
	mm_error	err;
	size_t		len2;
	uint8_t    *again;
	Section		s[MAX_SECTIONS];
	int			n;

	/* MODEL, FEATURES, GROUPS, GROUP x 3, CHECKSUM */
	n = ListSections(bytes, len, s);
	assert_int_equal(n, 7);
	assert_int_equal(s[0].tag, 1);
	assert_int_equal(s[1].tag, 2);
	assert_int_equal(s[2].tag, TAG_GROUPS);
	assert_int_equal(s[3].tag, TAG_GROUP);
	assert_int_equal(s[5].tag, TAG_GROUP);
	assert_int_equal(s[6].tag, 6);

	assert_int_equal(mm_model_parse(bytes, len, &m, &err), MM_OK);
	assert_int_equal(m->algorithm, MM_ALGO_LINEAR_REGRESSION);
	assert_int_equal(m->n_tensors, 0);
	assert_int_equal(m->n_group_columns, 2);
	assert_string_equal(m->group_columns[0], "region");
	assert_string_equal(m->group_columns[1], "segment");
	assert_int_equal(m->n_groups, 3);
	assert_null(m->groups[0].keys[0]);
	assert_string_equal(m->groups[0].keys[1], "a");
	assert_string_equal(m->groups[1].keys[0], "east");
	assert_non_null(m->groups[1].keys[1]);
	assert_string_equal(m->groups[1].keys[1], "");
	assert_string_equal(m->groups[2].keys[1], "b");
	/* each sub-model keeps its own vocabulary and parameters */
	assert_int_equal(m->groups[0].model->features[1].n_categories, 2);
	assert_int_equal(m->groups[1].model->features[1].n_categories, 1);
	assert_int_equal(m->groups[2].model->features[1].n_categories, 3);
	assert_string_equal(m->groups[2].model->features[1].categories[2],
						"z\xc3\xbcrich");
	assert_int_equal(m->groups[0].model->n_group_columns, 0);
	assert_true(mm_tensor_get(mm_model_tensor(m->groups[2].model, "coef"), 0, 2) == 9.0);
	assert_true(mm_tensor_get(mm_model_tensor(m->groups[2].model, "coef"), 0, 3) == -6.0);
	assert_true(mm_tensor_get(mm_model_tensor(m->groups[1].model, "intercept"), 0, 0) == 200.0);
	assert_int_equal(mm_model_input_width(m), 5);
	assert_int_equal(mm_model_input_width(m->groups[1].model), 2);

	/* serialize -> parse -> serialize is byte-identical */
	again = Serialize(m, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(again, bytes, len);
	free(again);
	mm_model_free(m);

	/* the writer appends behind what the buffer holds */
	{
		mm_buf		buf;
		mm_model   *fx = FixtureGroupedLinear();

		mm_buf_init(&buf);
		mm_buf_put_bytes(&buf, "head", 4);
		assert_int_equal(mm_model_serialize(fx, &buf, &err), MM_OK);
		assert_int_equal(buf.len, 4 + len);
		assert_memory_equal(buf.data + 4, bytes, len);
		mm_buf_free(&buf);
		mm_model_free(fx);
	}
	free(bytes);
}

static int32_t
Find(const mm_model *m, const char *k0, size_t l0, const char *k1, size_t l1)
{
	const char *keys[2] = {k0, k1};
	size_t		lens[2] = {l0, l1};

	return mm_model_find_group(m, keys, lens);
}

static void
test_find_group(void **state)
{
	mm_model   *m = FixtureGroupedLinear();
	mm_model   *plain;
	const char *one[1] = {"east"};
	size_t		one_len[1] = {4};

	assert_non_null(m);
	/* hits */
	assert_int_equal(Find(m, NULL, 0, "a", 1), 0);
	assert_int_equal(Find(m, "east", 4, "", 0), 1);
	assert_int_equal(Find(m, "east", 4, "b", 1), 2);
	/* keys need not be terminated: only lens[i] bytes count */
	assert_int_equal(Find(m, "eastern", 4, "bz", 1), 2);
	/* NULL and the empty string are different keys */
	assert_int_equal(Find(m, "", 0, "a", 1), -1);
	assert_int_equal(Find(m, "east", 4, NULL, 0), -1);
	assert_int_equal(Find(m, NULL, 0, NULL, 0), -1);
	/* prefixes and extensions miss */
	assert_int_equal(Find(m, "eas", 3, "", 0), -1);
	assert_int_equal(Find(m, "east", 4, "bb", 2), -1);
	assert_int_equal(Find(m, "east", 5, "b", 1), -1);	/* "east\0" */
	assert_int_equal(Find(m, NULL, 0, "", 0), -1);
	assert_int_equal(Find(m, NULL, 0, "aa", 2), -1);
	/* before the first and after the last */
	assert_int_equal(Find(m, "", 0, "", 0), -1);
	assert_int_equal(Find(m, "west", 4, "a", 1), -1);
	assert_int_equal(Find(m, "\xff", 1, "a", 1), -1);
	/* an ungrouped model has no groups */
	plain = LinearSub("color", vocab0, 2, 1.0);
	assert_int_equal(mm_model_find_group(plain, one, one_len), -1);
	mm_model_free(plain);
	mm_model_free(m);
}

/* Many groups: the binary search finds every one and nothing else. */
static void
test_find_group_many(void **state)
{
	static const char *const columns[] = {"k"};
	mm_model   *m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	mm_error	err;
	char		key[16];
	int			i;

	assert_int_equal(mm_model_set_group_columns(m, 1, columns, &err), MM_OK);
	for (i = 0; i < 300; i++)
	{
		const char *keys[1] = {key};

		snprintf(key, sizeof(key), "g%05d", i * 2);
		assert_int_equal(mm_model_add_group(m, keys,
											LinearSub("c", vocab1, 1, 1.0),
											&err), MM_OK);
	}
	for (i = 0; i < 600; i++)
	{
		const char *keys[1] = {key};
		size_t		lens[1];

		snprintf(key, sizeof(key), "g%05d", i);
		lens[0] = strlen(key);
		assert_int_equal(mm_model_find_group(m, keys, lens),
						 i % 2 ? -1 : i / 2);
	}
	mm_model_free(m);
}

static void
test_builders(void **state)
{
	static const char *const cols3[] = {"a", "b", NULL};
	const char *many[MM_MAX_GROUP_COLUMNS + 1];
	mm_model   *m;
	mm_model   *nested;
	mm_error	err;
	int			i;

	/* add_group before set_group_columns: refused, sub freed */
	m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	assert_int_equal(mm_model_add_group(m, key0, LinearSub("color", vocab0, 2, 1.0),
										&err), MM_ERR_INVALID);
	assert_int_equal(m->n_groups, 0);
	/* set_group_columns: at least one, at most 32, once */
	assert_int_equal(mm_model_set_group_columns(m, 0, cols3, &err), MM_ERR_INVALID);
	for (i = 0; i <= MM_MAX_GROUP_COLUMNS; i++)
		many[i] = "c";
	assert_int_equal(mm_model_set_group_columns(m, MM_MAX_GROUP_COLUMNS + 1,
												many, &err), MM_ERR_LIMIT);
	assert_int_equal(mm_model_set_group_columns(m, 3, cols3, &err), MM_OK);
	assert_string_equal(m->group_columns[2], "");	/* NULL copied as "" */
	assert_int_equal(mm_model_set_group_columns(m, 2, cols3, &err), MM_ERR_INVALID);
	assert_int_equal(m->n_group_columns, 3);
	assert_int_equal(mm_model_add_group(m, NULL, NULL, &err), MM_ERR_INVALID);
	mm_model_free(m);

	/* out of order and equal keys: MM_ERR_INVALID, sub freed (ASan sees) */
	m = FixtureGroupedLinear();
	assert_int_equal(mm_model_add_group(m, key1, LinearSub("color", vocab0, 2, 1.0),
										&err), MM_ERR_INVALID);
	assert_non_null(strstr(err.message, "strictly increasing key order"));
	assert_int_equal(mm_model_add_group(m, key2, LinearSub("color", vocab0, 2, 1.0),
										&err), MM_ERR_INVALID);
	assert_int_equal(m->n_groups, 3);
	{
		const char *k[] = {"east", "a"};	/* between key1 and key2 */

		assert_int_equal(mm_model_add_group(m, k, LinearSub("color", vocab0, 2, 1.0),
											&err), MM_ERR_INVALID);
	}
	{
		const char *k[] = {"east", "ba"};	/* after key2: fine */

		assert_int_equal(mm_model_add_group(m, k, LinearSub("color", vocab0, 2, 1.0),
											&err), MM_OK);
		assert_int_equal(m->n_groups, 4);
	}
	/* a grouped sub-model is refused (and freed) */
	nested = FixtureGroupedLinear();
	{
		const char *k[] = {"west", NULL};

		assert_int_equal(mm_model_add_group(m, k, nested, &err), MM_ERR_INVALID);
		assert_non_null(strstr(err.message, "cannot be grouped itself"));
	}
	assert_int_equal(m->n_groups, 4);
	mm_model_free(m);

	/* add_group under allocation failure: no leak, sub always freed */
	for (i = 1;; i++)
	{
		mm_model   *top = GroupedLinearTop();
		mm_model   *sub = LinearSub("color", vocab0, 2, 1.0);
		mm_status	st;

		UseTestAllocator((size_t) i);
		st = mm_model_add_group(top, key1, sub, &err);
		mm_set_runtime(NULL);
		/* sub was allocated by malloc: count only what add_group did */
		if (st == MM_OK)
		{
			assert_int_equal(top->n_groups, 1);
			mm_model_free(top);
			break;
		}
		assert_int_equal(st, MM_ERR_NOMEM);
		assert_int_equal(top->n_groups, 0);
		mm_model_free(top);
	}
}

/* ---------------------------------------------------------------------
 * Validation
 * ---------------------------------------------------------------------
 */

static void
test_validation(void **state)
{
	mm_model   *m;
	mm_error	err;

	m = FixtureGroupedLinear();
	assert_int_equal(mm_model_validate(m, &err), MM_OK);
	mm_model_free(m);
	m = GroupedLogistic("pro", "yes");
	assert_int_equal(mm_model_validate(m, &err), MM_OK);
	mm_model_free(m);

	/* group columns but no groups, and groups without columns */
	ExpectInvalid(GroupedLinearTop(), "grouped model has no groups");
	m = FixtureGroupedLinear();
	m->n_group_columns = 0;
	assert_int_equal(mm_model_validate(m, &err), MM_ERR_INVALID);
	assert_non_null(strstr(err.message, "groups but no group columns"));
	m->n_group_columns = 2;
	mm_model_free(m);

	/* tensors at the top level */
	m = FixtureGroupedLinear();
	assert_non_null(mm_model_add_tensor(m, "coef", MM_DTYPE_F64, 1, 5, NULL));
	ExpectInvalid(m, "grouped model cannot have tensors at its top level");

	/* a sub-model with another feature name */
	m = GroupedLinearTop();
	mm_model_add_group(m, key0, LinearSub("color", vocab0, 2, 1.0), NULL);
	mm_model_add_group(m, key1, LinearSub("colour", vocab1, 1, 1.0), NULL);
	ExpectInvalid(m, "feature #2 of group #2 is \"colour\", not \"color\"");

	/* ... with another kind */
	m = FixtureGroupedLinear();
	{
		mm_feature *f = &m->groups[2].model->features[0];

		f->kind = MM_FEATURE_CATEGORICAL;
		f->center = 0;
		f->scale = 1;
		f->impute_value = 0;
		mm_feature_add_category(f, "x", NULL);
	}
	ExpectInvalid(m, "feature \"sqft\" of group #3 is categorical, not numeric");

	/* ... with a feature more */
	m = FixtureGroupedLinear();
	mm_model_add_feature(m->groups[0].model, "beds", NULL);
	mm_free(m->groups[0].model->tensors[0].values);
	m->groups[0].model->tensors[0].values = mm_alloc0(4 * sizeof(double));
	m->groups[0].model->tensors[0].cols = 4;
	m->groups[0].model->tensors[0].nnz = 4;
	ExpectInvalid(m, "group #1 has 3 features, not 2");

	/* ... of another algorithm (valid on its own) */
	m = FixtureGroupedLinear();
	m->groups[1].model->algorithm = MM_ALGO_LASSO;
	ExpectInvalid(m, "group #2 has algorithm lasso, not linear_regression");

	/* ... with another target */
	m = FixtureGroupedLinear();
	mm_model_set_target(m->groups[0].model, "cost", NULL);
	ExpectInvalid(m, "group #1 has target \"cost\", not \"price\"");

	/* ... with a class that is not among the top level's */
	ExpectInvalid(GroupedLogistic("pro", "maybe"),
				  "class \"maybe\" of group #2 is not a class of the model");

	/*
	 * (a group of a multiclass model may have only two of the classes, so
	 * binary under multiclass is allowed: sql/group_by.sql trains one)
	 */

	/* an invalid sub-model: its own message, prefixed with the group */
	m = FixtureGroupedLinear();
	m->groups[2].model->tensors[0].cols = 3;
	m->groups[2].model->tensors[0].nnz = 3;
	ExpectInvalid(m, "group #3: tensor \"coef\" of a linear_regression model must be 1 x 4, not 1 x 3");

	/* nested groups */
	m = FixtureGroupedLinear();
	{
		mm_model   *sub = m->groups[1].model;

		mm_model_set_group_columns(sub, 1, linear_columns, NULL);
	}
	ExpectInvalid(m, "the model of group #2 is grouped itself");

	/* group columns: names like feature names, unique, not a feature or the target */
	m = FixtureGroupedLinear();
	mm_free(m->group_columns[1]);
	m->group_columns[1] = mm_strdup("color");
	ExpectInvalid(m, "group column \"color\" is also a feature");
	m = FixtureGroupedLinear();
	mm_free(m->group_columns[0]);
	m->group_columns[0] = mm_strdup("price");
	ExpectInvalid(m, "group column \"price\" is the target");
	m = FixtureGroupedLinear();
	mm_free(m->group_columns[0]);
	m->group_columns[0] = mm_strdup("segment");
	ExpectInvalid(m, "duplicate group column \"segment\"");
	m = FixtureGroupedLinear();
	mm_free(m->group_columns[1]);
	m->group_columns[1] = mm_strdup("");
	ExpectInvalid(m, "name of group column #2 is empty");

	/* keys: text like labels (empty allowed), strictly increasing */
	m = FixtureGroupedLinear();
	mm_free(m->groups[1].keys[1]);
	m->groups[1].keys[1] = mm_strdup("\xc0\xaf");
	ExpectInvalid(m, "key #2 of group #2 is not valid UTF-8");
	m = FixtureGroupedLinear();
	mm_free(m->groups[2].keys[1]);
	m->groups[2].keys[1] = mm_strdup("");
	ExpectInvalid(m, "group #3 does not come after group #2 in key order");
	m = FixtureGroupedLinear();
	mm_free(m->groups[0].keys[1]);
	m->groups[0].keys[1] = NULL;
	mm_free(m->groups[1].keys[0]);
	m->groups[1].keys[0] = NULL;	/* (NULL, NULL) then (NULL, "") */
	assert_int_equal(mm_model_validate(m, &err), MM_OK);
	mm_free(m->groups[2].keys[0]);
	m->groups[2].keys[0] = NULL;	/* (NULL, "b") after (NULL, ""): fine */
	assert_int_equal(mm_model_validate(m, &err), MM_OK);
	mm_free(m->groups[2].keys[1]);
	m->groups[2].keys[1] = mm_strdup("");	/* (NULL, "") twice now */
	ExpectInvalid(m, "group #3 does not come after group #2 in key order");
}

/* ---------------------------------------------------------------------
 * Hostile input
 * ---------------------------------------------------------------------
 */

static void
test_every_truncation_rejected(void **state)
{
	size_t		len;
	uint8_t    *bytes = SerializeFixture(FixtureGroupedLinear, &len);
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
		/* resealed at its new length: still rejected (no CHECKSUM where expected) */
		if (cut >= 28)
		{
			Reseal(copy, cut);
			assert_int_equal(mm_model_parse(copy, cut, &m, &err), MM_ERR_CORRUPT);
			assert_null(m);
		}
		free(copy);
	}
	free(bytes);
}

/* Every byte of the grouped artifact flipped: always rejected. */
static void
test_every_byte_flip_rejected(void **state)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xFF};
	size_t		len;
	uint8_t    *bytes = SerializeFixture(FixtureGroupedLinear, &len);
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
			assert_null(m);
		}
	free(bytes);
}

/*
 * Flips with the outer checksum repaired reach the outer structure and
 * the groups' keys; flips inside a group's artifact are then caught by its
 * own checksum.  With that one repaired too, they reach the nested parser
 * and the validation of the whole: each is rejected, or accepted as a
 * different but canonical artifact.
 */
static void
test_byte_flips_with_fixed_checksums(void **state)
{
	static const uint8_t masks[] = {0x01, 0x02, 0x10, 0x80, 0xFF};
	size_t		len;
	uint8_t    *orig = SerializeFixture(FixtureGroupedLinear, &len);
	uint8_t    *work = malloc(len);
	size_t		offs[4];
	size_t		lens[4];
	int			n_nested = FindNested(orig, len, 2, offs, lens);
	int			accepted = 0;
	int			rejected = 0;
	int			nested_rejected = 0;
	size_t		i;
	size_t		k;

	assert_int_equal(n_nested, 3);
	for (i = 0; i < len - 8; i++)
		for (k = 0; k < sizeof(masks); k++)
		{
			mm_error	err;
			int			g;
			bool		in_nested = false;

			memcpy(work, orig, len);
			work[i] ^= masks[k];
			for (g = 0; g < n_nested; g++)
				if (i >= offs[g] && i < offs[g] + lens[g] - 8)
				{
					in_nested = true;
					FixChecksum(work + offs[g], lens[g]);
				}
			FixChecksum(work, len);
			if (ParseCanonical(work, len, &err) == MM_OK)
				accepted++;
			else
			{
				rejected++;
				if (in_nested && strncmp(err.message, "group #", 7) == 0)
					nested_rejected++;
			}
		}
	assert_true(accepted > 0 && rejected > 0 && nested_rejected > 0);
	free(work);
	free(orig);
}

/* Artifacts put together from pieces of real ones. */
static void
test_spliced_artifacts(void **state)
{
	size_t		len;
	uint8_t    *orig = SerializeFixture(FixtureGroupedLinear, &len);
	Section		s[MAX_SECTIONS];
	int			n = ListSections(orig, len, s);
	int			groups_at = 2;	/* MODEL, FEATURES, GROUPS */
	uint8_t    *b;
	size_t		blen;
	mm_buf		out;
	int			i;

	assert_int_equal(s[groups_at].tag, TAG_GROUPS);

	/* GROUP sections without GROUPS */
	mm_buf_init(&out);
	Append(&out, orig, s[groups_at].off);
	for (i = groups_at + 1; i < n - 1; i++)
		Append(&out, orig + s[i].off, s[i].size);
	b = Finish(&out, &blen);
	ExpectParseCorrupt(b, blen, "GROUP section but no GROUPS section");
	free(b);

	/* GROUPS without any GROUP */
	mm_buf_init(&out);
	Append(&out, orig, s[groups_at + 1].off);
	b = Finish(&out, &blen);
	ExpectParseCorrupt(b, blen, "grouped model has no groups");
	free(b);

	/* GROUPS twice; GROUPS after a GROUP */
	mm_buf_init(&out);
	Append(&out, orig, s[groups_at + 1].off);
	Append(&out, orig + s[groups_at].off, s[groups_at].size);
	Append(&out, orig + s[groups_at + 1].off, s[n - 1].off - s[groups_at + 1].off);
	b = Finish(&out, &blen);
	ExpectParseCorrupt(b, blen, "section GROUPS is repeated or out of order");
	free(b);
	mm_buf_init(&out);
	Append(&out, orig, s[groups_at + 2].off);
	Append(&out, orig + s[groups_at].off, s[groups_at].size);
	Append(&out, orig + s[groups_at + 2].off, s[n - 1].off - s[groups_at + 2].off);
	b = Finish(&out, &blen);
	ExpectParseCorrupt(b, blen, "section GROUPS is repeated or out of order");
	free(b);

	/* a tensor at the top level (TENSOR goes before GROUPS) */
	{
		size_t		offs[3];
		size_t		lens[3];
		Section		ns[MAX_SECTIONS];
		int			nn;
		int			j;

		assert_int_equal(FindNested(orig, len, 2, offs, lens), 3);
		nn = ListSections(orig + offs[0], lens[0], ns);
		mm_buf_init(&out);
		Append(&out, orig, s[groups_at].off);
		for (j = 0; j < nn; j++)
			if (ns[j].tag == 5)
				Append(&out, orig + offs[0] + ns[j].off, ns[j].size);
		Append(&out, orig + s[groups_at].off, s[n - 1].off - s[groups_at].off);
		b = Finish(&out, &blen);
		ExpectParseCorrupt(b, blen, "grouped model cannot have tensors at its top level");
		free(b);
	}

	/* a null flag that is neither 0 nor 1 */
	b = malloc(len);
	memcpy(b, orig, len);
	assert_int_equal(b[s[groups_at + 1].off + 8], 1);	/* group 1's NULL */
	b[s[groups_at + 1].off + 8] = 2;
	FixChecksum(b, len);
	ExpectParseCorrupt(b, len, "null flag");
	free(b);

	/* an empty GROUPS, and one with 33 columns */
	{
		uint8_t		hdr[8] = {TAG_GROUPS, 0, 0, 0, 4, 0, 0, 0};
		uint8_t		count[4] = {0, 0, 0, 0};

		mm_buf_init(&out);
		Append(&out, orig, s[groups_at].off);
		Append(&out, hdr, 8);
		Append(&out, count, 4);
		Append(&out, orig + s[groups_at + 1].off, s[n - 1].off - s[groups_at + 1].off);
		b = Finish(&out, &blen);
		ExpectParseCorrupt(b, blen, "section GROUPS is empty");
		free(b);
		count[0] = 33;
		mm_buf_init(&out);
		Append(&out, orig, s[groups_at].off);
		Append(&out, hdr, 8);
		Append(&out, count, 4);
		Append(&out, orig + s[groups_at + 1].off, s[n - 1].off - s[groups_at + 1].off);
		b = Finish(&out, &blen);
		ExpectParseCorrupt(b, blen, "more than the limit of 32");
		free(b);
	}

	/* a group whose artifact length runs past its section */
	b = malloc(len);
	memcpy(b, orig, len);
	{
		size_t		offs[3];
		size_t		lens[3];

		FindNested(orig, len, 2, offs, lens);
		PutLE(b + offs[1] - 4, lens[1] + 1, 4);
		FixChecksum(b, len);
		ExpectParseCorrupt(b, len, "artifact is truncated in section GROUP");
		/* and one that leaves bytes in its section */
		PutLE(b + offs[1] - 4, lens[1] - 1, 4);
		FixChecksum(b, len);
		ExpectParseCorrupt(b, len, "group #2: ");
	}
	free(b);
	free(orig);
}

/* A group whose artifact is itself grouped, and mismatching sub-models. */
static void
test_parser_rejects_bad_groups(void **state)
{
	uint8_t    *b;
	size_t		len;

	/* nested groups: the grouped artifact inside a group */
	b = ReplaceGroup(1, FixtureGroupedLinear(), &len);
	ExpectParseCorrupt(b, len, "group #2: artifact of a group has a GROUPS section: groups do not nest");
	free(b);

	/* other feature name */
	b = ReplaceGroup(2, LinearSub("colour", vocab2, 3, 3.0), &len);
	ExpectParseCorrupt(b, len, "feature #2 of group #3 is \"colour\", not \"color\"");
	free(b);

	/* other algorithm */
	{
		mm_model   *sub = LinearSub("color", vocab1, 1, 2.0);

		sub->algorithm = MM_ALGO_ELASTIC_NET;
		b = ReplaceGroup(1, sub, &len);
		ExpectParseCorrupt(b, len, "group #2 has algorithm elastic_net, not linear_regression");
		free(b);
	}

	/* an intact but invalid sub-model: its message, prefixed */
	{
		mm_model   *sub = LinearSub("color", vocab0, 2, 1.0);
		size_t		sub_len;
		uint8_t    *sub_bytes = Serialize(sub, &sub_len);
		static const uint8_t name[] = "\x0d\0\0\0fit_intercept";
		size_t		at;
		mm_model   *m;
		mm_error	err;

		for (at = 0; memcmp(sub_bytes + at, name, sizeof(name) - 1) != 0; at++)
			assert_true(at + sizeof(name) < sub_len);
		at += sizeof(name) - 1;
		assert_true(mm_le_u64(sub_bytes + at) == 0x3FF0000000000000);	/* 1.0 */
		PutLE(sub_bytes + at, 0x4000000000000000, 8);	/* 2.0 */
		FixChecksum(sub_bytes, sub_len);
		b = ReplaceGroupBytes(0, sub_bytes, sub_len, &len);
		assert_int_equal(mm_model_parse(b, len, &m, &err), MM_ERR_CORRUPT);
		assert_null(m);
		assert_string_equal(err.message,
							"group #1: attribute \"fit_intercept\" must be 0 or 1");
		assert_string_equal(err.detail,
							"The artifact is intact but describes an invalid model.");
		free(b);
		free(sub_bytes);
		mm_model_free(sub);
	}

	/* a group of a later format version: corrupt, not "upgrade" */
	{
		mm_model   *sub = LinearSub("color", vocab1, 1, 2.0);
		size_t		sub_len;
		uint8_t    *sub_bytes = Serialize(sub, &sub_len);
		mm_model   *m;
		mm_error	err;

		sub_bytes[4] = 2;
		FixChecksum(sub_bytes, sub_len);
		b = ReplaceGroupBytes(1, sub_bytes, sub_len, &len);
		assert_int_equal(mm_model_parse(b, len, &m, &err), MM_ERR_CORRUPT);
		assert_string_equal(err.message,
							"group #2: artifact format version 2 is not supported");
		assert_string_equal(err.detail, "");
		assert_string_equal(err.hint, "");
		free(b);
		free(sub_bytes);
		mm_model_free(sub);
	}

	/* a class not in the union, through the bytes */
	{
		mm_model   *good = GroupedLogistic("pro", "yes");
		mm_model   *bad = GroupedLogistic("pro", "maybe");
		size_t		glen;
		uint8_t    *gb;
		size_t		offs[2];
		size_t		lens[2];
		uint8_t    *sub_bytes;
		size_t		sub_len;
		mm_buf		out;
		Section		s[MAX_SECTIONS];
		int			n;
		static const char *const k1[] = {"pro"};

		assert_non_null(good);
		assert_non_null(bad);
		gb = Serialize(good, &glen);
		n = ListSections(gb, glen, s);
		assert_int_equal(FindNested(gb, glen, 1, offs, lens), 2);
		sub_bytes = Serialize(bad->groups[1].model, &sub_len);
		mm_buf_init(&out);
		Append(&out, gb, s[n - 2].off);	/* all but the last GROUP */
		AppendGroup(&out, k1, 1, sub_bytes, sub_len);
		b = Finish(&out, &len);
		ExpectParseCorrupt(b, len, "class \"maybe\" of group #2 is not a class of the model");
		free(b);
		free(sub_bytes);
		free(gb);
		mm_model_free(good);
		mm_model_free(bad);
	}
}

/* Allocation failure at every allocation of a parse and a serialization. */
static void
test_allocation_failures(void **state)
{
	size_t		len;
	uint8_t    *bytes = SerializeFixture(FixtureGroupedLinear, &len);
	size_t		k;
	bool		done = false;

	for (k = 1; !done; k++)
	{
		mm_model   *m;
		mm_model   *copy;
		mm_error	err;
		mm_status	st;

		UseTestAllocator(k);
		st = mm_model_parse(bytes, len, &m, &err);
		if (st == MM_OK)
		{
			mm_buf		buf;
			size_t		base = ta.calls;

			done = (ta.calls < k);
			mm_buf_init(&buf);
			ta.fail_at = base + (k % 11) + 1;
			st = mm_model_serialize(m, &buf, &err);
			assert_true(st == MM_OK || st == MM_ERR_NOMEM);
			assert_true(st == MM_ERR_NOMEM || buf.len == len);
			mm_buf_free(&buf);
			/* and a copy under the same failing allocator */
			ta.calls = 0;
			ta.fail_at = k;
			st = mm_model_copy(m, &copy, &err);
			assert_true(st == MM_OK || st == MM_ERR_NOMEM);
			if (st == MM_OK)
				mm_model_free(copy);
			else
				assert_null(copy);
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

/* The grouped fuzz seed is a valid grouped artifact. */
static void
test_corpus_seed(void **state)
{
	FILE	   *fp = fopen(GROUPED_SEED, "rb");
	uint8_t    *data;
	long		size;
	mm_error	err;
	mm_model   *m;

	if (fp == NULL)
		fail_msg("cannot open %s (run the tests from the repository root)",
				 GROUPED_SEED);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	assert_true(size > 0);
	rewind(fp);
	data = malloc((size_t) size);
	assert_int_equal(fread(data, 1, (size_t) size, fp), (size_t) size);
	fclose(fp);
	assert_int_equal(ParseCanonical(data, (size_t) size, &err), MM_OK);
	assert_int_equal(mm_model_parse(data, (size_t) size, &m, &err), MM_OK);
	assert_true(m->n_groups >= 2);
	mm_model_free(m);
	free(data);
}

/* ---------------------------------------------------------------------
 * Copy, counts, pruning, quantization
 * ---------------------------------------------------------------------
 */

static void
test_copy_and_counts(void **state)
{
	mm_model   *m = FixtureGroupedLinear();
	mm_model   *copy;
	mm_error	err;
	size_t		len1;
	size_t		len2;
	uint8_t    *b1;
	uint8_t    *b2;
	uint64_t	params = 0;
	uint64_t	nonzero = 0;
	uint32_t	g;

	assert_int_equal(mm_model_copy(m, &copy, &err), MM_OK);
	b1 = Serialize(m, &len1);
	b2 = Serialize(copy, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(b1, b2, len1);
	free(b1);
	free(b2);
	assert_ptr_not_equal(copy->groups[1].model, m->groups[1].model);
	assert_null(copy->groups[0].keys[0]);

	/* counts sum the groups: (3 + 1) + (2 + 1) + (4 + 1) */
	for (g = 0; g < m->n_groups; g++)
	{
		params += mm_model_param_count(m->groups[g].model);
		nonzero += mm_model_nonzero_count(m->groups[g].model);
	}
	assert_int_equal(params, 12);
	assert_int_equal(mm_model_param_count(m), 12);
	assert_int_equal(mm_model_nonzero_count(m), nonzero);
	assert_int_equal(mm_model_nonzero_count(m), 12);
	((double *) m->groups[2].model->tensors[0].values)[1] = 0.0;
	assert_int_equal(mm_model_nonzero_count(m), 11);
	assert_int_equal(mm_model_param_count(copy), 12);
	mm_model_free(copy);
	mm_model_free(m);
}

static void
test_prune_and_quantize(void **state)
{
	mm_model   *m = FixtureGroupedLinear();
	mm_model   *pruned;
	mm_model   *quant;
	mm_model   *again;
	mm_prune_info info;
	mm_error	err;
	uint32_t	g;
	size_t		len;
	uint8_t    *bytes;

	assert_int_equal(mm_prune(m, MM_PRUNE_MAGNITUDE, 0.5, &pruned, &info, &err),
					 MM_OK);
	assert_int_equal(pruned->n_groups, 3);
	assert_int_equal(pruned->n_tensors, 0);
	assert_int_equal(info.params_before, 12);
	assert_int_equal(info.nonzero_before, 12);
	/* coef of 3, 2, 4 weights: round(1.5) = 2, 1, 2 zeroed */
	assert_int_equal(info.nonzero_after, 12 - 5);
	for (g = 0; g < 3; g++)
	{
		mm_model   *one;

		assert_int_equal(mm_prune(m->groups[g].model, MM_PRUNE_MAGNITUDE, 0.5,
								  &one, NULL, &err), MM_OK);
		assert_int_equal(mm_model_nonzero_count(one),
						 mm_model_nonzero_count(pruned->groups[g].model));
		mm_model_free(one);
	}
	assert_null(pruned->groups[0].keys[0]);
	bytes = Serialize(pruned, &len);
	assert_int_equal(ParseCanonical(bytes, len, &err), MM_OK);
	free(bytes);

	/* structured pruning is for MLPs, grouped or not */
	assert_int_equal(mm_prune(m, MM_PRUNE_STRUCTURED, 0.5, &again, NULL, &err),
					 MM_ERR_UNSUPPORTED);
	assert_null(again);

	assert_int_equal(mm_quantize(pruned, MM_DTYPE_I8, 0, 0, &quant, &err), MM_OK);
	for (g = 0; g < 3; g++)
		assert_int_equal(mm_model_tensor(quant->groups[g].model, "coef")->dtype,
						 MM_DTYPE_I8);
	bytes = Serialize(quant, &len);
	assert_int_equal(ParseCanonical(bytes, len, &err), MM_OK);
	free(bytes);

	/* an error in a group names the group */
	assert_int_equal(mm_quantize(quant, MM_DTYPE_F16, 0, 0, &again, &err),
					 MM_ERR_INVALID);
	assert_null(again);
	assert_string_equal(err.message, "group #1: model is already quantized");
	assert_non_null(strstr(err.hint, "Quantize the model it was quantized from"));
	assert_int_equal(mm_prune(quant, MM_PRUNE_MAGNITUDE, 0.5, &again, NULL, &err),
					 MM_ERR_UNSUPPORTED);
	assert_string_equal(err.message, "group #1: cannot prune int8 weights");

	mm_model_free(quant);
	mm_model_free(pruned);
	mm_model_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_find_group),
		cmocka_unit_test(test_find_group_many),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_every_truncation_rejected),
		cmocka_unit_test(test_every_byte_flip_rejected),
		cmocka_unit_test(test_byte_flips_with_fixed_checksums),
		cmocka_unit_test(test_spliced_artifacts),
		cmocka_unit_test(test_parser_rejects_bad_groups),
		cmocka_unit_test(test_allocation_failures),
		cmocka_unit_test(test_corpus_seed),
		cmocka_unit_test(test_copy_and_counts),
		cmocka_unit_test(test_prune_and_quantize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
