package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/api"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// Serve a bank in memory and run its commands over HTTP.
func Example() {
	bank, err := transfer.New(uow.NewStore(memuow.New(nil), nil), nil)
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(api.New(bank, nil))
	defer srv.Close()

	// post sends a command and decodes the answer into v.
	post := func(name, body string, v any) int {
		res, err := http.Post(srv.URL+"/commands/"+name, "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			panic(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			panic(err)
		}
		return res.StatusCode
	}

	var opened map[string]string
	fmt.Println("open-account", post("open-account", `{"number":"000000000001","currency":"USD"}`, &opened), opened["number"])
	fmt.Println("open-account", post("open-account", `{"number":"000000000002","currency":"USD"}`, &opened), opened["number"])

	var dep struct {
		Balance struct{ Amount, Currency string }
	}
	status := post("deposit", `{"id":"dep-1","account":"000000000001","amount":{"amount":"100.00","currency":"USD"}}`, &dep)
	fmt.Println("deposit", status, "balance", dep.Balance.Amount, dep.Balance.Currency)

	var tr struct {
		Strategy string
		Replayed bool
		Debited  struct{ Balance struct{ Amount string } }
		Credited struct{ Balance struct{ Amount string } }
	}
	body := `{"number":"tr-1","from":"000000000001","to":"000000000002","amount":{"amount":"30.00","currency":"USD"}}`
	status = post("transfer", body, &tr)
	fmt.Println("transfer", status, tr.Strategy, "debited to", tr.Debited.Balance.Amount, "credited to", tr.Credited.Balance.Amount, "replayed", tr.Replayed)
	status = post("transfer", body, &tr) // a retry: the same outcome, nothing moves again
	fmt.Println("transfer", status, tr.Strategy, "debited to", tr.Debited.Balance.Amount, "credited to", tr.Credited.Balance.Amount, "replayed", tr.Replayed)

	var p struct {
		Status int
		Code   string
		Type   string
	}
	status = post("transfer", `{"number":"tr-2","from":"000000000001","to":"000000000002","amount":{"amount":"500.00","currency":"USD"},"strategy":"pessimistic"}`, &p)
	fmt.Println("transfer", status, p.Code, p.Type)
	// Output:
	// open-account 201 000000000001
	// open-account 201 000000000002
	// deposit 200 balance 100.00 USD
	// transfer 200 optimistic debited to 70.00 credited to 30.00 replayed false
	// transfer 200 optimistic debited to 70.00 credited to 30.00 replayed true
	// transfer 409 insufficient_funds https://dddkit.dev/problems/insufficient-funds
}

// Serve the API through NewListener: a request Go's HTTP server refuses before any handler runs
// is answered as a problem too.
func ExampleNewListener() {
	bank, err := transfer.New(uow.NewStore(memuow.New(nil), nil), nil)
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: api.New(bank, nil), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(api.NewListener(ln)) }()
	defer srv.Close()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /accounts HTTP/1.1\r\n\r\n") // HTTP/1.1 without a Host header
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		panic(err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Status, res.Header.Get("Content-Type"))
	fmt.Print(string(body))
	// Output:
	// 400 Bad Request application/problem+json
	// {"type":"https://dddkit.dev/problems/malformed-request","title":"Malformed request","status":400,"detail":"the request is not valid HTTP/1.1: missing required Host header","code":"malformed_request"}
}
