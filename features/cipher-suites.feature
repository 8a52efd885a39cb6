@cipher
Feature: Cipher suites
  Document 000 passes ciphers to ssl.wrap_socket; its flow says the server
  picks "the highest level" from what the client supports (step 5). The
  ciphers setting is an OpenSSL cipher list and applies to TLS 1.2 and below;
  TLS 1.3 suites are configured apart. These scenarios speak TLS 1.2.

  Background:
    Given a server with certfile and keyfile from the localhost certificate
    And the client has verify from the server-ca certificate
    And the server speaks only TLS 1.2

  Rule: ciphers restricts what the server accepts; with no cipher in common there is no handshake
    @rule:cipher.restricted-by-ciphers
    Scenario Outline: server ciphers <server ciphers>, client ciphers <client ciphers>
      Given the server has ciphers "<server ciphers>"
      And the client has ciphers "<client ciphers>"
      When the client connects
      Then <outcome>

      Examples:
        | server ciphers              | client ciphers                                          | outcome                                         |
        | ECDHE-RSA-AES256-GCM-SHA384 | ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256 | the negotiated cipher is ECDHE-RSA-AES256-GCM-SHA384 |
        | ECDHE-RSA-AES256-GCM-SHA384 | ECDHE-RSA-AES128-GCM-SHA256                             | the server rejects the client: no_shared_cipher |

    @rule:cipher.restricted-by-ciphers
    Scenario Outline: a default server and a client offering only <legacy suite>
      What a default server (no ciphers setting) does with a client that offers
      only a legacy suite. OpenSSL 3 default lists leave out NULL and 3DES, and
      no longer have RC4 or EXPORT at all: a client cannot even offer those (some
      builds, Node's among them, cannot offer 3DES or NULL either). A
      static-RSA suite (RSA key transport, no forward secrecy) is still in
      OpenSSL 3's DEFAULT list, and default servers accept it.

      Given the client has ciphers "<client ciphers>"
      When the client connects
      Then <outcome>

      Examples:
        | legacy suite     | client ciphers                  | outcome                                         |
        | NULL encryption  | NULL-SHA256:@SECLEVEL=0         | the server rejects the client: no_shared_cipher, or the client refuses its ciphers |
        | 3DES             | DES-CBC3-SHA:@SECLEVEL=0        | the server rejects the client: no_shared_cipher, or the client refuses its ciphers |
        | RC4              | RC4-SHA:@SECLEVEL=0             | the client refuses its ciphers                  |
        | EXPORT           | EXP-RC4-MD5:@SECLEVEL=0         | the client refuses its ciphers                  |
        | static RSA       | AES128-GCM-SHA256               | the key exchange is "RSA key transport"         |

  Rule: The negotiated suite is one the client offered
    @rule:cipher.server-chooses
    Scenario Outline: the server allows <server ciphers>; the client offers <client ciphers>
      Given the server has ciphers "<server ciphers>"
      And the client has ciphers "<client ciphers>"
      When the client connects
      Then the negotiated cipher is <negotiated>

      Examples:
        | server ciphers                                          | client ciphers                                          | negotiated                  |
        | ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305 | ECDHE-RSA-CHACHA20-POLY1305                             | ECDHE-RSA-CHACHA20-POLY1305 |
        | ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305 | ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256 | ECDHE-RSA-AES128-GCM-SHA256 |

  Rule: ECDHE-ECDSA suites need an ECDSA certificate
    @rule:cipher.restricted-by-ciphers
    Scenario Outline: a server with the <server certificate> certificate and ciphers <server ciphers>
      Given a server with certfile and keyfile from the <server certificate> certificate
      And the server has ciphers "<server ciphers>"
      When the client connects
      Then <outcome>

      Examples:
        | server certificate | server ciphers                | outcome                                                |
        | localhost-ecdsa    | ECDHE-ECDSA-AES128-GCM-SHA256 | the negotiated cipher is ECDHE-ECDSA-AES128-GCM-SHA256 |
        | localhost          | ECDHE-ECDSA-AES128-GCM-SHA256 | the server rejects the client: no_shared_cipher        |
