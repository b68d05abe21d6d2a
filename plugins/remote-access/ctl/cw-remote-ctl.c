/* cw-remote-ctl.c: `coworkctl remote status|enable|disable|pair|devices|revoke|tunnel`.
 *
 * `pair` draws the pairing QR code in the terminal (libqrencode, two module rows per line
 * with half blocks, light modules drawn, on a dark background forced with ANSI colours when
 * the output is a terminal) and prints the pairing link for the web client.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "cw-client.h"
#include "cw-remote-ctl.h"

#include <glib/gi18n.h>
#include <qrencode.h>
#include <string.h>
#include <unistd.h>

#define USAGE                                                                                      \
  "usage: coworkctl remote [status]\n"                                                             \
  "       coworkctl remote enable|disable\n"                                                       \
  "       coworkctl remote pair\n"                                                                 \
  "       coworkctl remote devices\n"                                                              \
  "       coworkctl remote revoke DEVICE\n"                                                        \
  "       coworkctl remote tunnel start|stop"

static gboolean
usage_error (GError **error, const gchar *what)
{
  g_set_error (error, CW_ERROR, CW_ERROR_INVALID_PARAMS, "%s\n%s", what, USAGE);
  return FALSE;
}

/* Starting a tunnel may wait for it up to 20 s. */
static JsonNode *
call (CwCtl *ctl, const gchar *command, JsonObject *params, GError **error)
{
  return cw_ctl_call (ctl, command, params, 60, error);
}

static void
print_status (JsonObject *s)
{
  JsonNode *pid = json_object_get_member (s, "tunnelPid");

  g_print (_ ("Remote access: %s, %s\n"),
           json_object_get_boolean_member (s, "enabled") ? _ ("enabled") : _ ("disabled"),
           json_object_get_boolean_member (s, "running") ? _ ("running") : _ ("not running"));
  g_print (_ ("Local URL:     %s\n"), cw_ctl_json_string (s, "localBaseUrl", "-"));
  g_print (_ ("Public URL:    %s\n"), cw_ctl_json_string (s, "publicBaseUrl", "-"));
  g_print (_ ("Tunnel:        %s (%s), %s%s%s\n"), cw_ctl_json_string (s, "tunnelMode", "?"),
           cw_ctl_json_string (s, "tunnelVisibility", "?"),
           cw_ctl_json_string (s, "tunnelState", "?"),
           cw_ctl_json_string (s, "tunnelLastError", NULL) != NULL ? ": " : "",
           cw_ctl_json_string (s, "tunnelLastError", ""));
  if (pid != NULL && !JSON_NODE_HOLDS_NULL (pid))
    g_print (_ ("Tunnel pid:    %lld\n"), (long long) json_node_get_int (pid));
  g_print (_ ("Devices:       %lld paired\n"),
           (long long) json_object_get_int_member_with_default (s, "deviceCount", 0));
}

/* The QR code of @text in the terminal. */
static void
print_qr (const gchar *text)
{
  QRcode *qr = QRcode_encodeString (text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  gboolean tty = isatty (STDOUT_FILENO);
  const gint margin = 2;
  gint size;

  if (qr == NULL)
    {
      g_printerr (_ ("cannot draw the QR code\n"));
      return;
    }
  size = qr->width + 2 * margin;
  for (gint y = 0; y < size; y += 2)
    {
      GString *line = g_string_new (tty ? "\033[40;37m" : "");
      for (gint x = 0; x < size; x++)
        {
          gint mx = x - margin, top = y - margin, bottom = y + 1 - margin;
          gboolean dark_top = mx >= 0 && mx < qr->width && top >= 0 && top < qr->width
                              && (qr->data[top * qr->width + mx] & 1);
          gboolean dark_bottom = mx >= 0 && mx < qr->width && bottom >= 0 && bottom < qr->width
                                 && (qr->data[bottom * qr->width + mx] & 1);
          if (y + 1 >= size)
            dark_bottom = TRUE; /* below the code: background */
          g_string_append (line, !dark_top && !dark_bottom ? "\u2588"
                                 : !dark_top               ? "\u2580"
                                 : !dark_bottom            ? "\u2584"
                                                           : " ");
        }
      g_string_append (line, tty ? "\033[0m\n" : "\n");
      g_print ("%s", line->str);
      g_string_free (line, TRUE);
    }
  QRcode_free (qr);
}

static int
remote_pair (CwCtl *ctl, GError **error)
{
  g_autoptr (JsonNode) r = call (ctl, "remote_access_generate_qr", NULL, error);
  JsonObject *obj;
  g_autofree gchar *expires = NULL;

  if (r == NULL)
    return 1;
  if (ctl->json)
    {
      cw_ctl_print_json (r);
      return 0;
    }
  obj = json_node_get_object (r);
  print_qr (cw_ctl_json_string (obj, "pairingUri", ""));
  expires = cw_ctl_format_time (obj, "expiresAt");
  g_print (_ ("Scan this with the Cowork app, or paste the link into the web client. It works "
              "once, until %s.\n%s\n"),
           expires, cw_ctl_json_string (obj, "pairingUri", ""));
  return 0;
}

static const gchar *
device_state (JsonObject *d, gint64 now)
{
  if (json_object_has_member (d, "revokedAt"))
    return _ ("revoked");
  if (json_object_get_int_member_with_default (d, "expiresAt", 0) <= now)
    return _ ("expired");
  return _ ("active");
}

static int
remote_devices (CwCtl *ctl, GError **error)
{
  g_autoptr (JsonNode) r = call (ctl, "remote_access_list_devices", NULL, error);
  JsonArray *devices;
  gint64 now = g_get_real_time () / 1000;

  if (r == NULL)
    return 1;
  if (ctl->json)
    {
      cw_ctl_print_json (r);
      return 0;
    }
  devices = json_object_get_array_member (json_node_get_object (r), "devices");
  if (json_array_get_length (devices) == 0)
    {
      g_print (_ ("No paired devices.\n"));
      return 0;
    }
  g_print ("%-24s %-8s %-16s %-16s %-8s %s\n", _ ("DEVICE"), _ ("STATE"), _ ("LAST USED"),
           _ ("EXPIRES"), _ ("PLATFORM"), _ ("NAME"));
  for (guint i = 0; i < json_array_get_length (devices); i++)
    {
      JsonObject *d = json_array_get_object_element (devices, i);
      g_autofree gchar *used = cw_ctl_format_time (d, "lastUsedAt");
      g_autofree gchar *expires = cw_ctl_format_time (d, "expiresAt");
      g_print ("%-24s %-8s %-16s %-16s %-8s %s\n", cw_ctl_json_string (d, "id", "?"),
               device_state (d, now), used, expires, cw_ctl_json_string (d, "platform", "?"),
               cw_ctl_json_string (d, "name", ""));
    }
  return 0;
}

static int
remote_revoke (CwCtl *ctl, const gchar *id, GError **error)
{
  JsonObject *params = json_object_new ();
  g_autoptr (JsonNode) r = NULL;
  gboolean revoked;

  json_object_set_string_member (params, "deviceId", id);
  r = call (ctl, "remote_access_revoke_device", params, error);
  if (r == NULL)
    return 1;
  revoked
      = json_object_get_boolean_member_with_default (json_node_get_object (r), "revoked", FALSE);
  if (ctl->json)
    cw_ctl_print_json (r);
  else if (revoked)
    g_print (_ ("Revoked %s.\n"), id);
  else
    g_print (_ ("%s is not a paired device, or it was revoked already.\n"), id);
  return revoked ? 0 : 1;
}

static int
status_command (CwCtl *ctl, const gchar *command, GError **error)
{
  g_autoptr (JsonNode) r = call (ctl, command, NULL, error);

  if (r == NULL)
    return 1;
  if (ctl->json)
    cw_ctl_print_json (r);
  else
    print_status (json_node_get_object (r));
  return 0;
}

int
cw_ctl_remote (CwCtl *ctl, int argc, char **argv, GError **error)
{
  static const struct
  {
    const gchar *verb;
    const gchar *command;
  } simple[] = {
    { "status", "remote_access_get_status" },
    { "enable", "remote_access_enable" },
    { "disable", "remote_access_disable" },
  };
  const gchar *verb = argc > 1 ? argv[1] : "status";

  for (guint i = 0; i < G_N_ELEMENTS (simple); i++)
    if (g_str_equal (verb, simple[i].verb))
      {
        if (argc > 2)
          {
            g_autofree gchar *msg = g_strdup_printf ("remote %s: no arguments", verb);
            usage_error (error, msg);
            return 2;
          }
        return status_command (ctl, simple[i].command, error);
      }
  if (g_str_equal (verb, "pair") && argc == 2)
    return remote_pair (ctl, error);
  if (g_str_equal (verb, "devices") && argc == 2)
    return remote_devices (ctl, error);
  if (g_str_equal (verb, "revoke") && argc == 3)
    return remote_revoke (ctl, argv[2], error);
  if (g_str_equal (verb, "tunnel") && argc == 3
      && (g_str_equal (argv[2], "start") || g_str_equal (argv[2], "stop")))
    return status_command (ctl,
                           g_str_equal (argv[2], "start") ? "remote_access_start_tunnel"
                                                          : "remote_access_stop_tunnel",
                           error);
  {
    g_autofree gchar *msg = g_strdup_printf ("remote: unknown or incomplete subcommand '%s'", verb);
    usage_error (error, msg);
  }
  return 2;
}

const CwCtlCommand cw_ctl_commands_remote[] = {
  { "remote", "status|enable|disable|pair|devices|revoke|tunnel ...",
    N_ ("Remote access for paired phones"), cw_ctl_remote },
  { NULL },
};
