/*
 * mmdb_tool: build a GeoLite2-City-format database from a text spec, for
 * the HTTP tests and the benchmark:  mmdb_tool OUT.mmdb SPEC.txt
 */
#include "mmdb_write.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	struct mmdb_writer *w;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: mmdb_tool OUT.mmdb SPEC.txt\n");
		return 2;
	}
	if ((w = mmdb_writer_new()) == NULL)
		return 1;
	if (mmdb_writer_load_spec(w, argv[2]) == 0 && mmdb_writer_save(w, argv[1]) == 0)
		rc = 0;
	else
		fprintf(stderr, "mmdb_tool: cannot write %s\n", argv[1]);
	mmdb_writer_free(w);
	return rc;
}
