"""A real SMTP server for Hearth's tests (aiosmtpd): accepts every message on 127.0.0.1 and
saves each one as DIR/<n>.eml (written to a temporary name, then renamed, so a reader never
sees half a message). Prints the bound port on its first line of output.

Usage: python3 smtp_sink.py DIR [starttls|tls CERT KEY]      (needs `pip install aiosmtpd`)

With `starttls`, the server offers STARTTLS and refuses mail before it (RFC 3207); with `tls`
it speaks TLS from the first byte (implicit TLS, RFC 8314). CERT and KEY are PEM files.
"""

import asyncio
import itertools
import logging
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP


class SaveToDir:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        tmp = os.path.join(self.directory, f".{n:06}.tmp")
        with open(tmp, "wb") as f:
            f.write(b"X-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            content = envelope.original_content or envelope.content
            f.write(content if isinstance(content, bytes) else content.encode())
        os.rename(tmp, os.path.join(self.directory, f"{n:06}.eml"))
        return "250 Message accepted for delivery"


async def main(directory, mode=None, cert=None, key=None):
    # A client that refuses our certificate is what some tests check: no tracebacks for it.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    handler = SaveToDir(directory)
    loop = asyncio.get_running_loop()
    context = None
    if mode is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    if mode == "starttls":
        factory = lambda: SMTP(handler, tls_context=context, require_starttls=True)
        server = await loop.create_server(factory, "127.0.0.1", 0)
    elif mode == "tls":
        server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", 0, ssl=context)
    else:
        server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Ends when the test kit closes our stdin (or kills us).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
