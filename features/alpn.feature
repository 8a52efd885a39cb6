@alpn
Feature: Application protocols (ALPN, and document 000's npn_protocols)
  Document 000 lists npn_protocols among SSLSocket's parameters. NPN was a
  draft that ALPN (RFC 7301) replaced; Python 3.11's ssl.wrap_socket no longer
  takes npn_protocols at all. With ALPN the client offers protocols and the
  server picks one; when there is no overlap, RFC 7301 says the server answers
  with a fatal no_application_protocol alert.

  Background:
    Given a server with certfile and keyfile from the localhost certificate
    And the client has verify from the server-ca certificate

  Rule: npn_protocols / ALPN: the agreed protocol is reported; no overlap behaves as each implementation documents

    @rule:alpn.npn-protocols
    Scenario: both ends name http/1.1
      Given the server has alpn_protocols "http/1.1"
      And the client offers alpn_protocols "http/1.1"
      When the client connects
      Then the agreed application protocol is "http/1.1"

    @rule:alpn.npn-protocols
    Scenario: no protocol in common
      Given the server has alpn_protocols "conformance/2"
      And the client offers alpn_protocols "http/1.1"
      When the client connects
      Then the server rejects the client: no_application_protocol

    @rule:alpn.npn-protocols
    Scenario: document 000's npn_protocols, passed to ssl.wrap_socket under eventlet
      The standard library's ssl.wrap_socket (Python 3.11) raises TypeError for
      npn_protocols; eventlet's green wrap_socket, which monkey-patching puts in
      its place, accepts the argument and silently drops it: no protocol is
      agreed, by NPN or ALPN.
      Given the server has npn_protocols "http/1.1"
      And the client offers alpn_protocols "http/1.1"
      When the client connects
      Then the request completes
      And no application protocol is agreed
