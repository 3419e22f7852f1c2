package aggregate

// ErrRule is matched by every [*RuleError]: errors.Is(err, aggregate.ErrRule) tells a broken
// business rule, to show to the user, from a technical failure, to page the team about.
var ErrRule = &RuleError{Code: "rule", Message: "aggregate: business rule violated"}

// RuleError is a broken business rule: insufficient funds, a closed budget, a duplicate
// transfer. Domains declare each rule once as a sentinel and return it, wrapped with detail when
// useful:
//
//	var ErrInsufficientFunds = aggregate.NewRule("insufficient_funds", "insufficient funds")
//	return fmt.Errorf("%w: balance %s, debit %s", ErrInsufficientFunds, balance, amount)
//
// Callers test a particular rule with errors.Is(err, ErrInsufficientFunds), any rule with
// errors.Is(err, aggregate.ErrRule), and read the code with errors.As:
//
//	var rule *aggregate.RuleError
//	if errors.As(err, &rule) {
//		// 422 (or 409) with rule.Code and rule.Message
//	} else {
//		// 500
//	}
//
// The unit of work never retries a RuleError. A RuleError is immutable and safe to share.
type RuleError struct {
	// Code is a stable machine-readable name of the rule, such as "insufficient_funds".
	Code string
	// Message is a sentence for the user, such as "insufficient funds".
	Message string
}

// NewRule returns a business-rule error with the given code and message, for a sentinel.
func NewRule(code, message string) *RuleError {
	return &RuleError{Code: code, Message: message}
}

// Error returns the message.
func (e *RuleError) Error() string { return e.Message }

// Is reports whether target is [ErrRule], so every rule error matches it.
func (e *RuleError) Is(target error) bool { return target == ErrRule }
