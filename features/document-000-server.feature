@seed
Feature: Document 000's server, as written and as deployed
  Document 000 (sections 3.1 and 4.1) wraps an eventlet listener with the
  standard library's ssl.wrap_socket and serves it with eventlet.wsgi.server:

      socket = ssl.wrap_socket(sock=sock, keyfile=keyfile, certfile=certfile,
                               server_side=True, cert_reqs=ssl.CERT_NONE, ...)
      eventlet.wsgi.server(socket, socket.getsockname(), site, log, ...)

  Two things in that call are wrong before TLS even starts: ssl_version is
  passed as the string "ssl.PROTOCOL_TLSv1_2" (see the rule on ssl_version),
  and eventlet.wsgi.server's second argument is the WSGI application, not the
  address (here the arguments are passed by name). Then, in a process that is
  not monkey-patched, the standard library's SSL socket and eventlet's
  cooperative server do not fit together: the handshake completes, but the
  server never answers, and one TCP connection closed without a handshake
  stops it. Monkey-patched, as eventlet deployments run, the same code serves
  (every other scenario of this harness runs it that way).

  Rule: Run as written, the server completes handshakes but never answers a request

    # Document 000's own client, by name: requests.request is an implementation, not a setting another client could declare.
    @rule:seed.server-as-written @client:requests
    Scenario: document 000's server as written, and document 000's client
      Given a server with certfile and keyfile from the localhost certificate
      And the server runs as document 000 writes it, without eventlet.monkey_patch()
      And the server has ssl_version ssl.PROTOCOL_TLSv1_2
      And the client has verify from the server-ca certificate
      And the client has timeout 1 second
      When the client connects
      Then the client times out waiting for the answer

    # Document 000's own client, by name: requests.request is an implementation, not a setting another client could declare.
    @rule:seed.server-as-written @client:requests
    Scenario: document 000's server as written is stopped by a TCP connection that closes at once
      Given a server with certfile and keyfile from the localhost certificate
      And the server runs as document 000 writes it, without eventlet.monkey_patch()
      And the server has ssl_version ssl.PROTOCOL_TLSv1_2
      And the client has verify from the server-ca certificate
      When a bare TCP connection is opened and closed
      And the client connects
      Then nothing accepts the connection any more

    @rule:seed.server-as-written
    Scenario: the same server monkey-patched, as eventlet deployments run it, serves
      Given a server with certfile and keyfile from the localhost certificate
      And the server wraps its socket with ssl.wrap_socket
      And the server has ssl_version ssl.PROTOCOL_TLSv1_2
      And the client has verify from the server-ca certificate
      When the client connects
      Then the request completes

  Rule: do_handshake_on_connect=False moves the handshake to the first I/O, with the same outcomes
    Document 000 passes do_handshake_on_connect through to ssl.wrap_socket.
    With False, the handshake happens at the first read or write instead of
    inside accept() or wrap_socket(). Under eventlet the question does not
    arise on the server: eventlet's accept() makes every connection with
    do_handshake_on_connect=False whatever the listener was given.

    @rule:handshake.on-connect
    Scenario Outline: do_handshake_on_connect <value>, cert_reqs CERT_REQUIRED and a client presenting <client certificate>
      Given a server with certfile and keyfile from the localhost certificate
      And the server has ca_certs from the client-ca certificate
      And the server has cert_reqs CERT_REQUIRED
      And the server has do_handshake_on_connect <value>
      And the client has verify from the server-ca certificate
      And the client presents <client certificate>
      When the client connects
      Then <outcome>

      Examples:
        | value | client certificate                       | outcome                                             |
        | True  | the client certificate                   | the request completes                               |
        | False | the client certificate                   | the request completes                               |
        | True  | no certificate                           | the server rejects the client: certificate_required |
        | False | no certificate                           | the server rejects the client: certificate_required |
        | True  | the client-from-unrelated-ca certificate | the server rejects the client: unknown_ca           |
        | False | the client-from-unrelated-ca certificate | the server rejects the client: unknown_ca           |

  Rule: ssl.wrap_socket and its SSLContext equivalent give the same outcomes
    ssl.wrap_socket is deprecated since Python 3.7 and gone in 3.12. Its
    equivalent: SSLContext(ssl_version), verify_mode = cert_reqs,
    load_verify_locations(ca_certs), load_cert_chain(certfile, keyfile),
    set_ciphers(ciphers), then context.wrap_socket(sock, server_side=True).

    @rule:wrap-socket.deprecated
    Scenario Outline: <api>, cert_reqs <cert_reqs> and a client presenting <client certificate>
      Given a server with certfile and keyfile from the localhost certificate
      And the server wraps its socket with <api>
      And the server has ca_certs from the client-ca certificate
      And the server has cert_reqs <cert_reqs>
      And the client has verify from the server-ca certificate
      And the client presents <client certificate>
      When the client connects
      Then <outcome>
      And the server reports wrapped_with <api>

      Examples:
        | api                    | cert_reqs     | client certificate     | outcome                                             |
        | ssl.wrap_socket        | CERT_REQUIRED | no certificate         | the server rejects the client: certificate_required |
        | SSLContext.wrap_socket | CERT_REQUIRED | no certificate         | the server rejects the client: certificate_required |
        | ssl.wrap_socket        | CERT_REQUIRED | the client certificate | the request completes                               |
        | SSLContext.wrap_socket | CERT_REQUIRED | the client certificate | the request completes                               |
        | ssl.wrap_socket        | CERT_NONE     | no certificate         | the request completes                               |
        | SSLContext.wrap_socket | CERT_NONE     | no certificate         | the request completes                               |
