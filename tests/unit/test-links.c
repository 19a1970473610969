/*
 * The link index (links.c) against a real directory of symlinks: one scan,
 * then inotify says what changed; only the changed links are reported to
 * generation_sync; a lost event queue (IN_Q_OVERFLOW) rescans; a directory
 * made later is found.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "profiled.h"

static char	 links_dir[] = "/tmp/profiled-test-links.XXXXXX";
static char	*profile;

static void
links_setup(void)
{
	cr_assert_not_null(mkdtemp(links_dir));
	xasprintf(&profile, "%s/profile", links_dir);
}

static void
links_teardown(void)
{
	char	*cmd;

	links_close();
	xasprintf(&cmd, "rm -rf '%s'", links_dir);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	free(profile);
}

TestSuite(links, .init = links_setup, .fini = links_teardown, .timeout = 10);

/* Make PROFILE-id-link to /nix/store/<target>, as Nix does: a temporary
 * link renamed into place. */
static void
make_link(unsigned id, const char *target)
{
	char	*link = profile_link_path(profile, id), *tmp, *store;

	xasprintf(&tmp, "%s.tmp-1-2", link);
	xasprintf(&store, "/nix/store/%s", target);
	cr_assert_eq(symlink(store, tmp), 0);
	cr_assert_eq(rename(tmp, link), 0);
	free(store);
	free(tmp);
	free(link);
}

static void
remove_link(unsigned id)
{
	char	*link = profile_link_path(profile, id);

	cr_assert_eq(unlink(link), 0);
	free(link);
}

/* The ids in the index, as "1 2 3". */
static char *
ids(void)
{
	const struct profile_link	*list;
	size_t				 count, i, len;
	char				*text;
	FILE				*f;

	list = links_list(&count);
	f = open_memstream(&text, &len);
	for (i = 0; i < count; i++)
		fprintf(f, "%s%u", i > 0 ? " " : "", list[i].id);
	fclose(f);
	return text;
}

static void
assert_ids(const char *want)
{
	char	*got = ids();

	cr_assert_str_eq(got, want);
	free(got);
}

/* The changed ids, as "4 2", and whether a full scan came. */
static void
assert_changed(const char *want, int want_full)
{
	unsigned	*changed;
	size_t		 n, i, len;
	int		 full;
	char		*text;
	FILE		*f;

	changed = links_take_changed(&n, &full);
	f = open_memstream(&text, &len);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%u", i > 0 ? " " : "", changed[i]);
	fclose(f);
	cr_assert_str_eq(text, want, "changed");
	cr_assert_eq(full, want_full, "full scan %d, not %d", full, want_full);
	free(text);
	free(changed);
}

Test(links, scan_keeps_the_profiles_links_by_number)
{
	char	*path;

	make_link(10, "c");
	make_link(2, "b");
	make_link(1, "a");
	/* Not links of this profile. */
	xasprintf(&path, "%s/other-3-link", links_dir);
	cr_assert_eq(symlink("/nix/store/x", path), 0);
	free(path);
	xasprintf(&path, "%s-0-link", profile);
	cr_assert_eq(symlink("/nix/store/x", path), 0);
	free(path);
	xasprintf(&path, "%s-4-link.tmp-9-9", profile);
	cr_assert_eq(symlink("/nix/store/x", path), 0);
	free(path);

	cr_assert_eq(links_open(NULL, profile, NULL), 0);
	links_refresh();
	assert_ids("1 2 10");
	cr_assert_str_eq(links_get(2)->store_path, "/nix/store/b");
	cr_assert_null(links_get(3));
	cr_assert_eq(links_newest(), 10);
	cr_assert_eq(links_below(10), 2);
	cr_assert_eq(links_below(5), 2);
	cr_assert_eq(links_below(1), 0);
	cr_assert_eq(links_after(2), 2);
	cr_assert_eq(links_after(0), 0);
	assert_changed("", 1);
}

Test(links, a_scan_in_steps_finds_the_same)
{
	unsigned	id;
	int		steps = 0;

	for (id = 1; id <= 50; id++)
		make_link(id, id % 2 ? "odd" : "even");
	cr_assert_eq(links_open(NULL, profile, NULL), 0);
	while (!links_scan(7))
		steps++;
	cr_assert_geq(steps, 7, "the scan took %d steps of 7 entries", steps);
	cr_assert_eq(links_newest(), 50);
	cr_assert_str_eq(links_get(49)->store_path, "/nix/store/odd");
	cr_assert_str_eq(links_get(50)->store_path, "/nix/store/even");
}

/*
 * After the scan, what changes in the directory reaches the index through
 * inotify alone: made, deleted and replaced links, and nothing else is
 * reported changed.
 */
Test(links, inotify_brings_what_changed)
{
	char	*path;

	make_link(1, "a");
	make_link(2, "b");
	make_link(3, "c");
	cr_assert_eq(links_open(NULL, profile, NULL), 0);
	links_refresh();
	assert_changed("", 1);

	make_link(4, "d");
	remove_link(2);
	/* The profile's own link, switched as Nix does, is no generation. */
	xasprintf(&path, "%s.tmp", profile);
	cr_assert_eq(symlink("profile-4-link", path), 0);
	cr_assert_eq(rename(path, profile), 0);
	free(path);
	/* Not read again until asked: the index is the last look. */
	assert_ids("1 2 3");
	links_refresh();
	assert_ids("1 3 4");
	cr_assert_str_eq(links_get(4)->store_path, "/nix/store/d");
	assert_changed("4", 0);

	/* A link replaced in place now names another environment. */
	make_link(3, "c2");
	links_refresh();
	cr_assert_str_eq(links_get(3)->store_path, "/nix/store/c2");
	assert_changed("3", 0);

	/* Deleted and made again the same is no change for sync. */
	remove_link(1);
	make_link(1, "a");
	links_refresh();
	assert_ids("1 3 4");
	assert_changed("", 0);
}

/* Lost events (a full inotify queue) cost one full scan, which finds all. */
Test(links, overflow_rescans)
{
	make_link(1, "a");
	make_link(2, "b");
	cr_assert_eq(links_open(NULL, profile, NULL), 0);
	links_refresh();
	assert_changed("", 1);

	make_link(5, "e");
	remove_link(1);
	links_event(IN_Q_OVERFLOW, NULL);
	/* Found by the rescan, before any event is read. */
	assert_ids("2 5");
	assert_changed("", 1);
	links_refresh();
	assert_ids("2 5");
	assert_changed("", 0);
}

/* On a multi-user Nix the profile's directory comes with the first build. */
Test(links, a_directory_made_later_is_watched)
{
	char	*dir;

	free(profile);
	xasprintf(&dir, "%s/profiles", links_dir);
	xasprintf(&profile, "%s/profile", dir);
	cr_assert_eq(links_open(NULL, profile, NULL), 0);
	links_refresh();
	assert_ids("");
	cr_assert_eq(links_newest(), 0);

	cr_assert_eq(mkdir(dir, 0755), 0);
	make_link(1, "a");
	links_refresh();
	assert_ids("1");
	make_link(2, "b");
	links_refresh();
	assert_ids("1 2");
	assert_changed("2", 1);
	free(dir);
}
