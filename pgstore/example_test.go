package pgstore_test

import (
	"context"
	"log"
	"os"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/pgstore"
)

// Every replica opens the same database; its Receiver then shares early
// events, outcomes, dedupe and poll leases with the others.
func Example() {
	ctx := context.Background()
	store, err := pgstore.Open(ctx, os.Getenv("GEMHOOK_POSTGRES_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	recv, err := gemhook.NewReceiver(gemhook.ReceiverConfig{
		Secrets: []string{os.Getenv("GEMHOOK_WEBHOOK_SECRET")},
		Store:   store,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer recv.Close()
	// http.Handle("/webhooks/gemini", recv), and gemhook.New with Receiver: recv.
}
