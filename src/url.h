/*
 * url.h: the URLs of http.request as the policy judges them and the broker
 * requests them, and the URL patterns of `allow http` (url.c). See
 * moonbox.policy(5), "URL patterns" and "Normalization".
 *
 * A URL is parsed and normalized once; the policy matches its parts and
 * the HTTP engine requests exactly url.normalized, so what was judged is
 * what is fetched.
 */
#ifndef MB_URL_H
#define MB_URL_H

#include <stddef.h>

#define URL_MAX		8192	/* bytes of a URL, as given or normalized */
#define URL_HOST_MAX	253	/* a DNS name; an IPv6 literal is shorter */
#define URL_PORT_DEFAULT 0	/* pattern: the scheme's default port only */
#define URL_PORT_ANY	(-1)	/* pattern: ":*" */

struct url {
	char		 scheme[6];		/* "http" or "https" */
	char		 host[URL_HOST_MAX + 1];/* lower case, no final dot;
						 * IPv6 without brackets */
	int		 port;			/* 1..65535, default filled in */
	int		 ip;			/* 0: a name; 4 or 6: a literal */
	unsigned char	 addr[16];		/* the literal's bytes */
	char		 path[URL_MAX + 1];	/* normalized path, ?query */
	char		 normalized[URL_MAX + 1];/* what is requested */
};

struct url_pattern {
	char		 scheme[6];
	char		 host[URL_HOST_MAX + 1];/* without the "*." */
	int		 wild;			/* "*.host": one or more labels
						 * before host, never host */
	int		 port;			/* or URL_PORT_DEFAULT, _ANY */
	int		 ip;			/* host is a literal address */
	unsigned char	 addr[16];
	char		*path;			/* '*' matches any run */
};

/* Which part of a URL a pattern refused, in the order they are compared
 * (the host first: it says most about which pattern was meant); a larger
 * value got further. */
enum url_miss {
	URL_MATCH = 0,
	URL_MISS_HOST,
	URL_MISS_SCHEME,
	URL_MISS_PORT,
	URL_MISS_PATH,
};

/* Parse and normalize a URL: http or https, a host, no userinfo; the
 * fragment is dropped. -1 and a message saying what is wrong. */
int	url_parse(const char *, struct url *, char *, size_t);
/* The same for bytes that may hold a NUL, which is refused. */
int	url_parsen(const char *, size_t, struct url *, char *, size_t);
/* A struct url holds no allocation: this only clears it. */
void	url_free(struct url *);
int	url_default_port(const char *);

int	url_pattern_parse(const char *, struct url_pattern *, char *, size_t);
void	url_pattern_free(struct url_pattern *);
enum url_miss url_pattern_match(const struct url_pattern *,
	    const struct url *);
/* The pattern's host as written: "*.corp.example", "[::1]". */
void	url_pattern_host(const struct url_pattern *, char *, size_t);
/* A '*' glob: '*' matches any run of bytes, '/' included. */
int	url_glob(const char *, const char *);

#endif
