/*
 * test_export.c
 *	  Unit tests of the export envelope (mm_export.c): what
 *	  modelmgr.export writes and modelmgr.import reads.
 *
 * Besides round trips, these tests attack the parser deterministically:
 * every truncation, every single-byte flip, trailing bytes, versions and
 * flags with a repaired checksum, hand-made headers declaring huge lengths
 * (watched by an allocator that counts calls: the parser must never
 * allocate), invalid metadata text behind a valid checksum, and allocation
 * failure in the writer.  The layout itself is pinned byte by byte on a
 * tiny envelope, so a change to the format cannot go unnoticed.  Run from
 * the repository root (make unit does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm_bytes.h"
#include "mm_export.h"
#include "mm_model.h"
#include "model_fixtures.h"
#include "test_alloc.h"

static const char test_meta[] =
"{\"modelmgr_export\": 1, \"model\": \"h\xc3\xa4user\", \"algorithm\": \"linear_regression\"}";

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

/* The fixture linear model's artifact, malloc'd. */
static uint8_t *
FixtureArtifact(size_t *len)
{
	mm_model   *m = FixtureLinearModel();
	mm_buf		buf;
	mm_error	err;
	uint8_t    *copy;

	assert_non_null(m);
	mm_buf_init(&buf);
	if (mm_model_serialize(m, &buf, &err) != MM_OK)
		fail_msg("serialize failed: %s", err.message);
	mm_model_free(m);
	copy = malloc(buf.len);
	assert_non_null(copy);
	memcpy(copy, buf.data, buf.len);
	*len = buf.len;
	mm_buf_free(&buf);
	return copy;
}

/* A valid export of the fixture artifact with test_meta, malloc'd. */
static uint8_t *
FixtureExport(size_t *len)
{
	size_t		art_len;
	uint8_t    *art = FixtureArtifact(&art_len);
	mm_buf		buf;
	mm_error	err;
	uint8_t    *copy;

	mm_buf_init(&buf);
	assert_int_equal(mm_export_write(test_meta, strlen(test_meta), art, art_len,
									 &buf, &err), MM_OK);
	copy = malloc(buf.len);
	assert_non_null(copy);
	memcpy(copy, buf.data, buf.len);
	*len = buf.len;
	mm_buf_free(&buf);
	free(art);
	return copy;
}

/* Recompute the trailing checksum of an envelope in place. */
static void
Reseal(uint8_t *b, size_t len)
{
	uint64_t	sum;
	int			i;

	assert_true(len >= 8);
	sum = mm_checksum64(b, len - 8);
	for (i = 0; i < 8; i++)
		b[len - 8 + i] = (uint8_t) (sum >> (8 * i));
}

/* Parse must fail with status st and a message containing what. */
static void
ExpectFail(const uint8_t *b, size_t len, mm_status st, const char *what)
{
	mm_export_view v;
	mm_error	err;
	mm_status	got;

	memset(&v, 0xAB, sizeof(v));
	got = mm_export_parse(b, len, &v, &err);
	if (got != st)
		fail_msg("expected status %d, got %d (%s)", st, got, err.message);
	assert_int_equal(err.status, st);
	assert_true(err.message[0] != '\0');
	if (what && strstr(err.message, what) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, what);
	assert_null(v.metadata);
	assert_null(v.artifact);
	assert_int_equal(v.metadata_len, 0);
	assert_int_equal(v.artifact_len, 0);
}

/* An envelope header (12 bytes) followed by whatever the caller adds. */
static void
HeaderBegin(mm_buf *b, uint16_t version, uint16_t flags, uint32_t meta_len)
{
	mm_buf_init(b);
	mm_buf_put_bytes(b, MM_EXPORT_MAGIC, 4);
	mm_buf_put_u16(b, version);
	mm_buf_put_u16(b, flags);
	mm_buf_put_u32(b, meta_len);
}

/* ---------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------
 */

static void
test_roundtrip(void **state)
{
	size_t		art_len;
	uint8_t    *art = FixtureArtifact(&art_len);
	size_t		len;
	uint8_t    *exp = FixtureExport(&len);
	mm_export_view v;
	mm_error	err;
	mm_model   *m;
	mm_buf		again;

	assert_int_equal(len, MM_EXPORT_OVERHEAD + strlen(test_meta) + art_len);
	assert_int_equal(mm_export_parse(exp, len, &v, &err), MM_OK);
	assert_int_equal(err.status, MM_OK);
	assert_int_equal(v.version, MM_EXPORT_VERSION);
	assert_int_equal(v.metadata_len, strlen(test_meta));
	assert_memory_equal(v.metadata, test_meta, v.metadata_len);
	/* zero copy: the view points into the input */
	assert_ptr_equal(v.metadata, (const char *) exp + 12);
	assert_ptr_equal(v.artifact, exp + 12 + strlen(test_meta) + 4);
	assert_int_equal(v.artifact_len, art_len);
	assert_memory_equal(v.artifact, art, art_len);

	/* the artifact inside is the model, unchanged */
	assert_int_equal(mm_model_parse(v.artifact, v.artifact_len, &m, &err), MM_OK);
	mm_buf_init(&again);
	assert_int_equal(mm_model_serialize(m, &again, &err), MM_OK);
	assert_int_equal(again.len, art_len);
	assert_memory_equal(again.data, art, art_len);
	mm_buf_free(&again);
	mm_model_free(m);

	/* writing is deterministic */
	{
		size_t		len2;
		uint8_t    *exp2 = FixtureExport(&len2);

		assert_int_equal(len2, len);
		assert_memory_equal(exp2, exp, len);
		free(exp2);
	}
	free(exp);
	free(art);
}

/* Empty metadata is a valid envelope (the glue rejects it as JSON). */
static void
test_empty_metadata(void **state)
{
	size_t		art_len;
	uint8_t    *art = FixtureArtifact(&art_len);
	mm_buf		buf;
	mm_export_view v;
	mm_error	err;

	mm_buf_init(&buf);
	assert_int_equal(mm_export_write(NULL, 0, art, art_len, &buf, &err), MM_OK);
	assert_int_equal(buf.len, MM_EXPORT_OVERHEAD + art_len);
	assert_int_equal(mm_export_parse(buf.data, buf.len, &v, &err), MM_OK);
	assert_int_equal(v.metadata_len, 0);
	assert_int_equal(v.artifact_len, art_len);
	mm_buf_free(&buf);
	free(art);
}

/*
 * The layout, byte by byte, on a tiny envelope: metadata "{}" and a
 * 12-byte artifact (the envelope does not parse it).
 */
static void
test_layout_pinned(void **state)
{
	static const uint8_t art[12] = {
		'M', 'M', 'D', 'L', 1, 0, 0, 0, 12, 0, 0, 0
	};
	static const uint8_t expect_head[] = {
		'M', 'M', 'E', 'X',		/* magic */
		0x01, 0x00,				/* envelope version 1 */
		0x00, 0x00,				/* flags */
		0x02, 0x00, 0x00, 0x00, /* metadata length */
		'{', '}',
		0x0C, 0x00, 0x00, 0x00, /* artifact length */
	};
	mm_buf		buf;
	mm_error	err;
	uint64_t	sum;

	mm_buf_init(&buf);
	assert_int_equal(mm_export_write("{}", 2, art, sizeof(art), &buf, &err), MM_OK);
	assert_int_equal(buf.len, sizeof(expect_head) + sizeof(art) + 8);
	assert_memory_equal(buf.data, expect_head, sizeof(expect_head));
	assert_memory_equal(buf.data + sizeof(expect_head), art, sizeof(art));
	sum = mm_checksum64(buf.data, buf.len - 8);
	assert_int_equal(mm_le_u64(buf.data + buf.len - 8), sum);
	/* FNV-1a of those 30 bytes, frozen */
	assert_true(sum == UINT64_C(0x1a788790c4cade8a));
	assert_int_equal(buf.data[30], 0x8a);
	assert_int_equal(buf.data[37], 0x1a);
	mm_buf_free(&buf);
}

/* mm_export_write appends; the checksum covers only the envelope. */
static void
test_write_appends(void **state)
{
	size_t		art_len;
	uint8_t    *art = FixtureArtifact(&art_len);
	size_t		len;
	uint8_t    *exp = FixtureExport(&len);
	mm_buf		buf;
	mm_error	err;
	mm_export_view v;

	mm_buf_init(&buf);
	mm_buf_put_bytes(&buf, "prefix", 6);
	assert_int_equal(mm_export_write(test_meta, strlen(test_meta), art, art_len,
									 &buf, &err), MM_OK);
	assert_int_equal(buf.len, 6 + len);
	assert_memory_equal(buf.data + 6, exp, len);
	assert_int_equal(mm_export_parse(buf.data + 6, buf.len - 6, &v, &err), MM_OK);
	mm_buf_free(&buf);
	free(exp);
	free(art);
}

static void
test_every_truncation_rejected(void **state)
{
	size_t		len;
	uint8_t    *exp = FixtureExport(&len);
	size_t		cut;

	ExpectFail(NULL, 0, MM_ERR_CORRUPT, "empty");
	ExpectFail(exp, 0, MM_ERR_CORRUPT, "empty");
	for (cut = 1; cut < len; cut++)
	{
		/* a copy of exactly cut bytes, so ASan sees any read past it */
		uint8_t    *b = malloc(cut);

		assert_non_null(b);
		memcpy(b, exp, cut);
		ExpectFail(b, cut, MM_ERR_CORRUPT, NULL);
		free(b);
	}
	free(exp);
}

static void
test_every_byte_flip_rejected(void **state)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xFF};
	size_t		len;
	uint8_t    *exp = FixtureExport(&len);
	size_t		i;
	size_t		k;

	for (i = 0; i < len; i++)
		for (k = 0; k < sizeof(masks); k++)
		{
			mm_export_view v;
			mm_error	err;
			mm_status	st;

			exp[i] ^= masks[k];
			st = mm_export_parse(exp, len, &v, &err);
			if (st == MM_OK)
				fail_msg("flip 0x%02x at byte %zu was accepted", masks[k], i);
			assert_true(st == MM_ERR_CORRUPT || st == MM_ERR_UNSUPPORTED);
			/* only the version field can make it "unsupported" */
			if (st == MM_ERR_UNSUPPORTED)
				assert_true(i == 4 || i == 5);
			exp[i] ^= masks[k];
		}
	free(exp);
}

static void
test_trailing_bytes_rejected(void **state)
{
	size_t		len;
	uint8_t    *exp = FixtureExport(&len);
	uint8_t    *b = malloc(len + 1);

	assert_non_null(b);
	memcpy(b, exp, len);
	b[len] = 0;
	ExpectFail(b, len + 1, MM_ERR_CORRUPT, "after its end");
	/* even with a checksum that covers the extra byte */
	Reseal(b, len + 1);
	ExpectFail(b, len + 1, MM_ERR_CORRUPT, NULL);
	free(b);
	free(exp);
}

static void
test_versions_and_flags(void **state)
{
	size_t		len;
	uint8_t    *exp = FixtureExport(&len);
	mm_export_view v;
	mm_error	err;

	/* version 2, resealed: unsupported, with an upgrade hint */
	exp[4] = 2;
	Reseal(exp, len);
	ExpectFail(exp, len, MM_ERR_UNSUPPORTED, "version 2 is not supported");
	(void) mm_export_parse(exp, len, &v, &err);
	assert_non_null(strstr(err.hint, "Upgrade"));
	/* checked before the lengths: a version 2 header alone says so too */
	ExpectFail(exp, 12, MM_ERR_UNSUPPORTED, "not supported");
	/* 0x0100 = 256 */
	exp[4] = 0;
	exp[5] = 1;
	Reseal(exp, len);
	ExpectFail(exp, len, MM_ERR_UNSUPPORTED, "version 256");
	/* version 0 is corrupt */
	exp[5] = 0;
	Reseal(exp, len);
	ExpectFail(exp, len, MM_ERR_CORRUPT, "version 0");
	/* flags */
	exp[4] = 1;
	exp[7] = 0x80;
	Reseal(exp, len);
	ExpectFail(exp, len, MM_ERR_CORRUPT, "flags 0x8000");
	exp[7] = 0;
	Reseal(exp, len);
	assert_int_equal(mm_export_parse(exp, len, &v, &err), MM_OK);
	free(exp);
}

static void
test_not_an_export(void **state)
{
	size_t		art_len;
	uint8_t    *art = FixtureArtifact(&art_len);
	mm_export_view v;
	mm_error	err;

	/* a model artifact instead of an export: said so */
	assert_int_equal(mm_export_parse(art, art_len, &v, &err), MM_ERR_CORRUPT);
	assert_string_equal(err.message, "not a modelmgr export");
	assert_non_null(strstr(err.detail, "model artifact"));
	ExpectFail((const uint8_t *) "garbage bytes", 13, MM_ERR_CORRUPT, "not a modelmgr export");
	ExpectFail((const uint8_t *) "MM", 2, MM_ERR_CORRUPT, "truncated in its header");
	ExpectFail((const uint8_t *) "MMEX\x01\x00", 6, MM_ERR_CORRUPT, "truncated in its header");
	free(art);
}

/*
 * Headers that declare huge lengths in a few bytes are rejected from the
 * header alone, and the parser never allocates (on any input).
 */
static void
test_huge_lengths_rejected_cheaply(void **state)
{
	mm_buf		b;
	size_t		len;
	uint8_t    *exp;
	mm_export_view v;
	mm_error	err;

	/* metadata of 4 GB, and of one byte over 16 MB */
	HeaderBegin(&b, 1, 0, 0xFFFFFFFF);
	mm_buf_put_u32(&b, 100);
	mm_buf_put_u64(&b, 0);
	UseTestAllocator(0);
	ExpectFail(b.data, b.len, MM_ERR_CORRUPT, "more than the 16 MB limit");
	assert_int_equal(ta.calls, 0);
	mm_set_runtime(NULL);
	mm_buf_free(&b);

	HeaderBegin(&b, 1, 0, (uint32_t) MM_EXPORT_MAX_METADATA + 1);
	mm_buf_put_u64(&b, 0);
	ExpectFail(b.data, b.len, MM_ERR_CORRUPT, "more than the 16 MB limit");
	mm_buf_free(&b);

	/* metadata exactly at the limit, but not there */
	HeaderBegin(&b, 1, 0, (uint32_t) MM_EXPORT_MAX_METADATA);
	mm_buf_put_u64(&b, 0);
	ExpectFail(b.data, b.len, MM_ERR_CORRUPT, "truncated");
	mm_buf_free(&b);

	/* artifact of 4 GB, just over 1 GB, and under a header */
	HeaderBegin(&b, 1, 0, 2);
	mm_buf_put_bytes(&b, "{}", 2);
	mm_buf_put_u32(&b, 0xFFFFFFFF);
	mm_buf_put_u64(&b, 0);
	UseTestAllocator(0);
	ExpectFail(b.data, b.len, MM_ERR_CORRUPT, "more than the 1 GB limit");
	assert_int_equal(ta.calls, 0);
	mm_set_runtime(NULL);
	mm_buf_patch_u32(&b, 14, (uint32_t) MM_MAX_ARTIFACT + 1);
	ExpectFail(b.data, b.len, MM_ERR_CORRUPT, "more than the 1 GB limit");
	mm_buf_patch_u32(&b, 14, (uint32_t) MM_MAX_ARTIFACT);
	ExpectFail(b.data, b.len, MM_ERR_CORRUPT, "truncated");
	mm_buf_patch_u32(&b, 14, 11);
	ExpectFail(b.data, b.len, MM_ERR_CORRUPT, "too short");
	mm_buf_free(&b);

	/* a valid parse allocates nothing either */
	exp = FixtureExport(&len);
	UseTestAllocator(0);
	assert_int_equal(mm_export_parse(exp, len, &v, &err), MM_OK);
	assert_int_equal(ta.calls, 0);
	mm_set_runtime(NULL);
	free(exp);
}

/* Metadata that is not text, behind a valid checksum. */
static void
test_bad_metadata_text(void **state)
{
	static const char *const bad[] = {
		"{\"a\": \"\xff\"}",		/* invalid byte */
		"{\"a\": \"\xc0\xaf\"}",	/* overlong */
		"{\"a\": \"\xed\xa0\x80\"}",	/* surrogate */
		"{\"a\": \"\xe2\x82\"}",	/* cut sequence */
	};
	static const uint8_t art[12] = {'M', 'M', 'D', 'L', 1, 0, 0, 0, 12, 0, 0, 0};
	mm_buf		b;
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		size_t		ml = strlen(bad[i]);
		mm_error	err;

		/* the writer refuses it */
		mm_buf_init(&b);
		assert_int_equal(mm_export_write(bad[i], ml, art, sizeof(art), &b, &err),
						 MM_ERR_INVALID);
		assert_int_equal(b.len, 0);
		mm_buf_free(&b);

		/* and the parser, when it is hand-made */
		HeaderBegin(&b, 1, 0, (uint32_t) ml);
		mm_buf_put_bytes(&b, bad[i], ml);
		mm_buf_put_u32(&b, sizeof(art));
		mm_buf_put_bytes(&b, art, sizeof(art));
		mm_buf_put_u64(&b, mm_checksum64(b.data, b.len));
		ExpectFail(b.data, b.len, MM_ERR_CORRUPT, "not valid UTF-8");
		mm_buf_free(&b);
	}

	/* an embedded NUL */
	HeaderBegin(&b, 1, 0, 3);
	mm_buf_put_bytes(&b, "{\0}", 3);
	mm_buf_put_u32(&b, sizeof(art));
	mm_buf_put_bytes(&b, art, sizeof(art));
	mm_buf_put_u64(&b, mm_checksum64(b.data, b.len));
	ExpectFail(b.data, b.len, MM_ERR_CORRUPT, "not valid UTF-8");
	mm_buf_free(&b);
}

static void
test_write_rejects(void **state)
{
	static const uint8_t art[12] = {'M', 'M', 'D', 'L', 1, 0, 0, 0, 12, 0, 0, 0};
	mm_buf		b;
	mm_error	err;
	char	   *big;

	/* metadata over 16 MB */
	big = malloc(MM_EXPORT_MAX_METADATA + 1);
	assert_non_null(big);
	memset(big, ' ', MM_EXPORT_MAX_METADATA + 1);
	mm_buf_init(&b);
	assert_int_equal(mm_export_write(big, MM_EXPORT_MAX_METADATA + 1, art, sizeof(art),
									 &b, &err), MM_ERR_LIMIT);
	assert_int_equal(b.len, 0);
	/* exactly 16 MB is fine */
	assert_int_equal(mm_export_write(big, MM_EXPORT_MAX_METADATA, art, sizeof(art),
									 &b, &err), MM_OK);
	assert_int_equal(b.len, MM_EXPORT_OVERHEAD + MM_EXPORT_MAX_METADATA + sizeof(art));
	{
		mm_export_view v;

		assert_int_equal(mm_export_parse(b.data, b.len, &v, &err), MM_OK);
		assert_int_equal(v.metadata_len, MM_EXPORT_MAX_METADATA);
	}
	mm_buf_free(&b);
	free(big);

	/* artifacts too short or over 1 GB (the length is refused unread) */
	mm_buf_init(&b);
	assert_int_equal(mm_export_write("{}", 2, art, 11, &b, &err), MM_ERR_INVALID);
	assert_int_equal(mm_export_write("{}", 2, NULL, 12, &b, &err), MM_ERR_INVALID);
	assert_int_equal(mm_export_write("{}", 2, art, MM_MAX_ARTIFACT + 1, &b, &err),
					 MM_ERR_LIMIT);
	assert_int_equal(b.len, 0);
	assert_false(b.failed);
	mm_buf_free(&b);
}

/* Allocation failure at each allocation of a write. */
static void
test_write_allocation_failures(void **state)
{
	size_t		art_len;
	uint8_t    *art = FixtureArtifact(&art_len);
	size_t		n;
	size_t		calls;
	mm_buf		b;
	mm_error	err;

	UseTestAllocator(0);
	mm_buf_init(&b);
	assert_int_equal(mm_export_write(test_meta, strlen(test_meta), art, art_len,
									 &b, &err), MM_OK);
	calls = ta.calls;
	mm_buf_free(&b);
	assert_true(calls > 0);
	for (n = 1; n <= calls; n++)
	{
		UseTestAllocator(n);
		mm_buf_init(&b);
		assert_int_equal(mm_export_write(test_meta, strlen(test_meta), art, art_len,
										 &b, &err), MM_ERR_NOMEM);
		assert_true(b.failed);
		mm_buf_free(&b);
	}
	mm_set_runtime(NULL);
	free(art);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty_metadata),
		cmocka_unit_test(test_layout_pinned),
		cmocka_unit_test(test_write_appends),
		cmocka_unit_test(test_every_truncation_rejected),
		cmocka_unit_test(test_every_byte_flip_rejected),
		cmocka_unit_test(test_trailing_bytes_rejected),
		cmocka_unit_test(test_versions_and_flags),
		cmocka_unit_test(test_not_an_export),
		cmocka_unit_test(test_huge_lengths_rejected_cheaply),
		cmocka_unit_test(test_bad_metadata_text),
		cmocka_unit_test(test_write_rejects),
		cmocka_unit_test(test_write_allocation_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
