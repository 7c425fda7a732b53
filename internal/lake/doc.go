// Package lake keeps every normalized event as OCSF in Parquet, laid out as
// AWS Security Lake lays out custom sources, in a local folder or an S3
// bucket, so that Parapet, Athena, DuckDB or Spark can hunt over history.
//
// # Layout
//
//	<root>/ext/<table>/1.0/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/<file>.parquet
//
// One table (custom source) per OCSF class: api_activity, authentication,
// account_change, network_activity, detection_finding (base_event for
// events of no class). The day is the event time's UTC day; a missing
// region or account is "unknown". Every file has the schema of Row: the
// columns hunters filter on (time, account, region, class, activity,
// actor ARN, principal id, access key id, session, source address, API
// service and operation, resource ARNs, error code, severity), the native
// record and, for events the native record does not make again, the OCSF
// record as JSON, zstd-compressed, sorted by time (by actor within a
// row group of a compacted file, below), with row-group and
// page statistics, page indexes and Bloom filters on the access key,
// actor, principal, source address, operation and event id columns.
//
// # Speed and size
//
// A CloudTrail call's OCSF JSON is not stored (the ocsf column is null):
// Row.Event decodes the call again from its native record and
// Row.OCSFJSON maps that to OCSF, so the column held nothing the raw one
// does not, at the cost of building it (most of a write's time) and of
// as many bytes again as the native record. Sources without a native
// JSON record the decoders rebuild from (flow logs, findings) keep it;
// compaction drops it from CloudTrail rows of files written before.
// The strings of a batch's rows are copied into a few large blocks (an
// arena) rather than one allocation each; the columns whose values are
// mostly distinct (actor, principal, key, session, addresses) are plain,
// not dictionary-encoded (a dictionary of distinct values costs a hash
// insert per value and saves nothing); zstd runs at its fastest level,
// which compresses the native records as small as the default level
// does, but for event_uid (random ids, which the default level codes in
// half the bytes); Flush encodes the files of several partitions on
// several cores. What is left is mostly zstd on the native record and
// parquet-go copying it into its column buffer.
//
// # Compacted files
//
// The writer's files are tuned for speed; compaction writes for size,
// as table formats rewrite cold files: Compact rewrites every file the
// writer wrote (a file alone in its partition too) with zstd at its best
// level (CompactOptions.Level), the mostly-distinct columns
// dictionary-encoded (in a day of a partition a user's calls repeat
// them; parquet-go then sizes their Bloom filters for the dictionary's
// values, not for every row), no min and max on the raw and ocsf columns
// (whole records, in the footer, the page index and each page header:
// nothing prunes by them), no statistics in page headers (the page index
// keeps them), and each row group's rows ordered by (actor, operation,
// time), so that a user's records sit together for zstd. Row groups are
// still cut from the rows in time order, so each holds a narrow time
// range and scans prune row groups by time as before; Scan, ReadFile and
// hunts put a row group's rows back in time order (sorting (time, index)
// pairs, moving each row once). On the generated lake of 300,000 calls
// (bench/README, "Stop 31") this is 45 bytes per event against the
// writer's 71 (gzipped CloudTrail: 48.5), and 37.5 against 63 on the
// lake of a million (48). Both store a CloudTrail record's event id and
// time once, in their columns, not again in the native record
// (elide.go; it was 65 and 89 bytes when they were stored twice).
//
// Scans read a row group column by column, page by page, into rows
// (parquet-go's generic reader assembles every row by reflection), and
// not the ocsf column. With Filter.Equal, a row group whose Bloom filter
// rules the value out is passed over, and in the others the filter's
// columns are read first, the rest only if a row holds the values; the
// file is read by ranges (its footer, indexes, Bloom filters and pages),
// not whole (but for S3 objects up to 8 MiB: one request).
//
// # Exactly once
//
// A row's key is (source, event id, event time). The writer keeps, for
// each partition it writes, the set of keys of every row the partition
// holds — read from the partition's files the first time it is written
// after Open (or after it was forgotten to bound memory: past
// Options.MaxPartitions partitions or Options.MaxKeys keys, the least
// recently written is flushed and forgotten), then kept up to date — and
// drops a row whose key is in the set. Files are immutable and
// published whole (a folder: written under a hidden name, synced, renamed;
// S3: one PutObject), so the set read back from files is exactly what is
// durable. Hence, with one writer per lake:
//
//   - an event offered twice, in one run or across runs, is written once;
//   - after kill -9, the events whose file was published are in the lake
//     and are dropped when redelivered; the events still buffered were
//     never acknowledged (a caller acknowledges its input only after Flush
//     returns) and are written when redelivered.
//
// Serve's writer (Options.Recent) does not read partitions' keys: it
// remembers the last keys written, writes only when flushed, and its
// caller (the pipeline's lake feed) makes a replay exact by flushing the
// same rows again, which makes the same files.
//
// A file is named for its rows (a hash of their keys), so that writing the
// same rows again replaces the file instead of adding one. Compaction
// writes a merged file, whose footer names the files it replaces, before
// it removes them; Files and the next Compact treat replaced files still
// present (a compaction killed halfway) as gone.
package lake
