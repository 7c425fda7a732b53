resource "aws_accessanalyzer_analyzer" "a" {
  analyzer_name = "account"
}
