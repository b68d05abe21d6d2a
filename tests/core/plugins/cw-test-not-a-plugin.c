/* cw-test-not-a-plugin.c: a module without the entry symbol.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gmodule.h>

G_MODULE_EXPORT int cw_test_something_else (void);

int
cw_test_something_else (void)
{
  return 42;
}
