package aging

import (
	"fmt"
	"testing"
	"time"
)

func TestExpireAndBound(t *testing.T) {
	t.Parallel()
	a := New[int](time.Minute, 2)
	t0 := time.Unix(0, 0)
	if !a.Put("a", 1, t0, false) || !a.Put("b", 2, t0.Add(time.Second), false) {
		t.Fatal("Put refused below the bound")
	}
	if a.Put("c", 3, t0, false) {
		t.Fatal("Put without evict went past the bound")
	}
	if !a.Put("a", 9, t0, false) {
		t.Fatal("Put of a held key must report it held")
	}
	if v, _ := a.Get("a"); v != 1 {
		t.Fatalf("Get(a) = %d; the first value must win", v)
	}
	if !a.Put("c", 3, t0.Add(2*time.Second), true) {
		t.Fatal("Put with evict refused")
	}
	if _, ok := a.Get("a"); ok {
		t.Fatal("evict kept the oldest entry")
	}
	if n := a.Expire(t0.Add(time.Minute + time.Second)); n != 1 || a.Len() != 1 {
		t.Fatalf("Expire dropped %d, left %d; want 1 and 1", n, a.Len())
	}
}

func TestCompacts(t *testing.T) {
	t.Parallel()
	a := New[int](time.Hour, 1<<20)
	now := time.Unix(0, 0)
	for i := range 100_000 {
		k := fmt.Sprint(i)
		a.Put(k, i, now, false)
		a.Take(k)
	}
	if len(a.fifo)-a.head > 5000 {
		t.Fatalf("fifo holds %d stale keys", len(a.fifo)-a.head)
	}
}
