/*
 * profilectl import: turn what is installed in the profile into a package
 * file, so that a user who had packages from nix-env (or nix profile)
 * starts profiled losing nothing.
 *
 * The current generation's packages come from nix-env -q (its
 * manifest.nix), or from a nix profile's manifest.json.  Each is looked up
 * in <nixpkgs> by its name (pname) as an attribute, and kept only if that
 * attribute really is the package of that name, which one evaluation
 * checks for all of them; the names go to Nix as JSON through --argstr,
 * never pasted into Nix text.  What cannot be found is written as a
 * comment (name, version, store path), for the user to add by hand.
 *
 * The file is written where profiled reads it (asked of the daemon), and
 * never over an existing one: --print writes it to stdout instead.  Nix
 * runs here, in the client, which may block; the daemon never waits.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "profiled.h"
#include "client.h"

static int	cmd_import_exec(struct cmd_args *, struct client_options *);

static const struct cmd_option cmd_import_options[] = {
	{ "print", 0, NULL, "print the package file rather than write it" },
	{ "profile", 0, "PATH", "import this profile, not the one profiled "
	    "manages" },
	{ NULL, 0, NULL, NULL }
};

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.about = "write the package file from what the profile has installed",
	.options = cmd_import_options,
	.args = { 0, 0, NULL },
	.exec = cmd_import_exec
};

/* Checks each name is an attribute of <nixpkgs> whose pname is that name. */
static const char cmd_import_resolve_nix[] =
    "{ names }:\n"
    "let\n"
    "  pkgs = import <nixpkgs> { };\n"
    "  is = n: let r = builtins.tryEval (builtins.hasAttr n pkgs &&\n"
    "    (let p = pkgs.${n}; in\n"
    "      (p.pname or (builtins.parseDrvName p.name).name) == n));\n"
    "    in r.success && r.value;\n"
    "in map is (builtins.fromJSON names)\n";

/* Nix's keywords, which are no attribute names to write bare. */
static const char *const cmd_import_keywords[] = {
	"assert", "else", "if", "in", "inherit", "let", "or", "rec", "then",
	"with", NULL
};

struct cmd_import_package {
	char	*name;
	char	*version;
	char	*path;
	int	 found;		/* an attribute of <nixpkgs> */
};

/*
 * Run argv and return its stdout, NUL-terminated; NULL and *cause (with
 * what it said on stderr) if it cannot run or fails.
 */
static char *
cmd_import_run(char *const argv[], char **cause)
{
	char	 template[] = "/tmp/profilectl-import.XXXXXX", *text = NULL;
	char	*err = NULL, *error = NULL;
	FILE	*out;
	pid_t	 pid;
	int	 fd, status;
	size_t	 len;

	if ((fd = mkstemp(template)) == -1) {
		xasprintf(cause, "mkstemp: %s", strerror(errno));
		return NULL;
	}
	unlink(template);
	if ((out = tmpfile()) == NULL) {
		xasprintf(cause, "tmpfile: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	switch (pid = fork()) {
	case -1:
		xasprintf(cause, "fork: %s", strerror(errno));
		close(fd);
		fclose(out);
		return NULL;
	case 0:
		if (dup2(fileno(out), STDOUT_FILENO) == -1 ||
		    dup2(fd, STDERR_FILENO) == -1)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(fd, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	len = (size_t)lseek(fileno(out), 0, SEEK_END);
	text = xcalloc(1, len + 1);
	if (pread(fileno(out), text, len, 0) != (ssize_t)len)
		text[0] = '\0';
	fclose(out);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		len = (size_t)lseek(fd, 0, SEEK_END);
		err = xcalloc(1, len + 1);
		if (pread(fd, err, len, 0) != (ssize_t)len)
			err[0] = '\0';
		error = nix_output_error(err);
		xasprintf(cause, "%s failed: %s", argv[0], error);
		free(error);
		free(err);
		free(text);
		text = NULL;
	}
	close(fd);
	return text;
}

static void
cmd_import_add(struct cmd_import_package **list, size_t *count,
    const char *name, const char *version, const char *path)
{
	struct cmd_import_package	*p;

	*list = xreallocarray(*list, *count + 1, sizeof **list);
	p = &(*list)[(*count)++];
	p->name = xstrdup(name);
	p->version = xstrdup(version != NULL ? version : "");
	p->path = xstrdup(path != NULL ? path : "");
	p->found = 0;
}

/*
 * Add the package at store path /nix/store/HASH-NAME-VERSION, named as
 * Nix's parseDrvName names it: the version starts after the first dash
 * not followed by a letter.
 */
static void
cmd_import_add_store_path(struct cmd_import_package **list, size_t *count,
    const char *path)
{
	const char	*base = strrchr(path, '/'), *dash;
	char		*name;

	base = base != NULL ? base + 1 : path;
	if ((dash = strchr(base, '-')) != NULL)
		base = dash + 1;
	for (dash = strchr(base, '-'); dash != NULL &&
	    ((dash[1] >= 'a' && dash[1] <= 'z') ||
	    (dash[1] >= 'A' && dash[1] <= 'Z')); dash = strchr(dash + 1, '-'))
		;
	name = dash != NULL ? xstrndup(base, dash - base) : xstrdup(base);
	cmd_import_add(list, count, name, dash != NULL ? dash + 1 : NULL, path);
	free(name);
}

/* The packages of a nix profile's manifest.json; -1 if it has none. */
static int
cmd_import_read_manifest_json(const char *profile,
    struct cmd_import_package **list, size_t *count)
{
	const struct json	*elements, *e, *attr, *paths;
	struct json		*manifest;
	char			*file, *text = NULL, *cause = NULL;
	const char		*name, *dot;
	size_t			 i;

	xasprintf(&file, "%s/manifest.json", profile);
	if (path_read_file(file, PATH_FILE_MAX, &text, &cause) != 0) {
		free(cause);
		free(file);
		return -1;
	}
	free(file);
	manifest = json_parse(text, strlen(text), &cause);
	free(text);
	free(cause);
	elements = manifest != NULL ? json_get(manifest, "elements") : NULL;
	if (elements == NULL || elements->type != JSON_ARRAY) {
		json_free(manifest);
		return -1;
	}
	for (i = 0; i < elements->count; i++) {
		e = elements->items[i];
		attr = json_get(e, "attrPath");
		paths = json_get(e, "storePaths");
		if (attr == NULL || attr->type != JSON_STRING) {
			/* Installed from a file or a store path: no flake
			 * attribute, so the store path names it. */
			if (paths != NULL && paths->type == JSON_ARRAY &&
			    paths->count > 0 &&
			    paths->items[0]->type == JSON_STRING)
				cmd_import_add_store_path(list, count,
				    paths->items[0]->string);
			continue;
		}
		/* legacyPackages.x86_64-linux.hello: the attribute is hello. */
		name = (dot = strrchr(attr->string, '.')) != NULL ? dot + 1 :
		    attr->string;
		cmd_import_add(list, count, name, NULL, paths != NULL &&
		    paths->type == JSON_ARRAY && paths->count > 0 &&
		    paths->items[0]->type == JSON_STRING ?
		    paths->items[0]->string : NULL);
	}
	json_free(manifest);
	return 0;
}

/* The packages nix-env lists for profile; -1 and *cause if it cannot. */
static int
cmd_import_read_nix_env(const char *profile, struct cmd_import_package **list,
    size_t *count, char **cause)
{
	char			*argv[] = { "nix-env", "--profile",
	    (char *)profile, "-q", "--json", "--out-path", NULL };
	const struct json	*item, *name, *pname, *version, *outputs;
	struct json		*packages;
	char			*text, *error = NULL;
	size_t			 i;

	if ((text = cmd_import_run(argv, cause)) == NULL)
		return -1;
	packages = json_parse(text, strlen(text), &error);
	free(text);
	if (packages == NULL || packages->type != JSON_OBJECT) {
		xasprintf(cause, "nix-env -q printed no package list: %s",
		    error != NULL ? error : "not an object");
		free(error);
		json_free(packages);
		return -1;
	}
	for (i = 0; i < packages->count; i++) {
		item = packages->items[i];
		name = json_get(item, "name");
		pname = json_get(item, "pname");
		version = json_get(item, "version");
		outputs = json_get(item, "outputs");
		if (name == NULL || name->type != JSON_STRING)
			continue;
		cmd_import_add(list, count, pname != NULL &&
		    pname->type == JSON_STRING ? pname->string :
		    name->string, version != NULL &&
		    version->type == JSON_STRING ? version->string : NULL,
		    outputs != NULL && outputs->type == JSON_OBJECT &&
		    outputs->count > 0 &&
		    outputs->items[0]->type == JSON_STRING ?
		    outputs->items[0]->string : NULL);
	}
	json_free(packages);
	return 0;
}

/* Whether name can be written bare in Nix: an identifier, no keyword. */
static int
cmd_import_identifier(const char *name)
{
	const char *const	*k;
	const char		*p;

	if (!((*name >= 'a' && *name <= 'z') || (*name >= 'A' &&
	    *name <= 'Z') || *name == '_'))
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    *p == '\''))
			return 0;
	}
	for (k = cmd_import_keywords; *k != NULL; k++) {
		if (strcmp(name, *k) == 0)
			return 0;
	}
	return 1;
}

/*
 * Mark each package found in <nixpkgs> under its name; *cause says why
 * none could be looked up, if so (no <nixpkgs>), and all stay unfound.
 */
static void
cmd_import_resolve(struct cmd_import_package *list, size_t count,
    char **cause)
{
	char		*names = xstrdup("["), *next, *text;
	char		*argv[] = { "nix-instantiate", "--eval", "--strict",
	    "--json", "--expr", (char *)cmd_import_resolve_nix, "--argstr",
	    "names", NULL, NULL };
	struct json	*answer;
	size_t		 i, n = 0;

	for (i = 0; i < count; i++) {
		if (!cmd_import_identifier(list[i].name))
			continue;
		/* The names are identifiers: no JSON escapes needed. */
		xasprintf(&next, "%s%s\"%s\"", names, n++ > 0 ? "," : "",
		    list[i].name);
		free(names);
		names = next;
	}
	xasprintf(&next, "%s]", names);
	free(names);
	names = next;
	argv[8] = names;
	if (n == 0 || (text = cmd_import_run(argv, cause)) == NULL) {
		free(names);
		return;
	}
	answer = json_parse(text, strlen(text), NULL);
	free(text);
	for (i = 0, n = 0; answer != NULL && answer->type == JSON_ARRAY &&
	    i < count; i++) {
		if (!cmd_import_identifier(list[i].name))
			continue;
		if (n < answer->count && answer->items[n]->type == JSON_BOOL)
			list[i].found = answer->items[n]->boolean;
		n++;
	}
	json_free(answer);
	free(names);
}

/* Write text for a Nix comment: one line, printable ASCII only. */
static void
cmd_import_comment(FILE *f, const char *text)
{
	for (; *text != '\0'; text++)
		fputc(*text >= ' ' && *text <= '~' ? *text : '?', f);
}

/* Write the package file for list to f. */
static void
cmd_import_write(FILE *f, const char *profile, unsigned generation,
    const struct cmd_import_package *list, size_t count)
{
	size_t	i;

	fputs("# Written by profilectl import from ", f);
	cmd_import_comment(f, profile);
	fprintf(f, " (generation %u).\n", generation);
	fputs("# Packages not found in <nixpkgs> by their name are comments: "
	    "add them by hand.\n", f);
	fputs("{ pkgs ? import <nixpkgs> { } }:\nwith pkgs; [\n", f);
	for (i = 0; i < count; i++) {
		if (list[i].found) {
			fprintf(f, "  %s\n", list[i].name);
			continue;
		}
		fputs("  # not found in <nixpkgs>: ", f);
		cmd_import_comment(f, list[i].name);
		fputc(' ', f);
		cmd_import_comment(f, list[i].version);
		fputc(' ', f);
		cmd_import_comment(f, list[i].path);
		fputc('\n', f);
	}
	fputs("]\n", f);
}

/* Write the package file at path, which must not exist; -1 and *cause. */
static int
cmd_import_save(const char *path, const char *profile, unsigned generation,
    const struct cmd_import_package *list, size_t count, char **cause)
{
	char	*dir, *tmp;
	FILE	*f;
	int	 fd;

	dir = path_dirname(path);
	if (path_mkdir(dir, 0755, cause) == -1) {
		free(dir);
		return -1;
	}
	free(dir);
	xasprintf(&tmp, "%s.import", path);
	if ((fd = open(tmp, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644)) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		xasprintf(cause, "cannot write %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	cmd_import_write(f, profile, generation, list, count);
	if (fclose(f) == EOF) {
		xasprintf(cause, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	/* link, not rename: it fails if the file appeared meanwhile. */
	if (link(tmp, path) == -1) {
		xasprintf(cause, errno == EEXIST ? "%s exists; not overwriting "
		    "it (--print prints the package file instead)" :
		    "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	unlink(tmp);
	free(tmp);
	return 0;
}

/* The daemon's profile and package file, as new strings; -1 if none. */
static int
cmd_import_ask_daemon(struct client_options *opts, char **profile,
    char **package_file, unsigned *generation)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__StatusRequest	 status = PROFILED__STATUS_REQUEST__INIT;
	Profiled__Response	*response;

	request.call_case = PROFILED__REQUEST__CALL_STATUS;
	request.status = &status;
	response = client_request(opts, &request,
	    PROFILED__RESPONSE__RESULT_STATUS);
	if (response == NULL)
		return -1;
	*profile = xstrdup(response->status->profile);
	*package_file = xstrdup(response->status->package_file);
	*generation = response->status->current_generation;
	profiled__response__free_unpacked(response, NULL);
	return 0;
}

static int
cmd_import_exec(struct cmd_args *args, struct client_options *opts)
{
	struct cmd_import_package	*list = NULL;
	size_t				 count = 0, i, found = 0;
	char				*profile = NULL, *package_file = NULL;
	char				*cause = NULL, *why = NULL;
	char				*store_path = NULL, *text = NULL;
	size_t				 len;
	FILE				*f;
	const char			*given = cmd_args_get(args, "profile");
	unsigned			 generation = 0, id;
	int				 rc = CLIENT_EXIT_FAILURE;

	if (given != NULL && cmd_args_has(args, "print"))
		profile = xstrdup(given);
	else if (cmd_import_ask_daemon(opts, &profile, &package_file,
	    &generation) == -1)
		return CLIENT_EXIT_FAILURE;
	if (given != NULL) {
		free(profile);
		profile = xstrdup(given);
	}
	if (profile_current(profile, &id, &store_path, &cause) == -1)
		goto out;
	free(store_path);
	if ((generation = id) == 0) {
		xasprintf(&cause, "%s has no generation to import", profile);
		goto out;
	}
	if (!cmd_args_has(args, "print") && access(package_file, F_OK) == 0) {
		xasprintf(&cause, "%s exists; not overwriting it (--print "
		    "prints the package file instead)", package_file);
		goto out;
	}
	if (cmd_import_read_manifest_json(profile, &list, &count) == -1 &&
	    cmd_import_read_nix_env(profile, &list, &count, &cause) == -1)
		goto out;
	cmd_import_resolve(list, count, &why);
	if (why != NULL)
		log_warnx("cannot look the packages up in <nixpkgs>: %s", why);
	for (i = 0; i < count; i++)
		found += list[i].found;

	if (cmd_args_has(args, "print")) {
		if (opts->json) {
			if ((f = open_memstream(&text, &len)) == NULL)
				fatal("open_memstream");
			cmd_import_write(f, profile, generation, list, count);
			fclose(f);
		} else
			cmd_import_write(stdout, profile, generation, list,
			    count);
	} else if (cmd_import_save(package_file, profile, generation, list,
	    count, &cause) == -1)
		goto out;
	else if (!opts->json)
		fprintf(stderr, "wrote %s: %zu of %zu packages found in "
		    "<nixpkgs>\n", package_file, found, count);
	if (opts->json) {
		output_json_object(NULL);
		output_json_string("package_file", cmd_args_has(args,
		    "print") ? NULL : package_file);
		output_json_number("generation", 1, generation);
		output_json_number("packages", 1, count);
		output_json_number("found", 1, found);
		output_json_string("text", text);
		output_json_end();
	}
	rc = CLIENT_EXIT_OK;
out:
	if (cause != NULL)
		output_fail(CLIENT_EXIT_FAILURE, "%s", cause);
	free(text);
	for (i = 0; i < count; i++) {
		free(list[i].name);
		free(list[i].version);
		free(list[i].path);
	}
	free(list);
	free(why);
	free(cause);
	free(profile);
	free(package_file);
	return rc;
}
