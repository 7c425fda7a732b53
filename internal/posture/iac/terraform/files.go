package terraform

import (
	"os"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Files reads and parses .tf and .tfvars files once per scan: the loader,
// the search for called modules and the secret detector all read the same
// files, and parsing is most of a large scan's loading time. The zero value
// is not usable; a nil *Files parses every time.
type Files struct {
	mu    sync.Mutex
	files map[string]*parsedFile
}

type parsedFile struct {
	src   []byte
	file  *hcl.File
	diags hcl.Diagnostics
	err   error
}

// NewFiles returns an empty cache.
func NewFiles() *Files { return &Files{files: map[string]*parsedFile{}} }

// Parse reads and parses the file at path (as native HCL syntax), or
// returns what an earlier call did: the source, the file (nil when it
// could not be parsed at all), the parser's diagnostics and the read
// error.
func (fs *Files) Parse(path string) ([]byte, *hcl.File, hcl.Diagnostics, error) {
	if fs != nil {
		fs.mu.Lock()
		p, ok := fs.files[path]
		fs.mu.Unlock()
		if ok {
			return p.src, p.file, p.diags, p.err
		}
	}
	p := &parsedFile{}
	p.src, p.err = os.ReadFile(path)
	if p.err == nil {
		p.file, p.diags = hclsyntax.ParseConfig(p.src, path, hcl.InitialPos)
	}
	if fs != nil {
		fs.mu.Lock()
		fs.files[path] = p
		fs.mu.Unlock()
	}
	return p.src, p.file, p.diags, p.err
}
