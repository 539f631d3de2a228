/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_proc = "intake";
static itk_log_level log_min = ITK_LOG_INFO;
static unsigned log_granularity = 1;

void
itk_log_init(const char *proc)
{
	log_proc = proc;
}

void
itk_log_set_level(itk_log_level lvl)
{
	log_min = lvl;
}

void
itk_log_set_time_granularity(unsigned seconds)
{
	log_granularity = seconds == 0 ? 1 : seconds;
}

static const char *
level_name(itk_log_level lvl)
{
	switch (lvl) {
	case ITK_LOG_DEBUG:
		return "debug";
	case ITK_LOG_INFO:
		return "info";
	case ITK_LOG_WARN:
		return "warn";
	case ITK_LOG_ERROR:
		return "error";
	default:
		return "?";
	}
}

void
itk_log(itk_log_level lvl, const char *event, const char *fmt, ...)
{
	char line[1024];
	char ts[32];
	struct tm tm;
	time_t now;
	size_t n;
	int w;
	va_list ap;

	if (lvl < log_min) {
		return;
	}
	now = time(NULL);
	now -= now % (time_t)log_granularity;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	w = snprintf(line, sizeof(line), "ts=%s proc=%s lvl=%s ev=%s", ts,
		     log_proc, level_name(lvl), event);
	if (w < 0) {
		return;
	}
	n = (size_t)w < sizeof(line) ? (size_t)w : sizeof(line) - 1;
	if (fmt != NULL && fmt[0] != '\0' && n < sizeof(line) - 2) {
		line[n++] = ' ';
		va_start(ap, fmt);
		w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (w > 0) {
			n += (size_t)w < sizeof(line) - n
				 ? (size_t)w
				 : sizeof(line) - n - 1;
		}
	}
	/* One write per line so that lines from threads never interleave. */
	for (size_t i = 0; i < n; i++) {
		if (line[i] == '\n' || line[i] == '\r') {
			line[i] = ' ';
		}
	}
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
	fflush(stderr);
}
