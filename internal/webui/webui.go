// Package webui is parapet serve's browser interface: static files
// embedded in the binary (no build step, no third-party code, no inline
// script, so the Content-Security-Policy can stay 'self'), talking to the
// REST API with a session cookie and live updates over server-sent events.
package webui

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var files embed.FS

// Handler serves the UI: the app shell for / and the assets.
func Handler() http.Handler {
	sub, _ := fs.Sub(files, "static")
	assets := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == "/" || !strings.Contains(r.URL.Path[1:], ".") {
			r = r.Clone(r.Context())
			r.URL.Path = "/"
		}
		assets.ServeHTTP(w, r)
	})
}
