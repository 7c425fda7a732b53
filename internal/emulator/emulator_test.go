package emulator

import (
	"errors"
	"net"
	"net/http"
	"os/exec"
	"testing"
)

// A port taken between picking it and moto binding it — here by a server
// that answers like moto — is not mistaken for ours: start says the port
// was taken (and Start then tries another).
func TestStartPortTaken(t *testing.T) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("no moto_server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })}
	go srv.Serve(l)
	defer srv.Close()
	m, err := start(bin, l.Addr().(*net.TCPAddr).Port)
	if err == nil {
		m.Stop()
		t.Fatal("started on a port another server holds")
	}
	if !errors.Is(err, errPortTaken) {
		t.Fatalf("err = %v, want errPortTaken", err)
	}
	m, err = Start()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	resp, err := http.Get(m.URL + "/moto-api/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
