/*
 * The files a build depends on: the package file and the local files it
 * imports, as the last evaluation reported them (build.c reads Nix's -v
 * output).  This module reads and hashes them, keeps the list of imports
 * in the database so that a restart watches them too, and keeps the
 * inotify watch set (watch.c) equal to them.
 *
 * The inputs hash stands for them all: the package file's own hash if it
 * imports nothing (so databases from before imports were tracked stay
 * valid), else the hash of the file's hash and each import's hash and
 * path.  A file missing or unreadable hashes as such, so its coming back
 * is a change too.
 *
 * A build takes a snapshot of the inputs as it starts (inputs_take): the
 * package file's text and the hashes it is built from.  When the
 * evaluation reports what it read, inputs_learn makes that the watched
 * list and gives the snapshot the hash the build really answers to.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"

static struct {
	const char	*package_file;
	char		*resolved;	/* a symlinked package file's target */
	int		 file_exists;
	char		*file_error;	/* why it cannot be built, or NULL */
	int		 again;		/* not read for now: try again */
	char		 file_hash[SHA256_HEX_SIZE];
	char		 hash[SHA256_HEX_SIZE];	/* "" when it cannot be built */
	int		 uses_nixpkgs;	/* the package file says <nixpkgs> */
	char		**paths;	/* the imports */
	char		(*hashes)[SHA256_HEX_SIZE];
	size_t		 count;
	char		*saved;		/* the list as last written */
} inputs;

/*
 * Hash the file at path; a missing or unreadable file hashes as such.  -1
 * if it could not be read for now (out of descriptors): its hash would
 * stand for the system's state, not the file's.
 */
static int
inputs_hash_file(const char *path, char hash[SHA256_HEX_SIZE])
{
	char	*text = NULL, *cause = NULL;

	switch (path_read_file(path, PATH_FILE_MAX, &text, &cause)) {
	case 0:
		sha256_hex(text, strlen(text), hash);
		free(text);
		break;
	case 1:
		snprintf(hash, SHA256_HEX_SIZE, "missing");
		break;
	case PATH_READ_AGAIN:
		log_debug("%s", cause);
		free(cause);
		return -1;
	default:
		snprintf(hash, SHA256_HEX_SIZE, "unreadable");
		free(cause);
		break;
	}
	return 0;
}

/* The inputs hash of file_hash and count imports (paths, hashes). */
static void
inputs_combine(const char *file_hash, char *const *paths,
    char (*hashes)[SHA256_HEX_SIZE], size_t count, char hash[SHA256_HEX_SIZE])
{
	char	*text, *next;
	size_t	 i;

	if (count == 0) {
		snprintf(hash, SHA256_HEX_SIZE, "%s", file_hash);
		return;
	}
	text = xstrdup(file_hash);
	for (i = 0; i < count; i++) {
		xasprintf(&next, "%s\n%s %s", text, hashes[i], paths[i]);
		free(text);
		text = next;
	}
	sha256_hex(text, strlen(text), hash);
	free(text);
}

static void
inputs_free_list(char **paths, char (*hashes)[SHA256_HEX_SIZE], size_t count)
{
	size_t	i;

	for (i = 0; i < count; i++)
		free(paths[i]);
	free(paths);
	free(hashes);
}

/* Whether text has nothing but white space: no Nix expression at all. */
static int
inputs_blank(const char *text)
{
	return text[strspn(text, " \t\r\n")] == '\0';
}

/* Note where the package file points, if it is a symlink. */
static void
inputs_resolve(void)
{
	char	real[PATH_MAX];

	free(inputs.resolved);
	inputs.resolved = NULL;
	if (realpath(inputs.package_file, real) != NULL &&
	    strcmp(real, inputs.package_file) != 0)
		inputs.resolved = xstrdup(real);
}

/*
 * Watch the package file, its target if it is a symlink (a dotfiles
 * repository), and its imports; where the symlink points is looked up
 * anew, since repointing it is a change.
 */
void
inputs_watch(void)
{
	const char	**files;
	char		 *cause = NULL;
	size_t		  n = 0, i;

	inputs_resolve();
	files = xcalloc(inputs.count + 2, sizeof *files);
	files[n++] = inputs.package_file;
	if (inputs.resolved != NULL)
		files[n++] = inputs.resolved;
	for (i = 0; i < inputs.count; i++)
		files[n++] = inputs.paths[i];
	if (watch_set(files, n, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	free(files);
}

/*
 * Read the files as they are now.  0 if the package file can be built,
 * with its text in *content if content is not NULL; else -1, and
 * inputs_error says why: it does not exist, cannot be read, or is empty
 * (an editor half way through a save); inputs_again says whether it was
 * for now only (out of descriptors or memory), never taken for a file
 * that is missing or bad.
 */
static int
inputs_read(char **content)
{
	char	*text = NULL, *error = NULL;
	size_t	 i;
	int	 rc;

	free(inputs.file_error);
	inputs.file_error = NULL;
	inputs.again = 0;
	rc = path_read_file(inputs.package_file, PATH_FILE_MAX, &text, &error);
	if (rc == PATH_READ_AGAIN) {
		xasprintf(&inputs.file_error, "%s; trying again", error);
		free(error);
		inputs.again = 1;
		return -1;
	}
	inputs.file_exists = rc != 1;
	if (rc == 0 && inputs_blank(text)) {
		xasprintf(&error, "%s is empty", inputs.package_file);
		free(text);
		rc = -1;
	}
	if (rc != 0) {
		inputs.file_hash[0] = '\0';
		inputs.hash[0] = '\0';
		if (rc == 1)
			xasprintf(&error, "%s does not exist",
			    inputs.package_file);
		inputs.file_error = error;
		return -1;
	}
	sha256_hex(text, strlen(text), inputs.file_hash);
	inputs.uses_nixpkgs = strstr(text, "<nixpkgs>") != NULL;
	for (i = 0; i < inputs.count; i++) {
		if (inputs_hash_file(inputs.paths[i], inputs.hashes[i]) == 0)
			continue;
		xasprintf(&inputs.file_error, "cannot read %s for now; trying "
		    "again", inputs.paths[i]);
		inputs.again = 1;
		inputs.file_hash[0] = '\0';
		inputs.hash[0] = '\0';
		free(text);
		return -1;
	}
	inputs_combine(inputs.file_hash, inputs.paths, inputs.hashes,
	    inputs.count, inputs.hash);
	if (content != NULL)
		*content = text;
	else
		free(text);
	return 0;
}

/* Read and hash the files as they are now: 0, or -1 and inputs_error. */
int
inputs_refresh(void)
{
	return inputs_read(NULL);
}

/*
 * A snapshot of the files as they are now, for a build to start from; NULL
 * if the package file cannot be built (inputs_error says why).
 */
struct inputs_snapshot *
inputs_take(void)
{
	struct inputs_snapshot	*snap;
	char			*content;
	size_t			 i;

	if (inputs_read(&content) == -1)
		return NULL;
	snap = xcalloc(1, sizeof *snap);
	snap->content = content;
	memcpy(snap->file_hash, inputs.file_hash, sizeof snap->file_hash);
	memcpy(snap->hash, inputs.hash, sizeof snap->hash);
	snap->paths = xcalloc(inputs.count, sizeof *snap->paths);
	snap->hashes = xcalloc(inputs.count, sizeof *snap->hashes);
	for (i = 0; i < inputs.count; i++) {
		snap->paths[i] = xstrdup(inputs.paths[i]);
		memcpy(snap->hashes[i], inputs.hashes[i], sizeof *snap->hashes);
	}
	snap->count = inputs.count;
	return snap;
}

void
inputs_snapshot_free(struct inputs_snapshot *snap)
{
	if (snap == NULL)
		return;
	inputs_free_list(snap->paths, snap->hashes, snap->count);
	free(snap->content);
	free(snap);
}

/* Keep the list of imports in the database, so a restart watches them. */
static void
inputs_save(void)
{
	char	*text = xstrdup(""), *next;
	size_t	 i;

	for (i = 0; i < inputs.count; i++) {
		xasprintf(&next, "%s%s\n", text, inputs.paths[i]);
		free(text);
		text = next;
	}
	/* Every build tells them: a write (and its sync) only for a change. */
	if (inputs.saved != NULL && strcmp(inputs.saved, text) == 0) {
		free(text);
		return;
	}
	db_state_set("inputs", text);
	free(inputs.saved);
	inputs.saved = text;
}

/*
 * The build that started from snap found that the package file imports
 * found (count files): watch them from now on, and set snap's hash to the
 * inputs hash the build answers to, each import as it was when the build
 * started (if it was an import then), so that an edit made while Nix read
 * it still differs from what the build built.
 */
void
inputs_learn(struct inputs_snapshot *snap, char *const *found, size_t count)
{
	char	**paths, (*hashes)[SHA256_HEX_SIZE];
	size_t	  i, j;

	paths = xcalloc(count, sizeof *paths);
	hashes = xcalloc(count, sizeof *hashes);
	for (i = 0; i < count; i++) {
		paths[i] = xstrdup(found[i]);
		for (j = 0; j < snap->count; j++) {
			if (strcmp(snap->paths[j], paths[i]) == 0)
				break;
		}
		if (j < snap->count)
			memcpy(hashes[i], snap->hashes[j], sizeof *hashes);
		else if (inputs_hash_file(paths[i], hashes[i]) == -1)
			snprintf(hashes[i], sizeof *hashes, "unreadable");
	}
	inputs_combine(snap->file_hash, paths, hashes, count, snap->hash);
	inputs_free_list(inputs.paths, inputs.hashes, inputs.count);
	inputs.paths = paths;
	inputs.hashes = hashes;
	inputs.count = count;
	inputs_save();
	inputs_watch();
}

/*
 * Whether the last read failed for now only (out of descriptors or memory)
 * and should be tried again, rather than waited on as a missing file is.
 */
int
inputs_again(void)
{
	return inputs.again;
}

/* The inputs hash as last read; "" when the file is not there to build. */
const char *
inputs_hash(void)
{
	return inputs.hash;
}

/* Why the package file cannot be built as last read, or NULL. */
const char *
inputs_error(void)
{
	return inputs.file_error;
}

/* Whether the package file, as last read, looks up <nixpkgs>. */
int
inputs_uses_nixpkgs(void)
{
	return inputs.uses_nixpkgs;
}

/* Whether the package file existed when last read. */
int
inputs_file_exists(void)
{
	return inputs.file_exists;
}

/* The files the package file imports, as the last evaluation found. */
const char *const *
inputs_imports(size_t *count)
{
	*count = inputs.count;
	return (const char *const *)inputs.paths;
}

/*
 * Start tracking package_file (kept, not copied): the imports the last
 * evaluation found come from the database, hashes from the files, and all
 * are watched.
 */
void
inputs_init(const char *package_file)
{
	char	*text, *line, *last;

	inputs.package_file = package_file;
	if ((text = db_state_get("inputs")) != NULL) {
		inputs.saved = xstrdup(text);
		for (line = strtok_r(text, "\n", &last); line != NULL;
		    line = strtok_r(NULL, "\n", &last)) {
			inputs.paths = xreallocarray(inputs.paths,
			    inputs.count + 1, sizeof *inputs.paths);
			inputs.paths[inputs.count++] = xstrdup(line);
		}
		free(text);
		inputs.hashes = xcalloc(inputs.count, sizeof *inputs.hashes);
	}
	inputs_watch();
	inputs_refresh();
}

/* Free what is kept; the loop has ended. */
void
inputs_shutdown(void)
{
	inputs_free_list(inputs.paths, inputs.hashes, inputs.count);
	free(inputs.saved);
	free(inputs.resolved);
	free(inputs.file_error);
	memset(&inputs, 0, sizeof inputs);
}
