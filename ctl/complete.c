/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The room's members and Tab's candidates (see complete.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "complete.h"
#include "slash.h"

void
complete_init(struct complete_roster *r)
{
	memset(r, 0, sizeof(*r));
}

static bool
same(const char *name, const struct chat_str *s)
{
	return strlen(name) == s->n && memcmp(name, s->p, s->n) == 0;
}

static void
copy(char *dst, const struct chat_str *s)
{
	size_t n = s->n > CHAT_NAME_MAX ? CHAT_NAME_MAX : s->n;

	memcpy(dst, s->p, n);
	dst[n] = '\0';
}

static struct complete_member *
find(struct complete_roster *r, const struct chat_str *nick)
{
	for (size_t i = 0; i < r->n; i++)
		if (same(r->m[i].name, nick))
			return &r->m[i];
	return NULL;
}

static void
add(struct complete_roster *r, const struct chat_str *nick)
{
	if (nick->n == 0 || find(r, nick) != NULL ||
	    r->n >= COMPLETE_MEMBERS_MAX)
		return;
	copy(r->m[r->n].name, nick);
	r->m[r->n].spoke = 0;
	r->n++;
}

static void
del(struct complete_roster *r, const struct chat_str *nick)
{
	struct complete_member *m = find(r, nick);

	if (m != NULL)
		*m = r->m[--r->n]; /* order does not matter: candidates sort */
}

bool
complete_event(struct complete_roster *r, const struct chat_server_evt *ev)
{
	struct complete_member *m;
	struct chat_str name;
	size_t pos = 0;

	switch (ev->type) {
	case CHAT_EVT_OK:
		copy(r->self, &ev->nick);
		r->n = 0;
		add(r, &ev->nick);
		break;
	case CHAT_EVT_WHO:
		r->n = 0;
		/* Each name advances pos: at most count names. */
		while (chat_who_next(ev, &pos, &name))
			add(r, &name);
		if (r->hidden_who > 0) {
			r->hidden_who--;
			return false;
		}
		break;
	case CHAT_EVT_JOIN:
		add(r, &ev->nick);
		break;
	case CHAT_EVT_PART:
		del(r, &ev->nick);
		break;
	case CHAT_EVT_JOINS:
		/* Each name advances pos: at most listed names. */
		while (chat_who_next(ev, &pos, &name))
			add(r, &name);
		break;
	case CHAT_EVT_PARTS:
		while (chat_who_next(ev, &pos, &name))
			del(r, &name);
		break;
	case CHAT_EVT_NICK:
		if ((m = find(r, &ev->nick)) != NULL &&
		    find(r, &ev->nick2) == NULL)
			copy(m->name, &ev->nick2);
		else
			add(r, &ev->nick2);
		break;
	case CHAT_EVT_MSG:
	case CHAT_EVT_ME:
		add(r, &ev->nick); /* a member the list missed */
		if ((m = find(r, &ev->nick)) != NULL)
			m->spoke = ++r->seq;
		break;
	default:
		break;
	}
	return true;
}

void
complete_who_asked(struct complete_roster *r)
{
	r->hidden_who++;
}

/* Recent speakers first, then alphabetically without case. */
static int
by_rank(const void *a, const void *b)
{
	const struct complete_member *x =
	    *(const struct complete_member *const *)a;
	const struct complete_member *y =
	    *(const struct complete_member *const *)b;

	if (x->spoke != y->spoke)
		return x->spoke > y->spoke ? -1 : 1;
	return strcasecmp(x->name, y->name);
}

static void
nicks(const struct complete_roster *r, const char *word, size_t wlen,
    bool at_start, struct complete_cands *c)
{
	const struct complete_member *hit[COMPLETE_MEMBERS_MAX];
	size_t nhit = 0;

	if (wlen == 0)
		return;
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->m[i].name, r->self) == 0 ||
		    strlen(r->m[i].name) < wlen ||
		    strncasecmp(r->m[i].name, word, wlen) != 0)
			continue;
		hit[nhit++] = &r->m[i];
	}
	qsort(hit, nhit, sizeof(hit[0]), by_rank);
	for (size_t i = 0; i < nhit && c->n < COMPLETE_CANDS_MAX; i++)
		snprintf(c->word[c->n++], COMPLETE_WORD_MAX, "%s%s",
		    hit[i]->name, at_start ? ": " : " ");
}

static void
commands(const char *word, size_t wlen, struct complete_cands *c)
{
	const char *cmd;

	/* slash_command's list ends with NULL. */
	for (size_t i = 0; (cmd = slash_command(i)) != NULL; i++) {
		if (c->n >= COMPLETE_CANDS_MAX)
			break;
		if (strlen(cmd) >= wlen && strncasecmp(cmd, word, wlen) == 0)
			snprintf(c->word[c->n++], COMPLETE_WORD_MAX, "/%s ",
			    cmd);
	}
}

size_t
complete_candidates(const struct complete_roster *r, const char *line,
    size_t len, size_t point, struct complete_cands *c)
{
	size_t start = point > len ? len : point;
	const char *word;
	size_t wlen;

	point = start;
	while (start > 0 && line[start - 1] != ' ')
		start--;
	word = line + start;
	wlen = point - start;
	c->start = start;
	c->n = 0;
	if (start == 0 && wlen >= 1 && word[0] == '/') {
		/* "//text" is a message, not a command. */
		if (wlen < 2 || word[1] != '/')
			commands(word + 1, wlen - 1, c);
		return c->n;
	}
	nicks(r, word, wlen, start == 0, c);
	return c->n;
}
