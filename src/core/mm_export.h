/*
 * mm_export.h
 *	  The export envelope: what modelmgr.export returns and modelmgr.import
 *	  reads (doc/format.md, "Export envelope").
 *
 * An export wraps one model artifact, unchanged, together with metadata
 * (UTF-8 JSON text: algorithm, schema, params, metrics, lineage) that the
 * artifact itself does not carry, and checksums the whole.  This module
 * only frames and checks the bytes: it neither parses the JSON nor the
 * artifact, so the glue can give each its own errors.
 */
#ifndef MM_EXPORT_H
#define MM_EXPORT_H

#include "mm_bytes.h"
#include "mm_core.h"

#define MM_EXPORT_MAGIC "MMEX"
#define MM_EXPORT_VERSION 1

/* Limits the parser enforces. */
#define MM_EXPORT_MAX_METADATA	((size_t) 16 << 20) /* 16 MB */
#define MM_EXPORT_MIN_ARTIFACT	12	/* an artifact's header alone */

/*
 * Fixed bytes around the two payloads: magic, version, flags, metadata
 * length (12), artifact length (4), checksum (8).
 */
#define MM_EXPORT_OVERHEAD		24

/*
 * Append an envelope holding meta (meta_len bytes of UTF-8 without NUL)
 * and the artifact bytes to out at out->len; the checksum covers only the
 * envelope's own bytes, so a caller may keep a prefix of its own in out.
 * MM_ERR_INVALID for metadata that is not valid UTF-8 or an artifact
 * shorter than a header, MM_ERR_LIMIT for payloads over their limits,
 * MM_ERR_NOMEM (out->failed set) on allocation failure; on the other
 * failures out is left as it was.
 */
extern mm_status mm_export_write(const char *meta, size_t meta_len,
								 const void *artifact, size_t artifact_len,
								 mm_buf *out, mm_error *err);

/* A parsed envelope: pointers into the caller's bytes (no copies). */
typedef struct mm_export_view
{
	uint16_t	version;
	const char *metadata;		/* not NUL-terminated */
	size_t		metadata_len;
	const uint8_t *artifact;
	size_t		artifact_len;
} mm_export_view;

/*
 * Check an envelope and point *out into it.  Checks the magic, the version
 * (a newer one is MM_ERR_UNSUPPORTED, checked before anything else that a
 * later version could change), the flags, both lengths against their
 * limits and the exact total length, the checksum, and the metadata's
 * UTF-8; everything else is MM_ERR_CORRUPT.  Allocates nothing.  The
 * artifact is not parsed: hand it to mm_model_parse.  On failure *out is
 * zeroed.
 */
extern mm_status mm_export_parse(const void *data, size_t len,
								 mm_export_view *out, mm_error *err);

#endif							/* MM_EXPORT_H */
