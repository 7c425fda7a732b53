package awsconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
	"github.com/parapet-sec/parapet/internal/sharedtest"
)

// Real Config documents (Cloud Custodian's recorded test data): items,
// rule invocations, history pages and select results without a
// resourceType all map into the model.
func TestRealItems(t *testing.T) {
	dir := sharedtest.Path(t, "config-items/cloud-custodian/tests/data")
	for _, tc := range []struct {
		file, typ, name string
		attrs           map[string]any
	}{
		{"config/s3.json", resource.S3Bucket, "config-rule-sanity", map[string]any{"versioning": false, "public_acl": false}},
		{"config/rds-from-rule.json", resource.RDSInstance, "c7n-data-index", map[string]any{"encrypted": false}},
		{"placebo/test_security_group_config_source/config.SelectResourceConfig_1.json", resource.SecurityGroup, "sg-6c7fa917", nil},
		{"placebo/test_kms_config_source/config.SelectResourceConfig_1.json", resource.KMSKey, "9975ba19-f8ff-444b-9c21-8d42cc6dc45b", nil},
		{"placebo/test_iam_user_ssh_key_filter/config.SelectResourceConfig_1.json", resource.IAMUser, "test3", map[string]any{"mfa": resource.Unknown}},
		{"placebo/test_set_policy_arn_construction/config.SelectResourceConfig_1.json", resource.IAMRole, "custodian-testing", nil},
	} {
		res, err := Load(filepath.Join(dir, tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		var got *resource.Resource
		for _, r := range res {
			if r.Type == tc.typ {
				got = r
			}
		}
		if got == nil || got.Name != tc.name {
			t.Errorf("%s: no %s named %s in %+v", tc.file, tc.typ, tc.name, res)
			continue
		}
		for k, v := range tc.attrs {
			if got.Attrs[k] != v {
				t.Errorf("%s: %s = %v, want %v", tc.file, k, got.Attrs[k], v)
			}
		}
	}
	// A snapshot is not a database.
	res, err := Load(filepath.Join(dir, "placebo/test_rds_snapshot_set_permissions/config.SelectResourceConfig_1.json"))
	if err != nil || len(res) != 0 {
		t.Errorf("an RDS snapshot became %+v (%v)", res, err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"bad.json": "{", "empty.json": `{"configurationItems":[]}`} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzItems(f *testing.F) {
	f.Add([]byte(`{"configurationItems":[{"resourceType":"AWS::S3::Bucket","resourceName":"b","configuration":{},"supplementaryConfiguration":{"BucketPolicy":"{\"policyText\":\"{}\"}"}}]}`))
	f.Add([]byte(`{"Results":["{\"resourceId\":\"sg-1\",\"configuration\":{\"groupId\":\"sg-1\",\"ipPermissions\":[{\"ipProtocol\":\"-1\"}]}}"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := Items(data)
		if err != nil {
			return
		}
		for _, it := range items {
			_ = Model(it)
		}
	})
}

// Config records DocumentDB and Neptune under RDS's types: the clusters
// become their own types, the instances are not taken for RDS databases.
func TestDocDBNeptuneItems(t *testing.T) {
	item := func(typ, engine string, cfg string) map[string]any {
		var c map[string]any
		if err := json.Unmarshal([]byte(cfg), &c); err != nil {
			t.Fatal(err)
		}
		c["engine"] = engine
		return map[string]any{"resourceType": typ, "resourceName": "db1", "arn": "arn:aws:rds:us-east-1:111122223333:cluster:db1",
			"awsAccountId": "111122223333", "awsRegion": "us-east-1", "configuration": c}
	}
	doc := Model(item("AWS::RDS::DBCluster", "docdb", `{"storageEncrypted":false,"backupRetentionPeriod":7,"deletionProtection":true,"enabledCloudwatchLogsExports":["audit"]}`))
	if doc == nil || doc.Type != "aws_docdb_cluster" || doc.Attrs["encrypted"] != false || doc.Attrs["backup_retention"] != 7.0 || doc.Attrs["deletion_protection"] != true {
		t.Fatalf("docdb cluster: %+v", doc)
	}
	nep := Model(item("AWS::RDS::DBCluster", "neptune", `{"storageEncrypted":true,"iAMDatabaseAuthenticationEnabled":true}`))
	if nep == nil || nep.Type != "aws_neptune_cluster" || nep.Attrs["iam_auth"] != true || nep.Attrs["encrypted"] != true {
		t.Fatalf("neptune cluster: %+v", nep)
	}
	if r := Model(item("AWS::RDS::DBInstance", "neptune", `{"publiclyAccessible":false}`)); r != nil {
		t.Errorf("a Neptune instance became %s", r.Type)
	}
	if r := Model(item("AWS::RDS::DBInstance", "postgres", `{"publiclyAccessible":true}`)); r == nil || r.Type != "aws_db_instance" || r.Attrs["public"] != true {
		t.Errorf("a PostgreSQL instance: %+v", r)
	}
}
