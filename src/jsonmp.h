/*
 * jsonmp.h: JSON text to msgpack and msgpack to JSON text, with jansson
 * (jsonmp.c). Used by the CLI (input and output) and by the sandbox's json.
 */
#ifndef MB_JSONMP_H
#define MB_JSONMP_H

#include <stddef.h>

#include <jansson.h>
#include <msgpack.h>

/* Parse JSON text into msgpack. Returns 0, or -1 with a message in err. */
int	 jmp_from_json(const char *, size_t, msgpack_sbuffer *, char *, size_t);
int	 jmp_from_tree(json_t *, msgpack_sbuffer *, char *, size_t);
/* Render the one msgpack value in buf as compact JSON text (malloc'ed,
 * NUL-terminated). Object keys come out in byte order; each real uses the
 * fewest digits that read back to the same double. */
char	*jmp_to_json(const char *, size_t, char *, size_t);
/* The jansson tree of a msgpack value, and its text as jmp_to_json writes
 * it (into memory freed with free()). */
json_t	*jmp_tree(const char *, size_t, char *, size_t);
char	*jmp_dump(json_t *);
int	 jmp_digits(double);

#endif
