package money

//go:generate go run ./internal/gencurrency -in iso4217.csv -out currency_table.go
