/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_FILE_H
#define ITK_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

/*
 * Writes data to path atomically: a temp file in the same directory, fsync,
 * rename over path, fsync of the directory.  A crash leaves either the old
 * file or the new one, never a torn one.  With excl, an existing path is
 * ITK_E_EXISTS and nothing is written.
 */
itk_err itk_file_write_atomic(const char *path, const void *data, size_t len,
			      mode_t mode, int excl) ITK_WUR;

/*
 * Reads all of path into a new buffer of at most max bytes (*out, freed by
 * the caller with itk_buf_free).  Larger files are ITK_E_TOO_BIG.
 */
itk_err itk_file_read(const char *path, size_t max, itk_buf **out) ITK_WUR;

/*
 * Like itk_file_read, for files holding secrets: refuses (ITK_E_PERM) a
 * file that is not a regular file or that its group or others may read or
 * write, as ssh refuses an unprotected private key.
 */
itk_err itk_file_read_secret(const char *path, size_t max,
			     itk_buf **out) ITK_WUR;

/* Creates dir (mode) if missing; ITK_OK if it already is a directory. */
itk_err itk_mkdir_p(const char *dir, mode_t mode) ITK_WUR;

#endif
