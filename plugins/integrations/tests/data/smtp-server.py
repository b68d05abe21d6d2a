# smtp-server.py PORT MAILDIR CERT KEY: aiosmtpd (Debian's python3-aiosmtpd) on 127.0.0.1:PORT,
# STARTTLS offered with CERT/KEY, AUTH PLAIN/LOGIN only over TLS and only for
# bot@example.test / botpass, every accepted mail written to the Maildir MAILDIR.
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, maildir, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def authenticate(server, session, envelope, mechanism, data):
    ok = (isinstance(data, LoginPassword) and data.login == b"bot@example.test"
          and data.password == b"botpass")
    return AuthResult(success=ok)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port, tls_context=context,
                        require_starttls=False, authenticator=authenticate,
                        auth_require_tls=True)
controller.start()
signal.sigwait([signal.SIGTERM, signal.SIGINT])
controller.stop()
