/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_LOG_H
#define ITK_LOG_H

/*
 * One line per event on stderr, logfmt-style:
 *   ts=2026-11-22T01:00:00Z proc=gateway lvl=info ev=submit.accepted
 * bytes=4096 Callers pass an event name and key=value pairs; never a payload,
 * a passphrase, a key or a plaintext.  Values that may hold spaces are quoted
 * by the caller with %s and itk_log_quote is not provided on purpose: log
 * fields are ids, counts, codes and names.
 */

#include <stdbool.h>

typedef enum {
	ITK_LOG_DEBUG = 0,
	ITK_LOG_INFO = 1,
	ITK_LOG_WARN = 2,
	ITK_LOG_ERROR = 3,
} itk_log_level;

/* Names the process in every line; proc must outlive all logging. */
void itk_log_init(const char *proc);
/* Drops lines below lvl. */
void itk_log_set_level(itk_log_level lvl);
/*
 * Rounds the logged time down to a multiple of seconds (1 = exact); used to
 * keep exact arrival times out of logs.
 */
void itk_log_set_time_granularity(unsigned seconds);

void itk_log(itk_log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define itk_log_debug(ev, ...) itk_log(ITK_LOG_DEBUG, ev, __VA_ARGS__)
#define itk_log_info(ev, ...)  itk_log(ITK_LOG_INFO, ev, __VA_ARGS__)
#define itk_log_warn(ev, ...)  itk_log(ITK_LOG_WARN, ev, __VA_ARGS__)
#define itk_log_error(ev, ...) itk_log(ITK_LOG_ERROR, ev, __VA_ARGS__)

#endif
