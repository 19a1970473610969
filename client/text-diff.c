/*
 * A unified diff of two texts, for profilectl diff --file: package files
 * are short, so the longest common subsequence of their lines, found by
 * dynamic programming, is cheap and gives the diff people expect.  Past a
 * bound on its table, the texts are shown as replaced whole.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"
#include "client.h"

/* Lines of context around each change, as diff -u. */
#define TEXT_DIFF_CONTEXT	3
/* The largest table (lines of one text times the other's) computed. */
#define TEXT_DIFF_TABLE_MAX	(16 * 1024 * 1024)

struct text_diff_line {
	const char	*start;
	size_t		 len;		/* with its '\n', if it has one */
};

enum text_diff_op {
	TEXT_DIFF_SAME,
	TEXT_DIFF_DELETE,
	TEXT_DIFF_INSERT
};

struct text_diff_edit {
	enum text_diff_op	 op;
	size_t			 a;	/* line of a (SAME, DELETE) */
	size_t			 b;	/* line of b (SAME, INSERT) */
};

static struct text_diff_line *
text_diff_split(const char *text, size_t len, size_t *count)
{
	struct text_diff_line	*lines = NULL;
	const char		*p = text, *end = text + len, *nl;

	*count = 0;
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		lines = xreallocarray(lines, *count + 1, sizeof *lines);
		lines[*count].start = p;
		lines[*count].len = nl != NULL ? (size_t)(nl - p) + 1 :
		    (size_t)(end - p);
		p += lines[(*count)++].len;
	}
	return lines;
}

static int
text_diff_equal(const struct text_diff_line *x, const struct text_diff_line *y)
{
	return x->len == y->len && memcmp(x->start, y->start, x->len) == 0;
}

/* The edits that turn a into b: same lines kept, the rest deleted/added. */
static struct text_diff_edit *
text_diff_edits(const struct text_diff_line *a, size_t na,
    const struct text_diff_line *b, size_t nb, size_t *count)
{
	struct text_diff_edit	*edits;
	uint32_t		*lcs = NULL;
	size_t			 i, j, n = 0, w = nb + 1;

	edits = xcalloc(na + nb, sizeof *edits);
	if ((na + 1) * w <= TEXT_DIFF_TABLE_MAX) {
		/* lcs[i * w + j]: the common lines of a[i..] and b[j..]. */
		lcs = xcalloc((na + 1) * w, sizeof *lcs);
		for (i = na; i-- > 0;) {
			for (j = nb; j-- > 0;) {
				if (text_diff_equal(&a[i], &b[j]))
					lcs[i * w + j] = lcs[(i + 1) * w + j + 1] + 1;
				else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])
					lcs[i * w + j] = lcs[(i + 1) * w + j];
				else
					lcs[i * w + j] = lcs[i * w + j + 1];
			}
		}
	}
	i = j = 0;
	while (i < na || j < nb) {
		if (lcs != NULL && i < na && j < nb &&
		    text_diff_equal(&a[i], &b[j])) {
			edits[n++] = (struct text_diff_edit){ TEXT_DIFF_SAME, i++,
			    j++ };
		} else if (i < na && (j == nb || lcs == NULL ||
		    lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
			edits[n++] = (struct text_diff_edit){ TEXT_DIFF_DELETE,
			    i++, j };
		} else
			edits[n++] = (struct text_diff_edit){ TEXT_DIFF_INSERT, i,
			    j++ };
	}
	free(lcs);
	*count = n;
	return edits;
}

static void
text_diff_print_line(FILE *f, char mark, const struct text_diff_line *line)
{
	fputc(mark, f);
	fwrite(line->start, 1, line->len, f);
	if (line->len == 0 || line->start[line->len - 1] != '\n')
		fputs("\n\\ No newline at end of file\n", f);
}

/* A hunk's range: GNU diff names an empty one by the line before it. */
static void
text_diff_range(FILE *f, char mark, size_t first, size_t count)
{
	fprintf(f, " %c%zu,%zu", mark, count == 0 ? first : first + 1, count);
}

/* Print the hunk of edits[from, to), context included. */
static void
text_diff_hunk(FILE *f, const struct text_diff_edit *edits, size_t from,
    size_t to, const struct text_diff_line *a,
    const struct text_diff_line *b)
{
	size_t	i, na = 0, nb = 0;

	for (i = from; i < to; i++) {
		na += edits[i].op != TEXT_DIFF_INSERT;
		nb += edits[i].op != TEXT_DIFF_DELETE;
	}
	fputs("@@", f);
	text_diff_range(f, '-', edits[from].a, na);
	text_diff_range(f, '+', edits[from].b, nb);
	fputs(" @@\n", f);
	for (i = from; i < to; i++) {
		switch (edits[i].op) {
		case TEXT_DIFF_SAME:
			text_diff_print_line(f, ' ', &a[edits[i].a]);
			break;
		case TEXT_DIFF_DELETE:
			text_diff_print_line(f, '-', &a[edits[i].a]);
			break;
		case TEXT_DIFF_INSERT:
			text_diff_print_line(f, '+', &b[edits[i].b]);
			break;
		}
	}
}

/*
 * Write the unified diff of texts a and b to f, headed by their labels;
 * nothing if they are equal.  Returns whether they differ.
 */
int
text_diff_unified(FILE *f, const char *a_label, const char *a_text,
    size_t a_len, const char *b_label, const char *b_text, size_t b_len)
{
	struct text_diff_line	*a, *b;
	struct text_diff_edit	*edits;
	size_t			 na, nb, n, i, start, end, next;

	a = text_diff_split(a_text, a_len, &na);
	b = text_diff_split(b_text, b_len, &nb);
	edits = text_diff_edits(a, na, b, nb, &n);
	for (i = 0; i < n && edits[i].op == TEXT_DIFF_SAME; i++)
		;
	if (i < n)
		fprintf(f, "--- %s\n+++ %s\n", a_label, b_label);
	while (i < n) {
		/* i is a change: the hunk starts CONTEXT lines before it. */
		start = i > TEXT_DIFF_CONTEXT ? i - TEXT_DIFF_CONTEXT : 0;
		for (;;) {
			while (i < n && edits[i].op != TEXT_DIFF_SAME)
				i++;
			for (next = i; next < n &&
			    edits[next].op == TEXT_DIFF_SAME; next++)
				;
			/* Changes closer than twice the context join. */
			if (next == n || next - i > 2 * TEXT_DIFF_CONTEXT)
				break;
			i = next;
		}
		end = i + TEXT_DIFF_CONTEXT < n ? i + TEXT_DIFF_CONTEXT : n;
		if (end > next)
			end = next;
		text_diff_hunk(f, edits, start, end, a, b);
		i = next;
	}
	for (i = 0; i < n && edits[i].op == TEXT_DIFF_SAME; i++)
		;
	free(edits);
	free(a);
	free(b);
	return i < n;
}
