package uowtest

import (
	"context"
	"database/sql"
	"errors"
)

// SQLNativeTxs implements [NativeTxs] for a driver on database/sql, whose Join takes a *sql.Tx:
// its transactions are begun on DB, and the caller's own statements write Table. A driver's test
// file returns one from its BeginNative and CallerValue methods.
type SQLNativeTxs struct {
	// DB is the driver's pool.
	DB *sql.DB
	// Table is the test's own table, with a text primary key k and a text column v.
	Table string
	// Create creates Table if it does not exist.
	Create string
	// Upsert sets the value of a key in Table: two placeholders, the key and the value.
	Upsert string
}

// BeginNative creates the table if need be and begins a transaction on DB.
func (s SQLNativeTxs) BeginNative(ctx context.Context) (NativeTx, error) {
	if _, err := s.DB.ExecContext(ctx, s.Create); err != nil {
		return nil, err
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sqlNative{tx: tx, upsert: s.Upsert}, nil
}

// CallerValue reads the committed value of key in the table ("?" placeholder).
func (s SQLNativeTxs) CallerValue(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.DB.QueryRowContext(ctx, "SELECT v FROM "+s.Table+" WHERE k = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// sqlNative is the NativeTx of SQLNativeTxs.
type sqlNative struct {
	tx     *sql.Tx
	upsert string
}

func (n sqlNative) Tx() any { return n.tx }

func (n sqlNative) Put(ctx context.Context, key, value string) error {
	_, err := n.tx.ExecContext(ctx, n.upsert, key, value)
	return err
}

func (n sqlNative) Commit(context.Context) error   { return n.tx.Commit() }
func (n sqlNative) Rollback(context.Context) error { return n.tx.Rollback() }
