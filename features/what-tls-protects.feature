@privacy
Feature: What TLS protects from someone watching the wire
  Document 001: TLS protects "与请求URL之间的HTTPS连接及其返回内容、密码、cookies等"
  (the URL requested over HTTPS and what comes back, passwords, cookies: what
  crosses the socket both ways). It does not protect "本机和远程主机的地址, 端口号,
  DNS查询, 数据块的大致大小" (both hosts' addresses, the port numbers, the DNS
  query, the approximate size of the data).
  A passive observer, a TCP relay between client and server, records every
  byte both ways; the scenarios search the recording. No DNS query is made
  here: every client reaches 127.0.0.1 with the name pinned, so that part of
  the claim is not exercised.

  Background:
    Given a server with certfile and keyfile from the localhost certificate
    And the client has verify from the server-ca certificate
    And a passive observer records each connection
    And the client requests the path "/account/statement-7f3c9e"
    And the client sends the header "Cookie: session=c00k1e-7f3c9e"
    And the client sends the header "X-Password: correct-horse-7f3c9e"

  Rule: The path, headers, cookies, passwords and bodies are hidden from a passive observer

    @rule:privacy.content-protected
    Scenario Outline: what crossed the wire, over <protocol>
      Given the server speaks only <protocol>
      When the client connects
      Then the request completes
      And the observer does not see "/account/statement-7f3c9e"
      And the observer does not see "c00k1e-7f3c9e"
      And the observer does not see "correct-horse-7f3c9e"
      And the observer does not see "hello from"

      Examples:
        | protocol |
        | TLS 1.2  |
        | TLS 1.3  |

  Rule: Addresses, ports, the server name and approximate sizes are visible to a passive observer
    The server name travels in the clear in the ClientHello (SNI) when the
    client connects by name; a client that connects to an IP address sends
    none. With TLS 1.2 the server's certificate crosses in the clear too; TLS
    1.3 encrypts it.

    @rule:privacy.metadata-visible
    Scenario: a client that connects by name
      Given the client sends the header "X-Padding: ................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................"
      When the client connects
      Then the request completes
      And the observer sees the addresses and ports of both ends
      And the observer sees the server name "localhost"
      And the observer sees at least 1500 bytes of application data from the client

    @rule:privacy.metadata-visible
    Scenario: a client that connects to an IP address
      Given the client has server_hostname 127.0.0.1
      When the client connects
      Then the request completes
      And the observer sees no server name

    @rule:privacy.metadata-visible
    Scenario Outline: the server certificate on the wire, over <protocol>
      Given the server speaks only <protocol>
      When the client connects
      Then the request completes
      And the observer <sees> the server certificate

      Examples:
        | protocol | sees         |
        | TLS 1.2  | sees         |
        | TLS 1.3  | does not see |
