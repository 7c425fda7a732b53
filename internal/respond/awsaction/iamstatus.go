package awsaction

import iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

func iamStatus(s string) iamtypes.StatusType { return iamtypes.StatusType(s) }
