#!/usr/bin/env python3
"""Document 000's server, run as the document writes it: the standard library's
ssl.wrap_socket on an eventlet listener, served by eventlet.wsgi.server, in a
process that is NOT monkey-patched.

The one change: the document calls eventlet.wsgi.server(socket,
socket.getsockname(), site, log, ...), passing the address where eventlet
expects the WSGI application; here the arguments are given by name
(sock=..., site=..., log=...), so that what is shown is the TLS behaviour.

Settings arrive as JSON in argv[1]. What the process says goes to stdout as
JSON lines: {"ready": port}, {"log": line} for what eventlet.wsgi logs, and
{"died": "..."} when eventlet.wsgi.server stops with an exception.
"""
import json
import os
import signal
import ssl
import sys
import warnings

import eventlet
import eventlet.wsgi

warnings.simplefilter('ignore')


def say(message):
    sys.stdout.write(json.dumps(message) + '\n')
    sys.stdout.flush()


class Log:
    def write(self, text):
        for line in text.splitlines():
            if line.strip():
                say({'log': line})

    def flush(self):
        pass


def constant(expression, default):
    if not expression:
        return default
    name = expression.strip()
    name = name[4:] if name.startswith('ssl.') else name
    return getattr(ssl, name)


def main():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    settings = json.loads(sys.argv[1])
    sock = eventlet.listen(('127.0.0.1', 0))
    socket = ssl.wrap_socket(sock=sock, keyfile=settings.get('keyfile'), certfile=settings.get('certfile'),
                             server_side=True, cert_reqs=constant(settings.get('cert_reqs'), ssl.CERT_NONE),
                             ssl_version=constant(settings.get('ssl_version'), ssl.PROTOCOL_TLS),
                             ca_certs=settings.get('ca_certs'),
                             do_handshake_on_connect=True, suppress_ragged_eofs=True,
                             ciphers=settings.get('ciphers'))
    say({'ready': socket.getsockname()[1], 'socket': type(socket).__module__ + '.' + type(socket).__name__})

    def site(environ, start_response):
        body = b'hello from document 000 as written\n'
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
        return [body]

    try:
        eventlet.wsgi.server(sock=socket, site=site, log=Log(), socket_timeout=10)
    except BaseException as error:  # noqa: B902 - what stops it is the point
        say({'died': '%s: %s' % (type(error).__name__, error)})
        os._exit(1)


if __name__ == '__main__':
    main()
