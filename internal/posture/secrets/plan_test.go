package secrets

import "testing"

func TestPlanSource(t *testing.T) {
	// A plan's configuration: constants are literals; an expression with
	// references has none; planned values (what an SSM data source read)
	// are not secrets written into the source.
	src := `{"format_version": "1.2", "terraform_version": "1.9.0",
"planned_values": {"root_module": {"resources": [{"address": "aws_db_instance.db", "type": "aws_db_instance", "name": "db",
  "values": {"password": "` + password + `"}}]}},
"configuration": {
  "provider_config": {"aws.plain": {"name": "aws", "alias": "plain", "expressions": {
    "access_key": {"constant_value": "` + keyID + `"}, "secret_key": {"constant_value": "` + secretKey + `"}}}},
  "root_module": {
    "resources": [
      {"address": "aws_db_instance.db", "mode": "managed", "type": "aws_db_instance", "name": "db",
       "expressions": {"password": {"references": ["data.aws_ssm_parameter.db.value"]}}},
      {"address": "aws_lambda_function.f", "mode": "managed", "type": "aws_lambda_function", "name": "f",
       "expressions": {"environment": [{"variables": {"constant_value": {"GITHUB_TOKEN": "` + ghToken + `", "REGION": "us-east-1"}}}]}},
      {"address": "aws_ssm_parameter.p", "mode": "managed", "type": "aws_ssm_parameter", "name": "p",
       "expressions": {"name": {"constant_value": "/prod/api/token"}, "type": {"constant_value": "String"}, "value": {"constant_value": "` + password + `"}}}
    ],
    "variables": {"db_password": {"default": "` + password + `"}, "region": {"default": "us-east-1"}},
    "module_calls": {"m": {"source": "./m", "expressions": {}, "module": {"resources": [
      {"address": "aws_codebuild_project.b", "mode": "managed", "type": "aws_codebuild_project", "name": "b",
       "expressions": {"environment": [{"environment_variable": [{"name": {"constant_value": "NPM_TOKEN"}, "value": {"constant_value": "` + password + `"}}]}]}}]}}}
  }
}}`
	got := summary(PlanSource([]byte(src), "/p/plan.json", "/p"))
	want := "aws_access_key provider.aws.plain access_key:5; " +
		"github_token aws_lambda_function.f environment.variables.GITHUB_TOKEN:11; " +
		"generic_secret aws_ssm_parameter.p value:13; " +
		"generic_secret var.db_password default:16; " +
		"generic_secret module.m.aws_codebuild_project.b environment.environment_variable.value:18"
	if got != want {
		t.Errorf("PlanSource() =\n%s\nwant\n%s", got, want)
	}
}

func FuzzPlanSource(f *testing.F) {
	f.Add([]byte(`{"configuration": {"root_module": {"resources": [{"address": "a.b", "expressions": {"password": {"constant_value": "` + password + `"}, "x": [{"y": {"constant_value": {"z": ["` + ghToken + `"]}}}]}}], "module_calls": {"m": {"module": {"variables": {"token": {"default": 1}}}}}}}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		_ = PlanSource(src, "plan.json", "")
	})
}
