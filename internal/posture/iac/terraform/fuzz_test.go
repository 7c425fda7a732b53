package terraform

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzLoad(f *testing.F) {
	f.Add([]byte("variable \"n\" {\n  default = 2\n}\nresource \"aws_s3_bucket\" \"b\" {\n  count  = var.n\n  bucket = \"b-${count.index}\"\n}\nresource \"aws_s3_bucket_public_access_block\" \"b\" {\n  count  = var.n\n  bucket = aws_s3_bucket.b[count.index].id\n}\n"))
	f.Add([]byte("locals {\n  a = { for k, v in { x = 1 } : k => v }\n}\nresource \"aws_iam_policy\" \"p\" {\n  policy = jsonencode({ Statement = [{ Effect = \"Allow\", Action = \"*\", Resource = aws_s3_bucket.b.arn }] })\n}\n"))
	f.Add([]byte("resource \"aws_security_group\" \"s\" {\n  dynamic \"ingress\" {\n    for_each = [22]\n    content {\n      from_port = ingress.value\n    }\n  }\n}\n"))
	f.Add([]byte("module \"b\" {\n  source = \"terraform-aws-modules/s3-bucket/aws\"\n  versioning = { enabled = true }\n  attach_policy = true\n  policy = \"{}\"\n}\nmodule \"s\" {\n  source = \"terraform-aws-modules/security-group/aws\"\n  ingress_with_cidr_blocks = [{ rule = \"ssh-tcp\", cidr_blocks = \"0.0.0.0/0\" }]\n}\n"))
	f.Add([]byte("data \"aws_iam_policy_document\" \"d\" {\n  statement {\n    actions = [\"*\"]\n    principals {\n      type = \"AWS\"\n      identifiers = [\"*\"]\n    }\n    condition {\n      test = \"Bool\"\n      variable = \"aws:SecureTransport\"\n      values = [\"false\"]\n    }\n  }\n}\nresource \"aws_iam_policy\" \"p\" {\n  policy = data.aws_iam_policy_document.d.json\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		blocks, _ := Load(dir, Options{})
		_ = Resources(blocks, dir)
	})
}

func FuzzLoadPlan(f *testing.F) {
	seed, err := os.ReadFile("testdata/plan.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"format_version":"1.2","planned_values":{"root_module":{"resources":[{"address":"aws_s3_bucket.b","mode":"managed","type":"aws_s3_bucket","name":"b","values":{"bucket":"b"}}]}}}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "plan.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = LoadPlan(p, dir)
	})
}
