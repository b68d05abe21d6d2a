/* cw-ctl-args.c: the values of coworkctl's subcommand options.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-ctl.h"

#include <glib/gi18n.h>

gboolean
cw_ctl_parse_int (const gchar *option, const gchar *text, gint64 min, gint64 max, gint64 *out,
                  GError **error)
{
  gint64 value;

  if (text == NULL || !g_ascii_string_to_signed (text, 10, min, max, &value, NULL))
    {
      g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS,
                   _ ("%s takes a whole number from %lld to %lld, not '%s'"), option,
                   (long long) min, (long long) max, text != NULL ? text : "");
      return FALSE;
    }
  *out = value;
  return TRUE;
}
