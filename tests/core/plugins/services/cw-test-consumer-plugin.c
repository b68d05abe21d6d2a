/* cw-test-consumer-plugin.c: a durable event consumer in a real daemon. When
 * COWORK_TEST_CONSUMER_LOG names a file, it consumes "consumertest:" events and appends
 * each delivered seq to that file (before acknowledging it), so a test can check what was
 * delivered across a kill -9. Commands: consumertest_emit {count} emits and stores events;
 * consumertest_hold makes the next delivery stay unacknowledged.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cowork.h>

#include <fcntl.h>
#include <unistd.h>

G_DECLARE_FINAL_TYPE (CwTestConsumerPlugin, cw_test_consumer_plugin, CW, TEST_CONSUMER_PLUGIN,
                      CwPlugin)

struct _CwTestConsumerPlugin
{
  CwPlugin parent_instance;
  gint log_fd;
  gboolean hold;
};

G_DEFINE_FINAL_TYPE (CwTestConsumerPlugin, cw_test_consumer_plugin, CW_TYPE_PLUGIN)

static void
consume (CwEventConsumer *consumer, CwEvent *event, gpointer user_data)
{
  CwTestConsumerPlugin *self = user_data;
  g_autofree gchar *line = g_strdup_printf ("%" G_GINT64_FORMAT "\n", cw_event_get_seq (event));

  if (write (self->log_fd, line, strlen (line)) != (gssize) strlen (line))
    g_error ("cannot write the consumer log: %s", g_strerror (errno));
  if (self->hold)
    return; /* delivered, never acknowledged */
  cw_event_consumer_ack (consumer, cw_event_get_seq (event));
}

static void
cmd_emit (CwInvocation *invocation, gpointer user_data)
{
  CwPlugin *plugin = user_data;
  g_autoptr (GError) error = NULL;
  JsonObject *result = json_object_new ();
  gint64 count, first = 0, last = 0;

  if (!cw_invocation_get_int (invocation, "count", 1, &count, &error))
    {
      json_object_unref (result);
      cw_invocation_return_error (invocation, g_steal_pointer (&error));
      return;
    }
  for (gint64 i = 0; i < count; i++)
    {
      JsonObject *data = json_object_new ();
      json_object_set_int_member (data, "i", i);
      last = cw_plugin_emit (plugin, "consumertest:tick", NULL, data);
      if (i == 0)
        first = last;
    }
  /* Stored before the answer: the caller may kill the daemon as soon as it has it. */
  cw_event_bus_get_cursor (cw_context_get_event_bus (cw_plugin_get_context (plugin)));
  json_object_set_int_member (result, "first", first);
  json_object_set_int_member (result, "last", last);
  cw_invocation_return_object (invocation, result);
}

static void
cmd_hold (CwInvocation *invocation, gpointer user_data)
{
  ((CwTestConsumerPlugin *) user_data)->hold = TRUE;
  cw_invocation_return_value (invocation, NULL);
}

static gboolean
consumer_load (CwPlugin *plugin, GError **error)
{
  return cw_plugin_add_command (plugin, "consumertest_emit", cmd_emit, error)
         && cw_plugin_add_command (plugin, "consumertest_hold", cmd_hold, error);
}

static gboolean
consumer_start (CwPlugin *plugin, GError **error)
{
  CwTestConsumerPlugin *self = (CwTestConsumerPlugin *) plugin;
  const gchar *path = g_getenv ("COWORK_TEST_CONSUMER_LOG");
  const gchar *const prefixes[] = { "consumertest:", NULL };

  if (path == NULL)
    return TRUE;
  self->log_fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (self->log_fd < 0)
    {
      g_set_error (error, CW_ERROR, CW_ERROR_FAILED, "cannot open %s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  return cw_plugin_add_event_consumer (plugin, "log", prefixes, consume, NULL, self, NULL, error)
         != NULL;
}

static void
cw_test_consumer_plugin_finalize (GObject *object)
{
  CwTestConsumerPlugin *self = (CwTestConsumerPlugin *) object;

  if (self->log_fd >= 0)
    close (self->log_fd);
  G_OBJECT_CLASS (cw_test_consumer_plugin_parent_class)->finalize (object);
}

static void
cw_test_consumer_plugin_class_init (CwTestConsumerPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cw_test_consumer_plugin_finalize;
  CW_PLUGIN_CLASS (klass)->load = consumer_load;
  CW_PLUGIN_CLASS (klass)->start = consumer_start;
}

static void
cw_test_consumer_plugin_init (CwTestConsumerPlugin *self)
{
  self->log_fd = -1;
}

CW_PLUGIN_EXPORT (cw_test_consumer_plugin_get_type)
