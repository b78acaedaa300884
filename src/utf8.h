/* utf8.h: UTF-8 validity (utf8.c), and text made valid. */
#ifndef MB_UTF8_H
#define MB_UTF8_H

#include <stddef.h>

int	utf8_valid(const char *, size_t);
/* Make text valid UTF-8 in place: if it is not, every byte above 127
 * becomes '?'. For messages that echo bytes someone else sent. */
void	utf8_scrub(char *, size_t);

#endif
