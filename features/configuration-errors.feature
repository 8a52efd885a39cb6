@configuration
Feature: Configuration errors
  A server that cannot serve says so clearly, naming the setting: never a
  stack trace, never a hang. Files are read by the harness before any
  implementation sees them, so a missing file, a file that is not PEM, or an
  encrypted key without its password gets the same words for every
  implementation (nginx and Apache would otherwise ask for a passphrase on a
  terminal and wait). What an implementation does with settings it does read
  itself (a key that belongs to another certificate, ssl_version as a string,
  CERT_REQUIRED without ca_certs) is shown by the rules about them: some refuse
  to start, some start and fail every handshake.

  Background:
    Given a server with certfile and keyfile from the localhost certificate
    And the client has verify from the server-ca certificate

  Rule: A server cannot serve TLS without certfile and the keyfile that belongs to it

    @rule:one-way.server-needs-cert-and-key
    Scenario Outline: <what>
      Given the server has <setting> "<path>"
      When the client connects
      Then the server refuses its <setting>

      Examples:
        | what                      | setting  | path                             |
        | a certfile that is absent | certfile | features/files/absent.pem        |
        | a keyfile that is absent  | keyfile  | features/files/absent.pem        |
        | a certfile that is not PEM | certfile | features/files/garbage.pem      |
        | ca_certs that are not PEM | ca_certs | features/files/garbage.pem       |

    @rule:one-way.server-needs-cert-and-key
    Scenario: an encrypted key and no password
      Given a server with certfile and keyfile from the encrypted-key certificate
      When the client connects
      Then the server refuses its keyfile
