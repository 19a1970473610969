/*
 * profiled's one internal header: the types modules share and every
 * module's prototypes, grouped under the name of the file that defines them.
 * A module's functions carry its file name as their prefix.
 */
#ifndef PROFILED_H
#define PROFILED_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROFILED_VERSION	"0.1.0"

#define printflike(a, b)	__attribute__((format(printf, a, b)))

/* log.c */
void	 log_init(const char *, int);
void	 log_warn(const char *, ...) printflike(1, 2);
void	 log_warnx(const char *, ...) printflike(1, 2);
void	 log_info(const char *, ...) printflike(1, 2);
void	 log_debug(const char *, ...) printflike(1, 2);
void	 fatal(const char *, ...) printflike(1, 2) __attribute__((noreturn));
void	 fatalx(const char *, ...) printflike(1, 2) __attribute__((noreturn));

/* xmalloc.c */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) printflike(2, 3);
int	 xvasprintf(char **, const char *, va_list) printflike(2, 0);

/* config.c */
struct config {
	char	*file;		/* the config file that was read, or NULL */
	char	*package_file;
	char	*profile;
	char	*state_dir;
	char	*socket_path;
	int	 debounce_ms;
	int	 auto_switch;
	int	 notify;
	char	**nix_flags;	/* NULL-terminated words of nix_flags */
};
int	 config_init(struct config *, char **);
int	 config_read(struct config *, const char *, int, char **);
int	 config_set(struct config *, const char *, const char *, const char *,
	     char **);
void	 config_free(struct config *);
char	*config_default_file(void);
int	 config_split_words(const char *, char ***, char **);
void	 config_free_words(char **);

/* json.c */
enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
};
struct json {
	enum json_type	  type;
	int		  boolean;
	double		  number;
	char		 *string;	/* NUL-terminated, UTF-8 */
	size_t		  count;	/* array items or object members */
	struct json	**items;
	char		**keys;		/* object member names, else NULL */
};
struct json	*json_parse(const char *, size_t, char **);
void		 json_free(struct json *);
const struct json *json_get(const struct json *, const char *);
void		 json_write_string(FILE *, const char *);

/* sha256.c */
#define SHA256_HEX_SIZE	65
void	 sha256_hex(const void *, size_t, char [SHA256_HEX_SIZE]);

#endif
