/*
 * selabel_lookup: the libselinux oracle for nsinit's fcontext conformance tests and the
 * lookup benchmark. Build: gcc -O2 -o selabel_lookup selabel_lookup.c -lselinux
 *
 *   selabel_lookup FILE_CONTEXTS              batch: stdin "PATH<TAB>OCTAL_MODE" lines,
 *                                             stdout "PATH<TAB>CONTEXT" or "PATH<TAB><<none>>"
 *                                             (ENOENT) or "PATH<TAB><<error N>>" (other errno)
 *   selabel_lookup FILE_CONTEXTS --bench SECS same input; loads once, then looks every key up
 *                                             in rounds for at least SECS seconds and prints
 *                                             "load_ms=… lookups=… lookups_per_sec=… maxrss_kb=…"
 *
 * It opens the file backend with SELABEL_OPT_PATH and no validation, like matchpathcon -f.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <selinux/selinux.h>
#include <selinux/label.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* split turns "PATH\tMODE\n" into PATH (in place) and the mode; 0 when malformed. */
static int split(char *line, mode_t *mode)
{
	size_t n = strlen(line);
	char *tab;
	if (n && line[n - 1] == '\n')
		line[--n] = '\0';
	tab = strrchr(line, '\t');
	if (!tab)
		return 0;
	*tab = '\0';
	*mode = (mode_t)strtoul(tab + 1, NULL, 8);
	return 1;
}

int main(int argc, char **argv)
{
	struct selinux_opt opts[] = { { SELABEL_OPT_PATH, NULL } };
	struct selabel_handle *h;
	char *line = NULL;
	size_t cap = 0;
	double bench = 0, t0;

	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--bench") == 0)) {
		fprintf(stderr, "usage: %s FILE_CONTEXTS [--bench SECONDS] < keys\n", argv[0]);
		return 2;
	}
	if (argc == 4)
		bench = atof(argv[3]);
	opts[0].value = argv[1];

	t0 = now();
	h = selabel_open(SELABEL_CTX_FILE, opts, 1);
	double load = now() - t0;
	if (!h) {
		fprintf(stderr, "selabel_open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}

	if (bench <= 0) {
		while (getline(&line, &cap, stdin) > 0) {
			char *ctx = NULL;
			mode_t mode;
			if (!split(line, &mode))
				continue;
			if (selabel_lookup_raw(h, &ctx, line, mode) == 0) {
				printf("%s\t%s\n", line, ctx);
				freecon(ctx);
			} else if (errno == ENOENT) {
				printf("%s\t<<none>>\n", line);
			} else {
				printf("%s\t<<error %d>>\n", line, errno);
			}
		}
		selabel_close(h);
		return 0;
	}

	size_t n = 0, alloc = 0;
	char **keys = NULL;
	mode_t *modes = NULL;
	while (getline(&line, &cap, stdin) > 0) {
		mode_t mode;
		if (!split(line, &mode))
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 4096;
			keys = realloc(keys, alloc * sizeof(*keys));
			modes = realloc(modes, alloc * sizeof(*modes));
			if (!keys || !modes)
				return 1;
		}
		keys[n] = strdup(line);
		modes[n++] = mode;
	}
	unsigned long long lookups = 0;
	t0 = now();
	double el;
	do {
		for (size_t i = 0; i < n; i++) {
			char *ctx = NULL;
			if (selabel_lookup_raw(h, &ctx, keys[i], modes[i]) == 0)
				freecon(ctx);
		}
		lookups += n;
		el = now() - t0;
	} while (el < bench && n > 0);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("load_ms=%.2f lookups=%llu seconds=%.3f lookups_per_sec=%.0f maxrss_kb=%ld\n",
	       load * 1e3, lookups, el, el > 0 ? lookups / el : 0, ru.ru_maxrss);
	selabel_close(h);
	return 0;
}
