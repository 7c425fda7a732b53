package detect

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// What the arena holds comes back byte for byte, from the open block and
// from compressed ones, in any order (more blocks than it keeps
// decompressed).
func TestArena(t *testing.T) {
	a := &arena{}
	rng := rand.New(rand.NewPCG(5, 6))
	var want [][]byte
	for i := 0; len(want) == 0 || len(a.sealed) < 2*arenaCache+1; i++ {
		p := fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, i, bytes.Repeat([]byte{byte('a' + i%26)}, rng.IntN(3000)))
		idx, _ := a.add(p, nil)
		if int(idx) != len(want) {
			t.Fatalf("payload %d got index %d", len(want), idx)
		}
		want = append(want, p)
	}
	for _, i := range rng.Perm(len(want)) {
		if got := a.get(int32(i)); !bytes.Equal(got, want[i]) {
			t.Fatalf("payload %d: got %.60q, want %.60q", i, got, want[i])
		}
	}
}
