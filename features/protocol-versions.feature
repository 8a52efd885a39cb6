@version
Feature: Protocol versions
  Document 000 passes ssl_version to ssl.wrap_socket: PROTOCOL_TLS (the
  default) lets both ends agree on the highest version they share;
  PROTOCOL_TLSv1_2 pins TLS 1.2. TLS 1.0 and 1.1 are obsolete (RFC 8996).

  Background:
    Given a server with certfile and keyfile from the localhost certificate
    And the client has verify from the server-ca certificate

  Rule: ssl_version=PROTOCOL_TLSv1_2 speaks exactly TLS 1.2
    A TLS 1.3-only client is refused either way, but not in the same words:
    where ssl_version maps to a minimum and maximum version (Node, nginx,
    Apache, s_server, create_default_context) the server answers
    protocol_version; ssl.wrap_socket's PROTOCOL_TLSv1_2 is OpenSSL's
    TLS 1.2-only method, which first finds no cipher in common (the client
    offers TLS 1.3 suites only) and says no_shared_cipher.
    @rule:version.pinned-tls12
    Scenario Outline: a server with ssl_version PROTOCOL_TLSv1_2 and a client that speaks <client versions>
      Given the server has ssl_version ssl.PROTOCOL_TLSv1_2
      And the client speaks <client versions>
      When the client connects
      Then <outcome>

      Examples:
        | client versions  | outcome                                        |
        | only TLS 1.3     | the server rejects the client: protocol_version or no_shared_cipher |
        | only TLS 1.2     | the negotiated protocol is TLS 1.2             |
        | any version      | the negotiated protocol is TLS 1.2             |

  Rule: PROTOCOL_TLS negotiates the highest version both ends allow
    @rule:version.default-negotiates-highest
    Scenario Outline: a server with ssl_version PROTOCOL_TLS and a client that speaks <client versions>
      Given the server has ssl_version ssl.PROTOCOL_TLS
      And the client speaks <client versions>
      When the client connects
      Then the negotiated protocol is <negotiated>

      Examples:
        | client versions  | negotiated |
        | any version      | TLS 1.3    |
        | at most TLS 1.2  | TLS 1.2    |

  Rule: TLS 1.0 and 1.1 clients are refused by a default server
    Two different refusals, and the report says which one each server made.
    Node's default minimum is TLS 1.2: it refuses the version itself
    (protocol_version, alert 70). Python, openssl s_server, nginx 1.22 (whose
    default ssl_protocols still lists TLSv1 and TLSv1.1) and Apache (SSLProtocol
    all -SSLv3) accept the version, then cannot sign the handshake: TLS 1.0 and
    1.1 sign with SHA-1 (or MD5+SHA-1), which OpenSSL 3 refuses at its default
    security level. They refuse with no_signature_algorithm (alert 80,
    internal_error, where the client reports it). Lowering the security level
    to 0 on both ends ("DEFAULT:@SECLEVEL=0") is what it takes for TLS 1.0 to
    connect. SSLv3 is not compiled into any OpenSSL 3 here.

    @rule:version.legacy-refused
    Scenario Outline: a client that speaks only <version>, with ciphers <client ciphers>, and a default server
      Given the client speaks only <version>
      And the client has ciphers "<client ciphers>"
      When the client connects
      Then the server rejects the client: protocol_version or no_signature_algorithm

      Examples:
        | version | client ciphers      |
        | TLS 1.0 | DEFAULT             |
        | TLS 1.1 | DEFAULT             |
        | TLS 1.0 | DEFAULT:@SECLEVEL=0 |

    @rule:version.legacy-refused
    Scenario: a server that allows TLS 1.0 at its default security level refuses for want of a signature algorithm
      Given the server speaks at least TLS 1.0
      And the client speaks only TLS 1.0
      And the client has ciphers "DEFAULT:@SECLEVEL=0"
      When the client connects
      Then the server rejects the client: no_signature_algorithm

    @rule:version.legacy-refused
    Scenario: TLS 1.0 connects only when both ends lower the security level
      Given the server speaks at least TLS 1.0
      And the server has ciphers "DEFAULT:@SECLEVEL=0"
      And the client speaks only TLS 1.0
      And the client has ciphers "DEFAULT:@SECLEVEL=0"
      When the client connects
      Then the negotiated protocol is TLS 1.0

  Rule: ssl_version given as a string is a configuration error
    Document 000, 3.1 and 4.1: ssl_version="ssl.PROTOCOL_TLSv1_2". That is the
    string, not the constant ssl.PROTOCOL_TLSv1_2: Python raises TypeError;
    every other implementation is refused the same setting by the harness,
    with the same words.

    @rule:version.string-is-not-a-constant
    Scenario: ssl_version "ssl.PROTOCOL_TLSv1_2", as document 000 writes it
      Given the server has ssl_version "ssl.PROTOCOL_TLSv1_2"
      When the client connects
      Then the server refuses its ssl_version

    @rule:version.string-is-not-a-constant
    Scenario: ssl_version ssl.PROTOCOL_TLSv1_2, the constant
      Given the server has ssl_version ssl.PROTOCOL_TLSv1_2
      When the client connects
      Then the negotiated protocol is TLS 1.2
