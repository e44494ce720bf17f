//go:build unix

package gemhook

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used, in user and system mode,
// on all threads: what a benchmark costs, whatever else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
