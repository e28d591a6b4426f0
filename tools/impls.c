// SPDX-License-Identifier: MIT
/*
 * tools/impls.c - the implementations `mmfuzz --impl NAME` can run, by
 * name.  One line each; core and kernel appear when their libraries are
 * built (MMF_HAVE_CORE, MMF_HAVE_DIFF from tools/CMakeLists.txt).
 */
#include <string.h>

#include "cli.h"

#ifdef MMF_HAVE_CORE
extern const struct mmf_impl mmf_core;
#endif
#ifdef MMF_HAVE_DIFF
#include "diff.h"
#endif

static const struct {
	const char *name;
	const struct mmf_impl *impl;
} impls[] = {
	{ "reference", &mmf_reference },
#ifdef MMF_HAVE_CORE
	{ "core", &mmf_core },
#endif
#ifdef MMF_HAVE_DIFF
	{ "kernel", &mmf_kernel },
#endif
};

const struct mmf_impl *mmf_cli_impl(const char *name)
{
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
		if (strcmp(impls[i].name, name) == 0)
			return impls[i].impl;
	return NULL;
}

void mmf_cli_impl_names(char *buf, size_t len)
{
	size_t pos = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]) && pos < len; i++) {
		int n = snprintf(buf + pos, len - pos, "%s%s", i ? ", " : "", impls[i].name);

		if (n > 0)
			pos += (size_t)n;
	}
}
