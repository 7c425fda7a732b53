package lake

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// fileFormat is how a file's rows are encoded: the writer's (hotFormat)
// is tuned for speed, compaction's (coldFormat) for size.
type fileFormat struct {
	level     zstd.Level // of every column
	pageSize  int        // bytes of a column's page before it is compressed
	groupRows int        // rows of a row group
	// dicts: the mostly-distinct columns (actor, principal, key, session,
	// addresses) are dictionary-encoded (coldRow): in a file of a
	// partition's day, a user's calls repeat them; and a dictionary
	// column's Bloom filter is sized for its distinct values (parquet-go
	// sizes it by the dictionary), not for every value.
	dicts bool
	// cluster: a row group's rows are ordered by (actor, operation,
	// time), not by time, so that like records sit together for zstd;
	// row groups still hold consecutive time ranges (the file's rows are
	// cut in time order), so time statistics prune as before.
	cluster bool
	// noBlobBounds: the raw and ocsf columns get no min and max (whole
	// records, in each page's header, the page index and the footer: no
	// reader prunes by them).
	noBlobBounds bool
	// noPageStats: pages' headers carry no statistics (the page index
	// still does).
	noPageStats bool
	// cut: the values of CloudTrail records stored once, in their
	// columns (raw_elided's bits: see elide.go), cut at encoding from
	// rows read back (compaction's); the writer's rows come cut from
	// NewRows, which makes its copy of each record anyway.
	cut int32
}

// hotFormat is the writer's: zstd at its fastest level, which compresses
// the native records as small as the default level does (the event_uid
// column's tag asks for the default level: random ids, half the bytes);
// like compaction's, with no min and max of whole records (6% of a
// written file's bytes on the write benchmark's records).
var hotFormat = fileFormat{
	level:        zstd.SpeedFastest,
	pageSize:     1 << 20, // larger pages: the JSON and raw columns compress 15% smaller
	groupRows:    rowGroupRows,
	noBlobBounds: true,
}

// coldFormat is compaction's: a compacted file is written once and read
// for months (CompactOptions.Level sets its zstd level).
var coldFormat = fileFormat{
	level:        zstd.SpeedBestCompression,
	pageSize:     1 << 20,
	groupRows:    rowGroupRows,
	dicts:        true,
	cluster:      true,
	noBlobBounds: true,
	noPageStats:  true,
	cut:          elidedAll,
}

// codecs are the zstd codecs of each level, shared by every file written:
// a codec pools its encoders, and an encoder at the best level holds
// tens of MiB (one made for each file took compaction to 8 GiB).
var codecs = map[zstd.Level]*zstd.Codec{
	zstd.SpeedFastest:           {Level: zstd.SpeedFastest},
	zstd.SpeedDefault:           {Level: zstd.SpeedDefault},
	zstd.SpeedBetterCompression: {Level: zstd.SpeedBetterCompression},
	zstd.SpeedBestCompression:   {Level: zstd.SpeedBestCompression},
}

// rowGroupRows bounds a row group: statistics and Bloom filters prune by
// row group, so smaller groups prune finer.
const rowGroupRows = 16 << 10

// bloomColumns are the columns that get a Bloom filter: high-cardinality
// values hunters look up one at a time.
var bloomColumns = []string{"access_key_id", "actor_arn", "principal_id", "src_ip", "api_operation", "event_uid"}

// coldRow is Row with dictionaries on the columns whose values repeat
// within a compacted file: the same columns, types and order (a Go
// conversion between the two is a copy), other encodings.
type coldRow struct {
	Time             int64    `parquet:"time,timestamp(millisecond),delta"`
	ClassUID         int32    `parquet:"class_uid"`
	ClassName        string   `parquet:"class_name,dict"`
	ActivityID       int32    `parquet:"activity_id"`
	SeverityID       int32    `parquet:"severity_id"`
	Severity         string   `parquet:"severity,dict"`
	StatusID         int32    `parquet:"status_id"`
	EventUID         string   `parquet:"event_uid"`
	Source           string   `parquet:"source,dict"`
	Account          string   `parquet:"account_id,dict"`
	Region           string   `parquet:"cloud_region,dict"`
	ActorARN         string   `parquet:"actor_arn,dict"`
	ActorType        string   `parquet:"actor_type,dict"`
	PrincipalID      string   `parquet:"principal_id,dict"`
	AccessKeyID      string   `parquet:"access_key_id,dict"`
	SessionName      string   `parquet:"session_name,dict"`
	SessionIssuerARN string   `parquet:"session_issuer_arn,dict"`
	SrcIP            string   `parquet:"src_ip,dict"`
	DstIP            string   `parquet:"dst_ip,dict"`
	APIService       string   `parquet:"api_service,dict"`
	APIOperation     string   `parquet:"api_operation,dict"`
	ResourceARNs     []string `parquet:"resource_arns,list"`
	ErrorCode        string   `parquet:"error_code,dict"`
	OCSF             *string  `parquet:"ocsf,json,optional"`
	Raw              []byte   `parquet:"raw"`
	RawElided        int32    `parquet:"raw_elided"`
}

// clusterOrder orders a row group's rows in a clustered file.
func clusterOrder(a, b *Row) int {
	return cmp.Or(cmp.Compare(a.ActorARN, b.ActorARN), cmp.Compare(a.APIOperation, b.APIOperation),
		cmp.Compare(a.Time, b.Time), cmp.Compare(a.Source, b.Source), cmp.Compare(a.EventUID, b.EventUID))
}

// encode writes rows, sorted by time, as a Parquet file.
func (ff *fileFormat) encode(rows []Row, replaces []string) ([]byte, error) {
	var buf bytes.Buffer
	var size int64
	for i := range rows {
		size += rowSize(&rows[i])
	}
	buf.Grow(int(size/4) + 64<<10)
	groups := make([][]Row, 0, len(rows)/ff.groupRows+1)
	for lo := 0; lo < len(rows); lo += ff.groupRows {
		groups = append(groups, rows[lo:min(lo+ff.groupRows, len(rows))])
	}
	sorting := parquet.SortingColumns(parquet.Ascending("time"))
	if ff.cluster {
		sorting = parquet.SortingColumns(parquet.Ascending("actor_arn"), parquet.Ascending("api_operation"), parquet.Ascending("time"))
		for i, g := range groups {
			ptrs := make([]*Row, len(g))
			for j := range g {
				ptrs[j] = &g[j]
			}
			slices.SortFunc(ptrs, clusterOrder)
			c := make([]Row, len(g))
			for j, r := range ptrs {
				c[j] = *r
			}
			groups[i] = c
		}
	}
	opts := []parquet.WriterOption{
		parquet.Compression(codecs[ff.level]),
		parquet.CreatedBy("parapet", "lake "+Version, ""),
		parquet.MaxRowsPerRowGroup(int64(ff.groupRows)),
		parquet.DataPageStatistics(!ff.noPageStats),
		parquet.PageBufferSize(ff.pageSize),
		parquet.SortingWriterConfig(sorting),
		parquet.KeyValueMetadata("parapet.lake_version", Version),
	}
	if ff.noBlobBounds {
		opts = append(opts, parquet.SkipPageBounds("raw"), parquet.SkipPageBounds("ocsf"),
			parquet.SkipPageStatistics("raw"), parquet.SkipPageStatistics("ocsf"))
	}
	blooms := make([]parquet.BloomFilterColumn, len(bloomColumns))
	for i, c := range bloomColumns {
		blooms[i] = parquet.SplitBlockFilter(10, c)
	}
	opts = append(opts, parquet.BloomFilters(blooms...))
	if len(replaces) > 0 {
		opts = append(opts, parquet.KeyValueMetadata(replacesKey, joinNames(replaces)))
	}
	e := elider{cut: ff.cut}
	if ff.dicts {
		var c []coldRow
		return writeGroups(&buf, opts, groups, func(g []Row) []coldRow {
			g = e.rows(g)
			c = slices.Grow(c[:0], len(g))[:len(g)]
			for i := range g {
				c[i] = coldRow(g[i])
			}
			return c
		})
	}
	return writeGroups(&buf, opts, groups, e.rows)
}

// elider stores the event id and time of a group's rows once (see
// elide.go).
type elider struct {
	cut int32 // the values it cuts (raw_elided's bits)
	out []Row
	buf []byte // the records cut, reused from group to group
}

// rows returns g, or a copy of it (valid until the next call) whose
// CloudTrail records not cut yet (rows read back, for compaction) hold
// their event id and time only in event_uid and time where elide can cut
// them out, marked so. The writer's rows were cut by NewRows.
func (e *elider) rows(g []Row) []Row {
	if e.cut == 0 {
		return g
	}
	first := slices.IndexFunc(g, uncut)
	if first < 0 {
		return g
	}
	e.out = append(e.out[:0], g...)
	n := 0
	for i := first; i < len(g); i++ {
		n += len(g[i].Raw)
	}
	if cap(e.buf) < n {
		e.buf = make([]byte, 0, n)
	}
	e.buf = e.buf[:0]
	for i := first; i < len(e.out); i++ {
		r := &e.out[i]
		if !uncut(*r) {
			continue
		}
		at := len(e.buf)
		var bits int32
		if e.buf, bits = elide(e.buf, r.Raw, r.EventUID, r.Time, e.cut); bits != 0 {
			r.Raw = e.buf[at:len(e.buf):len(e.buf)]
			r.RawElided = bits
		}
	}
	return e.out
}

// uncut says whether r holds a CloudTrail JSON record whole, not cut
// yet.
func uncut(r Row) bool {
	return r.RawElided == 0 && r.Source == "cloudtrail" && len(r.Raw) > 0 && r.Raw[0] == '{'
}

// writeGroups writes each group of rows, as T, as a row group of a file
// into buf and returns the file.
func writeGroups[T any](buf *bytes.Buffer, opts []parquet.WriterOption, groups [][]Row, as func([]Row) []T) ([]byte, error) {
	// Every file's schema is named Row, whichever type wrote it.
	schema := parquet.NewSchema("Row", parquet.SchemaOf(new(T)))
	pw := parquet.NewGenericWriter[T](buf, append(opts, schema)...)
	for _, g := range groups {
		if _, err := pw.Write(as(g)); err != nil {
			return nil, err
		}
		if err := pw.Flush(); err != nil {
			return nil, err
		}
	}
	if err := pw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
