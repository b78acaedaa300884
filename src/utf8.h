/* utf8.h: UTF-8 validity (utf8.c). */
#ifndef MB_UTF8_H
#define MB_UTF8_H

#include <stddef.h>

int	utf8_valid(const char *, size_t);

#endif
