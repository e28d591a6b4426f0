// SPDX-License-Identifier: MIT
/*
 * fuzzers/replay_walk.c - the file walk of the replay drivers.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "replay_walk.h"

static int skip_name(const char *name)
{
	return name[0] == '.' || !strncmp(name, "README", 6);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mmf_replay_walk(const char *path, void (*fn)(const char *file, void *ctx), void *ctx)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fn(path, ctx);
		return 0;
	}
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char full[4096];

		if (skip_name(e->d_name))
			continue;
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		if (stat(full, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));

			if (!nn)
				break;
			names = nn;
		}
		names[n++] = strdup(full);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		fn(names[i], ctx);
		free(names[i]);
	}
	free(names);
	return 0;
}
