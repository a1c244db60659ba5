/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Whether to colour (see colormode.h). */
#include <string.h>

#include "colormode.h"

int
colormode_parse(const char *s, enum colormode *out)
{
	static const struct {
		const char *word;
		enum colormode mode;
	} words[] = {
		{ "auto", COLORMODE_AUTO },
		{ "always", COLORMODE_ALWAYS },
		{ "never", COLORMODE_NEVER },
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(s, words[i].word) == 0) {
			*out = words[i].mode;
			return 0;
		}
	}
	return -1;
}

bool
colormode_use(enum colormode m, bool tty, const char *term,
    const char *no_color)
{
	switch (m) {
	case COLORMODE_ALWAYS:
		return true;
	case COLORMODE_NEVER:
		return false;
	case COLORMODE_AUTO:
		break;
	}
	if (no_color != NULL && no_color[0] != '\0')
		return false;
	if (term == NULL || term[0] == '\0' || strcmp(term, "dumb") == 0)
		return false;
	return tty;
}
