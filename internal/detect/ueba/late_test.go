package ueba

import (
	"bytes"
	"testing"
	"time"
)

// Lateness is kept per account: one account's newer events (another
// account's logs delivered sooner, or read first) do not make another's
// events late. Within an account an event more than Lateness behind its
// newest is late, also after a save and a load.
func TestLatenessPerAccount(t *testing.T) {
	e := New(Config{Lateness: time.Hour})
	inAccount := func(acct, user string, at time.Duration) {
		ev := call(user, "s3:ListBuckets", t0.Add(at), "203.0.113.10")
		ev.Cloud.Account, ev.Actor.Account = acct, acct
		e.Observe(&ev)
	}
	inAccount("111111111111", "alice", 10*time.Hour)
	inAccount("222222222222", "bob", 8*time.Hour) // another account, two hours behind
	inAccount("222222222222", "bob", 8*time.Hour+time.Minute)
	if st := e.Stats(); st.Late != 0 {
		t.Fatalf("another account's events were late: %+v", st)
	}
	inAccount("222222222222", "bob", 6*time.Hour) // two hours behind its own account
	if st := e.Stats(); st.Late != 1 {
		t.Fatalf("an event two hours behind its account's newest is not late: %+v", st)
	}
	var buf bytes.Buffer
	if err := e.Save(&buf); err != nil {
		t.Fatal(err)
	}
	if e, _ = Load(&buf, e.Config()); e == nil {
		t.Fatal("load failed")
	}
	inAccount("222222222222", "bob", 6*time.Hour)
	inAccount("333333333333", "carol", time.Hour) // a new account
	if st := e.Stats(); st.Late != 1 {
		t.Errorf("after a load: %+v, want the one event behind its account late", st)
	}
}
