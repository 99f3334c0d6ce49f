/* fuzz/settings.c: lib/settings.c's parsers on arbitrary settings-file text (the first
 * SETTINGS_FILE_MAX bytes, NUL-terminated, as supervise reads it). Results must be in
 * their documented ranges, and a failure must say why. Build and run: make fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[SETTINGS_FILE_MAX + 1];
	const char *why;
	int64_t ms;
	int sig, fd;

	if (size > SETTINGS_FILE_MAX)
		size = SETTINGS_FILE_MAX;
	memcpy(text, data, size);
	text[size] = '\0';

	why = NULL;
	if (settings_signal(text, &sig, &why) == 0) {
		if (sig < 1 || sig > 64)
			abort();
	} else if (why == NULL) {
		abort();
	}
	why = NULL;
	if (settings_ms(text, &ms, &why) == 0) {
		if (ms < 0 || ms > INT32_MAX)
			abort();
	} else if (why == NULL) {
		abort();
	}
	why = NULL;
	if (settings_fd(text, &fd, &why) == 0) {
		if (fd < 3 || fd > 1023)
			abort();
	} else if (why == NULL) {
		abort();
	}
	return 0;
}
