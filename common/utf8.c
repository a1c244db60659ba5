/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Strict UTF-8 (RFC 3629 / Unicode table 3-7) and control-character
 * handling for chat text. See utf8.h for the contracts.
 */
#include <string.h>

#include "uniformat.h"
#include "utf8.h"

/* U+FFFD REPLACEMENT CHARACTER */
static const char utf8_repl[3] = {'\xef', '\xbf', '\xbd'};

/*
 * Bounded output with snprintf-like accounting: units are written whole
 * or not at all, and after the first unit that does not fit nothing more
 * is written (so the output is a prefix), but need keeps counting.
 */
struct utf8_out {
	char *p;
	size_t cap;
	size_t len;  /* bytes written, always < cap when cap > 0 */
	size_t need; /* bytes the whole output needs */
	bool full;
};

static void
utf8_out_init(struct utf8_out *o, char *p, size_t cap)
{
	o->p = p;
	o->cap = cap;
	o->len = 0;
	o->need = 0;
	o->full = false;
}

static void
utf8_out_put(struct utf8_out *o, const void *unit, size_t n)
{
	/* n < cap - len keeps one byte for the NUL; cap == 0 never fits. */
	if (!o->full && o->cap > o->len && n < o->cap - o->len) {
		memcpy(o->p + o->len, unit, n);
		o->len += n;
	} else
		o->full = true;
	o->need += n;
}

static size_t
utf8_out_end(struct utf8_out *o)
{
	if (o->cap > 0)
		o->p[o->len] = '\0';
	return o->need;
}

/*
 * Sequence length announced by lead byte b, and the range its second byte
 * must fall in: narrower than 80..BF right after E0 (overlongs), ED
 * (surrogates), F0 (overlongs) and F4 (above U+10FFFF). Returns 0 for a
 * byte that cannot start a sequence: 80..BF, C0, C1 (overlong), F5..FF.
 */
static size_t
utf8_lead(unsigned char b, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (b < 0x80)
		return 1;
	if (b < 0xc2)
		return 0;
	if (b < 0xe0)
		return 2;
	if (b < 0xf0) {
		if (b == 0xe0)
			*lo = 0xa0;
		else if (b == 0xed)
			*hi = 0x9f;
		return 3;
	}
	if (b < 0xf5) {
		if (b == 0xf0)
			*lo = 0x90;
		else if (b == 0xf4)
			*hi = 0x8f;
		return 4;
	}
	return 0;
}

size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	unsigned char lo, hi;
	size_t len, i;
	uint32_t c;

	if (n == 0)
		return 0;
	len = utf8_lead(s[0], &lo, &hi);
	if (len == 0 || n < len)
		return 0;
	c = s[0] & lead_mask[len];
	for (i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (cp != NULL)
		*cp = c;
	return len;
}

size_t
utf8_valid_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0, len;

	/* Each step advances by 1..4 bytes: at most n steps. */
	while (i < n) {
		/* Runs of ASCII are the common case. */
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((len = utf8_decode(s + i, n - i, NULL)) == 0)
			break;
		i += len;
	}
	return i;
}

bool
utf8_valid(const unsigned char *s, size_t n)
{
	return utf8_valid_prefix(s, n) == n;
}

size_t
utf8_trim_partial(const unsigned char *s, size_t n)
{
	unsigned char lo, hi;
	size_t k, len;

	/* A partial sequence is a lead byte and at most 2 continuations. */
	for (k = 1; k <= 3 && k <= n; k++) {
		if (s[n - k] >= 0x80 && s[n - k] < 0xc0)
			continue;
		len = utf8_lead(s[n - k], &lo, &hi);
		if (len <= k)
			return n; /* complete, or not a lead at all */
		/* Cut only what is truly the start of a valid sequence. */
		if (k >= 2 && (s[n - k + 1] < lo || s[n - k + 1] > hi))
			return n;
		return n - k;
	}
	return n;
}

size_t
utf8_sanitize(const unsigned char *in, size_t n, char *out, size_t cap)
{
	struct utf8_out o;
	uint32_t cp;
	size_t i = 0, len;

	utf8_out_init(&o, out, cap);
	while (i < n) {
		len = utf8_decode(in + i, n - i, &cp);
		if (len == 0) {
			/* One U+FFFD per invalid byte, then resync. */
			utf8_out_put(&o, utf8_repl, sizeof(utf8_repl));
			i++;
			continue;
		}
		if ((cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f))
			utf8_out_put(&o, utf8_repl, sizeof(utf8_repl));
		else
			utf8_out_put(&o, in + i, len);
		i += len;
	}
	return utf8_out_end(&o);
}

/*
 * "<U+XXXX>": 4 to 6 upper-case hex digits, as many as cp needs beyond
 * 4. Writes at most 10 bytes to u; returns how many.
 */
static size_t
term_uplus(uint32_t cp, char *u)
{
	static const char HEX[] = "0123456789ABCDEF";
	int digits = cp > 0xfffff ? 6 : cp > 0xffff ? 5 : 4;
	size_t n = 3;

	memcpy(u, "<U+", 3);
	for (int d = digits - 1; d >= 0; d--)
		u[n++] = HEX[(cp >> (4 * d)) & 0xf];
	u[n++] = '>';
	return n;
}

size_t
term_escape(const unsigned char *in, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	struct utf8_out o;
	char u[12];
	uint32_t cp;
	size_t i = 0, len;

	utf8_out_init(&o, out, cap);
	while (i < n) {
		len = utf8_decode(in + i, n - i, &cp);
		if (len == 0) {
			u[0] = '\\';
			u[1] = 'x';
			u[2] = hex[in[i] >> 4];
			u[3] = hex[in[i] & 0xf];
			utf8_out_put(&o, u, 4);
			i++;
			continue;
		}
		if (cp == '\t')
			utf8_out_put(&o, " ", 1);
		else if (cp < 0x20 || cp == 0x7f) {
			/* Caret notation: ^@ .. ^_ and ^? for DEL. */
			u[0] = '^';
			u[1] = (char)(cp ^ 0x40);
			utf8_out_put(&o, u, 2);
		} else if ((cp >= 0x80 && cp <= 0x9f) || uniformat_is(cp)) {
			/* C1, and what draws as nothing or reorders the
			 * display: Cf (bidi, zero-width, tags), U+2028/9. */
			utf8_out_put(&o, u, term_uplus(cp, u));
		} else
			utf8_out_put(&o, in + i, len);
		i += len;
	}
	return utf8_out_end(&o);
}
