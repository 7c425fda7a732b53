package attackpath

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/event"
)

// BenchmarkWalk: the cost per CloudTrail event of matching the steps of
// the generated 10,000-principal account's paths, on a mix where half
// the calls come from path sources (IAM writes on other objects, reads)
// and one in fifty takes a step.
func BenchmarkWalk(b *testing.B) {
	ms, err := BuiltinMethods()
	if err != nil {
		b.Fatal(err)
	}
	g := Build(account(10000, 0), ms, Options{})
	paths, _ := g.Shortest("admin")
	w := NewWalker(paths)
	var walking []Path
	for _, p := range paths {
		if len(p.Steps) > 0 && strings.HasPrefix(p.Source, "arn:aws:iam::111122223333:user/") {
			walking = append(walking, p)
		}
	}
	if len(walking) == 0 {
		b.Fatal("no user path in the generated account")
	}
	evs := make([]event.Event, 0, 1000)
	for i := range cap(evs) {
		p := walking[i%len(walking)]
		who := strings.TrimPrefix(p.Source, "arn:aws:iam::111122223333:user/")
		id := fmt.Sprintf("b%d", i)
		switch {
		case i%50 == 0: // the step itself
			s := p.Steps[0]
			act := s.Grants[len(s.Grants)-1].Action
			svc, op, _ := strings.Cut(act, ":")
			evs = append(evs, trail(b, id, who, svc+".amazonaws.com", op,
				`{"policyArn":"`+s.Object+`","roleArn":"`+s.Object+`","userName":"`+arnName(s.Object)+`","roleName":"`+arnName(s.Object)+`","groupName":"`+arnName(s.Object)+`"}`, ""))
		case i%2 == 0: // a path source doing something else
			evs = append(evs, trail(b, id, who, "iam.amazonaws.com", "PutUserPolicy", `{"userName":"someone-else"}`, ""))
		default: // anybody else
			evs = append(evs, trail(b, id, "nobody", "s3.amazonaws.com", "GetObject", `{"bucketName":"b"}`, ""))
		}
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(w.Findings(evs))
	}
	b.ReportMetric(float64(n), "findings/1000ev")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}
