/*
 * fuzz_export.c
 *	  libFuzzer target for the export envelope (mm_export_parse), the bytes
 *	  modelmgr.import takes from users, and for the artifact inside it
 *	  (mm_model_parse), as import reads them.  See test/fuzz/README.md.
 *
 * Each input is tried two ways:
 *	 1. as is: mm_export_parse must fail cleanly (view zeroed, a message)
 *		or succeed;
 *	 2. resealed: the artifact length is set to what the input leaves for
 *		it, the inner artifact's total length and checksum and the
 *		envelope's checksum are repaired, so that mutations reach the
 *		metadata check and the artifact's section parsers instead of
 *		dying at a checksum.
 * Whenever the envelope is accepted, the view must lie inside the input and
 * account for every byte of it, the metadata must be valid UTF-8, and
 * writing the view back with mm_export_write must give exactly the input
 * (the envelope is canonical).  The artifact is then parsed; when that
 * succeeds too, serializing the model must give back the artifact's bytes.
 * Any violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mm_bytes.h"
#include "mm_export.h"
#include "mm_model.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse the artifact as import does; if accepted it must be canonical. */
static void
CheckArtifact(const uint8_t *art, size_t len)
{
	mm_model   *m;
	mm_error	err;
	mm_buf		buf;

	if (mm_model_parse(art, len, &m, &err) != MM_OK)
	{
		if (m != NULL || err.message[0] == '\0')
			abort();
		return;
	}
	mm_buf_init(&buf);
	if (mm_model_serialize(m, &buf, &err) != MM_OK)
		abort();
	if (buf.len != len || memcmp(buf.data, art, len) != 0)
		abort();
	mm_buf_free(&buf);
	mm_model_free(m);
}

static void
ParseAndCheck(const uint8_t *data, size_t size)
{
	mm_export_view v;
	mm_error	err;
	mm_buf		buf;

	if (mm_export_parse(data, size, &v, &err) != MM_OK)
	{
		if (v.metadata != NULL || v.artifact != NULL || v.metadata_len != 0 ||
			v.artifact_len != 0 || err.message[0] == '\0')
			abort();
		return;
	}
	if (v.version != MM_EXPORT_VERSION ||
		(const uint8_t *) v.metadata != data + 12 ||
		v.metadata_len > MM_EXPORT_MAX_METADATA ||
		v.artifact != data + 12 + v.metadata_len + 4 ||
		v.artifact_len < MM_EXPORT_MIN_ARTIFACT ||
		v.artifact_len > MM_MAX_ARTIFACT ||
		MM_EXPORT_OVERHEAD + v.metadata_len + v.artifact_len != size ||
		!mm_utf8_valid(v.metadata, v.metadata_len))
		abort();

	mm_buf_init(&buf);
	if (mm_export_write(v.metadata, v.metadata_len, v.artifact, v.artifact_len,
						&buf, &err) != MM_OK)
		abort();				/* the writer refused what the parser accepted */
	if (buf.len != size || memcmp(buf.data, data, size) != 0)
		abort();				/* not canonical */
	mm_buf_free(&buf);

	CheckArtifact(v.artifact, v.artifact_len);
}

static void
PutLe(uint8_t *p, uint64_t v, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

/* Repair the lengths and both checksums, then parse. */
static void
ParseResealed(const uint8_t *data, size_t size)
{
	uint8_t    *copy;
	uint32_t	meta_len;
	size_t		art_len;
	uint8_t    *art;

	if (size < MM_EXPORT_OVERHEAD + MM_EXPORT_MIN_ARTIFACT || size > UINT32_MAX)
		return;
	meta_len = mm_le_u32(data + 8);
	if (meta_len > size - MM_EXPORT_OVERHEAD - MM_EXPORT_MIN_ARTIFACT)
		return;
	copy = malloc(size);
	if (copy == NULL)
		return;
	memcpy(copy, data, size);
	art_len = size - MM_EXPORT_OVERHEAD - meta_len;
	art = copy + 12 + meta_len + 4;
	PutLe(art - 4, art_len, 4);
	if (art_len >= 28)
	{
		PutLe(art + 8, art_len, 4);
		PutLe(art + art_len - 8, mm_checksum64(art, art_len - 16), 8);
	}
	PutLe(copy + size - 8, mm_checksum64(copy, size - 8), 8);
	ParseAndCheck(copy, size);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ParseAndCheck(data, size);
	ParseResealed(data, size);
	return 0;
}
