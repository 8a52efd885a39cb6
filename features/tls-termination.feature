@termination
Feature: TLS terminated by nginx or Apache
  Document 001: "很多程序员不在自己的程序中支持TLS,而选择交给第三方工具,比如nginx、Apache等"
  (many programmers leave TLS to third-party tools such as nginx or Apache).
  Every rule of this harness runs against nginx and Apache as servers; the
  scenarios below are the document's authentication rules once more, said of
  them by name. Where nginx answers differently (HTTP 400 instead of a
  handshake failure), features/deviations.json says so, with the reason.

  Rule: The same rules hold when nginx or Apache terminates TLS

    # Said of nginx and Apache by name (document 001): the same rules already run on every server elsewhere.
    @rule:termination.proxy @server:nginx @server:apache
    Scenario Outline: a terminating server with cert_reqs <cert_reqs> and a client presenting <client certificate>
      Given a server with certfile and keyfile from the localhost certificate
      And the server has ca_certs from the client-ca certificate
      And the server has cert_reqs <cert_reqs>
      And the client has verify from the server-ca certificate
      And the client presents <client certificate>
      When the client connects
      Then <outcome>

      Examples:
        | cert_reqs     | client certificate                       | outcome                                             |
        | CERT_NONE     | no certificate                           | the request completes                               |
        | CERT_REQUIRED | the client certificate                   | the request completes                               |
        | CERT_REQUIRED | no certificate                           | the server rejects the client: certificate_required |
        | CERT_REQUIRED | the client-from-unrelated-ca certificate | the server rejects the client: unknown_ca           |

    # Said of nginx and Apache by name (document 001): the same rules already run on every server elsewhere.
    @rule:termination.proxy @server:nginx @server:apache
    Scenario: a terminating server whose certificate the client's verify did not issue
      Given a server with certfile and keyfile from the untrusted-root certificate
      And the client has verify from the server-ca certificate
      When the client connects
      Then the client rejects the server: unknown_ca
