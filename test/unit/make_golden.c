/*
 * make_golden.c
 *	  Writes the golden artifact test/unit/golden/linear_v1.mmdl and the
 *	  fuzz seeds in test/fuzz/corpus/model/ with the current serializer.
 *
 * Not built by `make unit` (its name does not start with test_).  Run it
 * from the repository root, by hand, only when a new golden file is wanted
 * (a new format version adds a new file, say linear_v2.mmdl; the v1 file is
 * never regenerated, since its whole point is to be the bytes that older
 * releases wrote):
 *
 *	 cc -std=gnu11 -Isrc/core -Itest/unit -o build/make_golden \
 *		test/unit/make_golden.c src/core/mm_core.c src/core/mm_bytes.c \
 *		src/core/mm_model.c src/core/mm_validate.c src/core/mm_format.c -lm
 *	 build/make_golden [--golden] [--corpus]
 *
 * With no option it writes the seeds only and leaves the golden file alone.
 */
#include <stdio.h>
#include <string.h>

#include "mm_model.h"
#include "model_fixtures.h"

static int
WriteModel(mm_model *m, const char *path)
{
	mm_buf		buf;
	mm_error	err;
	FILE	   *fp;
	int			ok;

	if (m == NULL)
	{
		fprintf(stderr, "make_golden: could not build the model for %s\n", path);
		return 1;
	}
	mm_buf_init(&buf);
	if (mm_model_serialize(m, &buf, &err) != MM_OK)
	{
		fprintf(stderr, "make_golden: %s: %s\n", path, err.message);
		mm_model_free(m);
		return 1;
	}
	mm_model_free(m);
	fp = fopen(path, "wb");
	ok = fp && fwrite(buf.data, 1, buf.len, fp) == buf.len;
	if (fp && fclose(fp) != 0)
		ok = 0;
	if (!ok)
	{
		perror(path);
		mm_buf_free(&buf);
		return 1;
	}
	printf("wrote %s (%zu bytes)\n", path, buf.len);
	mm_buf_free(&buf);
	return 0;
}

/*
 * A linear regression with more than 16 names in a list (20 numeric
 * features, a categorical one with 20 levels), so the fuzzer also reaches
 * the sorted duplicate check.
 */
static mm_model *
WideModel(void)
{
	mm_model   *m = mm_model_new(MM_ALGO_LINEAR_REGRESSION, MM_TASK_REGRESSION);
	mm_feature *f;
	mm_tensor  *t;
	char		name[16];
	int			i;

	if (m == NULL)
		return NULL;
	for (i = 0; i < 20; i++)
	{
		snprintf(name, sizeof(name), "x%d", i);
		if (mm_model_add_feature(m, name, NULL) == NULL)
			goto fail;
	}
	if ((f = mm_model_add_feature(m, "level", NULL)) == NULL)
		goto fail;
	f->kind = MM_FEATURE_CATEGORICAL;
	for (i = 0; i < 20; i++)
	{
		snprintf(name, sizeof(name), "l%d", i);
		if (mm_feature_add_category(f, name, NULL) != MM_OK)
			goto fail;
	}
	if ((t = mm_model_add_tensor(m, "coef", MM_DTYPE_F16, 1, 40, NULL)) == NULL)
		goto fail;
	for (i = 0; i < 40; i++)
		((uint16_t *) t->values)[i] = mm_float_to_half(i * 0.5 - 10);
	if ((t = mm_model_add_tensor(m, "intercept", MM_DTYPE_F32, 1, 1, NULL)) == NULL)
		goto fail;
	return m;
fail:
	mm_model_free(m);
	return NULL;
}

int
main(int argc, char **argv)
{
	int			rc = 0;
	int			golden = 0;
	int			i;

	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--golden") == 0)
			golden = 1;
		else if (strcmp(argv[i], "--corpus") != 0)
		{
			fprintf(stderr, "usage: %s [--golden] [--corpus]\n", argv[0]);
			return 2;
		}
	}
	if (golden)
		rc |= WriteModel(FixtureLinearModel(), "test/unit/golden/linear_v1.mmdl");
	rc |= WriteModel(FixtureLinearModel(), "test/fuzz/corpus/model/linear.mmdl");
	rc |= WriteModel(FixtureAllDtypesModel(), "test/fuzz/corpus/model/all_dtypes.mmdl");
	rc |= WriteModel(FixtureLogisticModel(), "test/fuzz/corpus/model/logistic.mmdl");
	rc |= WriteModel(FixtureLassoSparseModel(), "test/fuzz/corpus/model/lasso_sparse.mmdl");
	rc |= WriteModel(FixtureQuantizedLinearModel(), "test/fuzz/corpus/model/linear_int8.mmdl");
	rc |= WriteModel(WideModel(), "test/fuzz/corpus/model/wide.mmdl");
	return rc;
}
