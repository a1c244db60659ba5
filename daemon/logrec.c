/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Log records: encoding in every process, checking in the control plane
 * (logrec.h).
 */
#include "logrec.h"

#include <string.h>

/* The fixed part of an encoded record. */
struct logrec_wire {
	uint8_t prio, ev, nfields, zero;
	int32_t err;
	uint32_t line, dropped;
};

/* Fields journal.c sets from the record's header and the sender. */
static const char *const reserved[] = { "MESSAGE", "MESSAGE_ID", "PRIORITY",
	"SYSLOG_IDENTIFIER", "SYSLOG_PID", "SYSLOG_FACILITY", "CODE_FILE",
	"CODE_LINE", "CODE_FUNC", "ERRNO", "ECHOD_ROLE", "ECHOD_PID" };

bool
logrec_valid_name(const char *p, size_t n)
{
	if (n == 0 || n > LOGREC_MAX_NAME || p[0] == '_' ||
	    (p[0] >= '0' && p[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return false;
	return true;
}

bool
logrec_reserved_name(const char *p, size_t n)
{
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strlen(reserved[i]) == n && memcmp(reserved[i], p, n) == 0)
			return true;
	return false;
}

/* Append a u16 length and the bytes (cut to max); false if no room. */
static bool
put_str(char *buf, size_t cap, size_t *len, struct logrec_str s, size_t max)
{
	uint16_t n = (uint16_t)(s.n < max ? s.n : max);

	if (cap - *len < sizeof(n) + n)
		return false;
	memcpy(buf + *len, &n, sizeof(n));
	if (n > 0)
		memcpy(buf + *len + sizeof(n), s.p, n);
	*len += sizeof(n) + n;
	return true;
}

size_t
logrec_encode(const struct logrec *r, char *buf, size_t cap)
{
	struct logrec_wire w = { .prio = r->prio, .ev = r->ev,
		.err = r->err, .line = r->line, .dropped = r->dropped };
	size_t len = sizeof(w), nf = 0, mark;

	if (cap < sizeof(w) + 4 * sizeof(uint16_t))
		return 0;
	if (!put_str(buf, cap, &len, r->file, LOGREC_MAX_CODE) ||
	    !put_str(buf, cap, &len, r->func, LOGREC_MAX_CODE) ||
	    !put_str(buf, cap, &len, r->role, LOGREC_MAX_ROLE))
		return 0;
	mark = len;
	if (!put_str(buf, cap, &len, r->msg, LOGREC_MAX_MSG)) {
		/* Cut MESSAGE to what is left rather than lose the record. */
		struct logrec_str m = r->msg;

		m.n = cap - mark - sizeof(uint16_t);
		if (!put_str(buf, cap, &len, m, LOGREC_MAX_MSG))
			return 0;
	}
	for (size_t i = 0; i < r->nfields && i < LOGREC_MAX_FIELDS; i++) {
		const struct logrec_field *f = &r->field[i];
		uint16_t n = (uint16_t)(f->name.n + 1 + f->value.n);

		/* A field is whole or absent: a cut value would lie. */
		if (f->name.n + 1 + f->value.n > LOGREC_MAX_FIELD ||
		    !logrec_valid_name(f->name.p, f->name.n))
			continue;
		if (cap - len < sizeof(n) + n)
			break;
		memcpy(buf + len, &n, sizeof(n));
		memcpy(buf + len + sizeof(n), f->name.p, f->name.n);
		buf[len + sizeof(n) + f->name.n] = '=';
		if (f->value.n > 0)
			memcpy(buf + len + sizeof(n) + f->name.n + 1, f->value.p,
			    f->value.n);
		len += sizeof(n) + n;
		nf++;
	}
	w.nfields = (uint8_t)nf;
	memcpy(buf, &w, sizeof(w));
	return len;
}

static bool
get_str(const char *buf, size_t n, size_t *off, size_t max,
    struct logrec_str *s)
{
	uint16_t len;

	if (n - *off < sizeof(len))
		return false;
	memcpy(&len, buf + *off, sizeof(len));
	*off += sizeof(len);
	if (len > max || n - *off < len)
		return false;
	s->p = buf + *off;
	s->n = len;
	*off += len;
	return true;
}

/* CODE_FILE, CODE_FUNC: what a compiler writes there, printable ASCII. */
static bool
plain(struct logrec_str s)
{
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] <= ' ' || s.p[i] > '~')
			return false;
	return true;
}

static bool
role_ok(struct logrec_str s)
{
	if (s.n == 0)
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (!((s.p[i] >= 'a' && s.p[i] <= 'z') || s.p[i] == '-'))
			return false;
	return true;
}

int
logrec_decode(const char *buf, size_t n, unsigned max_ev, struct logrec *r,
    const char **err)
{
	struct logrec_wire w;
	size_t off = sizeof(w);

	memset(r, 0, sizeof(*r));
	if (n < sizeof(w) || n > LOGREC_MAX) {
		*err = "bad length";
		return -1;
	}
	memcpy(&w, buf, sizeof(w));
	if (w.prio > 7 || w.ev >= max_ev || w.zero != 0 ||
	    w.nfields > LOGREC_MAX_FIELDS || w.err < 0) {
		*err = "bad header";
		return -1;
	}
	r->prio = w.prio;
	r->ev = w.ev;
	r->err = w.err;
	r->line = w.line;
	r->dropped = w.dropped;
	if (!get_str(buf, n, &off, LOGREC_MAX_CODE, &r->file) ||
	    !get_str(buf, n, &off, LOGREC_MAX_CODE, &r->func) ||
	    !get_str(buf, n, &off, LOGREC_MAX_ROLE, &r->role) ||
	    !get_str(buf, n, &off, LOGREC_MAX_MSG, &r->msg)) {
		*err = "cut short";
		return -1;
	}
	if (!plain(r->file) || !plain(r->func) || !role_ok(r->role)) {
		*err = "bad code location or role";
		return -1;
	}
	for (size_t i = 0; i < w.nfields; i++) {
		struct logrec_field *f = &r->field[i];
		struct logrec_str s;
		const char *eq;

		if (!get_str(buf, n, &off, LOGREC_MAX_FIELD, &s)) {
			*err = "cut short";
			return -1;
		}
		eq = memchr(s.p, '=', s.n);
		if (eq == NULL || !logrec_valid_name(s.p, (size_t)(eq - s.p)) ||
		    logrec_reserved_name(s.p, (size_t)(eq - s.p))) {
			*err = "bad field name";
			return -1;
		}
		f->name = (struct logrec_str){ s.p, (size_t)(eq - s.p) };
		f->value = (struct logrec_str){ eq + 1, s.n - f->name.n - 1 };
	}
	r->nfields = w.nfields;
	if (off != n) {
		*err = "trailing bytes";
		return -1;
	}
	return 0;
}
