#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envdir.h"
#include "fdio.h"

char *
envdir_value(const char *buf, size_t len, int *unset)
{
	size_t n = 0;
	char *v;

	*unset = len == 0;
	if (len == 0)
		return NULL;
	while (n < len && buf[n] != '\n')
		n++;
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	v = malloc(n + 1);
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = buf[i] == '\0' ? '\n' : buf[i];
	v[n] = '\0';
	return v;
}

struct kv {
	char *name, *value; /* value NULL: unset */
};

static void
kv_free(struct kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

/* Reads every file of dir. -1 with why on failure. */
static int
read_dir(const char *dir, struct kv **out, size_t *nout, char *why, size_t why_size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct kv *v = NULL;
	size_t n = 0, cap = 0;
	static char buf[ENVDIR_FILE_MAX];

	if (d == NULL) {
		snprintf(why, why_size, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		char path[4096];
		ssize_t len;
		int fd, unset;

		if (de->d_name[0] == '.')
			continue;
		if (strchr(de->d_name, '=') != NULL) {
			snprintf(why, why_size, "%s/%s: '=' in a variable name", dir, de->d_name);
			goto fail;
		}
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		fd = fd_open_regular(AT_FDCWD, path, 0); /* a device, a FIFO: refused, not opened */
		if (fd == -1) {
			snprintf(why, why_size, "%s: %s", path,
				 errno == EINVAL ? "not a regular file" : strerror(errno));
			goto fail;
		}
		len = fd_read(fd, buf, sizeof buf);
		fd_close(fd);
		if (len == -1) {
			snprintf(why, why_size, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == cap) {
			struct kv *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
			if (nv == NULL)
				goto oom;
			v = nv;
		}
		v[n].name = strdup(de->d_name);
		v[n].value = envdir_value(buf, (size_t)len, &unset);
		n++;
		if (v[n - 1].name == NULL || (v[n - 1].value == NULL && !unset))
			goto oom;
	}
	if (errno != 0) {
		snprintf(why, why_size, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	closedir(d);
	*out = v;
	*nout = n;
	return 0;
oom:
	snprintf(why, why_size, "%s: out of memory", dir);
fail:
	closedir(d);
	kv_free(v, n);
	return -1;
}

static int
name_is(const char *entry, const char *name)
{
	size_t l = strlen(name);

	return strncmp(entry, name, l) == 0 && entry[l] == '=';
}

/* Appends NAME=VALUE to v, overriding a file of the directory with that name: two
 * entries would leave the service with the directory's (getenv() takes the first). */
static int
add_extra(struct kv **v, size_t *n, const char *extra)
{
	const char *eq = strchr(extra, '=');
	struct kv *nv = realloc(*v, (*n + 1) * sizeof **v);

	if (nv == NULL)
		return -1;
	*v = nv;
	nv[*n].name = eq != NULL ? strndup(extra, (size_t)(eq - extra)) : NULL;
	nv[*n].value = eq != NULL ? strdup(eq + 1) : NULL;
	if (nv[*n].name == NULL || nv[*n].value == NULL) {
		free(nv[*n].name);
		free(nv[*n].value);
		return -1;
	}
	for (size_t i = 0; i < *n; i++)
		if (strcmp(nv[i].name, nv[*n].name) == 0) {
			free(nv[i].value); /* the name stays: it still hides base's entry */
			nv[i].value = NULL;
		}
	(*n)++;
	return 0;
}

char **
envdir_apply(char *const *base, const char *dir, const char *extra, char *why,
	     size_t why_size)
{
	struct kv *v = NULL;
	size_t n = 0, nbase = 0, count = 0, bytes = 0;
	char **env, *p;

	if (dir != NULL && read_dir(dir, &v, &n, why, why_size) == -1)
		return NULL;
	if (extra != NULL && add_extra(&v, &n, extra) == -1) {
		snprintf(why, why_size, "environment: out of memory");
		kv_free(v, n);
		return NULL;
	}
	/* size: the base entries not overridden, then the settings */
	for (; base[nbase] != NULL; nbase++) {
		int keep = 1;
		for (size_t i = 0; i < n && keep; i++)
			keep = !name_is(base[nbase], v[i].name);
		if (keep) {
			count++;
			bytes += strlen(base[nbase]) + 1;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].value != NULL) {
			count++;
			bytes += strlen(v[i].name) + strlen(v[i].value) + 2;
		}
	env = malloc((count + 1) * sizeof *env + bytes);
	if (env == NULL) {
		snprintf(why, why_size, "environment: out of memory");
		kv_free(v, n);
		return NULL;
	}
	p = (char *)(env + count + 1);
	count = 0;
	for (size_t b = 0; b < nbase; b++) {
		int keep = 1;
		for (size_t i = 0; i < n && keep; i++)
			keep = !name_is(base[b], v[i].name);
		if (keep) {
			env[count++] = strcpy(p, base[b]);
			p += strlen(p) + 1;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].value != NULL) {
			env[count++] = p;
			p += sprintf(p, "%s=%s", v[i].name, v[i].value) + 1;
		}
	env[count] = NULL;
	kv_free(v, n);
	return env;
}
