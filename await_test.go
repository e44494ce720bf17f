package gemhook

import (
	"errors"
	"testing"

	"google.golang.org/genai"
)

// SubmitErr tells at once, without waiting, whether the job was created.
func TestSubmitErrDoesNotBlock(t *testing.T) {
	t.Parallel()
	fx := newClientFixture(t, noPolls)
	ok := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	if err := ok.SubmitErr(); err != nil || ok.Name() == "" {
		t.Fatalf("created job: SubmitErr = %v, Name %q", err, ok.Name())
	}
	select {
	case <-ok.Done():
		t.Fatal("the created job settled")
	default:
	}
	bad := fx.c.SubmitBatch(waitCtx(t), "", &genai.BatchJobSource{FileName: "files/in"}, nil)
	if err := bad.SubmitErr(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("refused job: SubmitErr = %v", err)
	}
	fx.c.Close()
	// The job exists at Gemini: closing the Client is not a submission error.
	if err := ok.SubmitErr(); err != nil {
		t.Fatalf("after Close: SubmitErr = %v", err)
	}
}
