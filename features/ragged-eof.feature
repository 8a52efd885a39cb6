@eof
Feature: A response cut off without close_notify
  TLS ends a connection with a close_notify alert, so that a reader can tell
  the end of the data from an attacker (or a crash) closing the TCP
  connection early. A response with no Content-Length whose connection
  closes without close_notify is indistinguishable from a truncated one.
  Document 000 lists SSLSocket's suppress_ragged_eofs (default True): True
  reads such a close as an ordinary end of file, False raises an error.
  On Python 3.11 with OpenSSL 3 the parameter changes nothing. Every default
  context sets ssl.OP_IGNORE_UNEXPECTED_EOF (since Python 3.10), and OpenSSL
  then reads the bare close as a clean end itself: True and False both accept
  the truncated body. Without that option OpenSSL 3 reports the close as
  UNEXPECTED_EOF_WHILE_READING, an SSLError that suppress_ragged_eofs does not
  cover (it suppresses only the older SSL_ERROR_EOF): True and False both
  raise. curl 7.88 sets the same option; openssl s_client does not.

  Background:
    Given a server with certfile and keyfile from the localhost certificate
    And the client has verify from the server-ca certificate
    And the server ends its response by closing the connection without close_notify

  Rule: suppress_ragged_eofs decides what a close without close_notify means

    @rule:eof.ragged
    Scenario Outline: a Python client with suppress_ragged_eofs <value>, as Python 3.10+ makes its contexts
      Given the client has suppress_ragged_eofs <value>
      When the client connects
      Then the client accepts the truncated response as complete

      Examples:
        | value |
        | True  |
        | False |

    @rule:eof.ragged
    Scenario Outline: a Python client with suppress_ragged_eofs <value>, without OP_IGNORE_UNEXPECTED_EOF
      Given the client has suppress_ragged_eofs <value>
      And the client's context does not have OP_IGNORE_UNEXPECTED_EOF
      When the client connects
      Then <outcome>

      Examples:
        | value | outcome                                          |
        | True  | the client reports an error at the truncated end |
        | False | the client reports an error at the truncated end |

    @rule:eof.ragged
    Scenario: a client left at its defaults, as document 000's requests is
      With suppress_ragged_eofs left at True (document 000's default) the
      close is read as the end of the response. Every client is asked the same;
      the ones that report the close instead (openssl s_client, which does not
      set OP_IGNORE_UNEXPECTED_EOF) are listed in features/deviations.json.
      When the client connects
      Then the client accepts the truncated response as complete
