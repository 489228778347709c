/*
 * mm_bytes.c
 *	  Little-endian output buffers and bounds-checked readers, UTF-8
 *	  validation, the artifact checksum (FNV-1a 64), the seeded row hash and
 *	  base64.  See mm_bytes.h.
 *
 * Everything here works byte by byte through memcpy or shifts: no pointer
 * casts to wider types (the bytes are never assumed aligned) and no type
 * punning through unions.  The row hash and the checksum are part of what
 * users can observe (the train/test split, the registry's checksum column),
 * so their definitions are frozen: test/unit/test_format.c pins their values.
 */
#include "mm_bytes.h"

#include <math.h>
#include <string.h>

#define MM_BUF_MIN_CAP 256

/* ---------------------------------------------------------------------
 * Output buffer
 * ---------------------------------------------------------------------
 */

void
mm_buf_init(mm_buf *buf)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->failed = false;
}

void
mm_buf_free(mm_buf *buf)
{
	mm_free(buf->data);
	mm_buf_init(buf);
}

/*
 * Make room for `extra` more bytes, doubling the capacity.  On overflow or
 * allocation failure, mark the buffer failed and return false.
 */
static bool
BufReserve(mm_buf *buf, size_t extra)
{
	size_t		need;
	size_t		cap;
	uint8_t    *data;

	if (buf->failed)
		return false;
	if (!mm_size_add(buf->len, extra, &need))
	{
		buf->failed = true;
		return false;
	}
	if (need <= buf->cap)
		return true;
	cap = buf->cap < MM_BUF_MIN_CAP ? MM_BUF_MIN_CAP : buf->cap;
	while (cap < need)
	{
		if (cap > SIZE_MAX / 2)
		{
			cap = need;
			break;
		}
		cap *= 2;
	}
	data = mm_realloc(buf->data, cap);
	if (data == NULL)
	{
		buf->failed = true;
		return false;
	}
	buf->data = data;
	buf->cap = cap;
	return true;
}

void
mm_buf_put_bytes(mm_buf *buf, const void *bytes, size_t len)
{
	if (len == 0 || !BufReserve(buf, len))
		return;
	memcpy(buf->data + buf->len, bytes, len);
	buf->len += len;
}

void
mm_buf_put_u8(mm_buf *buf, uint8_t v)
{
	mm_buf_put_bytes(buf, &v, 1);
}

void
mm_buf_put_u16(mm_buf *buf, uint16_t v)
{
	uint8_t		b[2];

	b[0] = (uint8_t) v;
	b[1] = (uint8_t) (v >> 8);
	mm_buf_put_bytes(buf, b, 2);
}

void
mm_buf_put_u32(mm_buf *buf, uint32_t v)
{
	uint8_t		b[4];
	int			i;

	for (i = 0; i < 4; i++)
		b[i] = (uint8_t) (v >> (8 * i));
	mm_buf_put_bytes(buf, b, 4);
}

void
mm_buf_put_u64(mm_buf *buf, uint64_t v)
{
	uint8_t		b[8];
	int			i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t) (v >> (8 * i));
	mm_buf_put_bytes(buf, b, 8);
}

/* Two's complement, as the conversion to uint64_t defines it. */
void
mm_buf_put_i64(mm_buf *buf, int64_t v)
{
	mm_buf_put_u64(buf, (uint64_t) v);
}

void
mm_buf_put_f32(mm_buf *buf, float v)
{
	uint32_t	bits;

	memcpy(&bits, &v, sizeof(bits));
	mm_buf_put_u32(buf, bits);
}

void
mm_buf_put_f64(mm_buf *buf, double v)
{
	uint64_t	bits;

	memcpy(&bits, &v, sizeof(bits));
	mm_buf_put_u64(buf, bits);
}

/*
 * A NULL string is written as the empty string.  A string longer than
 * UINT32_MAX bytes cannot be represented and fails the buffer.
 */
void
mm_buf_put_string(mm_buf *buf, const char *s)
{
	size_t		len = s ? strlen(s) : 0;

	if (len > UINT32_MAX)
	{
		buf->failed = true;
		return;
	}
	mm_buf_put_u32(buf, (uint32_t) len);
	mm_buf_put_bytes(buf, s, len);
}

/* Patching outside the written bytes is a caller bug: it fails the buffer. */
void
mm_buf_patch_u32(mm_buf *buf, size_t offset, uint32_t v)
{
	int			i;

	if (buf->failed)
		return;
	if (offset > buf->len || buf->len - offset < 4)
	{
		buf->failed = true;
		return;
	}
	for (i = 0; i < 4; i++)
		buf->data[offset + i] = (uint8_t) (v >> (8 * i));
}

/* ---------------------------------------------------------------------
 * Reader
 * ---------------------------------------------------------------------
 */

void
mm_reader_init(mm_reader *r, const void *data, size_t len)
{
	r->data = data;
	r->len = data ? len : 0;
	r->pos = 0;
}

size_t
mm_reader_remaining(const mm_reader *r)
{
	return r->len - r->pos;
}

/* Copy len bytes out, or return false and leave the position alone. */
bool
mm_get_bytes(mm_reader *r, void *out, size_t len)
{
	if (len > r->len - r->pos)
		return false;
	if (len > 0)
		memcpy(out, r->data + r->pos, len);
	r->pos += len;
	return true;
}

bool
mm_get_u8(mm_reader *r, uint8_t *v)
{
	return mm_get_bytes(r, v, 1);
}

bool
mm_get_u16(mm_reader *r, uint16_t *v)
{
	uint8_t		b[2];

	if (!mm_get_bytes(r, b, 2))
		return false;
	*v = (uint16_t) (b[0] | (b[1] << 8));
	return true;
}

bool
mm_get_u32(mm_reader *r, uint32_t *v)
{
	uint8_t		b[4];

	if (!mm_get_bytes(r, b, 4))
		return false;
	*v = mm_le_u32(b);
	return true;
}

bool
mm_get_u64(mm_reader *r, uint64_t *v)
{
	uint8_t		b[8];

	if (!mm_get_bytes(r, b, 8))
		return false;
	*v = mm_le_u64(b);
	return true;
}

/*
 * Two's complement back to int64_t without relying on the
 * implementation-defined conversion of out-of-range unsigned values.
 */
bool
mm_get_i64(mm_reader *r, int64_t *v)
{
	uint64_t	u;

	if (!mm_get_u64(r, &u))
		return false;
	if (u <= (uint64_t) INT64_MAX)
		*v = (int64_t) u;
	else
		*v = -(int64_t) (~u) - 1;
	return true;
}

bool
mm_get_f32(mm_reader *r, float *v)
{
	uint32_t	bits;

	if (!mm_get_u32(r, &bits))
		return false;
	memcpy(v, &bits, sizeof(bits));
	return true;
}

bool
mm_get_f64(mm_reader *r, double *v)
{
	uint64_t	bits;

	if (!mm_get_u64(r, &bits))
		return false;
	memcpy(v, &bits, sizeof(bits));
	return true;
}

/*
 * The length is checked against max_len and against the bytes that remain
 * before anything is allocated.  On failure the position is unchanged and
 * *out is NULL (allocation failure also returns false).
 */
bool
mm_get_string(mm_reader *r, size_t max_len, char **out)
{
	size_t		start = r->pos;
	uint32_t	len;
	char	   *s;

	*out = NULL;
	if (!mm_get_u32(r, &len))
		return false;
	if (len > max_len || len > mm_reader_remaining(r) ||
		!mm_utf8_valid(r->data + r->pos, len))
	{
		r->pos = start;
		return false;
	}
	s = mm_alloc((size_t) len + 1);
	if (s == NULL)
	{
		r->pos = start;
		return false;
	}
	memcpy(s, r->data + r->pos, len);
	s[len] = '\0';
	r->pos += len;
	*out = s;
	return true;
}

/*
 * Strict UTF-8 as PostgreSQL's pg_utf8_islegal accepts it: no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.  NUL bytes
 * are rejected too, since text values cannot hold them.
 */
bool
mm_utf8_valid(const void *data, size_t len)
{
	const uint8_t *s = data;
	size_t		i = 0;

	while (i < len)
	{
		uint8_t		c = s[i];
		size_t		n;
		uint8_t		lo = 0x80;
		uint8_t		hi = 0xBF;
		size_t		k;

		if (c == 0)
			return false;
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1;
		else if (c == 0xE0)
		{
			n = 2;
			lo = 0xA0;
		}
		else if (c == 0xED)
		{
			n = 2;
			hi = 0x9F;
		}
		else if (c >= 0xE1 && c <= 0xEF)
			n = 2;
		else if (c == 0xF0)
		{
			n = 3;
			lo = 0x90;
		}
		else if (c >= 0xF1 && c <= 0xF3)
			n = 3;
		else if (c == 0xF4)
		{
			n = 3;
			hi = 0x8F;
		}
		else
			return false;
		if (len - i - 1 < n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return false;
		i += n + 1;
	}
	return true;
}

uint32_t
mm_le_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

uint64_t
mm_le_u64(const uint8_t *p)
{
	return (uint64_t) mm_le_u32(p) | ((uint64_t) mm_le_u32(p + 4) << 32);
}

/* ---------------------------------------------------------------------
 * Checksum and row hash
 * ---------------------------------------------------------------------
 */

/* FNV-1a, 64-bit: offset basis 0xcbf29ce484222325, prime 0x100000001b3. */
uint64_t
mm_checksum64(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t	h = UINT64_C(0xcbf29ce484222325);
	size_t		i;

	for (i = 0; i < len; i++)
	{
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* Domain-separation constants of the row hash (arbitrary, frozen). */
#define HASH_SEED_TAG	UINT64_C(0x6d6d2d726f776831)	/* "mm-rowh1" */
#define HASH_NULL_TAG	UINT64_C(0x9e3779b97f4a7c15)
#define HASH_BYTES_TAG	UINT64_C(0xc2b2ae3d27d4eb4f)
#define HASH_FINAL_TAG	UINT64_C(0x165667b19e3779f9)

/*
 * The splitmix64 finalizer (Stafford's mix13): a bijection on 64-bit words
 * with full avalanche, so consecutive small values (1.0, 2.0, ...) spread
 * over the whole range.
 */
static inline uint64_t
Mix64(uint64_t z)
{
	z ^= z >> 30;
	z *= UINT64_C(0xbf58476d1ce4e5b9);
	z ^= z >> 27;
	z *= UINT64_C(0x94d049bb133111eb);
	z ^= z >> 31;
	return z;
}

uint64_t
mm_hash_mix(uint64_t h)
{
	return Mix64(h);
}

/* Fold one 64-bit word into the state: order-dependent, well mixed. */
static inline void
HashWord(mm_hasher *hs, uint64_t w)
{
	hs->h = Mix64(hs->h ^ Mix64(w + UINT64_C(0x9e3779b97f4a7c15)));
}

void
mm_hash_init(mm_hasher *hs, uint64_t seed)
{
	hs->h = Mix64(seed ^ HASH_SEED_TAG);
}

/* -0.0 hashes as 0.0 and every NaN as the one quiet NaN. */
void
mm_hash_double(mm_hasher *hs, double v)
{
	uint64_t	bits;

	if (isnan(v))
		bits = UINT64_C(0x7ff8000000000000);
	else
	{
		if (v == 0.0)
			v = 0.0;
		memcpy(&bits, &v, sizeof(bits));
	}
	HashWord(hs, bits);
}

/*
 * NULL goes through a different path than values (a rotation of the state
 * and a tag), so NULL and 0 (or any fixed value) hash apart.
 */
void
mm_hash_null(mm_hasher *hs)
{
	hs->h = Mix64(((hs->h << 32) | (hs->h >> 32)) ^ HASH_NULL_TAG);
}

/*
 * The length goes in first, so ("ab", "c") and ("a", "bc") differ; then the
 * bytes as little-endian 8-byte words, the last one zero-padded.
 */
void
mm_hash_bytes(mm_hasher *hs, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t		tail[8];
	size_t		i;

	HashWord(hs, (uint64_t) len ^ HASH_BYTES_TAG);
	for (i = 0; i + 8 <= len; i += 8)
		HashWord(hs, mm_le_u64(p + i));
	if (i < len)
	{
		memset(tail, 0, sizeof(tail));
		memcpy(tail, p + i, len - i);
		HashWord(hs, mm_le_u64(tail));
	}
}

uint64_t
mm_hash_final(const mm_hasher *hs)
{
	return Mix64(hs->h ^ HASH_FINAL_TAG);
}

double
mm_hash_unit(uint64_t h)
{
	return (double) (h >> 11) * (1.0 / 9007199254740992.0);	/* 2^-53 */
}

/* ---------------------------------------------------------------------
 * Base64 (RFC 4648, standard alphabet, with padding)
 * ---------------------------------------------------------------------
 */

static const char b64_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Characters, without a terminator; SIZE_MAX if that does not fit. */
size_t
mm_base64_encoded_len(size_t len)
{
	size_t		groups = len / 3 + (len % 3 != 0);

	if (groups > SIZE_MAX / 4)
		return SIZE_MAX;
	return groups * 4;
}

/* Writes exactly mm_base64_encoded_len(len) characters, no terminator. */
void
mm_base64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t		i;
	size_t		o = 0;

	for (i = 0; i + 3 <= len; i += 3)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8) |
			in[i + 2];

		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (len - i == 1)
	{
		uint32_t	v = (uint32_t) in[i] << 16;

		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	}
	else if (len - i == 2)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8);

		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
}

static int
B64Value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict decoding: the length is a multiple of 4, no whitespace, '=' only
 * as the last one or two characters, and the unused bits before the
 * padding are zero (so every accepted string is exactly what encode
 * writes).  The output is a new mm_alloc allocation (at least one byte, so
 * an empty result is still a real pointer).  Returns false, with *out NULL
 * and *out_len 0, on bad input or allocation failure.
 */
bool
mm_base64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len)
{
	size_t		pad = 0;
	size_t		n;
	size_t		i;
	size_t		o = 0;
	uint8_t    *res;

	*out = NULL;
	*out_len = 0;
	if (len % 4 != 0)
		return false;
	if (len > 0 && in[len - 1] == '=')
		pad = (in[len - 2] == '=') ? 2 : 1;
	n = len / 4 * 3 - pad;
	res = mm_alloc(n + 1);
	if (res == NULL)
		return false;

	for (i = 0; i < len; i += 4)
	{
		bool		last = (i + 4 == len);
		int			a = B64Value(in[i]);
		int			b = B64Value(in[i + 1]);
		int			c = (last && pad == 2) ? 0 : B64Value(in[i + 2]);
		int			d = (last && pad >= 1) ? 0 : B64Value(in[i + 3]);
		uint32_t	v;

		if (a < 0 || b < 0 || c < 0 || d < 0)
		{
			mm_free(res);
			return false;
		}
		v = ((uint32_t) a << 18) | ((uint32_t) b << 12) |
			((uint32_t) c << 6) | (uint32_t) d;
		if (last && pad == 2 && (v & 0xFFFF) != 0)
		{
			mm_free(res);
			return false;
		}
		if (last && pad == 1 && (v & 0xFF) != 0)
		{
			mm_free(res);
			return false;
		}
		res[o++] = (uint8_t) (v >> 16);
		if (!(last && pad == 2))
			res[o++] = (uint8_t) (v >> 8);
		if (!(last && pad >= 1))
			res[o++] = (uint8_t) v;
	}
	*out = res;
	*out_len = n;
	return true;
}
