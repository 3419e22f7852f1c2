package saga_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/saga/sagatest"
	"github.com/dddkit/ddd/uow"
)

// The booking saga books a trip in three steps, flight, hotel and car, each confirmed by its
// partner; a refused car undoes the hotel and then the flight, newest first.

type trip struct {
	Trip string `json:"trip"`
}

// cancellations fails the next hotel cancellations, n of them.
type cancellations struct{ hotelFailures atomic.Int32 }

func bookingSaga(t testing.TB) *saga.Definition[trip] {
	t.Helper()
	book := func(next, compensation string) func(context.Context, *saga.Step[trip], uow.Message) error {
		return func(_ context.Context, s *saga.Step[trip], m uow.Message) error {
			if compensation != "" {
				if err := s.OnCompensate(compensation, s.Key()); err != nil {
					return err
				}
			}
			return s.Send(uow.Message{Topic: "bookings", Name: next, Payload: m.Payload})
		}
	}
	cancel := func(name string) saga.CompensationFunc {
		return func(_ context.Context, u *uow.Unit, c saga.Compensation) error {
			if sw, err := uow.Service[*cancellations](u); err == nil && name == "CancelHotel" && sw.hotelFailures.Add(-1) >= 0 {
				return errors.New("hotel system unavailable")
			}
			var key string
			if err := c.Decode(&key); err != nil {
				return err
			}
			return u.Emit(uow.Message{Topic: "bookings", Name: name, Payload: mustJSON(t, trip{key})})
		}
	}
	def, err := saga.Define("booking", saga.Spec[trip]{
		Initial:  "new",
		Terminal: map[saga.State]saga.Status{"booked": saga.Completed, "cancelled": saga.Compensated},
		Correlate: map[string]saga.Correlator{
			"TripRequested": saga.ByField("trip"), "FlightBooked": saga.ByField("trip"),
			"HotelBooked": saga.ByField("trip"), "CarBooked": saga.ByField("trip"), "CarRefused": saga.ByField("trip"),
		},
		Compensations: map[string]saga.CompensationFunc{
			"cancel_flight": cancel("CancelFlight"),
			"cancel_hotel":  cancel("CancelHotel"),
		},
		Transitions: []saga.Transition[trip]{
			{From: "new", On: "TripRequested", To: []saga.State{"flight"}, Do: book("BookFlight", "")},
			{From: "flight", On: "FlightBooked", To: []saga.State{"hotel"}, Do: book("BookHotel", "cancel_flight")},
			{From: "hotel", On: "HotelBooked", To: []saga.State{"car"}, Do: book("BookCar", "cancel_hotel")},
			{From: "car", On: "CarBooked", To: []saga.State{"booked"}},
			{From: "car", On: "CarRefused", To: []saga.State{"cancelled"}},
		},
	})
	require.NoError(t, err)
	return def
}

func TestBookingCompensatesInReverseOrder(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		sw := &cancellations{}
		sw.hotelFailures.Store(1)
		f := sagatest.New(t, bookingSaga(t), &sagatest.Options{Driver: w.open(t), Services: []any{sw}})
		tr := trip{"trip-1"}
		f.Given(f.Message("TripRequested", tr), f.Message("FlightBooked", tr), f.Message("HotelBooked", tr))
		require.NoError(t, f.When(f.Message("CarRefused", tr)))

		// The hotel's cancellation (the newest) failed: nothing is cancelled yet, the flight's
		// waits behind it, and the progress is recorded.
		f.ThenSent()
		info := f.Instance("trip-1")
		assert.Equal(t, saga.Compensating, info.Status)
		require.Len(t, info.Compensations, 2)
		assert.Equal(t, "cancel_flight", info.Compensations[0].Name)
		assert.False(t, info.Compensations[0].Done)
		assert.Equal(t, 0, info.Compensations[0].Attempts)
		assert.Equal(t, "cancel_hotel", info.Compensations[1].Name)
		assert.False(t, info.Compensations[1].Done)
		assert.Equal(t, 1, info.Compensations[1].Attempts)
		assert.Equal(t, "hotel system unavailable", info.Compensations[1].LastError)

		f.AdvanceTime(2 * time.Second) // past the relay's first backoff (1s, jittered by up to a fifth)
		f.ThenSent("CancelHotel", "CancelFlight")
		f.ThenState("trip-1", "cancelled", saga.Compensated)
		info = f.Instance("trip-1")
		assert.True(t, info.Compensations[0].Done)
		assert.True(t, info.Compensations[1].Done)
	})
}

func TestBookingCompletesWithoutCompensating(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		f := sagatest.New(t, bookingSaga(t), &sagatest.Options{Driver: w.open(t)})
		tr := trip{"trip-1"}
		f.Given(f.Message("TripRequested", tr), f.Message("FlightBooked", tr), f.Message("HotelBooked", tr))
		require.NoError(t, f.When(f.Message("CarBooked", tr)))
		f.ThenSent()
		f.ThenState("trip-1", "booked", saga.Completed)
		for _, c := range f.Instance("trip-1").Compensations {
			assert.False(t, c.Done, "a completed saga compensates nothing")
		}
	})
}

func TestConcurrentStartsMakeOneInstance(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		// Every part of the job saga can start its instance: three arriving at once race to
		// insert it; the losers' commits find it inserted and run again inside it.
		f := sagatest.New(t, jobSaga(t), &sagatest.Options{Driver: w.open(t),
			Manager: &saga.Options{Do: &uow.DoOptions{MaxAttempts: 50}}})
		var wg sync.WaitGroup
		errs := make(chan error, len(jobParts))
		for _, p := range jobParts {
			m := f.Message("PartArrived", part{Job: "j1", Part: p})
			wg.Go(func() { errs <- f.Manager.Handle(t.Context(), m) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		f.Drain()
		f.ThenState("j1", "shipped", saga.Completed)
		var names []string
		for _, m := range f.Sent() {
			names = append(names, m.Name)
		}
		assert.ElementsMatch(t, []string{"ReserveA", "ReserveB", "ReserveC", "Ship"}, names)
		assert.Equal(t, "Ship", names[len(names)-1])
	})
}
