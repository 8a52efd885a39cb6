@safe-tls
Feature: safe_tls.py's defaults
  Document 001's safe_tls.py builds both ends with ssl.create_default_context.
  On a client, Purpose.SERVER_AUTH verifies the certificate and the host name
  by default. On a server, Purpose.CLIENT_AUTH with a cafile loads the CA but
  leaves verify_mode at CERT_NONE: passing a cafile is not mutual
  authentication until cert_reqs (verify_mode) is set.

  Rule: create_default_context verifies by default on clients, and does not require client certificates on servers

    @rule:safe-tls.defaults
    Scenario: a server with create_default_context(Purpose.CLIENT_AUTH, cafile) and nothing else accepts a client without a certificate
      Given a server with certfile and keyfile from the localhost certificate
      And the server's context comes from ssl.create_default_context
      And the server has ca_certs from the client-ca certificate
      And the server leaves cert_reqs at its default
      And the client has verify from the server-ca certificate
      And the client presents no certificate
      When the client connects
      Then the request completes
      And the server reports verify_mode CERT_NONE

    @rule:safe-tls.defaults
    Scenario: the same server with cert_reqs CERT_REQUIRED is mutual authentication
      Given a server with certfile and keyfile from the localhost certificate
      And the server's context comes from ssl.create_default_context
      And the server has ca_certs from the client-ca certificate
      And the server has cert_reqs CERT_REQUIRED
      And the client has verify from the server-ca certificate
      And the client presents no certificate
      When the client connects
      Then the server rejects the client: certificate_required
      And the server reports verify_mode CERT_REQUIRED

    @rule:safe-tls.defaults
    Scenario Outline: a client with create_default_context(Purpose.SERVER_AUTH, cafile) against the <server certificate> certificate
      Given a server with certfile and keyfile from the <server certificate> certificate
      And the client's context comes from ssl.create_default_context
      And the client has verify from the server-ca certificate
      When the client connects
      Then <outcome>

      Examples:
        | server certificate | outcome                                          |
        | localhost          | the request completes                            |
        | wrong.host         | the client rejects the server: hostname_mismatch |
        | untrusted-root     | the client rejects the server: unknown_ca        |
        | expired            | the client rejects the server: certificate_expired |
