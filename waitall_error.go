package gemhook

import (
	"errors"
	"fmt"
	"strings"
)

// WaitAllError is WaitAll's error when some futures failed: which ones,
// in order, out of how many. errors.As finds each *JobError through it.
type WaitAllError struct {
	Failed []Failure
	Total  int // futures WaitAll waited for
}

// Failure is one failed future of a WaitAll.
type Failure struct {
	Index int    // position among WaitAll's futures
	Name  string // job name; "" if the job was never created
	Err   error  // a *JobError, a submission error, ErrInvalidArgument or ErrClosed
}

// Error names each job once: "gemhook: 2 of 5 jobs failed: batches/a
// ended in JOB_STATE_FAILED (code 13: ...); batches/b: gemhook: closed".
func (e *WaitAllError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gemhook: %d of %d jobs failed: ", len(e.Failed), e.Total)
	for i, f := range e.Failed {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.describe())
	}
	return b.String()
}

// Unwrap returns every failure's error, for errors.Is and errors.As.
func (e *WaitAllError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		errs[i] = f.Err
	}
	return errs
}

func (f Failure) describe() string {
	var je *JobError
	if errors.As(f.Err, &je) && je.Name == f.Name {
		return je.Name + je.outcome()
	}
	msg := f.Err.Error()
	switch {
	case f.Name == "":
		return fmt.Sprintf("#%d: %s", f.Index, msg)
	case strings.Contains(msg, f.Name):
		return msg
	}
	return f.Name + ": " + msg
}
