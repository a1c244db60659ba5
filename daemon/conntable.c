/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "conntable.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* Anonymous memory children do not inherit (see the header). */
static void *
private_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, size, MADV_DONTFORK);
	return p;
}

static void
private_free(void *p, size_t size)
{
	if (p != NULL)
		munmap(p, size);
}

static size_t
pow2_at_least(size_t n)
{
	size_t c = 16;

	while (c < n)
		c <<= 1;
	return c;
}

static size_t
pid_hash(pid_t pid, size_t cap)
{
	/* Fibonacci hashing spreads sequential pids. */
	return (size_t)(((uint32_t)pid * 2654435769u) >> 7) & (cap - 1);
}

int
ct_init(struct conntable *ct, unsigned max_children, uint32_t slot_cap)
{
	memset(ct, 0, sizeof(*ct));
	ct->slot_cap = slot_cap;
	ct->free_slots = private_alloc(slot_cap * sizeof(uint32_t));
	if (ct->free_slots == NULL)
		return -1;
	if (ct_resize(ct, max_children) == -1) {
		ct_free(ct);
		return -1;
	}
	return 0;
}

void
ct_free(struct conntable *ct)
{
	private_free(ct->child, ct->child_cap * sizeof(struct child));
	private_free(ct->src, ct->src_cap * sizeof(struct source));
	private_free(ct->free_slots, ct->slot_cap * sizeof(uint32_t));
	memset(ct, 0, sizeof(*ct));
}

static struct child *
child_insert(struct child *tab, size_t cap, const struct child *c)
{
	size_t i = pid_hash(c->pid, cap);

	for (size_t n = 0; n < cap; n++, i = (i + 1) & (cap - 1)) {
		if (tab[i].pid == 0) {
			tab[i] = *c;
			return &tab[i];
		}
	}
	return NULL;
}

static struct source *
source_slot(struct source *tab, size_t cap, const struct addr_key *key,
    bool *found)
{
	size_t i = addr_key_hash(key) & (cap - 1);

	for (size_t n = 0; n < cap; n++, i = (i + 1) & (cap - 1)) {
		if (tab[i].count == 0) {
			*found = false;
			return &tab[i];
		}
		if (addr_key_equal(&tab[i].key, key)) {
			*found = true;
			return &tab[i];
		}
	}
	*found = false;
	return NULL;
}

int
ct_resize(struct conntable *ct, unsigned max_children)
{
	size_t cap = pow2_at_least((size_t)max_children * 2 + 2);
	struct child *nc;
	struct source *ns;

	if (cap <= ct->child_cap)
		return 0;
	nc = private_alloc(cap * sizeof(*nc));
	ns = private_alloc(cap * sizeof(*ns));
	if (nc == NULL || ns == NULL) {
		private_free(nc, cap * sizeof(*nc));
		private_free(ns, cap * sizeof(*ns));
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < ct->child_cap; i++)
		if (ct->child[i].pid != 0)
			child_insert(nc, cap, &ct->child[i]);
	for (size_t i = 0; i < ct->src_cap; i++) {
		bool found;

		if (ct->src[i].count != 0)
			*source_slot(ns, cap, &ct->src[i].key, &found) =
			    ct->src[i];
	}
	private_free(ct->child, ct->child_cap * sizeof(*nc));
	private_free(ct->src, ct->src_cap * sizeof(*ns));
	ct->child = nc;
	ct->child_cap = cap;
	ct->src = ns;
	ct->src_cap = cap;
	return 0;
}

struct child *
ct_find(struct conntable *ct, pid_t pid)
{
	size_t cap = ct->child_cap, i = pid_hash(pid, cap);

	for (size_t n = 0; n < cap; n++, i = (i + 1) & (cap - 1)) {
		if (ct->child[i].pid == pid)
			return &ct->child[i];
		if (ct->child[i].pid == 0)
			return NULL;
	}
	return NULL;
}

struct child *
ct_add(struct conntable *ct, pid_t pid, enum child_kind kind)
{
	struct child c = { .pid = pid, .kind = (uint8_t)kind, .chan = -1 };
	struct child *p;

	/* Keep the load at most 1/2 so probes stay short. */
	if (pid <= 0 || (ct->nchildren + 1) * 2 > ct->child_cap)
		return NULL;
	p = child_insert(ct->child, ct->child_cap, &c);
	if (p != NULL)
		ct->nchildren++;
	return p;
}

bool
ct_remove(struct conntable *ct, pid_t pid, struct child *out)
{
	size_t cap = ct->child_cap;
	struct child *c = ct_find(ct, pid);
	size_t i, j;

	if (c == NULL)
		return false;
	if (out != NULL)
		*out = *c;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	i = (size_t)(c - ct->child);
	j = i;
	for (size_t n = 0; n < cap; n++) {
		size_t home;

		j = (j + 1) & (cap - 1);
		if (ct->child[j].pid == 0)
			break;
		home = pid_hash(ct->child[j].pid, cap);
		/* Move j back to i unless its home lies in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			ct->child[i] = ct->child[j];
			i = j;
		}
	}
	memset(&ct->child[i], 0, sizeof(ct->child[i]));
	ct->nchildren--;
	return true;
}

unsigned
ct_source_count(const struct conntable *ct, const struct addr_key *key)
{
	bool found;
	struct source *s = source_slot(ct->src, ct->src_cap, key, &found);

	return (s != NULL && found) ? s->count : 0;
}

int
ct_source_ref(struct conntable *ct, const struct addr_key *key)
{
	bool found;
	struct source *s = source_slot(ct->src, ct->src_cap, key, &found);

	if (s == NULL)
		return -1;
	if (!found) {
		if ((ct->nsources + 1) * 2 > ct->src_cap)
			return -1;
		s->key = *key;
		ct->nsources++;
	}
	s->count++;
	return 0;
}

void
ct_source_unref(struct conntable *ct, const struct addr_key *key)
{
	size_t cap = ct->src_cap, i, j;
	bool found;
	struct source *s = source_slot(ct->src, cap, key, &found);

	if (s == NULL || !found)
		return;
	if (--s->count > 0)
		return;
	i = (size_t)(s - ct->src);
	j = i;
	for (size_t n = 0; n < cap; n++) {
		size_t home;

		j = (j + 1) & (cap - 1);
		if (ct->src[j].count == 0)
			break;
		home = addr_key_hash(&ct->src[j].key) & (cap - 1);
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			ct->src[i] = ct->src[j];
			i = j;
		}
	}
	memset(&ct->src[i], 0, sizeof(ct->src[i]));
	ct->nsources--;
}

int64_t
ct_slot_alloc(struct conntable *ct)
{
	if (ct->nfree > 0)
		return ct->free_slots[--ct->nfree];
	if (ct->slot_hwm < ct->slot_cap)
		return ct->slot_hwm++;
	return -1;
}

void
ct_slot_free(struct conntable *ct, uint32_t slot)
{
	if (slot < ct->slot_hwm && ct->nfree < ct->slot_cap)
		ct->free_slots[ct->nfree++] = slot;
}

void
ct_foreach(struct conntable *ct, void (*fn)(struct child *, void *),
    void *arg)
{
	for (size_t i = 0; i < ct->child_cap; i++)
		if (ct->child[i].pid != 0)
			fn(&ct->child[i], arg);
}
