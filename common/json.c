#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* ------------------------------------------------------------ escaping */

size_t
json_escape(const char *in, size_t n, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t len = 0, fit = 0;
	bool full = false;

	for (size_t i = 0; i < n;) {
		char esc[8];
		const char *unit = esc;
		size_t k;

		if (s[i] >= 0x80) {
			k = utf8_decode(s + i, n - i, NULL);
			if (k == 0) {
				unit = "\\ufffd";
				k = 6;
				i++;
			} else {
				unit = (const char *)s + i;
				i += k;
			}
		} else if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)s[i++];
			k = 2;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			static const char short_esc[] = "btn\0fr";
			unsigned char c = s[i++];

			if (c >= '\b' && c <= '\r' && short_esc[c - '\b']) {
				esc[0] = '\\';
				esc[1] = short_esc[c - '\b'];
				k = 2;
			} else {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				k = 6;
			}
		} else {
			unit = (const char *)s + i++;
			k = 1;
		}
		/* Whole units only: once one does not fit, nothing more. */
		if (!full && fit + k < cap) {
			memcpy(out + fit, unit, k);
			fit += k;
		} else {
			full = true;
		}
		len += k;
	}
	if (cap > 0)
		out[fit] = '\0';
	return len;
}

/* ------------------------------------------------------------- writing */

void
jb_init(struct jbuf *jb, char *buf, size_t cap)
{
	*jb = (struct jbuf){.buf = buf, .cap = cap};
	if (cap == 0)
		jb->overflow = true;
	else
		buf[0] = '\0';
}

static void
jb_put(struct jbuf *jb, const char *s, size_t n)
{
	if (jb->overflow || jb->len + n >= jb->cap) {
		jb->overflow = true;
		return;
	}
	memcpy(jb->buf + jb->len, s, n);
	jb->len += n;
	jb->buf[jb->len] = '\0';
}

static void
jb_value_start(struct jbuf *jb)
{
	if (jb->need_comma)
		jb_put(jb, ",", 1);
	jb->need_comma = false;
}

void
jb_begin_object(struct jbuf *jb)
{
	jb_value_start(jb);
	jb_put(jb, "{", 1);
}

void
jb_end_object(struct jbuf *jb)
{
	jb_put(jb, "}", 1);
	jb->need_comma = true;
}

void
jb_begin_array(struct jbuf *jb)
{
	jb_value_start(jb);
	jb_put(jb, "[", 1);
}

void
jb_end_array(struct jbuf *jb)
{
	jb_put(jb, "]", 1);
	jb->need_comma = true;
}

void
jb_string(struct jbuf *jb, const char *s)
{
	size_t n = strlen(s), room, need;

	jb_value_start(jb);
	jb_put(jb, "\"", 1);
	if (jb->overflow)
		return;
	room = jb->cap - jb->len;
	need = json_escape(s, n, jb->buf + jb->len, room);
	if (need >= room) {
		jb->buf[jb->len] = '\0';
		jb->overflow = true;
		return;
	}
	jb->len += need;
	jb_put(jb, "\"", 1);
	jb->need_comma = true;
}

void
jb_key(struct jbuf *jb, const char *key)
{
	jb_string(jb, key);
	jb_put(jb, ":", 1);
	jb->need_comma = false;
}

void
jb_u64(struct jbuf *jb, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);

	jb_value_start(jb);
	jb_put(jb, num, (size_t)n);
	jb->need_comma = true;
}

void
jb_i64(struct jbuf *jb, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	jb_value_start(jb);
	jb_put(jb, num, (size_t)n);
	jb->need_comma = true;
}

void
jb_bool(struct jbuf *jb, bool v)
{
	jb_value_start(jb);
	jb_put(jb, v ? "true" : "false", v ? 4 : 5);
	jb->need_comma = true;
}

const char *
jb_finish(struct jbuf *jb)
{
	return jb->overflow ? NULL : jb->buf;
}

/* ------------------------------------------------------------- reading */

struct cur {
	const char *s;
	size_t n, i;
};

static void
skip_ws(struct cur *c)
{
	while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' ||
				  c->s[c->i] == '\n' || c->s[c->i] == '\r'))
		c->i++;
}

static bool
at(const struct cur *c, char ch)
{
	return c->i < c->n && c->s[c->i] == ch;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Four hex digits at s[i..]: the value, or -1. */
static long
hex4(const struct cur *c, size_t i)
{
	long v = 0;

	if (i > c->n || c->n - i < 4)
		return -1;
	for (size_t k = 0; k < 4; k++) {
		int h = hexval(c->s[i + k]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* At '"': past the closing quote. Checks escapes and UTF-8. */
static int
skip_string(struct cur *c)
{
	if (!at(c, '"'))
		return -1;
	c->i++;
	while (c->i < c->n) {
		unsigned char ch = (unsigned char)c->s[c->i];

		if (ch == '"') {
			c->i++;
			return 0;
		}
		if (ch < 0x20)
			return -1;
		if (ch == '\\') {
			if (++c->i >= c->n)
				return -1;
			if (strchr("\"\\/bfnrt", c->s[c->i]) != NULL &&
			    c->s[c->i] != '\0') {
				c->i++;
			} else if (c->s[c->i] == 'u') {
				if (hex4(c, c->i + 1) < 0)
					return -1;
				c->i += 5;
			} else {
				return -1;
			}
		} else if (ch >= 0x80) {
			size_t k =
			    utf8_decode((const unsigned char *)c->s + c->i,
				c->n - c->i, NULL);

			if (k == 0)
				return -1;
			c->i += k;
		} else {
			c->i++;
		}
	}
	return -1;
}

static bool
digit_at(const struct cur *c)
{
	return c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9';
}

static int
skip_number(struct cur *c)
{
	if (at(c, '-'))
		c->i++;
	if (at(c, '0')) {
		c->i++;
	} else if (digit_at(c)) {
		while (digit_at(c))
			c->i++;
	} else {
		return -1;
	}
	if (at(c, '.')) {
		c->i++;
		if (!digit_at(c))
			return -1;
		while (digit_at(c))
			c->i++;
	}
	if (at(c, 'e') || at(c, 'E')) {
		c->i++;
		if (at(c, '+') || at(c, '-'))
			c->i++;
		if (!digit_at(c))
			return -1;
		while (digit_at(c))
			c->i++;
	}
	return 0;
}

static int
skip_literal(struct cur *c, const char *lit)
{
	size_t n = strlen(lit);

	if (c->n - c->i < n || memcmp(c->s + c->i, lit, n) != 0)
		return -1;
	c->i += n;
	return 0;
}

/* One value from c->i (white space before it skipped); recursion bounded. */
static int
skip_value(struct cur *c, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return -1;
	skip_ws(c);
	if (c->i >= c->n)
		return -1;
	switch (c->s[c->i]) {
	case '{':
		c->i++;
		skip_ws(c);
		if (at(c, '}')) {
			c->i++;
			return 0;
		}
		for (;;) {
			skip_ws(c);
			if (skip_string(c) == -1)
				return -1;
			skip_ws(c);
			if (!at(c, ':'))
				return -1;
			c->i++;
			if (skip_value(c, depth + 1) == -1)
				return -1;
			skip_ws(c);
			if (at(c, ',')) {
				c->i++;
				continue;
			}
			if (!at(c, '}'))
				return -1;
			c->i++;
			return 0;
		}
	case '[':
		c->i++;
		skip_ws(c);
		if (at(c, ']')) {
			c->i++;
			return 0;
		}
		for (;;) {
			if (skip_value(c, depth + 1) == -1)
				return -1;
			skip_ws(c);
			if (at(c, ',')) {
				c->i++;
				continue;
			}
			if (!at(c, ']'))
				return -1;
			c->i++;
			return 0;
		}
	case '"':
		return skip_string(c);
	case 't':
		return skip_literal(c, "true");
	case 'f':
		return skip_literal(c, "false");
	case 'n':
		return skip_literal(c, "null");
	default:
		return skip_number(c);
	}
}

int
json_parse(const char *doc, size_t n, struct json_span *value)
{
	struct cur c = {doc, n, 0};
	size_t start;

	skip_ws(&c);
	start = c.i;
	if (skip_value(&c, 0) == -1)
		return -1;
	value->p = doc + start;
	value->n = c.i - start;
	skip_ws(&c);
	return c.i == n ? 0 : -1;
}

int
json_get(struct json_span obj, const char *key, struct json_span *value)
{
	struct cur c = {obj.p, obj.n, 0};
	int found = 0;

	skip_ws(&c);
	if (!at(&c, '{'))
		return -1;
	c.i++;
	skip_ws(&c);
	if (at(&c, '}'))
		return 0;
	for (;;) {
		struct json_span k;
		char name[64];
		size_t vstart;

		skip_ws(&c);
		k.p = c.s + c.i;
		if (skip_string(&c) == -1)
			return -1;
		k.n = (size_t)(c.s + c.i - k.p);
		skip_ws(&c);
		if (!at(&c, ':'))
			return -1;
		c.i++;
		skip_ws(&c);
		vstart = c.i;
		if (skip_value(&c, 1) == -1)
			return -1;
		if (!found && json_string(k, name, sizeof(name)) == 0 &&
		    strcmp(name, key) == 0) {
			value->p = c.s + vstart;
			value->n = c.i - vstart;
			found = 1;
		}
		skip_ws(&c);
		if (at(&c, ',')) {
			c.i++;
			continue;
		}
		return at(&c, '}') ? found : -1;
	}
}

int
json_array_next(struct json_span arr, size_t *iter, struct json_span *elem)
{
	struct cur c = {arr.p, arr.n, *iter};
	size_t start;

	if (*iter > arr.n)
		return 0;
	skip_ws(&c);
	if (*iter == 0) {
		if (!at(&c, '['))
			return -1;
		c.i++;
		skip_ws(&c);
	} else if (at(&c, ',')) {
		c.i++;
		skip_ws(&c);
	} else if (!at(&c, ']')) {
		return -1;
	}
	if (at(&c, ']')) {
		*iter = arr.n + 1;
		return 0;
	}
	start = c.i;
	if (skip_value(&c, 1) == -1)
		return -1;
	elem->p = c.s + start;
	elem->n = c.i - start;
	*iter = c.i;
	return 1;
}

int
json_object_next(struct json_span obj, size_t *iter, struct json_span *key,
    struct json_span *value)
{
	struct cur c = {obj.p, obj.n, *iter};
	size_t start;

	if (*iter > obj.n)
		return 0;
	skip_ws(&c);
	if (*iter == 0) {
		if (!at(&c, '{'))
			return -1;
		c.i++;
		skip_ws(&c);
	} else if (at(&c, ',')) {
		c.i++;
		skip_ws(&c);
	} else if (!at(&c, '}')) {
		return -1;
	}
	if (at(&c, '}')) {
		*iter = obj.n + 1;
		return 0;
	}
	start = c.i;
	if (skip_string(&c) == -1)
		return -1;
	key->p = c.s + start;
	key->n = c.i - start;
	skip_ws(&c);
	if (!at(&c, ':'))
		return -1;
	c.i++;
	skip_ws(&c);
	start = c.i;
	if (skip_value(&c, 1) == -1)
		return -1;
	value->p = c.s + start;
	value->n = c.i - start;
	*iter = c.i;
	return 1;
}

int
json_u64(struct json_span v, uint64_t *out)
{
	uint64_t x = 0;

	if (v.n == 0 || v.n > 20 || (v.n > 1 && v.p[0] == '0'))
		return -1;
	for (size_t i = 0; i < v.n; i++) {
		unsigned d;

		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		d = (unsigned)(v.p[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

int
json_bool(struct json_span v, bool *out)
{
	if (v.n == 4 && memcmp(v.p, "true", 4) == 0)
		*out = true;
	else if (v.n == 5 && memcmp(v.p, "false", 5) == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* Append code point cp as UTF-8; -1 if it does not fit (NUL kept). */
static int
put_utf8(char *out, size_t cap, size_t *len, uint32_t cp)
{
	unsigned char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (*len + k >= cap)
		return -1;
	memcpy(out + *len, b, k);
	*len += k;
	return 0;
}

int
json_string(struct json_span v, char *out, size_t cap)
{
	struct cur c = {v.p, v.n, 0};
	size_t len = 0;

	if (cap == 0 || skip_string(&c) == -1 || c.i != v.n)
		return -1;
	/* Valid from here on: only the escapes need decoding. */
	for (size_t i = 1; i + 1 < v.n;) {
		uint32_t cp;

		if (v.p[i] != '\\') {
			if (len + 1 >= cap)
				return -1;
			out[len++] = v.p[i++];
			continue;
		}
		switch (v.p[i + 1]) {
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			cp = 0;
			break;
		default:
			cp = (unsigned char)v.p[i + 1];
			break;
		}
		if (v.p[i + 1] != 'u') {
			i += 2;
		} else {
			cp = (uint32_t)hex4(&c, i + 2);
			i += 6;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1; /* a low surrogate alone */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				long lo;

				if (i + 6 > v.n - 1 || v.p[i] != '\\' ||
				    v.p[i + 1] != 'u')
					return -1;
				lo = hex4(&c, i + 2);
				if (lo < 0xdc00 || lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (uint32_t)(lo - 0xdc00);
				i += 6;
			}
			if (cp == 0)
				return -1;
		}
		if (put_utf8(out, cap, &len, cp) == -1)
			return -1;
	}
	out[len] = '\0';
	return 0;
}

int
json_get_u64(struct json_span obj, const char *key, uint64_t *out)
{
	struct json_span v;

	if (json_get(obj, key, &v) != 1)
		return -1;
	return json_u64(v, out);
}

int
json_get_string(struct json_span obj, const char *key, char *out, size_t cap)
{
	struct json_span v;

	if (json_get(obj, key, &v) != 1)
		return -1;
	return json_string(v, out, cap);
}
