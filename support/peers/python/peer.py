#!/usr/bin/env python3
"""The Python peer: one long-lived process that runs document 000's and
safe_tls.py's servers and clients on command, so a run pays Python's start-up
(~1 s with eventlet) once instead of per scenario.

It speaks JSON lines on stdin/stdout: each request {"id": n, "op": ...} gets
one response {"id": n, "ok": true, ...} or {"id": n, "ok": false, "error":
{...}}. Every request runs in its own green thread, so servers and clients of
this process work at the same time. The process ends when stdin closes.

The process is monkey-patched with eventlet, as eventlet deployments run:
`ssl.wrap_socket` is eventlet's green wrap_socket, `ssl.create_default_context`
its green context. The TLS itself is the same OpenSSL through Python's ssl
module; only the I/O is cooperative. Document 000's server written literally
(stdlib ssl on an eventlet socket, nothing patched) is run by
`literal_server.py` instead, in a process of its own.
"""
import signal

import eventlet

# Ctrl-C and a stop end this process at once (no KeyboardInterrupt unwinding through eventlet's hub):
# the harness waits for it to be gone before it exits itself.
signal.signal(signal.SIGINT, signal.SIG_DFL)
eventlet.monkey_patch()

import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import eventlet.corolocal  # noqa: E402
import eventlet.event  # noqa: E402
import eventlet.greenio  # noqa: E402
import eventlet.wsgi  # noqa: E402
import requests  # noqa: E402
import urllib3  # noqa: E402
import urllib3.connection  # noqa: E402
from urllib3.util import connection as urllib3_connection  # noqa: E402

# ssl.wrap_socket is deprecated (document 000 uses it anyway) and verify=False
# warns: the harness reports both in its own words, so Python's warnings are noise here.
warnings.simplefilter('ignore')

LOOPBACK = '127.0.0.1'
DEVNULL = open(os.devnull, 'w')


class ConfigError(Exception):
    def __init__(self, field, detail):
        super().__init__(detail)
        self.field = field
        self.detail = detail


# --- the documents' vocabulary, evaluated as Python would -----------------------------

def python_constant(field, expression):
    """`ssl.PROTOCOL_TLSv1_2` → the constant; `"ssl.PROTOCOL_TLSv1_2"` → the string itself,
    exactly what document 000 passes, so that Python says what it does with it."""
    if expression is None:
        return None
    text = expression.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '"\'':
        return text[1:-1]
    name = text[4:] if text.startswith('ssl.') else text
    name = name[len('TLSVersion.'):] if name.startswith('TLSVersion.') else name
    if name in ssl.TLSVersion.__members__:
        return ssl.TLSVersion[name]
    if not hasattr(ssl, name):
        raise ConfigError(field, 'module ssl has no attribute %s' % name)
    return getattr(ssl, name)


PINNED = {'PROTOCOL_TLSv1': 'TLSv1', 'PROTOCOL_TLSv1_1': 'TLSv1_1', 'PROTOCOL_TLSv1_2': 'TLSv1_2'}


def set_context(context, name, value):
    """Set an SSLContext property through its C descriptor: under monkey-patching, the
    property in ssl.py looks up `SSLContext` (now eventlet's) and recurses forever."""
    getattr(ssl._ssl._SSLContext, name).__set__(context, value)


def apply_version_bounds(context, settings):
    if settings.get('minimum_version'):
        set_context(context, 'minimum_version', ssl.TLSVersion[settings['minimum_version']])
    if settings.get('maximum_version'):
        set_context(context, 'maximum_version', ssl.TLSVersion[settings['maximum_version']])


def error_record(error):
    code = getattr(error, 'reason', None) or type(error).__name__
    message = str(error)
    verify = getattr(error, 'verify_message', None)
    if verify and verify not in message:
        message = '%s: %s' % (message, verify)
    return {'code': str(code), 'message': message}


def der_of(ssl_socket):
    try:
        der = ssl_socket.getpeercert(binary_form=True)
    except Exception:
        return None
    return base64.b64encode(der).decode('ascii') if der else None


def openssl_cipher(ssl_socket):
    cipher = ssl_socket.cipher()
    return cipher[0] if cipher else None


# --- server side ------------------------------------------------------------------------

class ConnectionRecord:
    def __init__(self, port):
        self.port = port
        self.claimed = False
        self.data = {
            'accepted': True, 'handshakeCompleted': False, 'protocol': None, 'cipher': None,
            'clientCertificateDer': None, 'verificationError': None, 'rejection': None,
            'errors': [], 'requests': [],
        }
        self.closed = eventlet.event.Event()

    def close(self):
        if not self.closed.ready():
            self.closed.send(True)

    def handshake_done(self, ssl_socket):
        self.data.update(handshakeCompleted=True, protocol=ssl_socket.version(), cipher=openssl_cipher(ssl_socket),
                         clientCertificateDer=der_of(ssl_socket))

    def handshake_failed(self, error):
        record = error_record(error)
        text = (record['code'] + ' ' + record['message']).upper()
        if isinstance(error, ssl.SSLCertVerificationError):
            self.data['verificationError'] = getattr(error, 'verify_message', None) or record['message']
            self.data['rejection'] = record
        elif 'ALERT' in text or isinstance(error, (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError)) \
                or 'EOF' in text or isinstance(error, socket.timeout):
            # An alert the client sent, or the client leaving: evidence, not this server refusing.
            self.data['errors'].append(record)
        else:
            self.data['rejection'] = record


class Server:
    def __init__(self, kind, listener, effective):
        self.kind = kind
        self.listener = listener
        self.effective = effective
        self.records = []
        self.threads = []
        self.port = listener.getsockname()[1]

    def new_record(self, port):
        record = ConnectionRecord(port)
        self.records.append(record)
        return record

    def claim(self, client_port):
        for record in self.records:
            if not record.claimed and (client_port is None or record.port == client_port):
                record.claimed = True
                return record
        return None

    def stop(self):
        for thread in self.threads:
            thread.kill()
        try:
            self.listener.close()
        except Exception:
            pass


class ObservedConnection:
    """An accepted connection as eventlet.wsgi sees it; the handshake, which eventlet
    would run inside its first read, runs just before it, in the same green thread,
    so that its result is recorded."""

    def __init__(self, connection, record):
        self._connection = connection
        self._record = record
        self._shaken = False

    def _handshake(self):
        if self._shaken:
            return
        self._shaken = True
        try:
            self._connection.do_handshake()
        except Exception as error:
            self._record.handshake_failed(error)
            self._connection.close()
            self._record.close()
            raise
        self._record.handshake_done(self._connection)

    def makefile(self, *args, **kwargs):
        self._handshake()
        return self._connection.makefile(*args, **kwargs)

    def recv(self, *args, **kwargs):
        self._handshake()
        return self._connection.recv(*args, **kwargs)

    def close(self):
        try:
            self._connection.close()
        finally:
            self._record.close()

    def __getattr__(self, name):
        return getattr(self._connection, name)


class ObservedListener:
    def __init__(self, listener, server):
        self._listener = listener
        self._server = server

    def accept(self):
        connection, address = self._listener.accept()
        # eventlet.wsgi writes headers and body separately; without TCP_NODELAY each response waits for
        # the client's delayed ACK (~40 ms). Timing only: nothing the rules look at changes.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        record = self._server.new_record(address[1])
        return ObservedConnection(connection, record), address

    def __getattr__(self, name):
        return getattr(self._listener, name)


def wsgi_site(kind, server):
    def site(environ, start_response):
        port = int(environ.get('REMOTE_PORT') or 0)
        for record in server.records:
            if record.port == port:
                record.data['requests'].append({'method': environ['REQUEST_METHOD'], 'path': environ.get('PATH_INFO', '/'), 'status': 200})
        body = ('hello from %s\n' % kind).encode()
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
        return [body]
    return site


def wrap_socket_equivalent(sock, keyfile=None, certfile=None, server_side=False, cert_reqs=ssl.CERT_NONE,
                           ssl_version=None, ca_certs=None, ciphers=None, do_handshake_on_connect=True, npn_protocols=None):
    """What ssl.wrap_socket did, for Pythons (3.12 and later) that no longer have it
    (the report's version line says so): the same settings on an SSLContext."""
    if server_side and not certfile:
        raise ValueError('certfile must be specified for server-side operations')
    context = ssl.SSLContext(ssl_version if ssl_version is not None else ssl.PROTOCOL_TLS_SERVER)
    set_context(context, 'verify_mode', cert_reqs)
    if ca_certs:
        context.load_verify_locations(ca_certs)
    context.load_cert_chain(certfile, keyfile)
    if ciphers:
        context.set_ciphers(ciphers)
    if npn_protocols is not None:
        raise TypeError("SSLContext.wrap_socket() got an unexpected keyword argument 'npn_protocols'")
    return context.wrap_socket(sock, server_side=server_side, do_handshake_on_connect=do_handshake_on_connect)


def start_eventlet_server(settings):
    """Document 000's server, as eventlet deployments run it: ssl.wrap_socket on an
    eventlet listener, served by eventlet.wsgi.server, in a monkey-patched process."""
    listen = eventlet.listen((LOOPBACK, 0))
    kwargs = dict(sock=listen, keyfile=settings.get('keyfile'), certfile=settings.get('certfile'), server_side=True,
                  ssl_version=python_constant('ssl_version', settings.get('ssl_version') or 'ssl.PROTOCOL_TLS'),
                  ca_certs=settings.get('ca_certs'), ciphers=settings.get('ciphers'))
    if settings.get('cert_reqs'):
        kwargs['cert_reqs'] = python_constant('cert_reqs', settings['cert_reqs'])
    if settings.get('npn_protocols') is not None:
        kwargs['npn_protocols'] = settings['npn_protocols']  # document 000's parameter: let Python say what it thinks of it
    if settings.get('do_handshake_on_connect') is not None:
        # Passed on as document 000 does; eventlet's accept() makes every connection with False anyway.
        kwargs['do_handshake_on_connect'] = settings['do_handshake_on_connect']
    by_context = settings.get('wrap_with') == 'SSLContext.wrap_socket' or not hasattr(ssl, 'wrap_socket')
    try:
        wrapped = wrap_socket_equivalent(**kwargs) if by_context else ssl.wrap_socket(**kwargs)
    except Exception:
        listen.close()
        raise
    apply_version_bounds(wrapped.context, settings)
    if os.environ.get('SSLKEYLOGFILE'):
        wrapped.context.keylog_filename = os.environ['SSLKEYLOGFILE']  # wrap_socket's context does not read the variable itself
    if settings.get('alpn_protocols'):
        wrapped.context.set_alpn_protocols(settings['alpn_protocols'])
    server = Server('python-eventlet', wrapped, {'verify_mode': wrapped.context.verify_mode.name,
                                                'wrapped_with': 'SSLContext.wrap_socket' if by_context else 'ssl.wrap_socket'})
    listener = ObservedListener(wrapped, server)
    server.threads.append(eventlet.spawn(eventlet.wsgi.server, listener, wsgi_site('python-eventlet', server),
                                         log=DEVNULL, log_output=False, socket_timeout=10))
    return server


def start_context_server(settings):
    """safe_tls.py's server: create_default_context(Purpose.CLIENT_AUTH, cafile=...),
    load_cert_chain, wrap_socket(server_side=True); here answering one HTTP request per connection."""
    version = python_constant('ssl_version', settings.get('ssl_version') or 'ssl.PROTOCOL_TLS')
    if not isinstance(version, int):
        ssl.SSLContext(version)  # what Python does with a protocol that is not a constant: let it say so
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=settings.get('ca_certs'))
    context.load_cert_chain(settings.get('certfile'), settings.get('keyfile'))
    if settings.get('cert_reqs'):
        set_context(context, 'verify_mode', python_constant('cert_reqs', settings['cert_reqs']))
    pinned = PINNED.get(getattr(version, 'name', ''))
    if pinned:
        set_context(context, 'minimum_version', ssl.TLSVersion[pinned])
        set_context(context, 'maximum_version', ssl.TLSVersion[pinned])
    apply_version_bounds(context, settings)
    if settings.get('ciphers'):
        context.set_ciphers(settings['ciphers'])
    if settings.get('npn_protocols') is not None:
        raise ConfigError('npn_protocols', 'NPN is superseded by ALPN (RFC 7301) and not offered here: use alpn_protocols')
    if settings.get('alpn_protocols'):
        context.set_alpn_protocols(settings['alpn_protocols'])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, 0))
    listener.listen(64)
    server = Server('python-context', listener, {'verify_mode': context.verify_mode.name,
                                                 'do_handshake_on_connect': str(settings.get('do_handshake_on_connect') is not False)})

    on_connect = settings.get('do_handshake_on_connect') is not False

    def handle(raw, address):
        record = server.new_record(address[1])
        raw.settimeout(10)
        try:
            try:
                connection = context.wrap_socket(raw, server_side=True, do_handshake_on_connect=on_connect)
            except Exception as error:
                record.handshake_failed(error)
                raw.close()
                return
            if on_connect:
                record.handshake_done(connection)
            try:
                request = b''
                while b'\r\n\r\n' not in request:
                    try:
                        chunk = connection.recv(4096)  # with do_handshake_on_connect=False, the handshake happens here
                    except Exception as error:
                        if not record.data['handshakeCompleted']:
                            record.handshake_failed(error)
                            connection.close()
                            return
                        raise
                    if not record.data['handshakeCompleted']:
                        record.handshake_done(connection)
                    if not chunk:
                        break
                    request += chunk
                if request:
                    line = request.split(b'\r\n', 1)[0].decode('latin-1').split(' ')
                    record.data['requests'].append({'method': line[0], 'path': line[1] if len(line) > 1 else '/', 'status': 200})
                    body = b'hello from python-context\n'
                    if settings.get('end_without_close_notify'):
                        # safe_tls.py's own way to end: sendall, then close(), which sends no close_notify
                        connection.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nthe first part of a longer body')
                    else:
                        connection.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' % (len(body), body))
            except Exception as error:
                record.handshake_failed(error) if not record.data['errors'] else None
            connection.close()
        finally:
            record.close()

    def accept_loop():
        while True:
            raw, address = listener.accept()
            eventlet.spawn(handle, raw, address)

    server.threads.append(eventlet.spawn(accept_loop))
    return server


SERVER_KINDS = {'python-eventlet': start_eventlet_server, 'python-context': start_context_server}
servers = {}


def config_error_of(error, settings):
    """Name the setting a refused configuration is about."""
    text = '%s: %s' % (type(error).__name__, error)
    if isinstance(error, ConfigError):
        return {'field': error.field, 'detail': error.detail}
    if 'npn_protocols' in text:
        return {'field': 'npn_protocols', 'detail': text}
    if isinstance(error, FileNotFoundError):
        for field in ('certfile', 'keyfile', 'ca_certs'):
            if settings.get(field) and settings.get(field) == error.filename:
                return {'field': field, 'detail': text}
        return {'field': 'certfile', 'detail': text}
    if 'KEY_VALUES_MISMATCH' in text or 'key values mismatch' in text:
        return {'field': 'keyfile', 'detail': text}
    if 'PEM lib' in text and settings.get('certfile') and not settings.get('keyfile'):
        # load_cert_chain(certfile) looks for the key in certfile when keyfile is not given
        return {'field': 'keyfile', 'detail': text + ' (no keyfile given, and no key in certfile)'}
    if 'certfile' in text:
        return {'field': 'certfile', 'detail': text}
    if 'cipher' in text.lower():
        return {'field': 'ciphers', 'detail': text}
    if isinstance(error, TypeError) and 'int' in text:
        return {'field': 'ssl_version', 'detail': text}
    if 'PEM' in text or 'cafile' in text:
        return {'field': 'certfile', 'detail': text}
    return {'field': 'server', 'detail': text}


def op_start_server(message):
    settings = message['settings']
    try:
        server = SERVER_KINDS[message['kind']](settings)
    except Exception as error:
        return {'ok': False, 'configurationError': config_error_of(error, settings)}
    servers[server.port] = server
    return {'ok': True, 'port': server.port, 'effective': server.effective}


def op_observe(message):
    server = servers.get(message['server'])
    if server is None:
        return {'ok': False, 'error': 'no such server'}
    deadline = time.monotonic() + message.get('settleMs', 1000) / 1000.0
    record = server.claim(message.get('clientPort'))
    while record is None and time.monotonic() < deadline:
        eventlet.sleep(0.005)
        record = server.claim(message.get('clientPort'))
    if record is None:
        return {'ok': True, 'observation': None, 'effective': server.effective}
    record.closed.wait(max(0.0, deadline - time.monotonic()))
    return {'ok': True, 'observation': record.data, 'effective': server.effective}


def op_stop_server(message):
    server = servers.pop(message['server'], None)
    if server:
        server.stop()
    return {'ok': True}


# --- client side ------------------------------------------------------------------------

attempt_local = eventlet.corolocal.local()
_create_connection = urllib3_connection.create_connection
_ssl_wrap_socket = urllib3.connection.ssl_wrap_socket


def pinned_create_connection(address, *args, **kwargs):
    """Name resolution pinned to 127.0.0.1 (like a hosts file): the URL keeps the
    name, so SNI and hostname checking see server_hostname."""
    sock = _create_connection((LOOPBACK, address[1]), *args, **kwargs)
    attempt = getattr(attempt_local, 'attempt', None)
    if attempt is not None:
        attempt['localPort'] = sock.getsockname()[1]
    return sock


def observed_ssl_wrap_socket(*args, **kwargs):
    attempt = getattr(attempt_local, 'attempt', None)
    try:
        tls = _ssl_wrap_socket(*args, **kwargs)
    except Exception as error:
        if attempt is not None:
            attempt['socketError'] = error_record(error)
        raise
    if attempt is not None:
        attempt.update(handshakeCompleted=True, protocol=tls.version(), cipher=openssl_cipher(tls),
                       serverCertificateDer=der_of(tls), compression=tls.compression() or 'none',
                       alpn=tls.selected_alpn_protocol())
    return tls


urllib3_connection.create_connection = pinned_create_connection
urllib3.connection.ssl_wrap_socket = observed_ssl_wrap_socket


def new_attempt():
    return {'localPort': None, 'handshakeCompleted': False, 'protocol': None, 'cipher': None,
            'serverCertificateDer': None, 'response': None, 'socketError': None, 'requestError': None,
            'timedOut': False}


def host_in_url(name):
    return '[%s]' % name if ':' in name else name


class ContextAdapter(requests.adapters.HTTPAdapter):
    """Only for client-side ciphers or version bounds, which requests has no parameter for."""

    def __init__(self, settings):
        self._settings = settings
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        context = urllib3.util.ssl_.create_urllib3_context(ciphers=self._settings.get('ciphers'))
        apply_version_bounds(context, self._settings)
        if self._settings.get('alpn_protocols'):
            context.set_alpn_protocols(self._settings['alpn_protocols'])
        kwargs['ssl_context'] = context
        return super().init_poolmanager(*args, **kwargs)


def op_requests(message):
    """requests.request('GET', url, verify=..., cert=..., timeout=...), as document 000's client."""
    settings, target = message['settings'], message['target']
    attempt = attempt_local.attempt = new_attempt()
    url = 'https://%s:%d%s' % (host_in_url(settings['server_hostname']), target['port'], settings.get('path') or '/')
    headers = {'Content-Type': 'application/json', 'Accept': 'application/json'}  # document 000's headers
    headers.update(settings.get('headers') or {})
    kwargs = {'verify': settings['verify'], 'timeout': settings['timeout'], 'headers': headers}
    if settings.get('cert'):
        kwargs['cert'] = tuple(settings['cert'])
    session = requests.Session()
    if settings.get('ciphers') or settings.get('minimum_version') or settings.get('maximum_version') or settings.get('alpn_protocols'):
        try:
            urllib3.util.ssl_.create_urllib3_context(ciphers=settings.get('ciphers'))
        except Exception as error:
            return {'ok': False, 'configurationError': {'field': 'ciphers', 'detail': '%s: %s' % (type(error).__name__, error)}}
        session.mount('https://', ContextAdapter(settings))
    try:
        response = session.request('GET', url, **kwargs)
        attempt['response'] = {'status': response.status_code, 'body': response.text}
    except requests.exceptions.Timeout as error:
        attempt.update(timedOut=True, requestError={'code': type(error).__name__, 'message': str(error)})
    except Exception as error:
        attempt['requestError'] = {'code': type(error).__name__, 'message': str(error)}
    finally:
        session.close()
        attempt_local.attempt = None
    return {'ok': True, 'observation': attempt}


def op_context_client(message):
    """safe_tls.py's client: create_default_context(Purpose.SERVER_AUTH, cafile=...),
    wrap_socket(raw, server_hostname=host), then one HTTP GET."""
    settings, target = message['settings'], message['target']
    attempt = new_attempt()
    verify = settings['verify']
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=verify if isinstance(verify, str) else None)
        if verify is False:
            context.check_hostname = False
            set_context(context, 'verify_mode', ssl.CERT_NONE)
        if settings.get('cert'):
            context.load_cert_chain(*settings['cert'])
        if settings.get('ciphers'):
            context.set_ciphers(settings['ciphers'])
        if settings.get('alpn_protocols'):
            context.set_alpn_protocols(settings['alpn_protocols'])
        if settings.get('ignore_unexpected_eof') is False:
            context.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
        apply_version_bounds(context, settings)
    except Exception as error:
        text = '%s: %s' % (type(error).__name__, error)
        field = 'ciphers' if 'cipher' in text.lower() else 'verify' if 'cafile' in text else 'cert'
        return {'ok': False, 'configurationError': {'field': field, 'detail': text}}
    raw = socket.create_connection((LOOPBACK, target['port']), timeout=settings['timeout'])
    # As urllib3 (requests) does: without TCP_NODELAY the request waits behind the unacknowledged Finished for a
    # server's delayed ACK (~40 ms against Go's and GnuTLS's servers). Timing only: nothing the rules look at changes.
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    attempt['localPort'] = raw.getsockname()[1]
    suppress = settings.get('suppress_ragged_eofs')
    try:
        try:
            tls = context.wrap_socket(raw, server_hostname=settings['server_hostname'],
                                      suppress_ragged_eofs=True if suppress is None else suppress)
        except Exception as error:
            attempt['socketError'] = error_record(error)
            attempt['timedOut'] = isinstance(error, socket.timeout)
            return {'ok': True, 'observation': attempt}
        attempt.update(handshakeCompleted=True, protocol=tls.version(), cipher=openssl_cipher(tls), serverCertificateDer=der_of(tls),
                       compression=tls.compression() or 'none', alpn=tls.selected_alpn_protocol())
        host = host_in_url(settings['server_hostname'])
        extra = ''.join('%s: %s\r\n' % item for item in (settings.get('headers') or {}).items())
        tls.sendall(('GET %s HTTP/1.1\r\nHost: %s:%d\r\n%sConnection: close\r\n\r\n' % (settings.get('path') or '/', host, target['port'], extra)).encode())
        reply = b''
        try:
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except Exception as error:
            attempt['socketError'] = error_record(error)
            attempt['timedOut'] = isinstance(error, socket.timeout)
        head = reply.split(b'\r\n', 1)[0].split(b' ')
        if len(head) >= 2 and head[0].startswith(b'HTTP/') and head[1].isdigit():
            attempt['response'] = {'status': int(head[1]), 'body': reply.split(b'\r\n\r\n', 1)[-1].decode('latin-1')}
            # An error once the response had begun is about its end, not about the connection.
            attempt['endError'], attempt['socketError'] = attempt['socketError'], None
        tls.close()
    finally:
        raw.close()
    return {'ok': True, 'observation': attempt}


def op_version(_message):
    import platform
    return {'ok': True, 'python': platform.python_version(), 'openssl': ssl.OPENSSL_VERSION,
            'eventlet': eventlet.__version__, 'requests': requests.__version__}


OPERATIONS = {'start_server': op_start_server, 'observe': op_observe, 'stop_server': op_stop_server,
              'requests': op_requests, 'context_client': op_context_client, 'version': op_version}


def reply(message_id, body):
    body['id'] = message_id
    sys.stdout.write(json.dumps(body) + '\n')
    sys.stdout.flush()


def handle(message):
    try:
        body = OPERATIONS[message['op']](message)
    except Exception as error:
        body = {'ok': False, 'error': '%s: %s' % (type(error).__name__, error)}
    reply(message.get('id'), body)


def main():
    stdin = eventlet.greenio.GreenPipe(sys.stdin.fileno(), 'rb')
    sys.stdout.write(json.dumps({'ready': True}) + '\n')
    sys.stdout.flush()
    while True:
        line = stdin.readline()
        if not line:
            break
        eventlet.spawn(handle, json.loads(line))
    for server in list(servers.values()):
        server.stop()


if __name__ == '__main__':
    main()
