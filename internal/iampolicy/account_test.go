package iampolicy

import "testing"

func TestEvaluateLayers(t *testing.T) {
	pol := func(doc string) *Policy {
		p, err := Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	allowAll := pol(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	denyPass := pol(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}]}`)
	onlyS3 := pol(`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	resGrant := pol(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/dev"},"Action":"lambda:UpdateFunctionCode","Resource":"*"}]}`)
	resDeny := pol(`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"lambda:*","Resource":"*"}]}`)
	boundaryDeny := pol(`{"Statement":[{"Effect":"Deny","Action":"lambda:*","Resource":"*"}]}`)
	req := func(action string) Request {
		return Request{Principal: "arn:aws:iam::111122223333:user/dev", Action: action, Resource: "arn:aws:lambda:us-east-1:111122223333:function:f"}
	}
	tests := []struct {
		name     string
		action   string
		layers   Layers
		identity []*Policy
		want     Decision
	}{
		{"identity allows, no layers", "iam:PassRole", Layers{}, []*Policy{allowAll}, Allow},
		{"SCP deny cuts", "iam:PassRole", Layers{SCPs: [][]*Policy{{denyPass}}}, []*Policy{allowAll}, ExplicitDeny},
		{"one SCP level lacks the action", "iam:PassRole", Layers{SCPs: [][]*Policy{{allowAll}, {onlyS3}}}, []*Policy{allowAll}, ImplicitDeny},
		{"every level allows", "s3:GetObject", Layers{SCPs: [][]*Policy{{allowAll}, {onlyS3}}}, []*Policy{allowAll}, Allow},
		{"resource policy grants alone", "lambda:UpdateFunctionCode", Layers{Resource: resGrant}, nil, Allow},
		{"resource policy grant, SCP denies", "lambda:UpdateFunctionCode", Layers{Resource: resGrant, SCPs: [][]*Policy{{onlyS3}}}, nil, ImplicitDeny},
		{"resource policy Deny wins", "lambda:UpdateFunctionCode", Layers{Resource: resDeny}, []*Policy{allowAll}, ExplicitDeny},
		{"boundary caps identity", "lambda:UpdateFunctionCode", Layers{Boundary: onlyS3}, []*Policy{allowAll}, ImplicitDeny},
		{"boundary does not cap a resource policy grant", "lambda:UpdateFunctionCode", Layers{Boundary: onlyS3, Resource: resGrant}, nil, Allow},
		{"boundary Deny wins over a resource policy grant", "lambda:UpdateFunctionCode", Layers{Boundary: boundaryDeny, Resource: resGrant}, nil, ExplicitDeny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EvaluateLayers(req(tc.action), tc.layers, tc.identity...); got != tc.want {
				t.Errorf("EvaluateLayers(%s) = %v, want %v", tc.action, got, tc.want)
			}
		})
	}
}
