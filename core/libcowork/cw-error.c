/* cw-error.c: the one error domain of coworkd and its D-Bus names.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cowork.h"

/* The domain string is what GError and D-Bus clients see; .clang-format keeps it intact
 * (WhitespaceSensitiveMacros, which clang-format 14 honours on a terminated statement). */
G_DEFINE_QUARK (cw-error-quark, cw_error);

static const gchar *const error_names[CW_ERROR_LAST] = {
  [CW_ERROR_FAILED] = "Failed",
  [CW_ERROR_INVALID_PARAMS] = "InvalidParams",
  [CW_ERROR_NOT_FOUND] = "NotFound",
  [CW_ERROR_UNKNOWN_COMMAND] = "UnknownCommand",
  [CW_ERROR_UNAUTHORIZED] = "Unauthorized",
  [CW_ERROR_EXISTS] = "Exists",
  [CW_ERROR_NOT_SUPPORTED] = "NotSupported",
  [CW_ERROR_BUSY] = "Busy",
  [CW_ERROR_CANCELLED] = "Cancelled",
  [CW_ERROR_INTERNAL] = "Internal",
};

const gchar *
cw_error_to_name (CwError code)
{
  if ((guint) code >= CW_ERROR_LAST)
    return error_names[CW_ERROR_FAILED];
  return error_names[code];
}
