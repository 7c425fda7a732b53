package iampolicy

// Layers are every policy that decides a request inside one account
// beside the caller's identity policies.
type Layers struct {
	// SCPs are the service control policies that apply to the account,
	// one list per level of the organization (root, each OU, the account
	// itself): every level must allow the request.
	SCPs [][]*Policy
	// Boundary is the caller's permissions boundary (nil: none).
	Boundary *Policy
	// Resource is the resource policy of the resource acted on (nil:
	// none), in the caller's account.
	Resource *Policy
}

// EvaluateLayers applies AWS's evaluation logic for a request inside one
// account: an explicit Deny in any policy wins; every SCP level must
// allow; then the identity policies (capped by the boundary) or the
// resource policy must allow. A same-account resource policy that allows
// the caller grants access by itself (the boundary does not cap it).
func EvaluateLayers(req Request, l Layers, identity ...*Policy) Decision {
	id := Evaluate(req, identity...)
	if id == ExplicitDeny {
		return ExplicitDeny
	}
	if d := EvaluateSCPs(req, l.SCPs); d != Allow {
		return d
	}
	res := ImplicitDeny
	if l.Resource != nil {
		if res = Evaluate(req, l.Resource); res == ExplicitDeny {
			return ExplicitDeny
		}
	}
	if l.Boundary != nil {
		switch Evaluate(req, l.Boundary) {
		case ExplicitDeny:
			return ExplicitDeny
		case ImplicitDeny:
			id = ImplicitDeny
		}
	}
	if id == Allow || res == Allow {
		return Allow
	}
	return ImplicitDeny
}

// EvaluateSCPs is the verdict of service control policies alone: Allow
// when every level allows (no levels: no organization, Allow).
func EvaluateSCPs(req Request, scps [][]*Policy) Decision {
	for _, level := range scps {
		if d := Evaluate(req, level...); d != Allow {
			return d
		}
	}
	return Allow
}
