/*
 * json.c
 *	  Small helpers to build jsonb values from text we assemble in C.
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#include "mm_pg.h"

/* Parse a JSON text we built ourselves into jsonb. */
Jsonb *
mm_jsonb_from_cstring(const char *json)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

/*
 * Append a number in its shortest exact decimal form; NaN and infinities
 * (which JSON cannot hold) become null.
 */
void
mm_json_number(StringInfo buf, double v)
{
	char		tmp[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (!isfinite(v))
	{
		appendStringInfoString(buf, "null");
		return;
	}
	double_to_shortest_decimal_buf(v, tmp);
	appendStringInfoString(buf, tmp);
}
