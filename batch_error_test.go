package gemhook

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/leaktest"
)

// A failed batch's JobError carries the API's code and message however it
// settled: by webhook, by a fallback poll, or by attaching to it.
func TestJobErrorFromTheAPIHoweverSettled(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	wantErr := func(t *testing.T, err error, name string) {
		t.Helper()
		var je *JobError
		if !errors.As(err, &je) || je.Name != name || je.Code != "13" || !strings.Contains(je.Message, "ended in") {
			t.Fatalf("Wait = %v (%+v)", err, je)
		}
	}
	t.Run("attach to a video or an interaction", func(t *testing.T) {
		s := newStack(t, gemhooktest.Options{JobDuration: -1}, Config{Fallback: Fallback{Disabled: true}})
		ctx := waitCtx(t)
		video := s.c.GenerateVideos(ctx, "veo-3.0-fast-generate-001", &genai.GenerateVideosSource{Prompt: "x"}, nil).Name()
		it := s.c.CreateInteraction(ctx, interactionReq("x")).Name()
		for _, name := range []string{video, it} {
			if err := s.emu.Finish(name, gemhooktest.Failed); err != nil {
				t.Fatal(err)
			}
		}
		s.restart(t, Config{Fallback: Fallback{Disabled: true}})
		_, verr := s.c.AwaitVideos(video).Wait(ctx)
		_, ierr := s.c.AwaitInteraction(it).Wait(ctx)
		for _, err := range []error{verr, ierr} {
			var je *JobError
			if !errors.As(err, &je) || je.Code == "" || !strings.Contains(je.Message, "ended in") {
				t.Fatalf("Wait = %v (%+v)", err, je)
			}
		}
		s.close()
	})
	t.Run("attach", func(t *testing.T) {
		s := newStack(t, gemhooktest.Options{JobDuration: -1}, Config{Fallback: Fallback{Disabled: true}})
		name := s.c.SubmitBatch(waitCtx(t), "gemini-test", inlined("x"), nil).Name()
		if err := s.emu.Finish(name, gemhooktest.Failed); err != nil {
			t.Fatal(err)
		}
		s.restart(t, Config{Fallback: Fallback{Disabled: true}})
		_, err := s.c.AwaitBatch(name).Wait(waitCtx(t))
		wantErr(t, err, name)
		s.close()
	})
	for name, st := range map[string]struct {
		opts gemhooktest.Options
		cfg  Config
	}{
		"poll": {gemhooktest.Options{JobDuration: -1, Faults: gemhooktest.Faults{DropRate: 1}},
			Config{Fallback: Fallback{After: 5 * time.Millisecond, Every: 20 * time.Millisecond}}},
		"webhook": {gemhooktest.Options{JobDuration: -1}, Config{Fallback: Fallback{Disabled: true}}},
	} {
		t.Run(name, func(t *testing.T) {
			s := newStack(t, st.opts, st.cfg)
			f := s.c.SubmitBatch(waitCtx(t), "gemini-test", inlined("x"), nil)
			if err := s.emu.Finish(f.Name(), gemhooktest.Failed); err != nil {
				t.Fatal(err)
			}
			_, err := f.Wait(waitCtx(t))
			wantErr(t, err, f.Name())
			s.close()
		})
	}
}
