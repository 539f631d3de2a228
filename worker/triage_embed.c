/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Build-time helper: turns the rules file into a C array so that the
 * worker and intake-triage carry the default rules inside the binary.
 * Usage: triage-embed INPUT OUTPUT.c
 */
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	FILE *in = NULL, *out = NULL;
	unsigned long n = 0;
	int c, rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: triage-embed INPUT OUTPUT.c\n");
		return 2;
	}
	in = fopen(argv[1], "rb");
	out = fopen(argv[2], "w");
	if (in == NULL || out == NULL) {
		perror("triage-embed");
		goto out;
	}
	fprintf(out,
		"/* Generated from %s: do not edit. */\n"
		"#include <stddef.h>\n"
		"extern const char triage_rules_builtin[];\n"
		"extern const size_t triage_rules_builtin_len;\n"
		"const char triage_rules_builtin[] = {\n",
		argv[1]);
	while ((c = getc(in)) != EOF) {
		fprintf(out, "%d,%s", (int)(signed char)c,
			(++n % 16) == 0 ? "\n" : "");
	}
	if (ferror(in)) {
		perror("triage-embed");
		goto out;
	}
	fprintf(out, "0};\nconst size_t triage_rules_builtin_len = %luu;\n",
		n);
	rc = 0;
out:
	if (in != NULL) {
		fclose(in);
	}
	if (out != NULL && fclose(out) != 0) {
		perror("triage-embed");
		rc = 1;
	}
	return rc;
}
