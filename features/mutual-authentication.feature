@mutual
Feature: Mutual authentication
  Document 000, section 4 (双向认证, mutual authentication): the server also
  verifies the client. Its ca_certs names "the root certificate that signed the
  client's certificate" and "cert_reqs must be CERT_REQUIRED"; the client passes
  verify as before, and cert, its certificate and key.
  The document's flow steps 7-9 ("服务端选择最高级别加密算法使用客户端公钥加密后发送给客户端"…)
  describe encrypting with the client's public key: no TLS version does that;
  see the one-way flow rule for the key exchange that really happens.

  Background:
    Given a server with certfile and keyfile from the localhost certificate
    And the server has ca_certs from the client-ca certificate
    And the client has verify from the server-ca certificate

  Rule: A server with cert_reqs=CERT_REQUIRED disconnects a client that presents no certificate
    Document 000, 4.1: "cert_reqs必须为CERT_REQUIRED" (cert_reqs must be CERT_REQUIRED).

    @rule:mutual.server-requires-client-cert @headline
    Scenario Outline: CERT_REQUIRED and a client without a certificate, over <protocol>
      Given the server has cert_reqs CERT_REQUIRED
      And the client presents no certificate
      And the server speaks only <protocol>
      When the client connects
      Then the server rejects the client: certificate_required
      And no request reaches the server

      Examples:
        | protocol |
        | TLS 1.2  |
        | TLS 1.3  |

  Rule: The client's certificate must be issued by a CA in the server's ca_certs
    Document 000, 4.2: "client的cert参数和server端的ca_certs参数必须保持一致"
    (the client's cert and the server's ca_certs must be consistent).

    @rule:mutual.client-cert-must-match-ca-certs
    Scenario Outline: ca_certs from the <ca_certs> certificate and a client presenting <client certificate>, over <protocol>
      Given the server has cert_reqs CERT_REQUIRED
      And the server has ca_certs from the <ca_certs> certificate
      And the client presents <client certificate>
      And the server speaks only <protocol>
      When the client connects
      Then <outcome>

      Examples:
        | ca_certs     | client certificate                       | protocol | outcome                                          |
        | client-ca    | the client certificate                   | TLS 1.2  | the request completes                            |
        | client-ca    | the client certificate                   | TLS 1.3  | the request completes                            |
        | client-ca    | the client-from-unrelated-ca certificate | TLS 1.2  | the server rejects the client: unknown_ca        |
        | client-ca    | the client-from-unrelated-ca certificate | TLS 1.3  | the server rejects the client: unknown_ca        |
        | client-ca    | the client-expired certificate           | TLS 1.2  | the server rejects the client: certificate_expired |
        | client-ca    | the client-expired certificate           | TLS 1.3  | the server rejects the client: certificate_expired |
        | unrelated-ca | the client-from-unrelated-ca certificate | TLS 1.3  | the request completes                            |
        | unrelated-ca | the client certificate                   | TLS 1.3  | the server rejects the client: unknown_ca        |

  Rule: CERT_REQUIRED without ca_certs cannot verify any client
    Document 000, 4.1: "ca_certs参数必填" (ca_certs is required). Without it the
    server has no CA to check client certificates against: every client is
    rejected, or the server refuses to start. Node and Python start, and check
    against their default public roots, which no private client CA is in;
    nginx refuses to start ("no ssl_client_certificate for ssl_verify_client").

    @rule:mutual.server-needs-ca-certs
    Scenario Outline: CERT_REQUIRED, no ca_certs, and a client presenting <client certificate>
      Given the server has cert_reqs CERT_REQUIRED
      And the server has no ca_certs
      And the client presents <client certificate>
      When the client connects
      Then <outcome>

      Examples:
        | client certificate                       | outcome                                                                           |
        | no certificate                           | the server rejects the client: certificate_required, or refuses to start without its ca_certs |
        | the client certificate                   | the server rejects the client: unknown_ca, or refuses to start without its ca_certs           |
        | the client-from-unrelated-ca certificate | the server rejects the client: unknown_ca, or refuses to start without its ca_certs           |

  Rule: In mutual mode the client still verifies the server; both checks must pass
    Document 000, 4.2: "client的verify参数和server端的certfile、keyfile参数必须保持一致"
    holds in mutual mode too.

    @rule:mutual.client-verifies-server-too
    Scenario Outline: a client with its own certificate and verify <verify>, over <protocol>
      Given the server has cert_reqs CERT_REQUIRED
      And the client presents the client certificate
      And the client has verify <verify>
      And the server speaks only <protocol>
      When the client connects
      Then <outcome>

      Examples:
        | verify                            | protocol | outcome                                   |
        | from the server-ca certificate    | TLS 1.2  | the request completes                     |
        | from the server-ca certificate    | TLS 1.3  | the request completes                     |
        | from the unrelated-ca certificate | TLS 1.2  | the client rejects the server: unknown_ca |
        | from the unrelated-ca certificate | TLS 1.3  | the client rejects the server: unknown_ca |
        | False                             | TLS 1.2  | the connection is reported insecure       |
        | False                             | TLS 1.3  | the connection is reported insecure       |

    @rule:mutual.client-verifies-server-too
    Scenario: both checks fail: the client rejects the server first
      Given the server has cert_reqs CERT_REQUIRED
      And the client presents the client-from-unrelated-ca certificate
      And the client has verify from the unrelated-ca certificate
      When the client connects
      Then the client rejects the server: unknown_ca

  Rule: CERT_OPTIONAL accepts a client without a certificate but rejects an invalid one
    Python's ssl documentation: with CERT_OPTIONAL a certificate is not required,
    but one that is sent must verify.

    @rule:mutual.optional
    Scenario Outline: CERT_OPTIONAL and a client presenting <client certificate>, over <protocol>
      Given the server has cert_reqs CERT_OPTIONAL
      And the client presents <client certificate>
      And the server speaks only <protocol>
      When the client connects
      Then <outcome>

      Examples:
        | client certificate                       | protocol | outcome                                            |
        | no certificate                           | TLS 1.2  | the request completes                              |
        | no certificate                           | TLS 1.3  | the request completes                              |
        | the client certificate                   | TLS 1.2  | the request completes                              |
        | the client certificate                   | TLS 1.3  | the request completes                              |
        | the client-from-unrelated-ca certificate | TLS 1.2  | the server rejects the client: unknown_ca          |
        | the client-from-unrelated-ca certificate | TLS 1.3  | the server rejects the client: unknown_ca          |
        | the client-expired certificate           | TLS 1.2  | the server rejects the client: certificate_expired |
        | the client-expired certificate           | TLS 1.3  | the server rejects the client: certificate_expired |

  Rule: CERT_NONE neither asks for nor checks a client certificate
    @rule:mutual.none-ignores-client-cert
    Scenario Outline: CERT_NONE and a client holding <client certificate>, over <protocol>
      Given the server has cert_reqs CERT_NONE
      And the client presents <client certificate>
      And the server speaks only <protocol>
      When the client connects
      Then the request completes
      And the server sees no client certificate

      Examples:
        | client certificate                       | protocol |
        | no certificate                           | TLS 1.2  |
        | no certificate                           | TLS 1.3  |
        | the client certificate                   | TLS 1.2  |
        | the client certificate                   | TLS 1.3  |
        | the client-from-unrelated-ca certificate | TLS 1.2  |
        | the client-from-unrelated-ca certificate | TLS 1.3  |
        | the client-expired certificate           | TLS 1.2  |
        | the client-expired certificate           | TLS 1.3  |

  Rule: Where the client notices that the server could not verify it
    Document 000, 4, flow step 5: "服务端验证客户端证书,如不通过直接断开连接" (the server
    verifies the client certificate and, if that fails, disconnects directly).
    With TLS 1.2 the client learns it during the handshake. With TLS 1.3 the
    client's handshake is already complete when the server reads its
    certificate: the client learns it only on its first read.
    With TLS 1.2 the refusal is a handshake_failure alert, in the clear, that
    every client reads. With TLS 1.3 the server's certificate_required alert
    (116) is encrypted and follows a handshake the client already finished: a
    client that has sent its request by then may see the connection reset
    before it reads the alert, so which of the two it sees is a race. The
    outcome is the same either way, because the server's end says why.

    @rule:mutual.disconnect-point
    Scenario Outline: CERT_REQUIRED and no client certificate, over <protocol>
      Given the server has cert_reqs CERT_REQUIRED
      And the client presents no certificate
      And the server speaks only <protocol>
      When the client connects
      Then the server rejects the client: certificate_required
      And the client notices at the <phase>

      Examples:
        | protocol | phase      |
        | TLS 1.2  | handshake  |
        | TLS 1.3  | first read |

    @rule:mutual.disconnect-point
    Scenario: CERT_REQUIRED and no client certificate, over TLS 1.2: the alert
      Given the server has cert_reqs CERT_REQUIRED
      And the client presents no certificate
      And the server speaks only TLS 1.2
      When the client connects
      Then the wire shows alert 40 handshake_failure from the server

    @rule:mutual.disconnect-point
    Scenario Outline: CERT_REQUIRED and a client certificate from an unrelated CA, over <protocol>
      Given the server has cert_reqs CERT_REQUIRED
      And the client presents the client-from-unrelated-ca certificate
      And the server speaks only <protocol>
      When the client connects
      Then the server rejects the client: unknown_ca
      And the client notices at the <phase>

      Examples:
        | protocol | phase      |
        | TLS 1.2  | handshake  |
        | TLS 1.3  | first read |

  Rule: The client's cert is its own certificate and key, not the root CA of the server certificate
    Document 000, 4.2 says of the client's cert: "指定服务端证书的签名根证书,用于传输给服务端进行校验"
    (the root certificate that signed the server's certificate, sent to the server to be checked).
    That is wrong: cert is the client's own certificate and key, issued by a CA in the server's ca_certs.
    Presented as a client certificate, the CA certificate is refused; implementations differ only in
    which check fails first (OpenSSL in Node: unsupported certificate purpose; in Python: unknown issuer).

    @rule:mutual.client-cert-is-own
    Scenario Outline: the client's cert is <what>
      Given the server has cert_reqs CERT_REQUIRED
      And the client presents <client certificate>
      When the client connects
      Then <outcome>

      Examples:
        | what                                                   | client certificate        | outcome                                  |
        | the server certificate's root CA, as the document says | the server-ca certificate | the server rejects the client's certificate |
        | the client's own certificate and key                   | the client certificate    | the request completes                    |

  Rule: Document 000's parameters connect, and each one it says must match, when wrong, disconnects
    Document 000, 4.2: "client的verify参数和server端的certfile、keyfile参数必须保持一致,
    client的cert参数和server端的ca_certs参数必须保持一致" (the client's verify must be
    consistent with the server's certfile and keyfile; the client's cert with the server's ca_certs).
    The document's own setup: server certfile, keyfile, cert_reqs=CERT_REQUIRED,
    ssl_version=PROTOCOL_TLSv1_2 (as a constant, not the document's string), ca_certs;
    client verify and cert. Each row changes one parameter.

    Scenario Outline: document 000's parameters, with <what is wrong> wrong
      Given a server with certfile and keyfile from the <certfile> certificate
      And the server has cert_reqs CERT_REQUIRED
      And the server has ssl_version ssl.PROTOCOL_TLSv1_2
      And the server has ca_certs from the <ca_certs> certificate
      And the client has verify from the <verify> certificate
      And the client presents the <cert> certificate
      When the client connects
      Then <outcome>

      @rule:mutual.client-verifies-server-too
      Examples: verify and certfile/keyfile
        | what is wrong                     | certfile       | ca_certs  | verify       | cert   | outcome                                   |
        | nothing                           | localhost      | client-ca | server-ca    | client | the request completes                     |
        | the client's verify               | localhost      | client-ca | unrelated-ca | client | the client rejects the server: unknown_ca |
        | the server's certfile and keyfile | untrusted-root | client-ca | server-ca    | client | the client rejects the server: unknown_ca |

      @rule:mutual.client-cert-must-match-ca-certs
      Examples: cert and ca_certs
        | what is wrong         | certfile  | ca_certs     | verify    | cert                     | outcome                                   |
        | the client's cert     | localhost | client-ca    | server-ca | client-from-unrelated-ca | the server rejects the client: unknown_ca |
        | the server's ca_certs | localhost | unrelated-ca | server-ca | client                   | the server rejects the client: unknown_ca |
