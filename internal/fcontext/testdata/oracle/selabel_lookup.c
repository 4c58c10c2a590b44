/*
 * selabel_lookup: libselinux's side of nsinit's file_contexts checks — the oracle of the
 * conformance tests (internal/testutil.LibselinuxOracle) and the C driver of `make bench`
 * (scripts/bench/bench.sh builds it against bookworm's libselinux 3.4 and trixie's 3.8).
 *
 *   selabel_lookup FILE_CONTEXTS                batch: stdin "PATH<TAB>OCTAL_ST_MODE" lines,
 *                                               stdout "PATH<TAB>CONTEXT", "PATH<TAB><<none>>"
 *                                               (ENOENT) or "PATH<TAB><<error N>>" (other
 *                                               errno), as `nsinit lookup --batch` does
 *   selabel_lookup FILE_CONTEXTS LOADS SECONDS  bench: opens the handle LOADS times (each
 *                                               timed), reads the keys from stdin into memory,
 *                                               then looks them all up in passes for at least
 *                                               SECONDS (at least one pass) and prints one line:
 *      load_ms=MEDIAN first_load_ms=F lookups=N seconds=S lookups_per_sec=R maxrss_kb=K
 *
 * selabel_open(SELABEL_CTX_FILE) with SELABEL_OPT_PATH only, no validation, as setfiles and
 * matchpathcon -f open it; selabel_lookup_raw, as setfiles' restorecon does.
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

static struct selabel_handle *open_fc(const char *fc)
{
	struct selinux_opt opts[] = { { SELABEL_OPT_PATH, fc } };
	struct selabel_handle *h = selabel_open(SELABEL_CTX_FILE, opts, 1);
	if (!h) {
		fprintf(stderr, "selabel_open %s: %s\n", fc, strerror(errno));
		exit(1);
	}
	return h;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int batch(const char *fc)
{
	struct selabel_handle *h = open_fc(fc);
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, stdin) > 0) {
		char *ctx = NULL;
		mode_t mode;
		if (!split(line, &mode))
			continue; /* not a key line: nothing to answer */
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

int main(int argc, char **argv)
{
	if (argc == 2)
		return batch(argv[1]);
	if (argc != 4) {
		fprintf(stderr, "usage: %s FILE_CONTEXTS [LOADS SECONDS] < keys\n", argv[0]);
		return 2;
	}
	int loads = atoi(argv[2]);
	double secs = atof(argv[3]);
	if (loads < 1)
		loads = 1;
	double *lt = calloc(loads, sizeof(*lt));
	struct selabel_handle *h = NULL;
	for (int i = 0; i < loads; i++) {
		if (h)
			selabel_close(h);
		double t0 = now();
		h = open_fc(argv[1]);
		lt[i] = now() - t0;
	}
	double first = lt[0];
	qsort(lt, loads, sizeof(*lt), cmpd);

	size_t n = 0, alloc = 0, cap = 0;
	char **keys = NULL, *line = NULL;
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
	double t0 = now(), el;
	do {
		for (size_t i = 0; i < n; i++) {
			char *ctx = NULL;
			if (selabel_lookup_raw(h, &ctx, keys[i], modes[i]) == 0)
				freecon(ctx);
		}
		lookups += n;
		el = now() - t0;
	} while (el < secs && n > 0);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("load_ms=%.3f first_load_ms=%.3f lookups=%llu seconds=%.4f lookups_per_sec=%.0f maxrss_kb=%ld\n",
	       lt[loads / 2] * 1e3, first * 1e3, lookups, el, el > 0 ? lookups / el : 0, ru.ru_maxrss);
	selabel_close(h);
	return 0;
}
