// faultproxy: an HTTP proxy that injects faults between deloc and the
// Docker Engine socket (or the Kubernetes API), for spec/e2e/faults_*_spec.lua.
//
//	faultproxy -listen unix:/tmp/x.sock -upstream unix:/var/run/docker.sock -control unix:/tmp/x.ctl
//	faultproxy -listen tcp:127.0.0.1:0 -tls-cert DIR -upstream https://127.0.0.1:6443 -control unix:/tmp/x.ctl
//
// It forwards every request unchanged unless a rule matches it.  Rules are
// set through the control socket (HTTP):
//
//	PUT /rules  [{"method":"GET","path":"^/v[0-9.]+/containers/json","action":"status",
//	              "status":503,"times":2}, ...]   (replaces every rule)
//	POST /down  stop listening (the socket file goes: connect is refused) and
//	            drop every open connection;  POST /up  listen again
//	GET /stats  {"requests":N,"faults":{"<rule index>":hits},"log":["GET /v1.41/... 200", ...]}
//
// Actions (a rule with "times" N fires N times, then no more; 0 = always):
//
//	delay            wait delay_ms, then forward
//	status           answer status (500, 503...) with a JSON {"message"} body; nothing forwarded
//	close_mid_body   forward; send the answer's headers (Content-Length kept) and half its body, then close
//	truncate_chunked forward; send the answer chunked, stop after `bytes` bytes (default half) without
//	                 the last chunk, then close
//	stall_response   forward; send the headers and `bytes` bytes of the body (default 0), then nothing
//	                 until the client goes away
//	stall_request    read nothing of the request and answer nothing until the client goes away
//	reset            close the connection as soon as the request has arrived (nothing forwarded)
//
// Test tooling only: it listens on loopback or a unix socket the spec made.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type rule struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Action  string `json:"action"`
	Status  int    `json:"status"`
	DelayMs int    `json:"delay_ms"`
	Bytes   int    `json:"bytes"`
	Times   int    `json:"times"`
	re      *regexp.Regexp
	hits    int
}

type proxy struct {
	mu       sync.Mutex
	rules    []*rule
	requests int
	logLines []string
	up       bool
	listen   string
	tlsConf  *tls.Config
	ln       net.Listener
	srv      *http.Server
	conns    map[net.Conn]bool
	client   *http.Client
	upstream string // base URL
	// cancelled by /down: what is in flight dies with the "engine", as in a
	// restart (Go cancels a request's own context only once its body is read)
	gen    context.Context
	cancel context.CancelFunc
}

func (p *proxy) match(r *http.Request) (*rule, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	for i, ru := range p.rules {
		if ru.Method != "" && ru.Method != r.Method {
			continue
		}
		if ru.re != nil && !ru.re.MatchString(r.URL.Path) {
			continue
		}
		if ru.Times > 0 && ru.hits >= ru.Times {
			continue
		}
		ru.hits++
		return ru, i
	}
	return nil, -1
}

func (p *proxy) note(r *http.Request, what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.logLines) < 10000 {
		p.logLines = append(p.logLines, r.Method+" "+r.URL.Path+" "+what)
	}
}

func abort() { panic(http.ErrAbortHandler) }

// forward sends r upstream; the caller owns resp.Body.
func (p *proxy) forward(r *http.Request) (*http.Response, error) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), r.Body)
	if err != nil {
		return nil, err
	}
	out.Header = r.Header.Clone()
	out.ContentLength = r.ContentLength
	out.Host = r.Host
	return p.client.Do(out)
}

func copyHeaders(w http.ResponseWriter, resp *http.Response, keepLength bool) {
	for k, vs := range resp.Header {
		if strings.EqualFold(k, "Content-Length") && !keepLength {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if keepLength && resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	gen := p.gen
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(gen, cancel)()
	r = r.WithContext(ctx)
	ru, idx := p.match(r)
	action := ""
	if ru != nil {
		action = ru.Action
		p.note(r, fmt.Sprintf("fault %d %s", idx, action))
	}
	switch action {
	case "status":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ru.Status)
		fmt.Fprintf(w, "{\"message\":\"faultproxy: injected %d\"}\n", ru.Status)
		return
	case "reset":
		abort()
	case "stall_request":
		<-r.Context().Done()
		abort()
	case "delay":
		select {
		case <-time.After(time.Duration(ru.DelayMs) * time.Millisecond):
		case <-r.Context().Done():
			abort()
		}
	}
	resp, err := p.forward(r)
	if err != nil {
		p.note(r, "upstream error: "+err.Error())
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "{\"message\":\"faultproxy: upstream: %s\"}\n", strings.ReplaceAll(err.Error(), "\"", "'"))
		return
	}
	defer resp.Body.Close()
	fl, _ := w.(http.Flusher)
	switch action {
	case "close_mid_body":
		body, _ := io.ReadAll(resp.Body)
		copyHeaders(w, resp, false)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(resp.StatusCode)
		w.Write(body[:len(body)/2])
		if fl != nil {
			fl.Flush()
		}
		abort()
	case "truncate_chunked":
		copyHeaders(w, resp, false)
		w.WriteHeader(resp.StatusCode)
		limit := ru.Bytes
		buf := make([]byte, 4096)
		sent := 0
		for {
			if limit > 0 && sent >= limit {
				break
			}
			n, err := resp.Body.Read(buf)
			if n > 0 {
				if limit <= 0 {
					n = (n + 1) / 2 // half of the first read
					limit = n
				}
				if limit > 0 && sent+n > limit {
					n = limit - sent
				}
				w.Write(buf[:n])
				sent += n
				if fl != nil {
					fl.Flush()
				}
			}
			if err != nil {
				break
			}
		}
		abort()
	case "stall_response":
		copyHeaders(w, resp, true)
		w.WriteHeader(resp.StatusCode)
		if ru.Bytes > 0 {
			io.CopyN(w, resp.Body, int64(ru.Bytes))
		}
		if fl != nil {
			fl.Flush()
		}
		<-r.Context().Done()
		abort()
	}
	copyHeaders(w, resp, true)
	w.WriteHeader(resp.StatusCode)
	p.note(r, strconv.Itoa(resp.StatusCode))
	// stream: logs, events, exec output arrive as the engine writes them
	buf := make([]byte, 32*1024)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

func listenOn(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		os.Remove(path)
		ln, err := net.Listen("unix", path)
		if err == nil {
			os.Chmod(path, 0o600)
		}
		return ln, err
	}
	if hp, ok := strings.CutPrefix(addr, "tcp:"); ok {
		return net.Listen("tcp", hp)
	}
	return nil, fmt.Errorf("bad address %q (unix:PATH or tcp:HOST:PORT)", addr)
}

func (p *proxy) start() error {
	ln, err := listenOn(p.listen)
	if err != nil {
		return err
	}
	if p.tlsConf != nil {
		ln = tls.NewListener(ln, p.tlsConf)
	}
	srv := &http.Server{Handler: p, ConnState: func(c net.Conn, s http.ConnState) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch s {
		case http.StateNew:
			p.conns[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(p.conns, c)
		}
	}, ErrorLog: log.New(io.Discard, "", 0)}
	p.mu.Lock()
	p.ln, p.srv, p.up = ln, srv, true
	p.gen, p.cancel = context.WithCancel(context.Background())
	p.mu.Unlock()
	go srv.Serve(ln)
	return nil
}

func (p *proxy) stop() {
	p.mu.Lock()
	srv := p.srv
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.up = false
	if p.cancel != nil {
		p.cancel()
	}
	p.mu.Unlock()
	if srv != nil {
		srv.Close() // closes the listener (and the unix socket file) and every connection
	}
	for _, c := range conns {
		c.Close()
	}
	if path, ok := strings.CutPrefix(p.listen, "unix:"); ok {
		os.Remove(path)
	}
}

func (p *proxy) control(w http.ResponseWriter, r *http.Request) {
	switch r.Method + " " + r.URL.Path {
	case "PUT /rules":
		var rules []*rule
		if err := json.NewDecoder(r.Body).Decode(&rules); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		for _, ru := range rules {
			if ru.Path != "" {
				re, err := regexp.Compile(ru.Path)
				if err != nil {
					http.Error(w, err.Error(), 400)
					return
				}
				ru.re = re
			}
			switch ru.Action {
			case "delay", "status", "close_mid_body", "truncate_chunked", "stall_response", "stall_request", "reset":
			default:
				http.Error(w, "unknown action "+ru.Action, 400)
				return
			}
		}
		p.mu.Lock()
		p.rules = rules
		p.mu.Unlock()
	case "POST /down":
		p.stop()
	case "POST /up":
		p.mu.Lock()
		up := p.up
		p.mu.Unlock()
		if !up {
			if err := p.start(); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
		}
	case "GET /stats":
		p.mu.Lock()
		faults := map[string]int{}
		for i, ru := range p.rules {
			faults[strconv.Itoa(i)] = ru.hits
		}
		out := map[string]any{"requests": p.requests, "faults": faults, "log": p.logLines, "up": p.up}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
		return
	default:
		http.Error(w, "unknown control request", 404)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintln(w, "{}")
}

// selfSigned makes a certificate for 127.0.0.1 and writes it (PEM) to dir/ca.pem.
func selfSigned(dir string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "faultproxy"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(dir+"/ca.pem", certPEM, 0o600); err != nil {
		return nil, err
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
}

func main() {
	listen := flag.String("listen", "", "unix:PATH or tcp:HOST:PORT")
	upstream := flag.String("upstream", "", "unix:PATH, http://HOST:PORT or https://HOST:PORT")
	control := flag.String("control", "", "unix:PATH of the control socket")
	tlsDir := flag.String("tls-cert", "", "serve TLS with a new self-signed certificate written to DIR/ca.pem")
	portFile := flag.String("port-file", "", "write the TCP port listened on to this file")
	flag.Parse()
	if *listen == "" || *upstream == "" || *control == "" {
		fmt.Fprintln(os.Stderr, "usage: faultproxy -listen ADDR -upstream ADDR -control unix:PATH [-tls-cert DIR]")
		os.Exit(2)
	}
	p := &proxy{listen: *listen, conns: map[net.Conn]bool{}}
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // loopback test upstream
	if path, ok := strings.CutPrefix(*upstream, "unix:"); ok {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		p.upstream = "http://docker"
	} else {
		p.upstream = strings.TrimSuffix(*upstream, "/")
	}
	p.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	if *tlsDir != "" {
		c, err := selfSigned(*tlsDir)
		if err != nil {
			log.Fatal(err)
		}
		p.tlsConf = c
	}
	if err := p.start(); err != nil {
		log.Fatal(err)
	}
	if *portFile != "" {
		if a, ok := p.ln.Addr().(*net.TCPAddr); ok {
			// a fixed port from now on: /down and /up must come back on the same one
			p.listen = "tcp:" + a.String()
			os.WriteFile(*portFile, []byte(strconv.Itoa(a.Port)), 0o600)
		}
	}
	cln, err := listenOn(*control)
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(cln, http.HandlerFunc(p.control))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	p.stop()
	if path, ok := strings.CutPrefix(*control, "unix:"); ok {
		os.Remove(path)
	}
}
