/*
 * mm_export.c
 *	  The export envelope: mm_export_write and mm_export_parse.
 *	  doc/format.md ("Export envelope") describes it byte by byte; keep the
 *	  two in step.
 *
 * Layout, little-endian, no padding:
 *	 "MMEX", u16 version, u16 flags, u32 metadata length, metadata,
 *	 u32 artifact length, artifact, u64 FNV-1a of every byte before it.
 * The parser trusts nothing and allocates nothing: it checks the magic,
 * the version (before anything a later version could change, as the
 * artifact parser does), the flags, both lengths against their limits
 * before using them, the exact total length, the checksum, and only then
 * the metadata's UTF-8, and returns pointers into the input.  The
 * metadata's JSON and the artifact are left to their own parsers.
 */
#include "mm_export.h"

#include <string.h>

#include "mm_model.h"

#define EXPORT_HEADER_LEN	12	/* magic, version, flags, metadata length */
#define EXPORT_CHECKSUM_LEN 8

mm_status
mm_export_write(const char *meta, size_t meta_len, const void *artifact,
				size_t artifact_len, mm_buf *out, mm_error *err)
{
	size_t		start = out->len;
	uint64_t	sum;

	mm_error_clear(err);
	if (meta_len > MM_EXPORT_MAX_METADATA)
		return mm_fail(err, MM_ERR_LIMIT,
					   "export metadata of %zu bytes exceeds the 16 MB limit",
					   meta_len);
	if (meta_len > 0 && (meta == NULL || !mm_utf8_valid(meta, meta_len)))
		return mm_fail(err, MM_ERR_INVALID,
					   "export metadata is not valid UTF-8 text");
	if (artifact_len > MM_MAX_ARTIFACT)
		return mm_fail(err, MM_ERR_LIMIT,
					   "artifact of %zu bytes exceeds the 1 GB limit",
					   artifact_len);
	if (artifact == NULL || artifact_len < MM_EXPORT_MIN_ARTIFACT)
		return mm_fail(err, MM_ERR_INVALID,
					   "artifact of %zu bytes is too short to export",
					   artifact_len);

	mm_buf_put_bytes(out, MM_EXPORT_MAGIC, 4);
	mm_buf_put_u16(out, MM_EXPORT_VERSION);
	mm_buf_put_u16(out, 0);
	mm_buf_put_u32(out, (uint32_t) meta_len);
	mm_buf_put_bytes(out, meta, meta_len);
	mm_buf_put_u32(out, (uint32_t) artifact_len);
	mm_buf_put_bytes(out, artifact, artifact_len);
	if (out->failed)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory while writing an export");
	sum = mm_checksum64(out->data + start, out->len - start);
	mm_buf_put_u64(out, sum);
	if (out->failed)
		return mm_fail(err, MM_ERR_NOMEM, "out of memory while writing an export");
	return MM_OK;
}

/*
 * The input is read only through explicit bounds: every offset below is
 * computed after the lengths that lead to it were checked against len.
 */
mm_status
mm_export_parse(const void *data, size_t len, mm_export_view *out,
				mm_error *err)
{
	const uint8_t *b = data;
	uint16_t	version;
	uint16_t	flags;
	uint32_t	meta_len;
	uint32_t	art_len;
	size_t		art_pos;
	size_t		total;

	memset(out, 0, sizeof(*out));
	mm_error_clear(err);
	if (b == NULL || len == 0)
		return mm_fail(err, MM_ERR_CORRUPT, "export is empty");
	if (memcmp(b, MM_EXPORT_MAGIC, len < 4 ? len : 4) != 0)
	{
		mm_fail(err, MM_ERR_CORRUPT, "not a modelmgr export");
		if (len >= 4 && memcmp(b, MM_FORMAT_MAGIC, 4) == 0)
			mm_error_detail(err, "The bytes are a model artifact (they start with \"MMDL\"), not an export.");
		else
			mm_error_detail(err, "An export starts with the bytes \"MMEX\".");
		return MM_ERR_CORRUPT;
	}
	if (len < EXPORT_HEADER_LEN)
		return mm_fail(err, MM_ERR_CORRUPT, "export is truncated in its header");

	version = (uint16_t) (b[4] | (b[5] << 8));
	flags = (uint16_t) (b[6] | (b[7] << 8));
	meta_len = mm_le_u32(b + 8);
	if (version == 0)
		return mm_fail(err, MM_ERR_CORRUPT, "export has invalid envelope version 0");
	if (version > MM_EXPORT_VERSION)
	{
		mm_fail(err, MM_ERR_UNSUPPORTED,
				"export envelope version %u is not supported", version);
		mm_error_detail(err, "This modelmgr reads envelope versions 1 to %d.",
						MM_EXPORT_VERSION);
		mm_error_hint(err, "Upgrade modelmgr to import this export.");
		return MM_ERR_UNSUPPORTED;
	}
	if (flags != 0)
		return mm_fail(err, MM_ERR_CORRUPT, "export has unknown flags 0x%04x",
					   flags);
	if (meta_len > MM_EXPORT_MAX_METADATA)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "export declares %u bytes of metadata, more than the 16 MB limit",
					   meta_len);
	/* meta_len <= 16 MB: no overflow in the sums below */
	art_pos = EXPORT_HEADER_LEN + (size_t) meta_len + 4;
	if (len < art_pos)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "export is truncated (%zu bytes, its metadata alone needs %zu)",
					   len, art_pos);
	art_len = mm_le_u32(b + art_pos - 4);
	if (art_len < MM_EXPORT_MIN_ARTIFACT)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "export declares an artifact of %u bytes, too short for an artifact",
					   art_len);
	if (art_len > MM_MAX_ARTIFACT)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "export declares an artifact of %u bytes, more than the 1 GB limit",
					   art_len);
	total = art_pos + (size_t) art_len + EXPORT_CHECKSUM_LEN;
	if (total > len)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "export is truncated (%zu of %zu bytes)", len, total);
	if (total < len)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "export has %zu bytes after its end", len - total);
	if (mm_le_u64(b + len - EXPORT_CHECKSUM_LEN) !=
		mm_checksum64(b, len - EXPORT_CHECKSUM_LEN))
		return mm_fail(err, MM_ERR_CORRUPT, "export checksum mismatch");
	if (!mm_utf8_valid(b + EXPORT_HEADER_LEN, meta_len))
		return mm_fail(err, MM_ERR_CORRUPT,
					   "export metadata is not valid UTF-8 text");

	out->version = version;
	out->metadata = (const char *) (b + EXPORT_HEADER_LEN);
	out->metadata_len = meta_len;
	out->artifact = b + art_pos;
	out->artifact_len = art_len;
	return MM_OK;
}
