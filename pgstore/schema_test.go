package pgstore

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gemhook/gemhook"
)

// A schema made by an earlier version kept an event's signer after a
// newline in its token, under a key without the signer. Opening it
// migrates such rows to the signer column, and keys the table by signer.
func TestMigrationSplitsSignerFromToken(t *testing.T) {
	schema := schemaFor(t)
	ctx := context.Background()
	pool := newPool(t)
	s := pgx.Identifier{schema}.Sanitize()
	for _, q := range []string{
		"CREATE SCHEMA " + s,
		"CREATE TABLE " + s + `.events (key text NOT NULL, token text NOT NULL, terminal boolean NOT NULL,
			seq bigint GENERATED ALWAYS AS IDENTITY, type text NOT NULL, code text NOT NULL, message text NOT NULL,
			expires_at timestamptz NOT NULL, PRIMARY KEY (key, token, terminal))`,
		"INSERT INTO " + s + `.events (key, token, terminal, type, code, message, expires_at) VALUES
			('batches/m', 't1' || E'\n' || 'signer-a', true, 'batch.failed', '9', 'quota', now() + interval '1 hour'),
			('batches/m', 't2', true, 'batch.succeeded', '', '', now() + interval '1 hour')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st := open(t, schema, Config{})
	rec, err := st.Lookup(ctx, "batches/m")
	if err != nil {
		t.Fatal(err)
	}
	want := []gemhook.JobEvent{
		{Type: "batch.failed", Terminal: true, Token: "t1", Signer: "signer-a", Code: "9", Message: "quota"},
		{Type: "batch.succeeded", Terminal: true, Token: "t2"},
	}
	if len(rec.Events) != 2 || rec.Events[0] != want[0] || rec.Events[1] != want[1] {
		t.Fatalf("events %+v, want %+v", rec.Events, want)
	}
	// The same token under another signer is a new event now.
	ev := want[0]
	ev.Signer = "signer-b"
	if _, err := st.Deliver(ctx, "batches/m", "id:b", ev); err != nil {
		t.Fatal(err)
	}
	if rec, err := st.Lookup(ctx, "batches/m"); err != nil || len(rec.Events) != 3 || rec.Events[2] != ev {
		t.Fatalf("after another signer's event: %+v, %v", rec, err)
	}
}
