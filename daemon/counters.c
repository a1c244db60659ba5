/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "counters.h"

#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>

#include "util.h"

struct counters *
counters_create(void)
{
	void *p = mmap(NULL, sizeof(struct counters), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void
counters_count_slots(const struct counters *c, unsigned nslots,
    unsigned *echo, unsigned *chat)
{
	unsigned e = 0, ch = 0;

	if (nslots > ECHOD_MAX_CONNECTIONS)
		nslots = ECHOD_MAX_CONNECTIONS;
	for (unsigned i = 0; i < nslots; i++) {
		unsigned char k = atomic_load_explicit(&c->slot[i].kind,
		    memory_order_relaxed);

		/* A worker still deciding counts as echo, its default. */
		if (k == SLOT_CHAT)
			ch++;
		else if (k != SLOT_FREE)
			e++;
	}
	*echo = e;
	*chat = ch;
}

void
slot_set(char *field, size_t cap, const char *value)
{
	size_t i = 0;

	for (; cap > 0 && i < cap - 1 && value[i] != '\0'; i++)
		field[i] = value[i];
	if (cap > 0)
		field[i] = '\0';
}
