/*
 * mm_bytes.h
 *	  Little-endian byte buffers, a bounds-checked reader, the row hash used
 *	  for the train/test split and sampling, and the artifact checksum.
 *
 * Everything that leaves the process (artifacts, aggregate states) is
 * written field by field through mm_buf and read back through mm_reader,
 * which never reads past its end: every get returns false instead.
 */
#ifndef MM_BYTES_H
#define MM_BYTES_H

#include "mm_core.h"

/* A growable output buffer.  On allocation failure `failed` is set and
 * further writes are ignored; check it once at the end. */
typedef struct mm_buf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	bool		failed;
} mm_buf;

extern void mm_buf_init(mm_buf *buf);
extern void mm_buf_free(mm_buf *buf);
extern void mm_buf_put_bytes(mm_buf *buf, const void *bytes, size_t len);
extern void mm_buf_put_u8(mm_buf *buf, uint8_t v);
extern void mm_buf_put_u16(mm_buf *buf, uint16_t v);
extern void mm_buf_put_u32(mm_buf *buf, uint32_t v);
extern void mm_buf_put_u64(mm_buf *buf, uint64_t v);
extern void mm_buf_put_i64(mm_buf *buf, int64_t v);
extern void mm_buf_put_f32(mm_buf *buf, float v);
extern void mm_buf_put_f64(mm_buf *buf, double v);
/* u32 length followed by the bytes (no terminator) */
extern void mm_buf_put_string(mm_buf *buf, const char *s);
/* overwrite 4 bytes at offset (for lengths known only afterwards) */
extern void mm_buf_patch_u32(mm_buf *buf, size_t offset, uint32_t v);

/* A reader over bytes it does not own. */
typedef struct mm_reader
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
} mm_reader;

extern void mm_reader_init(mm_reader *r, const void *data, size_t len);
extern size_t mm_reader_remaining(const mm_reader *r);
extern bool mm_get_bytes(mm_reader *r, void *out, size_t len);
extern bool mm_get_u8(mm_reader *r, uint8_t *v);
extern bool mm_get_u16(mm_reader *r, uint16_t *v);
extern bool mm_get_u32(mm_reader *r, uint32_t *v);
extern bool mm_get_u64(mm_reader *r, uint64_t *v);
extern bool mm_get_i64(mm_reader *r, int64_t *v);
extern bool mm_get_f32(mm_reader *r, float *v);
extern bool mm_get_f64(mm_reader *r, double *v);

/*
 * Read a u32-length-prefixed string of at most max_len bytes into a new
 * NUL-terminated allocation.  Fails on over-long strings, embedded NUL
 * bytes, and invalid UTF-8.
 */
extern bool mm_get_string(mm_reader *r, size_t max_len, char **out);

/*
 * True when len bytes are valid UTF-8 (strict: no overlong forms, no
 * surrogates, nothing above U+10FFFF) and contain no NUL byte, i.e. what
 * PostgreSQL accepts as text in a UTF-8 database.
 */
extern bool mm_utf8_valid(const void *data, size_t len);

/* Decode/encode little-endian scalars in place (no alignment needed). */
extern uint32_t mm_le_u32(const uint8_t *p);
extern uint64_t mm_le_u64(const uint8_t *p);

/*
 * 64-bit FNV-1a over bytes; the artifact checksum.  Documented in
 * doc/format.md.
 */
extern uint64_t mm_checksum64(const void *data, size_t len);

/*
 * Row hash: a seeded 64-bit hash over a sequence of values, independent of
 * where the row sits in a scan.  -0.0 hashes as 0.0, every NaN alike, and
 * NULL differs from every value.
 */
typedef struct mm_hasher
{
	uint64_t	h;
} mm_hasher;

extern void mm_hash_init(mm_hasher *hs, uint64_t seed);
extern void mm_hash_double(mm_hasher *hs, double v);
extern void mm_hash_null(mm_hasher *hs);
extern void mm_hash_bytes(mm_hasher *hs, const void *data, size_t len);
extern uint64_t mm_hash_final(const mm_hasher *hs);

/* The splitmix64 finalizer: derive an independent hash from another. */
extern uint64_t mm_hash_mix(uint64_t h);

/* Map a 64-bit hash to [0, 1) using its top 53 bits. */
extern double mm_hash_unit(uint64_t h);

/*
 * Base64 (RFC 4648, with padding).  encoded_len is the number of characters
 * encode writes (no terminator is written; SIZE_MAX if it would overflow).
 * decode is strict (no whitespace, zero pad bits), allocates *out with
 * mm_alloc, and returns false on bad input or allocation failure.
 */
extern size_t mm_base64_encoded_len(size_t len);
extern void mm_base64_encode(const uint8_t *in, size_t len, char *out);
extern bool mm_base64_decode(const char *in, size_t len, uint8_t **out,
							 size_t *out_len);

#endif							/* MM_BYTES_H */
