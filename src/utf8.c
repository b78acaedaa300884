/*
 * utf8.c: UTF-8 validity, as RFC 3629 defines it: no overlong forms, no
 * surrogates, nothing past U+10FFFF. Strings leave moonbox as msgpack str
 * and JSON only when they pass.
 */
#include "utf8.h"

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	while (p < e) {
		unsigned c = *p++, need, min;
		unsigned long cp;

		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			return 0;
		if ((size_t)(e - p) < need)
			return 0;
		while (need--) {
			if ((*p & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (*p++ & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	}
	return 1;
}

void
utf8_scrub(char *s, size_t n)
{
	if (utf8_valid(s, n))
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] & 0x80)
			s[i] = '?';
}
