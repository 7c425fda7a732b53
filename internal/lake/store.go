package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// object is one file in a lake.
type object struct {
	Key  string // slash-separated, relative to the lake's root
	Size int64
}

// dest is where a lake's files live: a local folder or an S3 prefix. Put
// publishes a whole file at once (readers never see part of one).
type dest interface {
	put(ctx context.Context, key string, data []byte) error
	get(ctx context.Context, key string) ([]byte, error)
	// list returns every file under prefix ("" for all), recursively, in
	// lexical order of keys.
	list(ctx context.Context, prefix string) ([]object, error)
	remove(ctx context.Context, key string) error
	// readerAt reads parts of a file (a footer without the rest).
	readerAt(ctx context.Context, key string) (io.ReaderAt, func(), error)
	String() string
}

// openDest opens root: a folder, or s3://bucket/prefix (client nil: the
// default AWS configuration, path-style when AWS_ENDPOINT_URL is set).
func openDest(ctx context.Context, root string, client *s3.Client) (dest, error) {
	if rest, ok := strings.CutPrefix(root, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("lake %q: no bucket", root)
		}
		prefix = strings.Trim(prefix, "/")
		if client == nil {
			cfg, err := awsconfig.LoadDefaultConfig(ctx)
			if err != nil {
				return nil, fmt.Errorf("lake %s: %w", root, err)
			}
			custom := os.Getenv("AWS_ENDPOINT_URL") != ""
			client = s3.NewFromConfig(cfg, func(o *s3.Options) {
				o.UsePathStyle = custom
				o.DisableLogOutputChecksumValidationSkipped = true
			})
		}
		return &s3Dest{client: client, bucket: bucket, prefix: prefix}, nil
	}
	if root == "" {
		return nil, errors.New("lake: no path")
	}
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	return &dirDest{root: root}, nil
}

// dirDest is a local folder. A file is written under a hidden temporary
// name beside its final one, synced, and renamed: after a crash a file is
// there whole or not at all (hidden leftovers are ignored and removed by
// compaction).
type dirDest struct{ root string }

func (d *dirDest) String() string { return d.root }

func (d *dirDest) put(_ context.Context, key string, data []byte) error {
	full := filepath.Join(d.root, filepath.FromSlash(key))
	dir := filepath.Dir(full)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(full)+".*.tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), full); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if f, err := os.Open(dir); err == nil {
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *dirDest) get(_ context.Context, key string) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.root, filepath.FromSlash(key)))
}

func (d *dirDest) readerAt(_ context.Context, key string) (io.ReaderAt, func(), error) {
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(key)))
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

func (d *dirDest) list(_ context.Context, prefix string) ([]object, error) {
	start := filepath.Join(d.root, filepath.FromSlash(prefix))
	var out []object
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if strings.HasPrefix(e.Name(), ".") && p != start {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".parquet") {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		out = append(out, object{Key: filepath.ToSlash(rel), Size: info.Size()})
		return nil
	})
	return out, err
}

func (d *dirDest) remove(_ context.Context, key string) error {
	full := filepath.Join(d.root, filepath.FromSlash(key))
	err := os.Remove(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// Empty partition folders go too, up to the root.
	for dir := filepath.Dir(full); dir != filepath.Clean(d.root) && strings.HasPrefix(dir, filepath.Clean(d.root)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// s3Dest is a bucket and prefix. PutObject is atomic: an object is
// readable whole or not at all.
type s3Dest struct {
	client         *s3.Client
	bucket, prefix string
}

func (d *s3Dest) String() string { return "s3://" + path.Join(d.bucket, d.prefix) }

func (d *s3Dest) full(key string) string {
	if d.prefix == "" {
		return key
	}
	return d.prefix + "/" + key
}

func (d *s3Dest) put(ctx context.Context, key string, data []byte) error {
	_, err := d.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(d.bucket),
		Key:           aws.String(d.full(key)),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", d.bucket, d.full(key), err)
	}
	return nil
}

func (d *s3Dest) get(ctx context.Context, key string) ([]byte, error) {
	out, err := d.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(d.full(key))})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", d.bucket, d.full(key), err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func (d *s3Dest) readerAt(ctx context.Context, key string) (io.ReaderAt, func(), error) {
	return &s3Range{ctx: ctx, d: d, key: d.full(key)}, func() {}, nil
}

// s3Range reads ranges of an object (one GET each).
type s3Range struct {
	ctx context.Context // the call's, for the reads it makes
	d   *s3Dest
	key string
}

func (r *s3Range) ReadAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	out, err := r.d.client.GetObject(r.ctx, &s3.GetObjectInput{Bucket: aws.String(r.d.bucket), Key: aws.String(r.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1))})
	if err != nil {
		return 0, fmt.Errorf("get s3://%s/%s: %w", r.d.bucket, r.key, err)
	}
	defer out.Body.Close()
	n, err := io.ReadFull(out.Body, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func (d *s3Dest) list(ctx context.Context, prefix string) ([]object, error) {
	p := d.full(prefix)
	if prefix == "" && d.prefix != "" {
		p = d.prefix + "/"
	}
	var out []object
	pages := s3.NewListObjectsV2Paginator(d.client, &s3.ListObjectsV2Input{Bucket: aws.String(d.bucket), Prefix: aws.String(p)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", d.bucket, p, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if !strings.HasSuffix(k, ".parquet") {
				continue
			}
			if d.prefix != "" {
				k = strings.TrimPrefix(k, d.prefix+"/")
			}
			out = append(out, object{Key: k, Size: aws.ToInt64(o.Size)})
		}
	}
	return out, nil
}

func (d *s3Dest) remove(ctx context.Context, key string) error {
	_, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(d.full(key))})
	if err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", d.bucket, d.full(key), err)
	}
	return nil
}
