/* cw-test-media-plugin.c: a plugin for the integrations' media tests. It offers the agent
 * the tool make_media ({mediaType, size?, path?}) whose command mediatest_make answers with a
 * `media` array, as an image or video generator does: `size` bytes of a known pattern as
 * base64 data (default 64), or the file at `path`.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

G_DECLARE_FINAL_TYPE (CwTestMediaPlugin, cw_test_media_plugin, CW, TEST_MEDIA_PLUGIN, CwPlugin)

struct _CwTestMediaPlugin
{
  CwPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE (CwTestMediaPlugin, cw_test_media_plugin, CW_TYPE_PLUGIN)

static void
cmd_make (CwInvocation *invocation, gpointer user_data)
{
  JsonObject *params = cw_invocation_get_params (invocation);
  const gchar *type = json_object_get_string_member_with_default (params, "mediaType", "image");
  const gchar *path = json_object_get_string_member_with_default (params, "path", NULL);
  gint64 size = json_object_get_int_member_with_default (params, "size", 64);
  JsonObject *result = json_object_new ();
  JsonObject *item = json_object_new ();
  JsonArray *media = json_array_new ();

  json_object_set_string_member (item, "mediaType", type);
  if (path != NULL)
    json_object_set_string_member (item, "path", path);
  else
    {
      g_autofree guchar *bytes = g_malloc (size);
      g_autofree gchar *data = NULL;
      for (gint64 i = 0; i < size; i++)
        bytes[i] = (guchar) (i * 7 + 3);
      data = g_base64_encode (bytes, size);
      json_object_set_string_member (item, "mimeType",
                                     g_str_equal (type, "video") ? "video/mp4" : "image/png");
      json_object_set_string_member (item, "data", data);
    }
  json_array_add_object_element (media, item);
  json_object_set_string_member (result, "content", "made it");
  json_object_set_array_member (result, "media", media);
  cw_invocation_return_object (invocation, result);
}

static gboolean
media_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command (plugin, "mediatest_make", cmd_make, error)
         && cw_plugin_add_agent_tool (
             plugin, "make_media", "Makes an image or a video.",
             "{\"type\":\"object\",\"properties\":{\"mediaType\":{\"type\":\"string\"},"
             "\"size\":{\"type\":\"integer\"},\"path\":{\"type\":\"string\"}}}",
             "mediatest_make", CW_AGENT_TOOL_NONE, error);
}

static void
cw_test_media_plugin_class_init (CwTestMediaPluginClass *klass)
{
  CW_PLUGIN_CLASS (klass)->load = media_load;
}

static void
cw_test_media_plugin_init (CwTestMediaPlugin *self)
{
}

CW_PLUGIN_EXPORT (cw_test_media_plugin_get_type)
