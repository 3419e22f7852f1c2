// Package api is the bank's HTTP JSON API: a thin application layer over a [transfer.Bank]
// with task-based commands and read-only queries. [New] returns the [http.Handler];
// the bank's rules, retries and idempotence stay in package transfer.
//
// # Commands
//
// A command is POST /commands/{name} with a JSON object as its body, Content-Type
// application/json (charset utf-8 optional). Amounts of money are written as package money
// encodes them, {"amount":"12.34","currency":"USD"}. The body is read strictly, unlike
// encoding/json's defaults: field names are exactly as shown here (case-sensitive: "Number" is
// not "number"), each field at most once, no other field, in the command's object and in its
// amounts of money alike, and nothing after the object but whitespace. Anything else is the 400
// malformed_json problem, and nothing is written. A name may still use JSON's escapes
// ("n\u0075mber" is "number").
//
//	POST /commands/open-account  {"number":"000000000001","currency":"USD"}
//	POST /commands/deposit       {"id":"dep-1","account":"000000000001","amount":{"amount":"10.00","currency":"USD"}}
//	POST /commands/transfer      {"number":"tr-1","from":"000000000001","to":"000000000002",
//	                              "amount":{"amount":"2.50","currency":"USD"},"strategy":"optimistic"}
//
// open-account answers 201 Created with {"number","currency"}. deposit answers 200 with
// [transfer.DepositOutcome] (the MoneyDeposited event and "replayed"). transfer answers 200 with
// [transfer.Outcome] (the "debited", "credited" and "posted" events, "overdrawn", "replayed",
// "attempts") and "strategy", the name of the strategy used. Its "strategy" field is optional:
// optimistic, pessimistic, keyed or eventual, in any case; absent, "" or "default" means the
// bank's own.
//
// The deposit ID and the transfer number are idempotency keys: a request retried with the same
// key and content answers 200 with the first outcome and "replayed":true, and moves no money
// again; the same key with other content is a 409 problem.
//
// # Queries
//
//	GET /accounts                            {"accounts":[{"account","balance"}]}, by number
//	GET /accounts/{number}/statement?limit=N transfer.Statement: the balance and the latest N movements, oldest first
//	GET /transfers?currency=USD&over=200.00&limit=N
//	                                         {"transfers":[transfer.TransferView]}, over the amount, largest first
//	GET /totals                              {"totals":[transfer.Total]}, per currency
//	GET /reconciliation                      transfer.Reconciliation and "balanced"
//
// limit is optional, an integer from 1 to 1000 (absent: 100). currency is required on
// /transfers; over is optional (absent: 0, every transfer in the currency) and takes at most the
// currency's decimals. Every query also answers HEAD. Lists are [] when empty, never null.
//
// No query reads the whole history: /accounts, /totals and /reconciliation read the accounts,
// each of which keeps its lifetime deposits, credits and debits, so they cost what the number of
// accounts does however many transfers were made; a statement reads one account's latest
// movements. A total per currency has "credited" and "debited", the sums of the accounts'
// lifetime credits and debits, equal in balanced books; the reconciliation is "balanced" when
// every balance is its deposits plus credits minus debits, and per currency the balances sum to
// the deposits and the credits to the debits. Amounts there have no 64-bit bound: lifetime sums
// and totals pass 2^63-1 minor units and are still exact. (transfer.Finder.Audit, which checks
// every account against every movement, is for a scheduled job, not for the API.)
//
// # Problems
//
// Every error is answered with an RFC 9457 problem details object, Content-Type
// application/problem+json, with the extension member "code":
//
//	{"type":"https://dddkit.dev/problems/insufficient-funds","title":"Insufficient funds",
//	 "status":409,"detail":"insufficient funds: ...","code":"insufficient_funds"}
//
// The type URI is https://dddkit.dev/problems/ followed by the code with '-' for '_'; it and the
// title are the same for every occurrence of a code, and clients should branch on "code" (or
// "type"), never on "title" or "detail". The business rules are the bank's (the codes of the
// transfer.Err* rule errors); detail is the rule error's message, written for users.
//
//	status  code                    when
//	400     malformed_json          the body is empty, not JSON, not an object, has a field of the
//	                                wrong type, an unknown field (a known one in another case
//	                                included), a field twice, a malformed amount of money, or data
//	                                after the object
//	400     invalid_parameter       a query parameter, or the account number of a statement's path,
//	                                is malformed or out of range
//	404     unknown_command         POST /commands/{name} with a name that is no command
//	404     not_found               a path that is no route
//	404     unknown_account         a statement of an account that does not exist
//	405     method_not_allowed      a route with another method (the Allow header lists the methods)
//	409     insufficient_funds      the debit would overdraw the account
//	409     duplicate_transfer      the transfer number was used with other content
//	409     duplicate_deposit       the deposit ID was used with other content
//	409     account_exists          open-account with a number that is taken
//	413     body_too_large          a body over Options.MaxBody (64 KiB by default)
//	415     unsupported_media_type  a command whose Content-Type is not application/json
//	422     invalid_input           a command the bank cannot read: a malformed account number,
//	                                transfer number or deposit ID, an amount that is not positive,
//	                                has too many decimals or is in an unknown currency, an unknown
//	                                strategy, a currency that is not ISO 4217
//	422     same_account            a transfer from an account to itself
//	422     currency_mismatch       an amount in another currency than the account's
//	422     unknown_account         a command naming an account that does not exist
//	503     contention              concurrent commands conflicted with this one on every retry
//	                                (uow.ErrConflict); it carries Retry-After: 1
//	500     internal                any other error, a technical one
//
// Go's http.Server refuses some requests itself, before any handler runs, and writes its answer
// (text/plain) straight to the connection. Served through [NewListener], as cmd/bank serves the
// API, those answers are problems too, with the server's status and "Connection: close":
//
//	400     malformed_request       a request line, header or framing the server cannot read: a
//	                                malformed Content-Length, two of them, no Host header, a
//	                                header name or value that is not HTTP's ...
//	417     expectation_failed      an Expect header other than 100-continue
//	431     header_too_large        a header over the server's MaxHeaderBytes
//	501     unsupported_transfer_encoding
//	                                a Transfer-Encoding other than chunked
//	505     http_version_not_supported
//	                                an HTTP version other than 1.0 and 1.1
//
// A technical error is logged with [Options].Logger at Error level, with the error, and answered
// with a generic detail that reveals nothing of it (no SQL, no Go error text); a 503 is logged at
// Warn level. Business and request errors are not logged. Successful answers are
// application/json.
//
// # Serving
//
// Serve the handler with an http.Server on a listener wrapped by [NewListener], so that every
// answer, the server's own included, is a problem or a success:
//
//	ln, err := net.Listen("tcp", "127.0.0.1:8080")
//	...
//	srv := &http.Server{Handler: api.New(bank, nil), ReadHeaderTimeout: 5 * time.Second}
//	err = srv.Serve(api.NewListener(ln))
package api
