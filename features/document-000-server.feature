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

    @rule:seed.server-as-written @server:python-eventlet @client:requests
    Scenario: document 000's server as written, and document 000's client
      Given a server with certfile and keyfile from the localhost certificate
      And the server runs as document 000 writes it, without eventlet.monkey_patch()
      And the server has ssl_version ssl.PROTOCOL_TLSv1_2
      And the client has verify from the server-ca certificate
      And the client has timeout 1 second
      When the client connects
      Then the client times out waiting for the answer

    @rule:seed.server-as-written @server:python-eventlet @client:requests
    Scenario: document 000's server as written is stopped by a TCP connection that closes at once
      Given a server with certfile and keyfile from the localhost certificate
      And the server runs as document 000 writes it, without eventlet.monkey_patch()
      And the server has ssl_version ssl.PROTOCOL_TLSv1_2
      And the client has verify from the server-ca certificate
      When a bare TCP connection is opened and closed
      And the client connects
      Then nothing accepts the connection any more

    @rule:seed.server-as-written @server:python-eventlet
    Scenario: the same server monkey-patched, as eventlet deployments run it, serves
      Given a server with certfile and keyfile from the localhost certificate
      And the server has ssl_version ssl.PROTOCOL_TLSv1_2
      And the client has verify from the server-ca certificate
      When the client connects
      Then the request completes
