/*
 * conf.h: the syntax shared by moonboxd.conf and policy files (conf.c).
 * The LPeg grammar lua-stdlib/conf.lua turns text into a tree of statements
 * in a trusted parsing state; C gives them meaning through tables of
 * keywords, so each file's vocabulary is one array.
 */
#ifndef MB_CONF_H
#define MB_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONF_FILE_MAX	(1u << 20)

enum conf_kind { CONF_STRING, CONF_NUMBER, CONF_WORD };

struct conf_arg {
	enum conf_kind	 kind;
	char		*text;
	int		 line, col;
};

struct conf_stmt {
	char		*name;
	int		 line, col;
	struct conf_arg	*args;
	int		 nargs;
	struct conf_stmt *block;	/* NULL when the statement has none */
	int		 nblock;
};

struct conf_file {
	char		*path;
	struct conf_stmt *stmts;
	int		 nstmts;
};

/* Where errors go: "path:line:col: message". */
struct conf_err {
	const char	*path;
	char		*buf;
	size_t		 len;
};

/* A keyword: how many arguments, whether it takes a block, and what it
 * does. ctx is the caller's. */
struct conf_key {
	const char	*name;
	int		 minargs, maxargs;	/* maxargs -1: no upper bound */
	int		 block;			/* 1: a block is required */
	int		(*apply)(void *, const struct conf_stmt *,
			    struct conf_err *);
};

int	conf_read(const char *, struct conf_file *, char *, size_t);
int	conf_parse(const char *, const char *, size_t, struct conf_file *,
	    char *, size_t);
void	conf_free(struct conf_file *);
/* Apply each statement through the table; unknown keywords and wrong
 * argument counts are errors. */
int	conf_apply(const struct conf_stmt *, int, const struct conf_key *,
	    void *, struct conf_err *);
/* The same for a file of secrets, read and applied whole: it must be
 * readable by its owner only, who is root or this process's user (named
 * in messages as who); the parsed text is wiped before it is freed. */
int	conf_apply_private(const char *, const char *, const struct conf_key *,
	    void *, char *, size_t);

int	conf_fail(struct conf_err *, int, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
int	conf_fail_arg(struct conf_err *, const struct conf_stmt *, int,
	    const char *);

/* Argument i of a statement, converted; errors name the argument. */
int	conf_str(struct conf_err *, const struct conf_stmt *, int,
	    const char **);
int	conf_size(struct conf_err *, const struct conf_stmt *, int, size_t *);
int	conf_time(struct conf_err *, const struct conf_stmt *, int,
	    uint64_t *);
int	conf_count(struct conf_err *, const struct conf_stmt *, int,
	    uint64_t *);
int	conf_mode(struct conf_err *, const struct conf_stmt *, int, mode_t *);

#endif
