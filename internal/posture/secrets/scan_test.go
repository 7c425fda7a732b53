package secrets

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func summary(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s:%d", f.Kind, f.Address, f.Attribute, f.Line))
	}
	return strings.Join(out, "; ")
}

func TestTerraformFile(t *testing.T) {
	userData := "#!/bin/bash\nexport AWS_ACCESS_KEY_ID=" + keyID + "\nexport AWS_SECRET_ACCESS_KEY=" + secretKey + "\n"
	tests := []struct{ name, src, want string }{
		{"lambda environment", `resource "aws_lambda_function" "f" {
  environment {
    variables = {
      GITHUB_TOKEN = "` + ghToken + `"
      DB_PASSWORD  = "` + password + `"
      REGION       = var.region
    }
  }
}`, "github_token aws_lambda_function.f environment.variables.GITHUB_TOKEN:4; generic_secret aws_lambda_function.f environment.variables.DB_PASSWORD:5"},
		{"provider keys in two attributes", `provider "aws" {
  alias      = "plain"
  access_key = "` + keyID + `"
  secret_key = "` + secretKey + `"
}`, "aws_access_key provider.aws.plain access_key:3"},
		{"user data heredoc around an interpolation", `resource "aws_instance" "web" {
  ami = "ami-1"
  user_data = <<EOF
#!/bin/bash
echo ${var.region}
export AWS_ACCESS_KEY_ID=` + keyID + `
export AWS_SECRET_ACCESS_KEY=` + secretKey + `
EOF
}`, "aws_access_key aws_instance.web user_data:6"},
		{"user data in base64", `resource "aws_instance" "web" {
  user_data_base64 = "` + base64.StdEncoding.EncodeToString([]byte(userData)) + `"
}`, "aws_access_key aws_instance.web user_data_base64(base64):2"},
		{"user data through base64encode", `resource "aws_launch_template" "lt" {
  user_data = base64encode("export STRIPE=` + stripe + `")
}`, "stripe_live_key aws_launch_template.lt user_data:2"},
		{"ECS container definitions in a heredoc", `resource "aws_ecs_task_definition" "t" {
  family = "t"
  container_definitions = <<DEFS
[
  {
    "name": "app",
    "environment": [
      {"name": "LOG_LEVEL", "value": "debug"},
      {"name": "API_KEY", "value": "` + password + `"}
    ]
  }
]
DEFS
}`, "generic_secret aws_ecs_task_definition.t container_definitions[0].environment[1]:9"},
		{"ECS container definitions through jsonencode", `resource "aws_ecs_task_definition" "t" {
  container_definitions = jsonencode([{
    name = "app"
    environment = [
      { name = "SECRET_TOKEN", value = "` + password + `" },
      { name = "FROM_VAR", value = var.token },
    ]
  }])
}`, "generic_secret aws_ecs_task_definition.t container_definitions[0].environment[0]:5"},
		{"SSM String parameter named for a password", `resource "aws_ssm_parameter" "p" {
  name  = "/prod/db/password"
  type  = "String"
  value = "` + password + `"
}`, "generic_secret aws_ssm_parameter.p value:4"},
		{"SSM parameter with an ordinary name", `resource "aws_ssm_parameter" "p" {
  name  = "/prod/app/build"
  type  = "String"
  value = "` + password + `"
}`, ""},
		{"variable default", `variable "db_password" {
  type    = string
  default = "` + password + `"
}`, "generic_secret var.db_password default:3"},
		{"local", `locals {
  slack_hook_token = "` + slack + `"
}`, "slack_token local.slack_hook_token slack_hook_token:2"},
		{"module input", `module "db" {
  source   = "./db"
  password = "` + password + `"
}`, "generic_secret module.db password:3"},
		{"CodeBuild environment variable block", `resource "aws_codebuild_project" "b" {
  environment {
    environment_variable {
      name  = "NPM_TOKEN"
      value = "` + password + `"
    }
  }
}`, "generic_secret aws_codebuild_project.b environment.environment_variable.value:5"},
		{"private key attribute", `resource "aws_iam_server_certificate" "c" {
  private_key = "` + strings.ReplaceAll(pemKey, "\n", `\n`) + `"
}`, "private_key aws_iam_server_certificate.c private_key:2"},
		{"references only", `resource "aws_db_instance" "db" {
  password = var.password
  master_password = "${var.password}"
  other = "${data.aws_ssm_parameter.p.value}"
}`, ""},
		{"random_password", `resource "aws_db_instance" "db" {
  password = random_password.db.result
}`, ""},
		{"hashes and ids in tags", `resource "aws_s3_bucket" "b" {
  tags = {
    git_commit = "d68d2897add9bc2203a5ed0632a5cdd8ff8cefb0"
    yor_trace  = "0874007d-903a-4b4c-945f-c9c233e13243"
  }
}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TerraformFile([]byte(tc.src), "/m/main.tf", "/m")
			if s := summary(got); s != tc.want {
				t.Errorf("TerraformFile() = %q, want %q", s, tc.want)
			}
			for _, f := range got {
				if f.File != "main.tf" || f.Source != "terraform" {
					t.Errorf("finding %+v: want main.tf from terraform", f)
				}
			}
		})
	}
}

func TestTerraformIgnore(t *testing.T) {
	src := `# parapet:ignore PARAPET-SECRET-008 a throwaway test database
resource "aws_db_instance" "db" {
  password = "` + password + `"
}`
	got := TerraformFile([]byte(src), "main.tf", "")
	if len(got) != 1 || got[0].Ignores["PARAPET-SECRET-008"] != "a throwaway test database" {
		t.Errorf("TerraformFile() = %+v, want one finding ignored with its reason", got)
	}
}

func TestCloudFormationSource(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"lambda environment", `Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          GITHUB_TOKEN: ` + ghToken + `
          DB_HOST: !GetAtt DB.Endpoint.Address
`, "github_token Fn Environment.Variables.GITHUB_TOKEN:7"},
		{"user data Fn::Base64 of a Sub", `Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      UserData:
        Fn::Base64: !Sub |
          #!/bin/bash
          echo ${AWS::Region}
          export AWS_ACCESS_KEY_ID=` + keyID + `
          export AWS_SECRET_ACCESS_KEY=` + secretKey + `
`, "aws_access_key Web UserData:9"},
		{"ECS environment", `Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Environment:
            - Name: LOG_LEVEL
              Value: debug
            - Name: DB_PASSWORD
              Value: ` + password + `
`, "generic_secret Task ContainerDefinitions[0].Environment[1]:11"},
		{"SSM parameter", `Resources:
  P:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /prod/api/token
      Type: String
      Value: ` + password + `
`, "generic_secret P Value:7"},
		{"parameter default", `Parameters:
  DBPassword:
    Type: String
    NoEcho: true
    Default: ` + password + `
Resources: {}
`, "generic_secret DBPassword Default:5"},
		{"JSON template", `{"Resources": {"Db": {"Type": "AWS::RDS::DBInstance", "Properties": {
  "MasterUserPassword": "` + password + `"}}}}`, "generic_secret Db MasterUserPassword:2"},
		{"dynamic references and Ref", `Resources:
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      MasterUserPassword: '{{resolve:secretsmanager:db:SecretString:password}}'
      Other:
        Ref: DBPassword
      Third: !Ref DBPassword
      Fourth: !Sub '${DBPassword}'
`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CloudFormationSource([]byte(tc.src), "/t/x.yaml", "/t")
			if s := summary(got); s != tc.want {
				t.Errorf("CloudFormationSource() = %q, want %q", s, tc.want)
			}
		})
	}
}

// TestMessageRedacted: no finding's message shows the secret.
func TestMessageRedacted(t *testing.T) {
	src := `resource "aws_lambda_function" "f" {
  environment {
    variables = {
      A = "` + ghToken + `"
      B = "` + slack + `"
      C = "` + stripe + `"
      D = "` + google + `"
      PASSWORD = "` + password + `"
      KEY_ID = "` + keyID + `"
      SECRET_KEY = "` + secretKey + `"
      PRIVATE_KEY = "` + strings.ReplaceAll(pemKey, "\n", `\n`) + `"
    }
  }
}`
	got := TerraformFile([]byte(src), "main.tf", "")
	if len(got) != 7 {
		t.Fatalf("TerraformFile() = %s, want 7 findings", summary(got))
	}
	for _, f := range got {
		for _, raw := range raws {
			if strings.Contains(f.Message(), raw) || strings.Contains(fmt.Sprintf("%+v", f), raw) {
				t.Errorf("finding %q shows the secret", f.Message())
			}
		}
	}
}

func FuzzTerraformFile(f *testing.F) {
	f.Add([]byte(`resource "a" "b" { x = "` + ghToken + `" y = { name = "P", value = "${var.x}" } }`))
	f.Add([]byte("variable \"p\" { default = <<EOF\n" + pemKey + "EOF\n}"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_ = TerraformFile(src, "main.tf", "")
	})
}

func FuzzCloudFormationSource(f *testing.F) {
	f.Add([]byte("Resources:\n  A:\n    Type: X\n    Properties:\n      P: !Sub 'a${B}'\n      Q: {Fn::Base64: {Fn::Join: ['', [a, !Ref B]]}}\n"))
	f.Add([]byte(`{"Parameters": {"P": {"Default": "` + password + `"}}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		_ = CloudFormationSource(src, "t.yaml", "")
	})
}
