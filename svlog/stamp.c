#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stamp.h"

#define US_PER_SEC 1000000

int64_t
stamp_now_us(void)
{
	struct timespec ts;

	/* cannot fail for CLOCK_REALTIME with a valid pointer */
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

static void
utc_of(int64_t us, struct tm *tm, long *frac_us)
{
	time_t sec;

	if (us < 0)
		us = 0; /* a clock before 1970 is broken; never print a minus sign */
	sec = (time_t)(us / US_PER_SEC);
	*frac_us = (long)(us % US_PER_SEC);
	if (gmtime_r(&sec, tm) == NULL)
		memset(tm, 0, sizeof *tm);
}

static void
put_digits(char *p, long v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* "YYYY" dsep "MM" dsep "DD" tsep "hh" hsep "mm" hsep "ss"; returns the end. Fixed-width
 * fields by hand: cheaper than snprintf, whose width the compiler cannot prove. */
static char *
put_datetime(char *p, const struct tm *tm, const char *dsep, char tsep, const char *hsep)
{
	int year = tm->tm_year + 1900;

	put_digits(p, year < 0 ? 0 : year > 9999 ? 9999 : year, 4);
	p += 4;
	p = stpcpy(p, dsep);
	put_digits(p, tm->tm_mon + 1, 2);
	p = stpcpy(p + 2, dsep);
	put_digits(p, tm->tm_mday, 2);
	p += 2;
	*p++ = tsep;
	put_digits(p, tm->tm_hour, 2);
	p = stpcpy(p + 2, hsep);
	put_digits(p, tm->tm_min, 2);
	p = stpcpy(p + 2, hsep);
	put_digits(p, tm->tm_sec, 2);
	return p + 2;
}

/* -t stamps each read, up to many thousands a second: the date and time are formatted
 * once per second. */
void
stamp_line(char *buf, int64_t us)
{
	static int64_t cached_sec = -1;
	static char cached[19]; /* "2026-11-27T00:28:02" */
	int64_t sec = us < 0 ? 0 : us / US_PER_SEC;
	long frac = us < 0 ? 0 : (long)(us % US_PER_SEC);

	if (sec != cached_sec) {
		struct tm tm;
		char tmp[32];
		utc_of(us, &tm, &frac);
		put_datetime(tmp, &tm, "-", 'T', ":");
		memcpy(cached, tmp, sizeof cached);
		cached_sec = sec;
	}
	memcpy(buf, cached, sizeof cached);
	buf[19] = '.';
	put_digits(buf + 20, frac, 6);
	buf[26] = 'Z';
	buf[27] = ' ';
}

void
stamp_name(char *buf, int64_t us)
{
	struct tm tm;
	long frac;
	char *p;

	utc_of(us, &tm, &frac);
	buf[0] = '@';
	p = put_datetime(buf + 1, &tm, "", 'T', "");
	*p++ = '.';
	put_digits(p, frac, 6);
	strcpy(p + 6, "Z.s");
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil):
 * timegm() is not POSIX. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "@YYYYMMDDTHHMMSS.UUUUUUZ.s": '#' marks a digit. */
static const char name_shape[] = "@########T######.######Z.s";

static long
field(const char *p, int n)
{
	long v = 0;

	while (n-- > 0)
		v = v * 10 + (*p++ - '0');
	return v;
}

int64_t
stamp_parse_name(const char *name)
{
	if (strlen(name) != STAMP_NAME_LEN)
		return -1;
	for (int i = 0; i < STAMP_NAME_LEN; i++) {
		int digit = name[i] >= '0' && name[i] <= '9';
		if (name_shape[i] == '#' ? !digit : name[i] != name_shape[i])
			return -1;
	}
	long mon = field(name + 5, 2), day = field(name + 7, 2);
	long h = field(name + 10, 2), min = field(name + 12, 2), s = field(name + 14, 2);
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || h > 23 || min > 59 || s > 60)
		return -1;
	int64_t days = days_from_civil(field(name + 1, 4), (int)mon, (int)day);
	return ((days * 24 + h) * 60 + min) * 60 * US_PER_SEC + (int64_t)s * US_PER_SEC +
	    field(name + 17, 6);
}
