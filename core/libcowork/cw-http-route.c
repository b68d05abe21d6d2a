/* cw-http-route.c: route patterns of the HTTP server, who may own which path, and which
 * route a request path goes to.
 *
 * A pattern is an exact path ("/v1/health"; a request with a trailing '/' matches too) or a
 * prefix, whose last segment is a lone '*' ("/v1/workflow/webhooks/" then '*': that path and
 * everything below it). Two owners may not
 * share a path: a new route is refused when an exact path of another owner lies under it,
 * when it lies under another owner's prefix, or when the two are the same.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cw-http-private.h"

gchar *
cw_http_path_normalise (const gchar *path)
{
  gsize len = strlen (path);

  while (len > 1 && path[len - 1] == '/')
    len--;
  return g_strndup (path, len);
}

static gboolean
check_pattern (const gchar *pattern, GError **error)
{
  const gchar *why = NULL;

  if (pattern == NULL || pattern[0] != '/')
    why = "must start with /";
  else if (strlen (pattern) > 256)
    why = "is longer than 256 characters";
  else if (strstr (pattern, "//") != NULL)
    why = "has an empty segment";
  else
    {
      g_auto (GStrv) segments = g_strsplit (pattern + 1, "/", -1);
      for (guint i = 0; why == NULL && segments[i] != NULL; i++)
        {
          const gchar *s = segments[i];
          if (g_strcmp0 (s, ".") == 0 || g_strcmp0 (s, "..") == 0)
            why = "has a . or .. segment";
          else if (strchr (s, '*') != NULL && (g_strcmp0 (s, "*") != 0 || segments[i + 1] != NULL))
            why = "may only end with /*";
          for (; why == NULL && *s != '\0'; s++)
            if (!g_ascii_isalnum (*s) && strchr ("-._~*", *s) == NULL)
              why = "may hold only letters, digits and -._~";
        }
    }
  if (why == NULL)
    return TRUE;
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "HTTP route %s %s",
               pattern != NULL ? pattern : "(null)", why);
  return FALSE;
}

CwHttpRoute *
cw_http_route_new (const gchar *owner, const gchar *pattern, GError **error)
{
  CwHttpRoute *route;

  if (!check_pattern (pattern, error))
    return NULL;
  route = g_new0 (CwHttpRoute, 1);
  route->owner = g_strdup (owner);
  route->pattern = g_strdup (pattern);
  route->prefix = g_str_has_suffix (pattern, "/*");
  if (route->prefix)
    route->base = g_strndup (pattern, strlen (pattern) - 2);
  else
    route->base = cw_http_path_normalise (pattern);
  return route;
}

void
cw_http_route_free (CwHttpRoute *route)
{
  if (route->destroy != NULL)
    route->destroy (route->user_data);
  g_free (route->owner);
  g_free (route->pattern);
  g_free (route->base);
  g_strfreev (route->protocols);
  g_free (route);
}

/* @path is @base or lies below it. */
static gboolean
is_under (const gchar *path, const gchar *base)
{
  gsize len = strlen (base);

  return strncmp (path, base, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

gsize
cw_http_route_match (const CwHttpRoute *route, const gchar *path)
{
  if (!route->prefix)
    return strcmp (route->base, path) == 0 ? G_MAXSIZE : 0;
  if (route->base[0] == '\0')
    return 1; /* the root prefix covers everything */
  return is_under (path, route->base) ? strlen (route->base) + 1 : 0;
}

static gboolean
overlaps (const CwHttpRoute *a, const CwHttpRoute *b)
{
  if (!a->prefix && !b->prefix)
    return strcmp (a->base, b->base) == 0;
  if (a->prefix && b->prefix)
    return cw_http_route_match (a, b->base[0] != '\0' ? b->base : "/") > 0
           || cw_http_route_match (b, a->base[0] != '\0' ? a->base : "/") > 0;
  return a->prefix ? cw_http_route_match (a, b->base) > 0 : cw_http_route_match (b, a->base) > 0;
}

gboolean
cw_http_route_check_conflict (const CwHttpRoute *route, const CwHttpRoute *other, GError **error)
{
  if (g_strcmp0 (route->owner, other->owner) == 0)
    {
      if (route->prefix != other->prefix || strcmp (route->base, other->base) != 0)
        return TRUE;
      g_set_error (error, CW_ERROR, CW_ERROR_EXISTS, "%s already has the HTTP route %s",
                   route->owner, other->pattern);
      return FALSE;
    }
  if (!overlaps (route, other))
    return TRUE;
  g_set_error (error, CW_ERROR, CW_ERROR_EXISTS,
               "HTTP route %s of %s overlaps %s, which belongs to %s", route->pattern, route->owner,
               other->pattern, other->owner);
  return FALSE;
}
