package gemhooktest

// rpcCode is the google.rpc code a job that ended without success reports,
// the same in its operation's error, its interaction's errors and its
// event's error_code.
func rpcCode(outcome string) int {
	switch outcome {
	case Cancelled:
		return 1 // CANCELLED
	case Expired:
		return 4 // DEADLINE_EXCEEDED
	}
	return 13 // INTERNAL
}

// rpcName is rpcCode's name, for the interactions API's string codes.
func rpcName(outcome string) string {
	switch rpcCode(outcome) {
	case 1:
		return "CANCELLED"
	case 4:
		return "DEADLINE_EXCEEDED"
	}
	return "INTERNAL"
}
