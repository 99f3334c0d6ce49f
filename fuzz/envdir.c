/* fuzz/envdir.c: lib/envdir.c. envdir_value on arbitrary file contents; then
 * envdir_apply on a scratch env/ directory made from the input, checked against what
 * envdir.h promises: the base without the overridden names, each file's value (an empty
 * file unsets), the extra variable last and overriding, a name with '=' refused.
 * Input: records [name length 1-16][name][content length 0-255][content]. Build and
 * run: make fuzz. */
#define _GNU_SOURCE /* mkdtemp, strndup */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envdir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILES_MAX 8
#define EXTRA_NAME "NOTIFY_SOCKET"
#define EXTRA EXTRA_NAME "=/run/notify/web"

static char dir[4096];
static int dir_fd = -1;

struct file {
	char name[17];
	const uint8_t *content;
	size_t len;
};

static void
check_value(const uint8_t *data, size_t size)
{
	int unset = -1;
	char *v = envdir_value((const char *)data, size, &unset);
	size_t n;

	if (size == 0) {
		if (v != NULL || !unset)
			abort();
		return;
	}
	if (v == NULL || unset)
		abort();
	n = strlen(v);
	/* the first line, NULs as newlines, no trailing blank */
	if (n > size || (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')))
		abort();
	for (size_t i = 0; i < n; i++)
		if (v[i] != (data[i] == '\0' ? '\n' : (char)data[i]) || data[i] == '\n')
			abort();
	if (n < size && data[n] != '\n' && data[n] != ' ' && data[n] != '\t')
		abort();
	free(v);
}

static void
empty_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static void
remove_dir(void)
{
	empty_dir();
	(void)rmdir(dir);
}

/* The records, the last of two with one name winning as on disk. */
static int
read_files(const uint8_t *data, size_t size, struct file *f)
{
	size_t i = 0;
	int n = 0;

	while (i < size && n < FILES_MAX) {
		size_t nl = (size_t)(data[i++] % 16) + 1, j, k;
		char name[17];
		if (i + nl + 1 > size)
			break;
		for (j = 0; j < nl; j++)
			name[j] = data[i + j] == '/' || data[i + j] == '\0' ? '_' : (char)data[i + j];
		name[nl] = '\0';
		i += nl;
		k = data[i++];
		if (k > size - i)
			k = size - i;
		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
			int m;
			for (m = 0; m < n && strcmp(f[m].name, name) != 0; m++)
				;
			memcpy(f[m].name, name, nl + 1);
			f[m].content = data + i;
			f[m].len = k;
			if (m == n)
				n++;
		}
		i += k;
	}
	return n;
}

static void
write_file(int dfd, const struct file *f)
{
	int fd = openat(dfd, f->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd == -1 || write(fd, f->content, f->len) != (ssize_t)f->len || close(fd) == -1)
		abort();
}

/* entries of env that set name */
static int
count(char **env, const char *name, const char **value)
{
	size_t l = strlen(name);
	int c = 0;

	for (; *env != NULL; env++)
		if (strncmp(*env, name, l) == 0 && (*env)[l] == '=') {
			*value = *env + l + 1;
			c++;
		}
	return c;
}

static void
check_apply(const struct file *f, int n)
{
	static char *const base[] = { "PATH=/bin:/usr/bin", "HOME=/", "LANG=C", "ODD", NULL };
	char why[256] = "", **env;
	int bad_name = 0;
	const char *v;

	for (int i = 0; i < n; i++)
		if (f[i].name[0] != '.' && strchr(f[i].name, '=') != NULL)
			bad_name = 1;
	env = envdir_apply(base, dir, EXTRA, why, sizeof why);
	if (env == NULL) {
		if (!bad_name || strstr(why, "'='") == NULL)
			abort();
		return;
	}
	if (bad_name)
		abort();
	for (int i = 0; i < n; i++) {
		char *want;
		int unset;
		if (f[i].name[0] == '.' || strcmp(f[i].name, EXTRA_NAME) == 0)
			continue;
		want = envdir_value((const char *)f[i].content, f[i].len, &unset);
		if (unset ? count(env, f[i].name, &v) != 0
			  : count(env, f[i].name, &v) != 1 || strcmp(v, want) != 0)
			abort();
		free(want);
	}
	if (count(env, EXTRA_NAME, &v) != 1 || strcmp(v, strchr(EXTRA, '=') + 1) != 0)
		abort();
	for (int b = 0; base[b] != NULL; b++) {
		const char *eq = strchr(base[b], '=');
		char name[32];
		int overridden = 0;
		if (eq == NULL)
			continue;
		snprintf(name, sizeof name, "%.*s", (int)(eq - base[b]), base[b]);
		for (int i = 0; i < n; i++)
			overridden |= f[i].name[0] != '.' && strcmp(f[i].name, name) == 0;
		if (!overridden && (count(env, name, &v) != 1 || strcmp(v, eq + 1) != 0))
			abort();
	}
	free(env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct file f[FILES_MAX];
	int n;

	check_value(data, size);
	if (dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/fuzz-envdir.XXXXXX", tmp != NULL ? tmp : "/tmp");
		if (mkdtemp(dir) == NULL)
			abort();
		dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dir_fd == -1)
			abort();
		atexit(remove_dir);
	}
	empty_dir();
	n = read_files(data, size, f);
	for (int i = 0; i < n; i++)
		write_file(dir_fd, &f[i]);
	check_apply(f, n);
	return 0;
}
