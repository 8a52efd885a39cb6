@one-way
Feature: One-way authentication
  Document 000, section 3 (单向认证, one-way authentication): the server is
  given certfile and keyfile; the client's verify names "the root certificate
  that signed the server's certificate" (指定服务端证书的签名根证书). Only the
  server proves who it is.

  Background:
    Given a server with certfile and keyfile from the localhost certificate
    And the client has verify from the server-ca certificate

  Rule: A server cannot serve TLS without certfile and the keyfile that belongs to it
    Document 000, 3.1: "keyfile和certfile参数则必填" (keyfile and certfile are required).
    Some implementations refuse such a configuration when they start; others
    start and then fail every handshake. Either way nothing is served, and the
    report says which of the two happened.

    @rule:one-way.server-needs-cert-and-key
    Scenario: certfile and keyfile that belong together serve TLS
      When the client connects
      Then the request completes

    @rule:one-way.server-needs-cert-and-key
    Scenario: no certfile
      Given the server has no certfile
      When the client connects
      Then the server cannot serve TLS because of its certfile

    @rule:one-way.server-needs-cert-and-key
    Scenario: a certfile without its keyfile (and no key inside certfile)
      Given the server has no keyfile
      When the client connects
      Then the server cannot serve TLS because of its keyfile

    @rule:one-way.server-needs-cert-and-key
    Scenario: a keyfile that belongs to another certificate
      Given a server with certfile and keyfile from the mismatched-key certificate
      When the client connects
      Then the server cannot serve TLS because of its keyfile

  Rule: A client whose verify is the CA that issued the server certificate connects
    Document 000, 3.2: "request方法中的verify参数必须填,指定服务端证书的签名根证书"
    (verify is required: the root certificate that signed the server's certificate).

    @rule:one-way.client-verifies-server
    Scenario Outline: verify from the server's own CA, over <protocol>
      Given the server speaks only <protocol>
      When the client connects
      Then the request completes
      And the client sees a server certificate issued by the server-ca certificate

      Examples:
        | protocol |
        | TLS 1.2  |
        | TLS 1.3  |

  Rule: A client whose verify is any other CA rejects the server before any request is sent
    Document 000, 3.2: "client的verify参数和server端的certfile、keyfile参数必须保持一致"
    (the client's verify and the server's certfile/keyfile must be consistent).

    @rule:one-way.verify-must-match-server-cert
    Scenario Outline: a server with the <server certificate> certificate and a client with verify <verify>, over <protocol>
      Given a server with certfile and keyfile from the <server certificate> certificate
      And the client has verify <verify>
      And the server speaks only <protocol>
      When the client connects
      Then the client rejects the server: unknown_ca
      And no request reaches the server

      Examples: verify names a CA that did not issue the server certificate
        | server certificate | verify                            | protocol |
        | localhost          | from the unrelated-ca certificate | TLS 1.2  |
        | localhost          | from the unrelated-ca certificate | TLS 1.3  |
        | localhost          | from the client-ca certificate    | TLS 1.2  |
        | localhost          | from the client-ca certificate    | TLS 1.3  |

      Examples: the server is an impostor for localhost, issued by a CA the client does not trust
        | server certificate | verify                         | protocol |
        | untrusted-root     | from the server-ca certificate | TLS 1.2  |
        | untrusted-root     | from the server-ca certificate | TLS 1.3  |
        | self-signed        | from the server-ca certificate | TLS 1.3  |

  Rule: verify=False connects to anything, an impostor included, and is reported insecure
    requests documents verify=False as turning off certificate verification.
    The harness still connects, and marks every such connection insecure: it
    proves nothing about who answered.

    @rule:one-way.unverified-client-is-insecure
    Scenario Outline: verify False against the <server certificate> certificate, over <protocol>
      Given a server with certfile and keyfile from the <server certificate> certificate
      And the client has verify False
      And the server speaks only <protocol>
      When the client connects
      Then the request completes
      And the connection is reported insecure

      Examples:
        | server certificate | protocol |
        | localhost          | TLS 1.2  |
        | localhost          | TLS 1.3  |
        | untrusted-root     | TLS 1.2  |
        | untrusted-root     | TLS 1.3  |
        | self-signed        | TLS 1.3  |
        | expired            | TLS 1.3  |
        | wrong.host         | TLS 1.3  |

  Rule: With cert_reqs=CERT_NONE the server needs no client certificate, and ignores one
    Document 000, 3.1 passes cert_reqs=ssl.CERT_NONE (the default): the server
    does not ask for a client certificate, so whatever the client holds plays
    no part.

    @rule:one-way.no-client-cert-needed
    Scenario Outline: CERT_NONE and a client holding <client certificate>, over <protocol>
      Given the server has cert_reqs CERT_NONE
      And the client presents <client certificate>
      And the server speaks only <protocol>
      When the client connects
      Then the request completes
      And the server sees no client certificate

      Examples:
        | client certificate                         | protocol |
        | no certificate                             | TLS 1.2  |
        | no certificate                             | TLS 1.3  |
        | the client certificate                     | TLS 1.3  |
        | the client-from-unrelated-ca certificate   | TLS 1.3  |

  Rule: The one-way flow: the server's certificate, checked by the client, a suite from the client's offer
    Document 000, section 3, flow steps 1-8. Steps 2-3 ("服务端将证书、公钥等发给客户端",
    "客户端CA验证证书") hold: the server sends its certificate and the client checks it
    against its CA before any data is sent. Step 5 ("服务端选择最高级别加密算法") holds in
    part: the server chooses, from what the client offered. Steps 6-7 ("客户端生成随机对称密匙key,
    使用服务端公钥加密发送给服务端": the client encrypts a random key with the server's
    public key) describe RSA key transport, which TLS 1.3 and every ECDHE suite do
    not use: below, only a server restricted to a static-RSA suite does that.

    @rule:one-way.flow
    Scenario: the client checks the server's certificate before any request
      Given the client has verify from the unrelated-ca certificate
      And the server speaks only TLS 1.2
      When the client connects
      Then the client rejects the server: unknown_ca
      And the client notices at the handshake
      And no request reaches the server

    @rule:one-way.flow
    Scenario Outline: the server chooses the suite from the client's offer
      Given the server speaks only TLS 1.2
      And the server has ciphers "<server ciphers>"
      And the client has ciphers "<client ciphers>"
      When the client connects
      Then the request completes
      And the negotiated cipher is <negotiated>

      Examples:
        | server ciphers                                          | client ciphers                                                | negotiated                              |
        | ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256 | ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305       | ECDHE-RSA-AES128-GCM-SHA256             |
        | ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384 | ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384       | ECDHE-RSA-AES256-GCM-SHA384             |

    @rule:one-way.flow
    Scenario Outline: who encrypts a random key with the server's public key? <protocol> with <server ciphers>
      Given the server speaks only <protocol>
      And the server has ciphers "<server ciphers>"
      When the client connects
      Then the request completes
      And the key exchange is "<key exchange>"

      Examples:
        | protocol | server ciphers              | key exchange      |
        | TLS 1.3  | DEFAULT                     | ephemeral         |
        | TLS 1.2  | ECDHE-RSA-AES128-GCM-SHA256 | ephemeral         |
        | TLS 1.2  | AES128-GCM-SHA256           | RSA key transport |
