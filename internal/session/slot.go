package session

import (
	"context"
	"errors"
)

// SlotStore is what FinishAuthRequest needs: the auth requests and the
// counters their slots were taken from.
type SlotStore interface {
	AuthRequestStore
	FailureCounter
}

// errNoSlot ends the take-out of a request's slot that holds none.
var errNoSlot = errors.New("the auth request holds no slot")

// FinishAuthRequest deletes the auth request named id and gives back the
// slot it took (AuthRequest.Slot), once. The slot is taken out of the record
// atomically (UpdateAuthRequest) before it is released, so of two calls for
// the same request (a retry, two replicas) only one releases it, and the key
// released is the one stored at reservation. A missing or expired request
// releases nothing: its slot is counted until its window ends, which it has
// when the request has expired (the window is no longer than the request's
// lifetime). A slot whose release fails stays counted until its window
// ends; the request is deleted anyway.
func FinishAuthRequest(ctx context.Context, s SlotStore, id string) error {
	var slot Slot
	_, err := s.UpdateAuthRequest(ctx, id, func(r *AuthRequest) error {
		// Set on every call: a backend may call this more than once, and
		// only the last call's result is stored.
		slot = r.Slot
		if slot.IsZero() {
			return errNoSlot
		}
		r.Slot = Slot{}
		return nil
	})
	var released error
	switch {
	case err == nil:
		// The slot is out of the record: release it even if the caller
		// hangs up now, or it stays counted until its window ends.
		released = s.ReleaseFailure(context.WithoutCancel(ctx), slot.Key, slot.WindowEnd)
	case errors.Is(err, errNoSlot), errors.Is(err, ErrNotFound):
	default:
		return err
	}
	return errors.Join(released, s.DeleteAuthRequest(ctx, id))
}
