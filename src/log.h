/*
 * log.h: the daemon's log (log.c): to standard error in the foreground, to
 * syslog otherwise, as text or as JSON lines. Lines about an invocation
 * carry its id, rule and pool (log_inv).
 */
#ifndef MB_LOG_H
#define MB_LOG_H

enum log_level { LOG_LV_ERR, LOG_LV_WARN, LOG_LV_INFO, LOG_LV_DEBUG };

/* ident, to standard error (else syslog), level, syslog facility, JSON */
void	log_init(const char *, int, enum log_level);
void	log_configure(int, int);
void	log_set_level(enum log_level);
int	log_level_from_name(const char *, enum log_level *);
void	log_msg(enum log_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* A line about an invocation: id, rule, pool, then the message. */
void	log_inv(enum log_level, const char *, const char *, const char *,
	    const char *, ...) __attribute__((format(printf, 5, 6)));

#define log_err(...)	log_msg(LOG_LV_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LV_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LV_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LV_DEBUG, __VA_ARGS__)

#endif
