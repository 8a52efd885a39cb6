@identity
Feature: Who the server is
  Document 001 lists what a TLS client checks before data flows: the server's
  certificate is signed by an authority the client trusts; the server proves
  it holds the key of the certificate; the identity in the certificate is the
  host the client meant to reach; the certificate is valid now; and the two
  ends negotiate the cipher suite, compression and keys.
  Certificates are named by their defect, as badssl.com names its hosts.

  Background:
    Given the client has verify from the server-ca certificate

  Rule: The server certificate must be signed by an authority the client trusts
    Document 001: "客户端和服务器共同信任的某个机构应该对证书进行签名" (an authority both
    trust must have signed the certificate).

    @rule:identity.ca-signed
    Scenario Outline: a server with the <server certificate> certificate
      Given a server with certfile and keyfile from the <server certificate> certificate
      When the client connects
      Then <outcome>

      Examples:
        | server certificate | outcome                                   |
        | localhost          | the request completes                     |
        | self-signed        | the client rejects the server: unknown_ca |
        | untrusted-root     | the client rejects the server: unknown_ca |

  Rule: The server must prove it holds the key of its certificate
    Document 001: "服务器需要证明其确实拥有公钥对应的私钥" (the server must prove it holds the
    private key for the public key). A certificate whose key file holds another
    key cannot be served at all: every implementation refuses it, or fails every handshake.

    @rule:identity.proof-of-key
    Scenario: a certificate whose keyfile holds another key
      Given a server with certfile and keyfile from the mismatched-key certificate
      When the client connects
      Then the server cannot serve TLS because of its keyfile

  Rule: The certificate's identity must match the host the client meant to reach
    Document 001: "客户端对证书中声明的身份进行验证,确认是否与想连接的主机名一致" (the client
    checks that the identity in the certificate is the host name it wanted).
    Clients match subjectAltName DNS names and IP addresses. The rule catalog
    adds "CN is not used by modern clients": true of browsers (Chrome 58,
    Firefox 48), not of what runs here. When a certificate has no DNS
    subjectAltName at all, OpenSSL's host check (Python, curl, s_client) and
    Node's checkServerIdentity still fall back to the subject CN, and accept it.

    @rule:identity.hostname-matches
    Scenario Outline: the <server certificate> certificate, reached as <server_hostname>
      Given a server with certfile and keyfile from the <server certificate> certificate
      And the client has server_hostname <server_hostname>
      When the client connects
      Then <outcome>

      Examples: subjectAltName DNS and IP
        | server certificate | server_hostname      | outcome                                          |
        | localhost          | localhost            | the request completes                            |
        | localhost          | 127.0.0.1            | the request completes                            |
        | wrong.host         | localhost            | the client rejects the server: hostname_mismatch |
        | localhost          | wrong.host.example   | the client rejects the server: hostname_mismatch |

      Examples: a wildcard covers one label
        | server certificate | server_hostname      | outcome                                          |
        | wildcard           | www.conformance.test | the request completes                            |
        | wildcard           | conformance.test     | the client rejects the server: hostname_mismatch |
        | wildcard           | a.b.conformance.test | the client rejects the server: hostname_mismatch |

      Examples: a CN and no subjectAltName: still accepted here
        | server certificate | server_hostname      | outcome                                          |
        | cn-only            | localhost            | the request completes                            |
        | cn-only            | wrong.host.example   | the client rejects the server: hostname_mismatch |

  Rule: Expired and not-yet-valid certificates are rejected
    @rule:identity.validity-period
    Scenario Outline: a server with the <server certificate> certificate
      Given a server with certfile and keyfile from the <server certificate> certificate
      When the client connects
      Then <outcome>

      Examples:
        | server certificate | outcome                                                |
        | expired            | the client rejects the server: certificate_expired     |
        | not-yet-valid      | the client rejects the server: certificate_not_yet_valid |

  Rule: A leaf served without its intermediate is rejected; with it, accepted
    The client trusts only the root (server-ca); the leaf is issued by an
    intermediate CA, which the server must send.

    @rule:identity.chain
    Scenario Outline: a leaf issued by an intermediate, served as <server certificate>
      Given a server with certfile and keyfile from the <server certificate> certificate
      When the client connects
      Then <outcome>

      Examples:
        | server certificate | outcome                                   |
        | incomplete-chain   | the client rejects the server: unknown_ca |
        | full-chain         | the request completes                     |

  Rule: Suite, compression and keys are negotiated before data flows
    Document 001: "客户端和服务器对加密算法、压缩、以及密钥这些设定进行协商" (client and server
    negotiate the cipher, compression and keys). Compression is none: TLS 1.3
    removed it, and OpenSSL 3 does not offer it (CRIME). Only some clients
    report it; the scenario asks those.

    @rule:identity.negotiation
    Scenario Outline: what was negotiated, over <protocol>
      Given a server with certfile and keyfile from the localhost certificate
      And the server speaks only <protocol>
      When the client connects
      Then the request completes
      And the negotiated protocol is <protocol>
      And a cipher suite was negotiated

      Examples:
        | protocol |
        | TLS 1.2  |
        | TLS 1.3  |

    @rule:identity.negotiation
    Scenario: no compression
      Given a server with certfile and keyfile from the localhost certificate
      When the client connects
      Then the request completes
      And the compression is none
