/*
 * fuzz_model.c
 *	  libFuzzer target for the untrusted-bytes parsers of src/core: the
 *	  model artifact (mm_model_parse) and base64 (mm_base64_decode, the
 *	  text form of the model type).  See test/fuzz/README.md.
 *
 * Each input is tried three ways:
 *	 1. as is: mm_model_parse must fail cleanly or succeed;
 *	 2. with its total-length field and checksum repaired, so that
 *		mutations get past the envelope and reach the section parsers and
 *		the validator (random bytes almost never carry a valid FNV-1a);
 *	 3. as base64 text, and as bytes to encode.
 * Whenever a parse succeeds, the format's canonical-form promise is
 * checked: serializing the parsed model must give back exactly the input
 * (so it also parses again to the same bytes), and every element of the
 * model must be readable (mm_tensor_get over each tensor, the counts, the
 * input width), which catches a validator that lets through a structure
 * that the accessors cannot walk.  Any violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mm_bytes.h"
#include "mm_model.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every element of every tensor (bounded work per tensor). */
static void
TouchModel(const mm_model *m)
{
	uint32_t	i;
	volatile double sink = 0;

	for (i = 0; i < m->n_tensors; i++)
	{
		const mm_tensor *t = &m->tensors[i];
		uint32_t	r;
		uint32_t	c;
		uint64_t	budget = 1 << 16;

		for (r = 0; r < t->rows && budget > 0; r++)
			for (c = 0; c < t->cols && budget > 0; c++, budget--)
				sink += mm_tensor_get(t, r, c);
		/* a sparse tensor can be huge and empty: probe its last cell too */
		sink += mm_tensor_get(t, t->rows - 1, t->cols - 1);
	}
	sink += (double) mm_model_param_count(m);
	sink += (double) mm_model_nonzero_count(m);
	sink += mm_model_input_width(m);
	(void) sink;
}

/* Parse; on success the input must be exactly what the writer produces. */
static void
ParseAndCheck(const uint8_t *data, size_t size)
{
	mm_model   *m;
	mm_error	err;
	mm_buf		buf;

	if (mm_model_parse(data, size, &m, &err) != MM_OK)
	{
		if (m != NULL || err.message[0] == '\0')
			abort();
		return;
	}
	TouchModel(m);
	mm_buf_init(&buf);
	if (mm_model_serialize(m, &buf, &err) != MM_OK)
		abort();				/* the writer refused what the parser accepted */
	if (buf.len != size || memcmp(buf.data, data, size) != 0)
		abort();				/* not canonical */
	mm_buf_free(&buf);
	mm_model_free(m);
}

/* Repair the total length and the checksum, then parse. */
static void
ParseResealed(const uint8_t *data, size_t size)
{
	uint8_t    *copy;
	uint64_t	sum;
	int			i;

	if (size < 28 || size > UINT32_MAX)
		return;
	copy = malloc(size);
	if (copy == NULL)
		return;
	memcpy(copy, data, size);
	for (i = 0; i < 4; i++)
		copy[8 + i] = (uint8_t) (size >> (8 * i));
	sum = mm_checksum64(copy, size - 16);
	for (i = 0; i < 8; i++)
		copy[size - 8 + i] = (uint8_t) (sum >> (8 * i));
	ParseAndCheck(copy, size);
	free(copy);
}

/* Strict base64: whatever decodes must encode back to the same text. */
static void
Base64Check(const uint8_t *data, size_t size)
{
	uint8_t    *dec;
	size_t		dec_len;
	char	   *enc;
	size_t		enc_len;

	if (mm_base64_decode((const char *) data, size, &dec, &dec_len))
	{
		enc_len = mm_base64_encoded_len(dec_len);
		enc = malloc(enc_len + 1);
		if (enc == NULL)
			abort();
		mm_base64_encode(dec, dec_len, enc);
		if (enc_len != size || memcmp(enc, data, size) != 0)
			abort();
		free(enc);
		mm_free(dec);
	}
	else if (dec != NULL || dec_len != 0)
		abort();

	enc_len = mm_base64_encoded_len(size);
	enc = malloc(enc_len + 1);
	if (enc == NULL)
		abort();
	mm_base64_encode(data, size, enc);
	if (!mm_base64_decode(enc, enc_len, &dec, &dec_len) ||
		dec_len != size || memcmp(dec, data, size) != 0)
		abort();
	mm_free(dec);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ParseAndCheck(data, size);
	ParseResealed(data, size);
	Base64Check(data, size);
	return 0;
}
