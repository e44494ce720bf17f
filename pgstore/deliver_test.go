package pgstore

import (
	"context"
	"fmt"
	"testing"
)

// A batch is one transaction; a delivery the server refuses (a NUL byte in
// text) fails alone, and the others are still written.
func TestBatchWithABadDelivery(t *testing.T) {
	s := open(t, schemaFor(t), Config{})
	ctx := context.Background()
	var batch []*delivery
	for i := range 10 {
		ev := terminal
		if i == 4 {
			ev.Type = "bad\x00type"
		}
		batch = append(batch, &delivery{key: fmt.Sprint("batches/b", i), id: fmt.Sprint("id", i), ev: ev, ctx: ctx, done: make(chan deliveryResult, 1)})
	}
	// The same id twice in one batch: the second is a duplicate.
	batch = append(batch, &delivery{key: "batches/b0", id: "id0", ev: terminal, ctx: ctx, done: make(chan deliveryResult, 1)})
	s.deliverBatch(ctx, batch)
	for i, d := range batch {
		r := <-d.done
		switch {
		case i == 4:
			if r.err == nil {
				t.Error("a delivery with a NUL byte was taken")
			}
		case r.err != nil:
			t.Errorf("delivery %d failed with the bad one: %v", i, r.err)
		case r.duplicate != (i == 10):
			t.Errorf("delivery %d: duplicate = %v", i, r.duplicate)
		}
	}
	for i := range 10 {
		rec, err := s.Lookup(ctx, fmt.Sprint("batches/b", i))
		if err != nil || len(rec.Events) != map[bool]int{true: 0, false: 1}[i == 4] {
			t.Errorf("batches/b%d: %+v %v", i, rec.Events, err)
		}
	}
}

// Deliveries in one batch hint like deliveries one by one.
func TestBatchHints(t *testing.T) {
	schema := schemaFor(t)
	a, b := open(t, schema, Config{}), open(t, schema, Config{})
	hints := listening(t, b)
	ctx := context.Background()
	var batch []*delivery
	for i := range 5 {
		batch = append(batch, &delivery{key: fmt.Sprint("batches/h", i), ev: terminal, ctx: ctx, done: make(chan deliveryResult, 1)})
	}
	a.deliverBatch(ctx, batch)
	want := map[string]bool{}
	for _, d := range batch {
		if r := <-d.done; r.err != nil {
			t.Fatal(r.err)
		}
		want[d.key] = true
	}
	for len(want) > 0 {
		delete(want, <-hints)
	}
}
