@forward-secrecy
Feature: Forward secrecy
  Document 001: "如果有人在未来获取或者破解了我们的私钥,那么他们能否捕捉到以前的TLS对话,并将他们保存,以便在未来进行解密"
  (if someone later obtains or breaks our private key, can they decrypt TLS
  conversations they captured and kept?). A passive observer records a
  session; then the server's private key "leaks". The harness tries to read
  the recorded request with nothing but the recording and that key: no key
  log, no hook into either end. With RSA key transport (a TLS 1.2 suite
  without ECDHE, as document 000's flow steps 6-7 describe) it succeeds; with
  ECDHE, and with TLS 1.3, the key only ever signed, and nothing decrypts.

  Background:
    Given a server with certfile and keyfile from the localhost certificate
    And the client has verify from the server-ca certificate
    And a passive observer records each connection
    And the client requests the path "/transfer/7f3c9e"

  Rule: A recorded session is decrypted with a leaked key under RSA key transport, not under ECDHE or TLS 1.3

    @rule:fs.question
    Scenario: TLS 1.2 with RSA key transport: the leaked key opens the recording
      Given the server speaks only TLS 1.2
      And the server has ciphers "AES128-GCM-SHA256"
      When the client connects
      Then the request completes
      And the key exchange is "RSA key transport"
      And the recording, with the server's private key, shows the request for "/transfer/7f3c9e"

    @rule:fs.question
    Scenario Outline: <protocol> with <server ciphers>: the leaked key opens nothing
      Given the server speaks only <protocol>
      And the server has ciphers "<server ciphers>"
      When the client connects
      Then the request completes
      And the key exchange is "ephemeral"
      And the recording cannot be decrypted with the server's private key

      Examples:
        | protocol | server ciphers              |
        | TLS 1.2  | ECDHE-RSA-AES128-GCM-SHA256 |
        | TLS 1.3  | DEFAULT                     |
