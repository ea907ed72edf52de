/* SPDX-License-Identifier: ISC */
/*
 * Making bytes fit for JSON and for people: programs print whatever bytes
 * they like and paths need not be UTF-8, but a JSON string must be UTF-8.
 * utf8_escape() keeps valid UTF-8 as it is and writes each byte that does
 * not start a valid sequence as U+FFFD followed by the byte in two
 * upper-case hex digits ("caf\xe9" becomes "caf\uFFFDE9"): valid, visible,
 * and reversible by utf8_unescape(), because a U+FFFD of the input is
 * escaped the same way (its three bytes, "\uFFFDEF\uFFFDBF\uFFFDBD").
 * The escape stands only for bytes 0x80 to 0xff (no other byte is ever
 * invalid), so unescaping never makes a NUL.
 */
#include <string.h>

#include "common.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;      /* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f;      /* no UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;      /* nothing above U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return len;
}

#define UTF8_R "\xef\xbf\xbd"          /* U+FFFD */
#define UTF8_ESC_LEN 5                  /* U+FFFD and two hex digits */

static int
utf8_is_r(const unsigned char *p, size_t n)
{
	return n >= 3 && memcmp(p, UTF8_R, 3) == 0;
}

/*
 * How many bytes at p (n of them) utf8_escape() writes one by one as
 * escapes: those of an invalid sequence (1) or of a U+FFFD (3); 0 for a
 * valid sequence it keeps.
 */
static size_t
utf8_escaped(const unsigned char *p, size_t n, size_t *seq)
{
	*seq = utf8_seq(p, n);
	if (*seq == 0)
		return 1;
	return utf8_is_r(p, n) ? 3 : 0;
}

/* Whether the len bytes at s are valid UTF-8 that utf8_escape() keeps. */
int
utf8_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, seq;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (utf8_escaped(p + i, len - i, &seq) != 0)
			return 0;
		i += seq;
	}
	return 1;
}

/*
 * Returns a NUL-terminated, valid UTF-8 copy of the len bytes at s with
 * every invalid byte escaped (see above), its length in *out_len; the
 * caller frees it.
 */
char *
utf8_escape(const char *s, size_t len, size_t *out_len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	char *out = xreallocarray(NULL, len + 1, UTF8_ESC_LEN);
	size_t i = 0, o = 0, k, seq;

	while (i < len) {
		k = utf8_escaped(p + i, len - i, &seq);
		if (k == 0) {
			memcpy(out + o, p + i, seq);
			o += seq;
			i += seq;
			continue;
		}
		for (; k > 0; k--, i++) {
			memcpy(out + o, UTF8_R, 3);
			out[o + 3] = hex[p[i] >> 4];
			out[o + 4] = hex[p[i] & 0xf];
			o += UTF8_ESC_LEN;
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

static int
utf8_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Whether s holds an escape that utf8_unescape() would turn into a byte. */
int
utf8_has_escape(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i + UTF8_ESC_LEN <= len; i++) {
		if (utf8_is_r(p + i, len - i) && utf8_hex(p[i + 3]) >= 8 &&
		    utf8_hex(p[i + 4]) >= 0)
			return 1;
	}
	return 0;
}

/*
 * The bytes utf8_escape() was given: each U+FFFD followed by two hex
 * digits 80 to FF becomes that byte, anything else stays.  Returns a
 * NUL-terminated copy, its length in *out_len; the caller frees it.
 */
char *
utf8_unescape(const char *s, size_t len, size_t *out_len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = xmalloc(len + 1);
	size_t i = 0, o = 0;
	int hi, lo;

	while (i < len) {
		if (i + UTF8_ESC_LEN <= len && utf8_is_r(p + i, len - i) &&
		    (hi = utf8_hex(p[i + 3])) >= 8 &&
		    (lo = utf8_hex(p[i + 4])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += UTF8_ESC_LEN;
			continue;
		}
		out[o++] = (char)p[i++];
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}
