// The Go peer: one long-lived process that runs Go's crypto/tls + net/http
// servers and clients on command, so a run pays for the Go build once (it is
// cached, see support/peers/go.ts) and for the process start once.
//
// It speaks JSON lines on stdin/stdout, like the Python peer: each request
// {"id": n, "op": ...} gets one response {"id": n, "ok": true, ...} or
// {"id": n, "ok": false, "error": "..."}; a configuration Go refuses is
// {"ok": false, "configurationError": {"field": ..., "detail": ...}}. Every
// request runs in its own goroutine. The process ends when stdin closes.
//
// The settings arrive already translated into crypto/tls's own terms by the
// adapter (go.ts): file paths, ClientAuth, versions, Go cipher suite names,
// curve names, NextProtos. Errors are reported in Go's own words.
//
// Standard library only.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const loopback = "127.0.0.1"

// --- the wire -----------------------------------------------------------------------------

type rawError struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

type configurationError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func refused(field string, err error) map[string]any {
	return map[string]any{"ok": false, "configurationError": configurationError{Field: field, Detail: err.Error()}}
}

// The version bounds and suites, set the same way on both ends; nil, or the refusal naming the setting.
func versionsAndSuites(config *tls.Config, minimum, maximum string, suites []string) map[string]any {
	var err error
	if config.MinVersion, err = version(minimum); err != nil {
		return refused("minimum_version", err)
	}
	if config.MaxVersion, err = version(maximum); err != nil {
		return refused("maximum_version", err)
	}
	if config.CipherSuites, err = cipherSuites(suites); err != nil {
		return refused("ciphers", err)
	}
	return nil
}

var out = struct {
	sync.Mutex
	w *bufio.Writer
}{w: bufio.NewWriter(os.Stdout)}

func send(body map[string]any) {
	line, err := json.Marshal(body)
	if err != nil {
		line, _ = json.Marshal(map[string]any{"id": body["id"], "ok": false, "error": "cannot encode the reply: " + err.Error()})
	}
	out.Lock()
	defer out.Unlock()
	out.w.Write(line)
	out.w.WriteByte('\n')
	out.w.Flush()
}

// --- errors in Go's words, with what the harness needs to sort them -------------------------

// Go's alert texts (crypto/tls alert.go), for errors that carry an alert only as text.
var alertNumbers = map[string]int{
	"close notify": 0, "unexpected message": 10, "bad record MAC": 20, "decryption failed": 21, "record overflow": 22,
	"decompression failure": 30, "handshake failure": 40, "bad certificate": 42, "unsupported certificate": 43,
	"revoked certificate": 44, "expired certificate": 45, "unknown certificate": 46, "illegal parameter": 47,
	"unknown certificate authority": 48, "access denied": 49, "error decoding message": 50, "error decrypting message": 51,
	"export restriction": 60, "protocol version not supported": 70, "insufficient security level": 71, "internal error": 80,
	"inappropriate fallback": 86, "user canceled": 90, "no renegotiation": 100, "missing extension": 109,
	"unsupported extension": 110, "certificate unobtainable": 111, "unrecognized name": 112,
	"bad certificate status response": 113, "bad certificate hash value": 114, "unknown PSK identity": 115,
	"certificate required": 116, "no application protocol": 120,
}

var remoteAlertText = regexp.MustCompile(`remote error: tls: ([A-Za-z ]+?)\s*$`)

// receivedAlert: the alert the other end sent, when err says one arrived. crypto/tls
// returns it as a *net.OpError with Op "remote error" whose Err is the alert byte.
func receivedAlert(err error) (int, bool) {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "remote error" && opErr.Err != nil {
		value := reflect.ValueOf(opErr.Err)
		if value.Kind() == reflect.Uint8 {
			return int(value.Uint()), true
		}
	}
	if m := remoteAlertText.FindStringSubmatch(err.Error()); m != nil {
		if n, ok := alertNumbers[m[1]]; ok {
			return n, true
		}
	}
	return 0, false
}

var errnoNames = map[syscall.Errno]string{
	syscall.ECONNRESET: "ECONNRESET", syscall.ECONNREFUSED: "ECONNREFUSED", syscall.EPIPE: "EPIPE",
	syscall.ETIMEDOUT: "ETIMEDOUT", syscall.ECONNABORTED: "ECONNABORTED",
}

// errorRecord keeps Go's message verbatim; the code says what Go's error value is, when
// that is more than its text: an alert received (by number, as the error map reads
// alerts), an x509 error type, an errno.
func errorRecord(err error) *rawError {
	if err == nil {
		return nil
	}
	record := &rawError{Message: err.Error()}
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var errno syscall.Errno
	if n, ok := receivedAlert(err); ok {
		record.Code = fmt.Sprintf("received alert number %d", n)
	} else if errors.As(err, &unknownAuthority) {
		record.Code = "x509.UnknownAuthorityError"
	} else if errors.As(err, &hostname) {
		record.Code = "x509.HostnameError"
	} else if errors.As(err, &invalid) {
		record.Code = fmt.Sprintf("x509.CertificateInvalidError(%s)", invalidReason(invalid.Reason))
	} else if errors.As(err, &errno) && errnoNames[errno] != "" {
		record.Code = errnoNames[errno]
	}
	return record
}

func invalidReason(reason x509.InvalidReason) string {
	names := []string{"NotAuthorizedToSign", "Expired", "CANotAuthorizedForThisName", "TooManyIntermediates", "IncompatibleUsage",
		"NameMismatch", "NameConstraintsWithoutSANs", "UnconstrainedName", "TooManyConstraints", "CANotAuthorizedForExtKeyUsage"}
	if int(reason) >= 0 && int(reason) < len(names) {
		return names[reason]
	}
	return strconv.Itoa(int(reason))
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}

// The other end went away (or said why with an alert): evidence, not this end refusing.
func peerLeft(err error) bool {
	if _, ok := receivedAlert(err); ok {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) || isTimeout(err)
}

// --- crypto/tls settings ----------------------------------------------------------------------

var versions = map[string]uint16{"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}

func versionName(v uint16) string {
	for name, value := range versions {
		if value == v {
			return name
		}
	}
	return fmt.Sprintf("0x%04x", v)
}

func version(text string) (uint16, error) {
	if text == "" {
		return 0, nil
	}
	if v, ok := versions[text]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("crypto/tls has no version %q", text)
}

func cipherSuites(names []string) ([]uint16, error) {
	if names == nil {
		return nil, nil
	}
	byName := map[string]uint16{}
	for _, suite := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		byName[suite.Name] = suite.ID
	}
	ids := make([]uint16, 0, len(names))
	for _, name := range names {
		id, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("crypto/tls has no cipher suite %s", name)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

var curves = map[string]tls.CurveID{"X25519": tls.X25519, "P256": tls.CurveP256, "P384": tls.CurveP384, "P521": tls.CurveP521}

func curvePreferences(names []string) ([]tls.CurveID, error) {
	if names == nil {
		return nil, nil
	}
	ids := make([]tls.CurveID, 0, len(names))
	for _, name := range names {
		id, ok := curves[name]
		if !ok {
			return nil, fmt.Errorf("crypto/tls has no curve %s", name)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func certPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("x509: no certificate could be parsed from %s", path)
	}
	return pool, nil
}

// The key log the harness asks for (--keylog puts its path in SSLKEYLOGFILE); crypto/tls does not read the variable itself.
var keyLog io.Writer

func openKeyLog() {
	if path := os.Getenv("SSLKEYLOGFILE"); path != "" {
		if file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
			keyLog = file
		}
	}
}

func certificateDer(certs []*x509.Certificate) []byte {
	if len(certs) == 0 {
		return nil
	}
	return certs[0].Raw // encoding/json writes []byte as base64
}

// --- server side ------------------------------------------------------------------------------

type serverConfig struct {
	CertFile              string   `json:"certFile"`
	KeyFile               string   `json:"keyFile"`
	ClientAuth            string   `json:"clientAuth"`
	ClientCAs             string   `json:"clientCAs"`
	MinVersion            string   `json:"minVersion"`
	MaxVersion            string   `json:"maxVersion"`
	CipherSuites          []string `json:"cipherSuites"`
	CurvePreferences      []string `json:"curvePreferences"`
	NextProtos            []string `json:"nextProtos"`
	EndWithoutCloseNotify bool     `json:"endWithoutCloseNotify"`
}

type request struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
}

type serverObservation struct {
	Accepted             bool       `json:"accepted"`
	HandshakeCompleted   bool       `json:"handshakeCompleted"`
	Protocol             *string    `json:"protocol"`
	Cipher               *string    `json:"cipher"`
	ClientCertificateDer []byte     `json:"clientCertificateDer"`
	VerificationError    *string    `json:"verificationError"`
	Rejection            *rawError  `json:"rejection"`
	Errors               []rawError `json:"errors"`
	Requests             []request  `json:"requests"`
}

type connectionRecord struct {
	conn    net.Conn
	port    int
	claimed bool
	data    serverObservation
	closed  chan struct{}
	once    sync.Once
}

func (r *connectionRecord) close() { r.once.Do(func() { close(r.closed) }) }

type server struct {
	port      int
	listener  net.Listener
	http      *http.Server
	ready     chan net.Conn
	done      chan struct{}
	stopOnce  sync.Once
	effective map[string]string

	mu      sync.Mutex
	records []*connectionRecord
}

// observedConn is the TCP connection under the TLS one: its Close marks the record closed.
type observedConn struct {
	net.Conn
	record *connectionRecord
}

func (c *observedConn) Close() error {
	err := c.Conn.Close()
	c.record.close()
	return err
}

// handedOver: the connections whose handshake succeeded, given to http.Server.Serve.
type handedOver struct{ s *server }

func (l handedOver) Accept() (net.Conn, error) {
	select {
	case conn := <-l.s.ready:
		return conn, nil
	case <-l.s.done:
		return nil, net.ErrClosed
	}
}
func (l handedOver) Close() error   { l.s.stop(); return nil }
func (l handedOver) Addr() net.Addr { return l.s.listener.Addr() }

func (s *server) stop() {
	s.stopOnce.Do(func() {
		close(s.done)
		s.listener.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range s.records {
			r.conn.Close() // connections still in their handshake, which http.Server does not know of
		}
	})
}

func (s *server) record(port int) *connectionRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.records {
		if r.port == port {
			return r
		}
	}
	return nil
}

func (s *server) claim(port *int) *connectionRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.records {
		if !r.claimed && (port == nil || r.port == *port) {
			r.claimed = true
			return r
		}
	}
	return nil
}

func portOf(addr net.Addr) int {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.Port
	}
	return 0
}

const failedClientVerification = "tls: failed to verify client certificate: "

// The handshake runs here, as net/http would run it (HandshakeContext under a deadline),
// so that its result, and Go's error value when it fails, is kept for the connection.
func (s *server) handshake(raw net.Conn, config *tls.Config) {
	record := &connectionRecord{conn: raw, port: portOf(raw.RemoteAddr()), closed: make(chan struct{}),
		data: serverObservation{Accepted: true, Errors: []rawError{}, Requests: []request{}}}
	s.mu.Lock()
	s.records = append(s.records, record)
	s.mu.Unlock()
	if tcp, ok := raw.(*net.TCPConn); ok {
		tcp.SetNoDelay(true)
	}
	conn := tls.Server(&observedConn{Conn: raw, record: record}, config)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := conn.HandshakeContext(ctx)
	cancel()
	s.mu.Lock()
	if err != nil {
		text := err.Error()
		switch {
		case strings.HasPrefix(text, failedClientVerification):
			reason := strings.TrimPrefix(text, failedClientVerification)
			record.data.VerificationError = &reason
			record.data.Rejection = errorRecord(err)
		case peerLeft(err):
			record.data.Errors = append(record.data.Errors, *errorRecord(err))
		default:
			record.data.Rejection = errorRecord(err)
		}
		s.mu.Unlock()
		conn.Close()
		return
	}
	state := conn.ConnectionState()
	protocol, cipher := versionName(state.Version), tls.CipherSuiteName(state.CipherSuite)
	record.data.HandshakeCompleted = true
	record.data.Protocol, record.data.Cipher = &protocol, &cipher
	record.data.ClientCertificateDer = certificateDer(state.PeerCertificates)
	s.mu.Unlock()
	select {
	case s.ready <- conn:
	case <-s.done:
		conn.Close()
	}
}

func (s *server) serveHTTP(settings serverConfig) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		port := 0
		if _, p, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			port, _ = strconv.Atoi(p)
		}
		if record := s.record(port); record != nil {
			s.mu.Lock()
			record.data.Requests = append(record.data.Requests, request{Method: r.Method, Path: r.URL.RequestURI(), Status: http.StatusOK})
			s.mu.Unlock()
		}
		if settings.EndWithoutCloseNotify {
			// No Content-Length; the body ends with the TCP connection, closed under TLS: no close_notify.
			if hijacker, ok := w.(http.Hijacker); ok {
				if conn, _, err := hijacker.Hijack(); err == nil {
					conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nthe first part of a longer body"))
					if tlsConn, ok := conn.(*tls.Conn); ok {
						tlsConn.NetConn().Close()
					} else {
						conn.Close()
					}
					return
				}
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "hello from the go server\n")
	}
}

var clientAuths = map[string]tls.ClientAuthType{
	"NoClientCert": tls.NoClientCert, "VerifyClientCertIfGiven": tls.VerifyClientCertIfGiven, "RequireAndVerifyClientCert": tls.RequireAndVerifyClientCert,
}

func serverTLSConfig(settings serverConfig) (*tls.Config, map[string]any) {
	keyFile := settings.KeyFile
	if keyFile == "" {
		keyFile = settings.CertFile // the key may be in certfile, as Python allows
	}
	certificate, err := tls.LoadX509KeyPair(settings.CertFile, keyFile)
	if err != nil {
		field := "certfile"
		if settings.CertFile != "" && (strings.Contains(err.Error(), "private key") || strings.Contains(err.Error(), "key input") ||
			strings.Contains(err.Error(), "does not match")) {
			field = "keyfile"
		}
		return nil, refused(field, err)
	}
	clientAuth, ok := clientAuths[settings.ClientAuth]
	if !ok {
		return nil, refused("cert_reqs", fmt.Errorf("crypto/tls has no ClientAuth %q", settings.ClientAuth))
	}
	config := &tls.Config{Certificates: []tls.Certificate{certificate}, ClientAuth: clientAuth, KeyLogWriter: keyLog}
	// Only the CAs in ca_certs are trusted for client certificates: with ClientCAs nil, Go would use the system roots.
	config.ClientCAs = x509.NewCertPool()
	if settings.ClientCAs != "" {
		if config.ClientCAs, err = certPool(settings.ClientCAs); err != nil {
			return nil, refused("ca_certs", err)
		}
	}
	if failure := versionsAndSuites(config, settings.MinVersion, settings.MaxVersion, settings.CipherSuites); failure != nil {
		return nil, failure
	}
	if config.CurvePreferences, err = curvePreferences(settings.CurvePreferences); err != nil {
		return nil, refused("groups", err)
	}
	config.NextProtos = settings.NextProtos
	return config, nil
}

var servers = struct {
	sync.Mutex
	byPort map[int]*server
}{byPort: map[int]*server{}}

func opStartServer(message map[string]json.RawMessage) map[string]any {
	var settings serverConfig
	if err := json.Unmarshal(message["settings"], &settings); err != nil {
		return map[string]any{"ok": false, "error": err.Error()}
	}
	config, refusal := serverTLSConfig(settings)
	if refusal != nil {
		return refusal
	}
	listener, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		return map[string]any{"ok": false, "error": err.Error()}
	}
	s := &server{port: portOf(listener.Addr()), listener: listener, ready: make(chan net.Conn), done: make(chan struct{})}
	s.effective = map[string]string{"ClientAuth": config.ClientAuth.String()}
	if config.MinVersion != 0 {
		s.effective["MinVersion"] = versionName(config.MinVersion)
	}
	if config.MaxVersion != 0 {
		s.effective["MaxVersion"] = versionName(config.MaxVersion)
	}
	s.http = &http.Server{
		Handler:           s.serveHTTP(settings),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       10 * time.Second,
		// Not nil: no HTTP/2 (these servers speak HTTP/1.1, as the documents' servers do).
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.New(os.Stderr, fmt.Sprintf("go server %d: ", s.port), 0),
	}
	go func() {
		for {
			raw, err := listener.Accept()
			if err != nil {
				return
			}
			go s.handshake(raw, config)
		}
	}()
	go s.http.Serve(handedOver{s})
	servers.Lock()
	servers.byPort[s.port] = s
	servers.Unlock()
	return map[string]any{"ok": true, "port": s.port, "effective": s.effective}
}

func serverOf(message map[string]json.RawMessage) *server {
	var port int
	json.Unmarshal(message["server"], &port)
	servers.Lock()
	defer servers.Unlock()
	return servers.byPort[port]
}

func opObserve(message map[string]json.RawMessage) map[string]any {
	s := serverOf(message)
	if s == nil {
		return map[string]any{"ok": false, "error": "no such server"}
	}
	var clientPort *int
	json.Unmarshal(message["clientPort"], &clientPort)
	settleMs := 1000.0
	json.Unmarshal(message["settleMs"], &settleMs)
	deadline := time.Now().Add(time.Duration(settleMs * float64(time.Millisecond)))
	record := s.claim(clientPort)
	for record == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		record = s.claim(clientPort)
	}
	if record == nil {
		return map[string]any{"ok": true, "observation": nil, "effective": s.effective}
	}
	select {
	case <-record.closed:
	case <-time.After(time.Until(deadline)):
	}
	s.mu.Lock()
	observation := record.data
	observation.Errors = append([]rawError{}, record.data.Errors...)
	observation.Requests = append([]request{}, record.data.Requests...)
	s.mu.Unlock()
	return map[string]any{"ok": true, "observation": observation, "effective": s.effective}
}

func opStopServer(message map[string]json.RawMessage) map[string]any {
	s := serverOf(message)
	if s != nil {
		servers.Lock()
		delete(servers.byPort, s.port)
		servers.Unlock()
		s.stop()
		s.http.Close()
	}
	return map[string]any{"ok": true}
}

// --- client side ------------------------------------------------------------------------------

type clientConfig struct {
	// "file" (RootCAs from RootCAsFile), "system" (Go's system roots), "none" (InsecureSkipVerify).
	Verify       string            `json:"verify"`
	RootCAsFile  string            `json:"rootCAsFile"`
	CertFile     string            `json:"certFile"`
	KeyFile      string            `json:"keyFile"`
	ServerName   string            `json:"serverName"`
	TimeoutMs    float64           `json:"timeoutMs"`
	MinVersion   string            `json:"minVersion"`
	MaxVersion   string            `json:"maxVersion"`
	CipherSuites []string          `json:"cipherSuites"`
	NextProtos   []string          `json:"nextProtos"`
	Path         string            `json:"path"`
	Headers      map[string]string `json:"headers"`
}

type response struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

type clientObservation struct {
	LocalPort            *int      `json:"localPort"`
	HandshakeCompleted   bool      `json:"handshakeCompleted"`
	Protocol             *string   `json:"protocol"`
	Cipher               *string   `json:"cipher"`
	Alpn                 *string   `json:"alpn"`
	SessionReused        bool      `json:"sessionReused"`
	ServerCertificateDer []byte    `json:"serverCertificateDer"`
	Response             *response `json:"response"`
	SocketError          *rawError `json:"socketError"`
	RequestError         *rawError `json:"requestError"`
	EndError             *rawError `json:"endError"`
	TimedOut             bool      `json:"timedOut"`
}

// The certificate a failed verification was about: Go's x509 errors carry it.
func certificateInError(err error) []byte {
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknownAuthority) && unknownAuthority.Cert != nil:
		return unknownAuthority.Cert.Raw
	case errors.As(err, &hostname) && hostname.Certificate != nil:
		return hostname.Certificate.Raw
	case errors.As(err, &invalid) && invalid.Cert != nil:
		return invalid.Cert.Raw
	}
	return nil
}

// watchedConn keeps the first error the TLS connection raised after the handshake (an alert, a reset).
type watchedConn struct {
	*tls.Conn
	mu    *sync.Mutex
	first *error
}

func (c watchedConn) keep(err error) {
	if err != nil {
		c.mu.Lock()
		if *c.first == nil {
			*c.first = err
		}
		c.mu.Unlock()
	}
}
func (c watchedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.keep(err)
	return n, err
}
func (c watchedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.keep(err)
	return n, err
}

func clientTLSConfig(settings clientConfig) (*tls.Config, map[string]any) {
	config := &tls.Config{ServerName: settings.ServerName, NextProtos: settings.NextProtos, KeyLogWriter: keyLog}
	var err error
	switch settings.Verify {
	case "file":
		if config.RootCAs, err = certPool(settings.RootCAsFile); err != nil {
			return nil, refused("verify", err)
		}
	case "none":
		config.InsecureSkipVerify = true
	}
	if settings.CertFile != "" {
		certificate, err := tls.LoadX509KeyPair(settings.CertFile, settings.KeyFile)
		if err != nil {
			return nil, refused("cert", err)
		}
		config.Certificates = []tls.Certificate{certificate}
	}
	if failure := versionsAndSuites(config, settings.MinVersion, settings.MaxVersion, settings.CipherSuites); failure != nil {
		return nil, failure
	}
	return config, nil
}

// One fresh connection and one GET through net/http: no keep-alive, no session cache, HTTP/1.1.
func opClient(message map[string]json.RawMessage) map[string]any {
	var settings clientConfig
	var target struct {
		Port int `json:"port"`
	}
	if err := json.Unmarshal(message["settings"], &settings); err != nil {
		return map[string]any{"ok": false, "error": err.Error()}
	}
	json.Unmarshal(message["target"], &target)
	config, refusal := clientTLSConfig(settings)
	if refusal != nil {
		return refusal
	}

	var mu sync.Mutex
	seen := clientObservation{}
	var afterHandshake error
	transport := &http.Transport{
		DisableKeepAlives: true,
		Proxy:             nil,
		// Not nil: HTTP/1.1 only, whatever ALPN agrees on.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
		// Name resolution pinned to 127.0.0.1 (like a hosts file): the URL and ServerName keep server_hostname.
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			raw, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(loopback, strconv.Itoa(target.Port)))
			if err != nil {
				mu.Lock()
				seen.SocketError = errorRecord(err)
				mu.Unlock()
				return nil, err
			}
			if tcp, ok := raw.(*net.TCPConn); ok {
				tcp.SetNoDelay(true)
			}
			local := portOf(raw.LocalAddr())
			mu.Lock()
			seen.LocalPort = &local
			mu.Unlock()
			conn := tls.Client(raw, config)
			if err := conn.HandshakeContext(ctx); err != nil {
				mu.Lock()
				seen.SocketError = errorRecord(err)
				seen.ServerCertificateDer = certificateInError(err)
				mu.Unlock()
				raw.Close()
				return nil, err
			}
			state := conn.ConnectionState()
			protocol, cipher := versionName(state.Version), tls.CipherSuiteName(state.CipherSuite)
			mu.Lock()
			seen.HandshakeCompleted = true
			seen.Protocol, seen.Cipher = &protocol, &cipher
			if state.NegotiatedProtocol != "" {
				alpn := state.NegotiatedProtocol
				seen.Alpn = &alpn
			}
			seen.SessionReused = state.DidResume
			seen.ServerCertificateDer = certificateDer(state.PeerCertificates)
			mu.Unlock()
			return watchedConn{Conn: conn, mu: &mu, first: &afterHandshake}, nil
		},
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		Timeout:       time.Duration(settings.TimeoutMs * float64(time.Millisecond)),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	path := settings.Path
	if path == "" {
		path = "/"
	}
	address := (&url.URL{Scheme: "https", Host: net.JoinHostPort(settings.ServerName, strconv.Itoa(target.Port)), Path: "/"}).String()
	address = strings.TrimSuffix(address, "/") + path
	req, err := http.NewRequest(http.MethodGet, address, nil)
	if err != nil {
		return refused("path", err)
	}
	for name, value := range settings.Headers {
		req.Header.Set(name, value)
	}
	reply, err := client.Do(req)
	var body []byte
	var bodyErr error
	if err == nil {
		body, bodyErr = io.ReadAll(reply.Body)
		reply.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		seen.RequestError = errorRecord(err)
		seen.TimedOut = isTimeout(err)
		// An error the TLS connection raised after its handshake (an alert, a reset) is the socket's error.
		if seen.SocketError == nil && afterHandshake != nil && !errors.Is(afterHandshake, net.ErrClosed) {
			seen.SocketError = errorRecord(afterHandshake)
		}
	} else {
		seen.Response = &response{Status: reply.StatusCode, Body: string(body)}
		// An error once the response had begun is about its end, not about the connection.
		seen.EndError = errorRecord(bodyErr)
	}
	return map[string]any{"ok": true, "observation": seen}
}

func opVersion(map[string]json.RawMessage) map[string]any {
	return map[string]any{"ok": true, "go": runtime.Version()}
}

var operations = map[string]func(map[string]json.RawMessage) map[string]any{
	"start_server": opStartServer, "observe": opObserve, "stop_server": opStopServer, "client": opClient, "version": opVersion,
}

func handle(line []byte) {
	var message map[string]json.RawMessage
	if err := json.Unmarshal(line, &message); err != nil {
		send(map[string]any{"ok": false, "error": "not JSON: " + err.Error()})
		return
	}
	var id any
	var op string
	json.Unmarshal(message["id"], &id)
	json.Unmarshal(message["op"], &op)
	var body map[string]any
	if operation, ok := operations[op]; ok {
		func() {
			defer func() {
				if p := recover(); p != nil {
					body = map[string]any{"ok": false, "error": fmt.Sprintf("panic: %v", p)}
				}
			}()
			body = operation(message)
		}()
	} else {
		body = map[string]any{"ok": false, "error": "unknown op " + strconv.Quote(op)}
	}
	body["id"] = id
	send(body)
}

func main() {
	openKeyLog()
	send(map[string]any{"ready": true, "go": runtime.Version()})
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for lines.Scan() {
		line := append([]byte(nil), lines.Bytes()...)
		go handle(line)
	}
	servers.Lock()
	for _, s := range servers.byPort {
		s.stop()
		s.http.Close()
	}
	servers.Unlock()
}
